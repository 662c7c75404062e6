/**
 * Pipelined writes from every connection that arrive in one turn become ONE Raft entry: one
 * proposal, one replication round, one fsync per node. Bounded in commands and bytes per entry.
 */
import { encodeBatch, encodedCommandBytes, type KvCommand } from '../src/kv/commands.js';
import type { KvResult } from '../src/kv/store.js';

interface Queued {
  readonly cmd: KvCommand;
  readonly resolve: (r: KvResult) => void;
  readonly reject: (e: Error) => void;
}

export interface BatcherLimits {
  readonly maxCommandsPerEntry: number;
  readonly maxBytesPerEntry: number;
  /** Commands waiting for the next flush; beyond it submit() fails fast (backpressure). */
  readonly maxQueued: number;
}

export class WriteBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly propose: (data: Uint8Array) => Promise<KvResult[]>,
    private readonly limits: BatcherLimits,
    private readonly onProposal?: () => void,
  ) {}

  submit(cmd: KvCommand): Promise<KvResult> {
    if (this.queue.length >= this.limits.maxQueued) {
      return Promise.reject(new Error('TRYAGAIN too many writes queued; slow down'));
    }
    return new Promise<KvResult>((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current I/O callbacks: every connection's pipelined commands join in.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    let start = 0;
    while (start < all.length) {
      let end = start;
      let bytes = 0;
      while (end < all.length && end - start < this.limits.maxCommandsPerEntry) {
        const size = encodedCommandBytes(all[end]!.cmd);
        if (end > start && bytes + size > this.limits.maxBytesPerEntry) break;
        bytes += size;
        end++;
      }
      this.proposeBatch(all.slice(start, end), bytes);
      start = end;
    }
  }

  /** `commandBytes`: the batch's summed encodedCommandBytes, computed while bounding it. */
  private proposeBatch(batch: Queued[], commandBytes: number): void {
    this.onProposal?.();
    this.propose(
      encodeBatch(
        batch.map((q) => q.cmd),
        commandBytes,
      ),
    ).then(
      (results) => {
        if (results.length !== batch.length) {
          throw new Error(`invariant: batch of ${batch.length} commands gave ${results.length} results`);
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      },
      (err: Error) => {
        for (const q of batch) q.reject(err);
      },
    );
  }
}
