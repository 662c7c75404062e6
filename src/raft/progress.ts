import { Inflights } from './inflights.js';
import type { NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * The leader's view of one follower (model: etcd's tracker.Progress).
 * - probe: send one App at a time and wait for its answer (next is a guess);
 * - replicate: stream Apps optimistically, bounded by the in-flight window;
 * - snapshot: the follower needs a snapshot; send nothing until reportSnapshotStatus / AppResp.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an App was sent and not answered yet; the next is held back until a response or heartbeat response. */
  probeSent = false;
  /** snapshot: index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  /** Highest read-round sequence number this follower acknowledged in the current term. */
  readAckSeq = 0;
  readonly inflights: Inflights;

  constructor(
    readonly id: NodeId,
    next: number,
    maxInflightMsgs: number,
    public learner: boolean,
    recentActive: boolean,
  ) {
    this.next = next;
    this.recentActive = recentActive;
    this.inflights = new Inflights(maxInflightMsgs);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** A successful AppResp up to `index`: returns whether match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /** After sending an App whose last entry is `lastIndex` (replicate: pipeline it; probe: pause). */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    } else {
      throw new Error('invariant: sending entries to a follower in snapshot state');
    }
  }

  /**
   * A rejected App at `rejected`; `matchHint` is the highest index that may match. Returns false
   * when the rejection is stale (answers an App we no longer care about).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      // Pipelined Apps after the gap are useless: restart from the known match, in probe state.
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
