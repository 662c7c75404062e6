import type { Entry } from '../raft/types.js';
import { EMPTY_PREFIX_HASH, chainEntry } from './hash.js';

/** Read-only view of a log the invariant checker inspects: prefix hashes by index. */
export interface LogView {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** Prefix hash at snapshotIndex. */
  readonly snapshotHash: number;
  lastIndex(): number;
  /** Term at `index`, or undefined when the index is compacted away (< snapshotIndex) or absent. */
  termAt(index: number): number | undefined;
  /** Prefix hash at `index`, or undefined when compacted away or absent. */
  hashAt(index: number): number | undefined;
}

/**
 * A log as a host stores it: a snapshot point (index, term, prefix hash) and the contiguous
 * entries after it, each with the hash of the whole prefix ending in it. The prefix hash is what
 * makes log matching checkable in O(1) per entry.
 */
export class LogStore implements LogView {
  snapshotIndex = 0;
  snapshotTerm = 0;
  snapshotHash = EMPTY_PREFIX_HASH;
  entries: Entry[] = [];
  hashes: number[] = [];

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  termAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1]?.term;
  }

  hashAt(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotHash;
    if (index < this.snapshotIndex) return undefined;
    return this.hashes[index - this.snapshotIndex - 1];
  }

  /**
   * Appends `entry`, first truncating every stored entry with index ≥ entry.index (the Ready
   * contract: an append replaces the tail). Returns the new prefix hash.
   */
  append(entry: Entry): number {
    const offset = entry.index - this.snapshotIndex - 1;
    if (offset < 0) {
      throw new Error(
        `invariant: append of index ${entry.index} at or below the snapshot index ${this.snapshotIndex}`,
      );
    }
    if (offset > this.entries.length) {
      throw new Error(`invariant: append of index ${entry.index} leaves a gap after ${this.lastIndex()}`);
    }
    const prevTerm = offset === 0 ? this.snapshotTerm : this.entries[offset - 1]!.term;
    if (entry.term < prevTerm) {
      throw new Error(
        `invariant: entry ${entry.index} has term ${entry.term} below its predecessor's ${prevTerm}`,
      );
    }
    const prevHash = offset === 0 ? this.snapshotHash : this.hashes[offset - 1]!;
    const hash = chainEntry(prevHash, entry.index, entry.term, entry.type, entry.data);
    this.entries.length = offset;
    this.hashes.length = offset;
    this.entries.push(entry);
    this.hashes.push(hash);
    return hash;
  }

  /**
   * Installs a snapshot point. Entries after it are kept only when the log holds the snapshot's
   * own entry with the same prefix hash (then they are a valid continuation); otherwise the log
   * becomes empty after the snapshot.
   */
  installSnapshot(index: number, term: number, hash: number, keepMatchingTail: boolean): void {
    const keep = keepMatchingTail && this.hashAt(index) === hash && index >= this.snapshotIndex;
    if (keep) {
      const drop = index - this.snapshotIndex;
      this.entries = this.entries.slice(drop);
      this.hashes = this.hashes.slice(drop);
    } else {
      this.entries = [];
      this.hashes = [];
    }
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.snapshotHash = hash;
  }

  /** Drops entries ≤ index (they are covered by a durable snapshot at ≥ index). */
  compactTo(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.lastIndex()) {
      throw new Error(`invariant: compaction to ${index} beyond the last index ${this.lastIndex()}`);
    }
    const drop = index - this.snapshotIndex;
    this.snapshotTerm = this.entries[drop - 1]!.term;
    this.snapshotHash = this.hashes[drop - 1]!;
    this.snapshotIndex = index;
    this.entries = this.entries.slice(drop);
    this.hashes = this.hashes.slice(drop);
  }

  clone(): LogStore {
    const copy = new LogStore();
    copy.snapshotIndex = this.snapshotIndex;
    copy.snapshotTerm = this.snapshotTerm;
    copy.snapshotHash = this.snapshotHash;
    copy.entries = this.entries.slice();
    copy.hashes = this.hashes.slice();
    return copy;
  }
}
