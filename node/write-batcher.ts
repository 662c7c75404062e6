/**
 * Pipelined writes from every connection that arrive in one turn become ONE Raft entry: one
 * proposal, one replication round, one fsync per node. Bounded in commands and bytes per entry.
 *
 * Backpressure: while the host cannot take proposals (its in-memory log is at --max-log-bytes
 * until a snapshot frees it, or too many proposals are in flight) writes wait here, up to
 * maxQueued commands, instead of failing: a write flood slows down rather than erroring.
 */
import { encodeBatch, encodedCommandBytes, type KvCommand } from '../src/kv/commands.js';
import type { KvResult } from '../src/kv/store.js';

interface Queued {
  readonly cmd: KvCommand;
  readonly resolve: (r: KvResult) => void;
  readonly reject: (e: Error) => void;
  /** performance.now() at submit. */
  readonly queuedAt: number;
}

export interface BatcherLimits {
  readonly maxCommandsPerEntry: number;
  readonly maxBytesPerEntry: number;
  /** Commands waiting for the next flush; beyond it submit() fails fast (backpressure). */
  readonly maxQueued: number;
  /** A write held back longer than this (never proposed) fails with TRYAGAIN. */
  readonly maxBlockedMs: number;
}

/** While the host refuses proposals, the queue is retried this often. */
const BLOCKED_RETRY_MS = 5;

export class WriteBatcher {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly propose: (data: Uint8Array) => Promise<KvResult[]>,
    private readonly limits: BatcherLimits,
    private readonly onProposal?: () => void,
    /** Whether the host takes a proposal now; when false, the queue waits (see file comment). */
    private readonly canPropose: () => boolean = () => true,
  ) {}

  submit(cmd: KvCommand): Promise<KvResult> {
    if (this.queue.length >= this.limits.maxQueued) {
      return Promise.reject(new Error('TRYAGAIN too many writes queued; slow down'));
    }
    return new Promise<KvResult>((resolve, reject) => {
      this.queue.push({ cmd, resolve, reject, queuedAt: performance.now() });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current I/O callbacks: every connection's pipelined commands join in.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    if (!this.canPropose()) {
      this.expireBlocked();
      this.scheduled = this.queue.length > 0;
      if (this.scheduled) setTimeout(() => this.flush(), BLOCKED_RETRY_MS);
      return;
    }
    const all = this.queue;
    this.queue = [];
    let start = 0;
    while (start < all.length) {
      if (start > 0 && !this.canPropose()) {
        // The log reached its bound mid-flush: the rest waits (ahead of newer writes).
        this.queue = all.slice(start).concat(this.queue);
        this.scheduled = true;
        setTimeout(() => this.flush(), BLOCKED_RETRY_MS);
        return;
      }
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

  /** Fails the writes held back too long: never proposed, so provably not applied. */
  private expireBlocked(): void {
    const cutoff = performance.now() - this.limits.maxBlockedMs;
    let expired = 0;
    while (expired < this.queue.length && this.queue[expired]!.queuedAt < cutoff) expired++;
    if (expired === 0) return;
    const gone = this.queue.splice(0, expired);
    const err = new Error(
      'TRYAGAIN writes held back too long: the raft log is at its bound (snapshot pending)',
    );
    for (const q of gone) q.reject(err);
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
