import type { Entry, SnapshotMeta } from './types.js';

/** Term returned by RaftLog.term() for an index it cannot answer for (compacted or beyond the end). */
export const TERM_UNKNOWN = -1;

const EMPTY: readonly Entry[] = Object.freeze([]);

/**
 * Bytes one in-memory entry is counted for beyond its data: an estimate of what V8 spends on
 * the Entry object, its Uint8Array view and ArrayBuffer, and the array slots (64-bit). It keeps
 * a log of many tiny entries (no-ops, single small writes) from looking free.
 */
export const ENTRY_OVERHEAD_BYTES = 128;

/** Bytes an entry is accounted for in RaftLog.bytes(). */
export function entryBytes(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

/**
 * The in-memory log of one core (model: etcd's raftLog + unstable, folded into one array).
 *
 * Layout: everything ≤ `snapIndex` is compacted (only its term is kept, for prevLogTerm checks);
 * `entries[k]` has index `snapIndex + 1 + k`. Progress marks, all monotone except on truncation:
 * - `unstableFrom`: first index not yet handed to the host for persistence;
 * - `persisted`: highest index the host confirmed durable (through advance());
 * - `commit`, `applying` (handed to the host to apply), `applied` (confirmed by advance()).
 */
export class RaftLog {
  snapIndex: number;
  snapTerm: number;
  private entries: Entry[] = [];
  /**
   * Byte accounting (entryBytes) as running totals: `endBytes[k]` is the total through
   * `entries[k]`, `baseBytes` the total at snapIndex. The bytes of any index range are then one
   * subtraction, so the host can ask what a snapshot would free (bytesThrough(applied)) on every
   * Ready, and truncation/compaction stay exact without re-summing the dropped entries.
   */
  private endBytes: number[] = [];
  private baseBytes = 0;
  commit: number;
  applying: number;
  applied: number;
  persisted: number;
  unstableFrom: number;
  /** A snapshot received from the leader, to be handed to the host in the next Ready. */
  pendingSnapshot: SnapshotMeta | undefined;
  /**
   * One per write handed to the host and not yet confirmed (Readies between ready() and
   * advance()), oldest first: the last index of the log that write makes durable, as the log is
   * now. When the write lands, the disk holds the log as it was when the write was handed out;
   * a later truncation caps the mark, because the entries after the cap were replaced since
   * (and their replacements are in a later write). Comparing terms instead is not enough: a
   * suffix can be overwritten and then written back with the very same (index, term) by a
   * later leader (A→B→A), while the middle write (B) is still to land over it.
   */
  private readonly writeMarks: number[] = [];

  constructor(
    snapIndex: number,
    snapTerm: number,
    entries: readonly Entry[],
    commit: number,
    applied: number,
  ) {
    this.snapIndex = snapIndex;
    this.snapTerm = snapTerm;
    for (const e of entries) {
      if (e.index <= snapIndex) continue; // already covered by the snapshot
      this.pushChecked(e);
    }
    const last = this.lastIndex();
    if (commit > last) throw new Error(`invariant: boot commit ${commit} beyond last log index ${last}`);
    this.commit = Math.max(commit, snapIndex);
    this.applied = Math.max(applied, snapIndex);
    if (this.applied > this.commit) {
      throw new Error(`invariant: boot applied ${this.applied} beyond commit ${this.commit}`);
    }
    this.applying = this.applied;
    this.persisted = last;
    this.unstableFrom = last + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  /** Accounted bytes (entryBytes) of the entries held in memory. */
  bytes(): number {
    const n = this.endBytes.length;
    const bytes = n === 0 ? 0 : this.endBytes[n - 1]! - this.baseBytes;
    if (bytes < 0) throw new Error(`invariant: log bytes negative (${bytes})`);
    return bytes;
  }

  /** Accounted bytes of the in-memory entries ≤ `index` (what compact(index) would free). */
  bytesThrough(index: number): number {
    const k = Math.min(index, this.lastIndex()) - this.snapIndex;
    if (k <= 0) return 0;
    const bytes = this.endBytes[k - 1]! - this.baseBytes;
    if (bytes < 0) throw new Error(`invariant: log bytes through ${index} negative (${bytes})`);
    return bytes;
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapTerm : this.entries[n - 1]!.term;
  }

  /** Term of the entry at `index`; TERM_UNKNOWN when compacted away or beyond the last index. */
  term(index: number): number {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return TERM_UNKNOWN;
    return this.entries[index - this.snapIndex - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t !== TERM_UNKNOWN && t === term;
  }

  /** The entry at `index`, which must be in memory. */
  entry(index: number): Entry {
    const e = this.entries[index - this.snapIndex - 1];
    if (e === undefined)
      throw new Error(`invariant: entry ${index} not in memory [${this.firstIndex()}, ${this.lastIndex()}]`);
    return e;
  }

  /** §5.4.1: is a log ending at (lastTerm, lastIndex) at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries in [lo, hi), at most `maxEntries` and, beyond the first one, at most `maxBytes`
   * payload bytes. `lo` must be ≥ firstIndex().
   */
  slice(lo: number, hi: number, maxEntries: number, maxBytes: number): readonly Entry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1) {
      throw new Error(
        `invariant: slice [${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1})`,
      );
    }
    if (lo >= hi) return EMPTY;
    const start = lo - this.snapIndex - 1;
    let end = start + Math.min(hi - lo, maxEntries);
    let bytes = 0;
    for (let k = start; k < end; k++) {
      bytes += this.entries[k]!.data.byteLength;
      if (bytes > maxBytes && k > start) {
        end = k;
        break;
      }
    }
    return this.entries.slice(start, end);
  }

  /**
   * Appends `ents` (contiguous) whose first index may overlap the log: every entry at or after
   * ents[0].index is replaced. Committed entries are never replaced.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const first = ents[0];
    if (first === undefined) return;
    const last = this.lastIndex();
    if (first.index <= this.commit) {
      throw new Error(`invariant: truncating committed entry ${first.index} (commit ${this.commit})`);
    }
    if (first.index > last + 1) throw new Error(`invariant: log gap: appending ${first.index} after ${last}`);
    if (first.index <= last) {
      this.entries.length = first.index - this.snapIndex - 1;
      this.endBytes.length = this.entries.length;
      if (this.unstableFrom > first.index) this.unstableFrom = first.index;
      if (this.persisted >= first.index) this.persisted = first.index - 1;
      this.capWriteMarks(first.index - 1);
    }
    for (let k = 0; k < ents.length; k++) this.pushChecked(ents[k]!);
  }

  private pushChecked(e: Entry): void {
    const expected = this.lastIndex() + 1;
    if (e.index !== expected)
      throw new Error(`invariant: log not contiguous: got index ${e.index}, want ${expected}`);
    if (e.term < this.lastTerm()) throw new Error(`invariant: log terms decrease at index ${e.index}`);
    const n = this.endBytes.length;
    this.endBytes.push((n === 0 ? this.baseBytes : this.endBytes[n - 1]!) + entryBytes(e));
    this.entries.push(e);
  }

  /** Appends one entry built by the leader (fast path: no checks beyond contiguity). */
  appendOne(e: Entry): void {
    this.pushChecked(e);
  }

  commitTo(index: number): boolean {
    if (index <= this.commit) return false;
    if (index > this.lastIndex())
      throw new Error(`invariant: commit ${index} beyond last index ${this.lastIndex()}`);
    this.commit = index;
    return true;
  }

  /** Entries not yet handed to the host for persistence; marks them handed. */
  takeUnstable(): readonly Entry[] {
    const last = this.lastIndex();
    if (this.unstableFrom > last) return EMPTY;
    const ents = this.entries.slice(this.unstableFrom - this.snapIndex - 1);
    this.unstableFrom = last + 1;
    return ents;
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** A write of everything handed out so far (takeUnstable) goes to the host; bounded by the caller. */
  beginWrite(): void {
    this.writeMarks.push(this.unstableFrom - 1);
  }

  /** The oldest write handed out is durable (and every earlier one): the log through its mark is. */
  finishWrite(): void {
    const mark = this.writeMarks.shift();
    if (mark === undefined) throw new Error('invariant: a write finished that was never begun');
    if (mark > this.persisted && mark <= this.lastIndex()) this.persisted = mark;
  }

  private capWriteMarks(index: number): void {
    for (let k = 0; k < this.writeMarks.length; k++) {
      if (this.writeMarks[k]! > index) this.writeMarks[k] = index;
    }
  }

  /** The host made the snapshot `meta` durable (and installed it). */
  stableSnapTo(meta: SnapshotMeta): void {
    if (
      meta.index > this.persisted &&
      meta.index <= this.lastIndex() &&
      this.matchTerm(meta.index, meta.term)
    ) {
      this.persisted = meta.index;
    }
    if (meta.index > this.applied && meta.index <= this.commit) {
      this.applied = meta.index;
      if (this.applying < meta.index) this.applying = meta.index;
    }
  }

  /** Highest index that may be handed to the host to apply: committed AND durable here. */
  applyLimit(): number {
    return Math.min(this.commit, this.persisted);
  }

  hasNextCommitted(): boolean {
    return this.pendingSnapshot === undefined && this.applyLimit() > this.applying;
  }

  /**
   * Committed, durable, not yet handed-out entries (at most `maxEntries`, and at most `maxBytes`
   * of data unless the first entry alone is larger); marks them handed.
   */
  takeCommitted(maxEntries: number, maxBytes: number = Number.MAX_SAFE_INTEGER): readonly Entry[] {
    if (!this.hasNextCommitted()) return EMPTY;
    const lo = this.applying + 1;
    const hi = Math.min(this.applyLimit(), this.applying + maxEntries) + 1;
    const ents = this.slice(lo, hi, maxEntries, maxBytes);
    if (ents.length === 0 || ents[0]!.index !== lo)
      throw new Error(`invariant: committed slice from ${lo} returned ${ents.length} entries`);
    this.applying = lo + ents.length - 1;
    return ents;
  }

  appliedTo(index: number): void {
    if (index < this.applied)
      throw new Error(`invariant: applied going back from ${this.applied} to ${index}`);
    if (index > this.commit) throw new Error(`invariant: applied ${index} beyond commit ${this.commit}`);
    this.applied = index;
  }

  /**
   * Largest index ≤ `index` whose term is ≤ `term`, with that term (model: etcd's
   * findConflictByTerm). Used on both sides of a rejected App to skip a whole conflicting term.
   * Stops at the compaction point, returning (snapIndex, snapTerm or 0 if it is greater).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapIndex) {
      const t = this.entries[i - this.snapIndex - 1]!.term;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    if (i < this.snapIndex) return { index: i, term: 0 };
    return { index: this.snapIndex, term: this.snapTerm <= term ? this.snapTerm : 0 };
  }

  /** Drops entries ≤ `index` (which must be applied); keeps the term of `index`. */
  compact(index: number): void {
    if (index <= this.snapIndex) return;
    if (index > this.applied)
      throw new Error(`invariant: compacting ${index} beyond applied ${this.applied}`);
    const t = this.term(index);
    const cut = index - this.snapIndex;
    const base = this.endBytes[cut - 1]!;
    if (base < this.baseBytes) throw new Error(`invariant: compaction would make log bytes negative`);
    // slice, not splice: the new arrays drop their references to the compacted entries at once.
    this.entries = this.entries.slice(cut);
    this.endBytes = this.endBytes.slice(cut);
    this.baseBytes = base;
    this.snapIndex = index;
    this.snapTerm = t;
  }

  /** Replaces the whole log by the snapshot `meta` (follower install). */
  restore(meta: SnapshotMeta): void {
    if (meta.index <= this.commit)
      throw new Error(`invariant: restoring snapshot ${meta.index} ≤ commit ${this.commit}`);
    this.entries = [];
    this.endBytes = [];
    this.baseBytes = 0;
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    this.commit = meta.index;
    this.unstableFrom = meta.index + 1;
    // Until the host confirms the snapshot durable, nothing after the old durable prefix is ours.
    if (this.persisted >= meta.index) this.persisted = meta.index - 1;
    this.capWriteMarks(meta.index - 1);
    this.pendingSnapshot = meta;
  }
}
