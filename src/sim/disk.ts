import type { Entry, HardState, SnapshotMeta } from '../raft/types.js';
import { LogStore } from './log-store.js';

/** A snapshot as a host stores it: the core's metadata, the state machine bytes, and the prefix hash at meta.index. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: Uint8Array;
  readonly prefixHash: number;
}

type DiskWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: StoredSnapshot }
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hardState'; readonly hardState: HardState };

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** Bound on writes not yet synced: the host syncs every Ready, so this only catches a stuck host. */
const MAX_PENDING_WRITES = 100_000;

/**
 * One node's disk, modelled as a synced part and a pending (written, not yet fsynced) part.
 * `written` is what the host reads back (synced + pending applied in order); `durable` is what
 * survives a crash. A crash keeps a random prefix of the pending writes, like a torn WAL tail.
 */
export class SimDisk {
  durable = new LogStore();
  durableHardState: HardState = EMPTY_HARD_STATE;
  durableSnapshot: StoredSnapshot | undefined;

  written = new LogStore();
  writtenHardState: HardState = EMPTY_HARD_STATE;
  writtenSnapshot: StoredSnapshot | undefined;

  /** Snapshots received from leaders and stored before their message reached the core. Durable. */
  private readonly staged = new Map<string, StoredSnapshot>();
  private pending: DiskWrite[] = [];
  /** Writes issued since this disk was created (synced or not): a position for syncTo(). */
  private issuedWrites = 0;

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** Position after the last issued write; a Ready's fsync makes everything before its mark durable. */
  get writeMark(): number {
    return this.issuedWrites;
  }

  stage(snapshot: StoredSnapshot): void {
    // Only the newest few matter; keep the map bounded.
    if (this.staged.size >= 4) this.staged.delete(this.staged.keys().next().value!);
    this.staged.set(snapshotKey(snapshot.meta.index, snapshot.meta.term), snapshot);
  }

  findStaged(index: number, term: number): StoredSnapshot | undefined {
    return this.staged.get(snapshotKey(index, term));
  }

  writeSnapshot(snapshot: StoredSnapshot): void {
    this.push({ kind: 'snapshot', snapshot });
    applyWrite(this.written, this, 'written', { kind: 'snapshot', snapshot });
  }

  /** Writes one entry (replacing every stored entry at or after its index); returns its prefix hash. */
  writeEntry(entry: Entry): number {
    this.push({ kind: 'entry', entry });
    return this.written.append(entry);
  }

  writeHardState(hardState: HardState): void {
    this.push({ kind: 'hardState', hardState });
    this.writtenHardState = hardState;
  }

  /** fdatasync: every pending write becomes durable. */
  sync(): void {
    this.syncTo(this.issuedWrites);
  }

  /**
   * An fdatasync that was issued when `mark` writes had been issued completes: every write
   * before the mark becomes durable (later writes may still be pending). Marks at or below
   * what is already durable are no-ops (an earlier fsync was covered by a later one).
   */
  syncTo(mark: number): void {
    if (mark > this.issuedWrites)
      throw new Error(`invariant: sync to write ${mark} beyond the ${this.issuedWrites} issued`);
    const firstPending = this.issuedWrites - this.pending.length;
    const count = mark - firstPending;
    if (count <= 0) return;
    for (let i = 0; i < count; i++) applyWrite(this.durable, this, 'durable', this.pending[i]!);
    this.pending = count === this.pending.length ? [] : this.pending.slice(count);
  }

  /** Power loss: a prefix of `keep` pending writes survives, the rest is gone. */
  crash(keep: number): void {
    if (keep < 0 || keep > this.pending.length)
      throw new Error(`invariant: crash keeps ${keep} of ${this.pending.length}`);
    for (let i = 0; i < keep; i++) applyWrite(this.durable, this, 'durable', this.pending[i]!);
    this.pending = [];
    this.issuedWrites = 0;
    this.written = this.durable.clone();
    this.writtenHardState = this.durableHardState;
    this.writtenSnapshot = this.durableSnapshot;
  }

  /**
   * A snapshot the host took of its own state machine: written to a temp file, fsynced and renamed
   * (atomic and durable at once), then the log before it is dropped. Only valid with no pending
   * writes below the snapshot, which holds because the core hands out for applying only entries
   * it was told are durable (advance()), and the host drains its Ready pipeline before a snapshot.
   */
  saveLocalSnapshot(snapshot: StoredSnapshot): void {
    const index = snapshot.meta.index;
    if (
      this.durable.hashAt(index) !== snapshot.prefixHash ||
      this.written.hashAt(index) !== snapshot.prefixHash
    ) {
      throw new Error(`invariant: local snapshot at ${index} does not match the stored log`);
    }
    this.durableSnapshot = snapshot;
    this.writtenSnapshot = snapshot;
    this.durable.compactTo(index);
    this.written.compactTo(index);
  }

  private push(write: DiskWrite): void {
    if (this.pending.length >= MAX_PENDING_WRITES)
      throw new Error('invariant: pending disk writes unbounded');
    this.pending.push(write);
    this.issuedWrites++;
  }
}

function snapshotKey(index: number, term: number): string {
  return `${index}:${term}`;
}

function applyWrite(log: LogStore, disk: SimDisk, side: 'durable' | 'written', write: DiskWrite): void {
  switch (write.kind) {
    case 'snapshot': {
      const { meta, prefixHash } = write.snapshot;
      // A received snapshot replaces the whole log (etcd semantics: the core restarts its log from it).
      log.installSnapshot(meta.index, meta.term, prefixHash, false);
      if (side === 'durable') disk.durableSnapshot = write.snapshot;
      else disk.writtenSnapshot = write.snapshot;
      return;
    }
    case 'entry':
      // The written side appended already (writeEntry) and returned the hash; the durable side replays.
      if (side === 'durable') log.append(write.entry);
      return;
    case 'hardState':
      if (side === 'durable') disk.durableHardState = write.hardState;
      else disk.writtenHardState = write.hardState;
      return;
  }
}
