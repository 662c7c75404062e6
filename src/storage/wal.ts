/**
 * The write-ahead log: durable Raft entries, hard state and snapshot markers.
 *
 * Contract: a promise returned by append() resolves only after every byte of that call is
 * written and fdatasync'ed. Appends are persisted in call order, so a crash leaves a prefix of
 * the calls (the last one possibly in part, which recovery cuts off as a torn tail).
 *
 * Group commit: appends are encoded into the "filling" batch as they arrive; while one
 * write+fdatasync is in flight, everything that arrives goes into the next single
 * write+fdatasync. Batches are bounded by maxBatchBytes; callers that do not fit wait
 * (backpressure), so memory is bounded by two batch buffers.
 *
 * Layout: segment files of bounded size (see wal-segment.ts), each starting with a
 * SegmentHeader record that repeats the hard state and snapshot marker, so deleting older
 * segments (releaseTo) never loses the latest vote or marker.
 *
 * Segments are preallocated (filled with zeros and fsync'ed before use, the next one in the
 * background): an fdatasync that must also commit a file-size change and new block allocations
 * costs a journal commit on ext4, several times the cost of overwriting allocated blocks.
 *
 * Out of space (ENOSPC/EDQUOT) is not fatal, unlike any other I/O error. A flush that runs out
 * of space keeps its batch and its callers waiting (nothing of it is acknowledged) and retries
 * the very same bytes at the very same offset every noSpaceRetryMs: the durable end of the
 * active segment only moves after a successful fdatasync, so a retry overwrites whatever part
 * of the batch reached the file, and a crash meanwhile leaves a torn tail that recovery cuts.
 * Appends arriving meanwhile wait behind it (order is kept). A failed preallocation of the next
 * segment removes its temp file and is retried in the background. Either raises the no-space
 * alarm (onNoSpace), the earlier one while the active segment still has room, so the node can
 * refuse new writes while votes, hard states and in-flight entries still fit.
 */
import { fdatasyncSync } from 'node:fs';
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { WalCorruptionError } from './errors.js';
import { freeBytes, fsyncDir, isNoSpaceError, writeFully, writeFullySync } from './fs-util.js';
import {
  RecordKind,
  SEGMENT_HEADER_RECORD_BYTES,
  type SegmentHeader,
  type SnapshotMark,
  decodeEntriesInto,
  decodeHardState,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  encodeEntries,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotMarker,
  entriesRecordBytes,
  entriesSpan,
  HARD_STATE_PAYLOAD_BYTES,
  RECORD_HEADER_BYTES,
  SNAPSHOT_MARKER_PAYLOAD_BYTES,
  sealRecords,
  sealRecordsYielding,
} from './wal-record.js';
import { parseSegmentFileName, readSegment, scanSegment, segmentFileName } from './wal-segment.js';

export { WalCorruptionError } from './errors.js';

/** Larger flushes use the libuv pool even when flushOnLoopThread is set (see writeBatch). */
const LOOP_THREAD_FLUSH_MAX_BYTES = 1024 * 1024;

export interface WalOptions {
  /** A segment is closed and a new one started once the next flush would exceed this. Default 64 MiB. */
  segmentSizeBytes?: number;
  /** 0 (default) = adaptive: flush as soon as the previous flush ends. >0 = gather appends this long first. */
  groupCommitWindowMs?: number;
  /** Bound on the bytes of one write+fdatasync (a single larger append is written alone). Default 4 MiB. */
  maxBatchBytes?: number;
  /** Where recovery reports repairs (torn tails cut, empty segments removed). Default: stderr. */
  log?: (line: string) => void;
  /** Out of space: how long to wait before writing again (the stalled batch, the next segment). Default 500. */
  noSpaceRetryMs?: number;
}

export interface WalRecovery {
  hardState: HardState;
  /** Last snapshot marker (a snapshot installed from the leader); 0 if none. */
  snapshotIndex: number;
  snapshotTerm: number;
  /**
   * Durable entries after the snapshot marker, contiguous, after applying overwrites. After
   * releaseTo() the first entry may be above snapshotIndex + 1: the host drops the entries
   * covered by its SnapshotStore snapshot (which is at or above every released index).
   */
  entries: Entry[];
  /** Set when the last segment ended in a torn write that was cut off. */
  tornTail?: { file: string; offset: number; bytesCut: number };
}

export interface WalAppend {
  /** Contiguous, ascending. Replaces every stored entry with index ≥ entries[0].index. */
  entries?: readonly Entry[];
  hardState?: HardState;
  /** A snapshot through (index, term) was installed and is durable in the SnapshotStore. */
  snapshot?: { index: number; term: number };
}

export interface WalStats {
  /** Completed write+fdatasync rounds. */
  readonly flushes: number;
  /** Completed append() calls. */
  readonly appends: number;
  readonly segments: number;
}

const MiB = 1024 * 1024;
const DEFAULT_SEGMENT_SIZE_BYTES = 64 * MiB;
const DEFAULT_MAX_BATCH_BYTES = 4 * MiB;
const MIN_SEGMENT_SIZE_BYTES = 4096;
const ZERO_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
const TEMP_SUFFIX = '.tmp';
const ZERO_FILL_CHUNK_BYTES = 1024 * 1024;
const DEFAULT_NO_SPACE_RETRY_MS = 500;

interface Segment {
  readonly seq: number;
  readonly file: string;
  sizeBytes: number;
  /** Highest entry index written into this segment (0 if none): releaseTo deletes it when ≤ the snapshot. */
  maxIndex: number;
  /** Its SegmentHeader is fdatasync'ed and its directory entry fsync'ed. */
  headerDurable: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One write+fdatasync worth of encoded records. buf[0, SEGMENT_HEADER_RECORD_BYTES) is reserved for a segment header. */
interface Batch {
  buf: Buffer;
  length: number;
  waiters: Waiter[];
  maxIndex: number;
  hardState: HardState | undefined;
  snapshot: SnapshotMark | undefined;
  /** performance.now() of the first append, for the group-commit window. */
  openedAtMs: number;
}

interface QueuedAppend {
  readonly input: WalAppend;
  readonly bytes: number;
  readonly waiter: Waiter;
}

export class Wal {
  private readonly dir: string;
  private readonly segmentSizeBytes: number;
  private readonly windowMs: number;
  private readonly maxBatchBytes: number;
  private readonly noSpaceRetryMs: number;
  private readonly segments: Segment[];
  private fh: FileHandle;

  /** State as of the last completed flush: what a new segment header must carry. */
  private durableHardState: HardState;
  private durableSnapshot: SnapshotMark;
  /** Highest entry index appended so far (-1 = unknown after a marker below it); for the no-gap check. */
  private lastIndex: number;

  private filling: Batch;
  private spare: Batch;
  /** Appends that did not fit into `filling`; admitted in order after the next flush. */
  private readonly queued: QueuedAppend[] = [];
  private flushing = false;
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | 'microtask' | undefined;
  private failure: unknown;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /** The next segment, zero-filled under a temporary name, prepared while the active one fills. */
  private nextSegment: { seq: number; ready: Promise<FileHandle> } | undefined;
  private releaseChain: Promise<void> = Promise.resolve();
  /** A flush ran out of space and waits to retry its batch. */
  private stalledBy: Error | undefined;
  /** Preparing the next segment ran out of space; retried by prepareRetryTimer. */
  private prepareFailedBy: Error | undefined;
  private prepareRetryTimer: NodeJS.Timeout | undefined;
  /** Ends the stalled flush's wait early (close). */
  private wakeStalled: (() => void) | undefined;
  private reportedNoSpace: Error | undefined;

  /**
   * Called when the no-space alarm is raised (with the error) and when it clears (undefined):
   * raised while a flush is stalled for lack of space or the next segment cannot be
   * preallocated, cleared once both succeed again.
   */
  onNoSpace: ((err: Error | undefined) => void) | undefined;

  /**
   * When set, a flush writes and fdatasyncs on the calling thread instead of the libuv pool.
   * The event loop stalls for the fsync, but two pool round trips (four thread wake-ups) per
   * batch are gone. Right for a follower, which has nothing to do but wait for its fsync
   * (entries arriving meanwhile wait in the socket and join the next batch); wrong for a
   * leader, which keeps serving clients and counting acknowledgements during its own fsync.
   */
  flushOnLoopThread = false;

  private flushCount = 0;
  private appendCount = 0;
  private bytesSinceReleaseCount: number;

  private constructor(init: {
    dir: string;
    opts: Required<Omit<WalOptions, 'log'>>;
    segments: Segment[];
    fh: FileHandle;
    hardState: HardState;
    snapshot: SnapshotMark;
    lastIndex: number;
  }) {
    this.dir = init.dir;
    this.segmentSizeBytes = init.opts.segmentSizeBytes;
    this.windowMs = init.opts.groupCommitWindowMs;
    this.maxBatchBytes = init.opts.maxBatchBytes;
    this.noSpaceRetryMs = init.opts.noSpaceRetryMs;
    this.segments = init.segments;
    this.fh = init.fh;
    this.durableHardState = init.hardState;
    this.durableSnapshot = init.snapshot;
    this.lastIndex = init.lastIndex;
    this.filling = newBatch(this.maxBatchBytes);
    this.spare = newBatch(this.maxBatchBytes);
    this.bytesSinceReleaseCount = init.segments.reduce((n, s) => n + s.sizeBytes, 0);
  }

  /**
   * Opens (creating if needed) the WAL in `dir`, verifies every record and returns what was
   * durable. Repairs a torn tail of the last segment (truncates it, logs file/offset/bytes).
   * Throws WalCorruptionError for anything that is not a torn tail.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<{ wal: Wal; recovered: WalRecovery }> {
    const segmentSizeBytes = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
    const groupCommitWindowMs = opts.groupCommitWindowMs ?? 0;
    const maxBatchBytes = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const noSpaceRetryMs = opts.noSpaceRetryMs ?? DEFAULT_NO_SPACE_RETRY_MS;
    if (!(noSpaceRetryMs > 0)) throw new Error('noSpaceRetryMs must be > 0');
    if (!(segmentSizeBytes >= MIN_SEGMENT_SIZE_BYTES))
      throw new Error(`segmentSizeBytes must be ≥ ${MIN_SEGMENT_SIZE_BYTES}`);
    if (!(groupCommitWindowMs >= 0)) throw new Error('groupCommitWindowMs must be ≥ 0');
    if (!(maxBatchBytes >= 1024)) throw new Error('maxBatchBytes must be ≥ 1024');

    await mkdir(dir, { recursive: true });
    const replay = new Replay();
    const segments: Segment[] = [];
    let tornTail: WalRecovery['tornTail'];
    const names = await readdir(dir);
    // A segment being prepared when we stopped: never part of the log.
    for (const name of names) if (name.endsWith(`.wal${TEMP_SUFFIX}`)) await unlink(join(dir, name));
    const seqs = names
      .map(parseSegmentFileName)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1]! + 1) {
        throw new WalCorruptionError(
          join(dir, segmentFileName(seqs[i - 1]! + 1)),
          0,
          `segment missing: sequence jumps from ${segmentFileName(seqs[i - 1]!)} to ${segmentFileName(seqs[i]!)}`,
        );
      }
    }

    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      const isLast = i === seqs.length - 1;
      const file = join(dir, segmentFileName(seq));
      const buf = await readSegment(file);
      const seg: Segment = { seq, file, sizeBytes: 0, maxIndex: 0, headerDurable: true };
      const { validEnd, dirtyEnd } = replay.scan(buf, file, seq, i === 0, seg);
      if (validEnd === 0 && isLast) {
        // Not even a header: the crash hit while this segment was being created. Nothing in it
        // was acknowledged (the header is written in the same flush as the first records).
        await unlink(file);
        await fsyncDir(dir);
        const bytesCut = dirtyEnd ?? 0;
        log(`wal: removed ${file}: no valid record (${bytesCut} non-zero bytes)`);
        if (bytesCut > 0) tornTail = { file, offset: 0, bytesCut };
        continue;
      }
      if (validEnd === 0) throw new WalCorruptionError(file, 0, 'sealed segment without a valid header');
      if (dirtyEnd !== undefined) {
        if (!isLast)
          throw new WalCorruptionError(
            file,
            validEnd,
            'bad record at the end of a sealed (not last) segment',
          );
        // Zero the remains of the torn flush rather than truncating: keeps the preallocation.
        const bytesCut = dirtyEnd - validEnd;
        const fh = await open(file, 'r+');
        try {
          await writeFully(fh, Buffer.alloc(bytesCut), bytesCut, validEnd);
          await fh.sync();
        } finally {
          await fh.close();
        }
        log(`wal: torn write repaired: cut ${bytesCut} bytes from ${file} at offset ${validEnd}`);
        tornTail = { file, offset: validEnd, bytesCut };
      }
      seg.sizeBytes = validEnd;
      segments.push(seg);
    }

    const hardState = replay.hardState;
    const snapshot = replay.snapshot;
    let fh: FileHandle;
    const last = segments[segments.length - 1];
    if (last === undefined) {
      const seq = seqs.length > 0 ? seqs[seqs.length - 1]! : 1;
      const created = await createSegment(dir, seq, segmentSizeBytes, { seq, hardState, snapshot });
      fh = created.fh;
      segments.push(created.segment);
    } else {
      fh = await open(last.file, 'r+');
    }
    const lastEntry = replay.entries[replay.entries.length - 1];
    const wal = new Wal({
      dir,
      opts: { segmentSizeBytes, groupCommitWindowMs, maxBatchBytes, noSpaceRetryMs },
      segments,
      fh,
      hardState,
      snapshot,
      // With no entry left (fresh, or all released) the log end is unknown: skip the gap check once.
      lastIndex: lastEntry ? lastEntry.index : -1,
    });
    const recovered: WalRecovery = {
      hardState,
      snapshotIndex: snapshot.index,
      snapshotTerm: snapshot.term,
      entries: replay.entries,
    };
    if (tornTail) recovered.tornTail = tornTail;
    return { wal, recovered };
  }

  /** Bytes appended since the last releaseTo() (at open: the size of the segments on disk). */
  get bytesSinceRelease(): number {
    return this.bytesSinceReleaseCount;
  }

  get stats(): WalStats {
    return { flushes: this.flushCount, appends: this.appendCount, segments: this.segments.length };
  }

  /** The WAL's directory. */
  get directory(): string {
    return this.dir;
  }

  /** Set while the no-space alarm is raised (see onNoSpace): the error that raised it. */
  get noSpace(): Error | undefined {
    return this.stalledBy ?? this.prepareFailedBy;
  }

  /**
   * Group commit: resolves only after everything in this call is fdatasync'ed.
   * Order inside the call follows the Ready contract: snapshot marker, entries, hard state.
   */
  append(batch: WalAppend): Promise<void> {
    if (this.closed) return Promise.reject(new Error('wal: append after close'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let bytes: number;
    try {
      bytes = this.validate(batch);
    } catch (err) {
      return Promise.reject(err);
    }
    if (bytes === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const item: QueuedAppend = { input: batch, bytes, waiter: { resolve, reject } };
      if (this.queued.length > 0 || !this.fits(this.filling, bytes)) {
        this.queued.push(item);
      } else {
        this.encode(this.filling, item);
      }
      this.scheduleFlush();
    });
  }

  /**
   * A snapshot through `index` is durable: delete the oldest segments whose entries are all
   * ≤ index, oldest first (a crash midway leaves a contiguous suffix), then fsync the directory.
   * Never deletes the active segment, nor one whose successor's header is not yet durable
   * (that header is what carries the hard state forward).
   */
  releaseTo(index: number): Promise<void> {
    if (!Number.isSafeInteger(index) || index < 0) return Promise.reject(new Error(`releaseTo(${index})`));
    this.bytesSinceReleaseCount = 0;
    const run = async (): Promise<void> => {
      const doomed: Segment[] = [];
      while (this.segments.length > 1) {
        const first = this.segments[0]!;
        const next = this.segments[1]!;
        if (first.maxIndex > index || !next.headerDurable) break;
        doomed.push(first);
        this.segments.shift();
      }
      if (doomed.length === 0) return;
      for (const seg of doomed) await unlink(seg.file);
      await fsyncDir(this.dir);
    };
    const p = this.releaseChain.then(run);
    this.releaseChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Flushes everything already appended, waits for in-flight fsyncs and releases, closes the file.
   * A flush waiting for disk space gets one last attempt; if that fails too, it and everything
   * behind it are failed (their appends reject: never acknowledged) and close() still resolves.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.prepareRetryTimer) clearTimeout(this.prepareRetryTimer);
    this.wakeStalled?.(); // one last attempt, then the stalled batch fails
    await this.whenIdle();
    await this.releaseChain;
    await this.fh.close();
    const next = this.nextSegment;
    this.nextSegment = undefined;
    if (next) await next.ready.then((fh) => fh.close()).catch(() => undefined); // its file goes at the next open
    // Out of space can only be a failure here through close(), which gave up on it on purpose.
    if (this.failure !== undefined && !isNoSpaceError(this.failure)) throw this.failure;
  }

  // ---- internals -------------------------------------------------------------------------

  /** Checks the input and returns its encoded size in bytes. */
  private validate(batch: WalAppend): number {
    let bytes = 0;
    if (batch.snapshot) {
      const { index, term } = batch.snapshot;
      if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(term) || term < 0) {
        throw new Error(`invariant: bad snapshot marker ${index}/${term}`);
      }
      bytes += RECORD_HEADER_BYTES + SNAPSHOT_MARKER_PAYLOAD_BYTES;
    }
    const entries = batch.entries;
    if (entries && entries.length > 0) {
      const first = entries[0]!.index;
      for (let k = 0; k < entries.length; k++) {
        const e = entries[k]!;
        if (e.index !== first + k)
          throw new Error(`invariant: entries not contiguous at ${e.index} (expected ${first + k})`);
        if (e.type !== 0 && e.type !== 1)
          throw new Error(`invariant: entry ${e.index} has unknown type ${e.type}`);
      }
      if (first < 1) throw new Error(`invariant: entry index ${first} < 1`);
      const base = batch.snapshot ? logEndAfterMarker(this.lastIndex, batch.snapshot.index) : this.lastIndex;
      if (base >= 0 && first > base + 1) {
        throw new Error(`invariant: entries start at ${first} but the log ends at ${base} (gap)`);
      }
      bytes += entriesRecordBytes(entries);
    }
    if (batch.hardState) bytes += RECORD_HEADER_BYTES + HARD_STATE_PAYLOAD_BYTES;
    // Track the log end for the next call's gap check (the call is accepted from here on).
    if (batch.snapshot) this.lastIndex = logEndAfterMarker(this.lastIndex, batch.snapshot.index);
    const lastEntry = entries?.[entries.length - 1];
    if (lastEntry) this.lastIndex = lastEntry.index;
    return bytes;
  }

  private fits(batch: Batch, bytes: number): boolean {
    if (batch.length + bytes <= batch.buf.length) return true;
    // A single append larger than a batch gets an empty batch of its own, grown to fit.
    if (batch.length === SEGMENT_HEADER_RECORD_BYTES && bytes > this.maxBatchBytes) {
      batch.buf = Buffer.allocUnsafe(SEGMENT_HEADER_RECORD_BYTES + bytes);
      return true;
    }
    return false;
  }

  private encode(batch: Batch, item: QueuedAppend): void {
    const { input } = item;
    if (batch.waiters.length === 0) batch.openedAtMs = performance.now();
    let off = batch.length;
    const start = off;
    if (input.snapshot) {
      off = encodeSnapshotMarker(batch.buf, off, input.snapshot);
      if (!batch.snapshot || input.snapshot.index > batch.snapshot.index)
        batch.snapshot = { ...input.snapshot };
    }
    if (input.entries && input.entries.length > 0) {
      off = encodeEntries(batch.buf, off, input.entries);
      batch.maxIndex = Math.max(batch.maxIndex, input.entries[input.entries.length - 1]!.index);
    }
    if (input.hardState) {
      off = encodeHardState(batch.buf, off, input.hardState);
      batch.hardState = { ...input.hardState };
    }
    if (off - start !== item.bytes) throw new Error('invariant: encoded size differs from computed size');
    batch.length = off;
    batch.waiters.push(item.waiter);
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushTimer !== undefined || this.filling.waiters.length === 0) return;
    const waitMs = this.windowMs > 0 ? this.filling.openedAtMs + this.windowMs - performance.now() : 0;
    const fire = (): void => {
      this.flushTimer = undefined;
      void this.flush();
    };
    if (waitMs <= 0 && this.flushOnLoopThread) {
      // The flush blocks the loop anyway: run it at the end of this task, after every append
      // made in it (the host appends all Readies of a turn in one go), not one loop turn later.
      // Saves a turn on a follower's path from receiving entries to acknowledging them.
      this.flushTimer = 'microtask';
      queueMicrotask(fire);
      return;
    }
    // In adaptive mode defer to setImmediate: appends issued in the same tick join this flush.
    this.flushTimer = waitMs > 0 ? setTimeout(fire, waitMs) : setImmediate(fire);
  }

  private async flush(): Promise<void> {
    if (this.flushing) throw new Error('invariant: concurrent flushes');
    const batch = this.filling;
    if (batch.waiters.length === 0) return;
    this.flushing = true;
    this.filling = this.spare;
    try {
      await this.writeBatchUntilItFits(batch);
      this.flushCount++;
      this.appendCount += batch.waiters.length;
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      // An fdatasync failure is not retryable (the kernel may have dropped the dirty pages):
      // fail this batch and every later append. (Out of space is retried: see below.)
      this.failure = err instanceof Error ? err : new Error(String(err));
      for (const w of batch.waiters) w.reject(this.failure);
      for (const w of this.filling.waiters) w.reject(this.failure);
      for (const q of this.queued.splice(0)) q.waiter.reject(this.failure);
      resetBatch(this.filling, this.maxBatchBytes);
    }
    resetBatch(batch, this.maxBatchBytes);
    this.spare = batch;
    this.flushing = false;
    // Admit waiting appends, in order, as far as they fit.
    while (this.queued.length > 0 && this.fits(this.filling, this.queued[0]!.bytes)) {
      this.encode(this.filling, this.queued.shift()!);
    }
    if (this.filling.waiters.length > 0) this.scheduleFlush();
    else if (this.queued.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * writeBatch, retried while it fails for lack of space. Nothing of the batch is acknowledged
   * until it succeeds; the retry writes the same bytes at the same offset (the active segment's
   * durable end moves only after a successful fdatasync), over whatever part of it the failed
   * attempt left. Rewriting the whole batch also re-dirties every page an ENOSPC from fdatasync
   * may have left clean but unwritten; the pages before it were fdatasync'ed by earlier flushes.
   */
  private async writeBatchUntilItFits(batch: Batch): Promise<void> {
    for (;;) {
      try {
        await this.writeBatch(batch);
        if (this.stalledBy) {
          this.stalledBy = undefined;
          this.reportNoSpace();
        }
        return;
      } catch (err) {
        if (!isNoSpaceError(err) || this.closed) throw err;
        this.stalledBy = err as Error;
        this.reportNoSpace();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.noSpaceRetryMs);
          this.wakeStalled = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeStalled = undefined;
      }
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    let active = this.segments[this.segments.length - 1]!;
    const bodyBytes = batch.length - SEGMENT_HEADER_RECORD_BYTES;
    if (
      active.sizeBytes + bodyBytes > this.segmentSizeBytes &&
      active.sizeBytes > SEGMENT_HEADER_RECORD_BYTES
    ) {
      // Rotate. The old segment is complete: the previous flush fdatasync'ed it.
      active = await this.rotate(active);
    }
    // A segment whose header is not on disk yet (rotated in this attempt, or in an earlier one
    // that ran out of space) gets it in this write, with the directory entry made durable.
    const withHeader = !active.headerDurable;
    let start = SEGMENT_HEADER_RECORD_BYTES;
    if (withHeader) {
      if (active.sizeBytes !== 0)
        throw new Error('invariant: a segment without a durable header has records');
      const header: SegmentHeader = {
        seq: active.seq,
        hardState: this.durableHardState,
        snapshot: this.durableSnapshot,
      };
      if (encodeSegmentHeader(batch.buf, 0, header) !== SEGMENT_HEADER_RECORD_BYTES) {
        throw new Error('invariant: segment header size');
      }
      start = 0;
    }
    const sealing = sealRecordsYielding(batch.buf, start, batch.length);
    if (sealing) await sealing;
    const n = batch.length - start;
    // A big batch (a large value) goes to the pool even on a follower: blocking the loop for
    // its write+fsync would hold back heartbeat responses past the election timeout.
    if (this.flushOnLoopThread && !withHeader && n <= LOOP_THREAD_FLUSH_MAX_BYTES) {
      writeFullySync(this.fh.fd, batch.buf.subarray(start, batch.length), active.sizeBytes);
      fdatasyncSync(this.fh.fd);
    } else {
      await writeFully(this.fh, batch.buf.subarray(start), n, active.sizeBytes);
      if (withHeader) await Promise.all([this.fh.datasync(), fsyncDir(this.dir)]);
      else await this.fh.datasync();
    }
    active.sizeBytes += n;
    active.headerDurable = true;
    active.maxIndex = Math.max(active.maxIndex, batch.maxIndex);
    this.bytesSinceReleaseCount += n;
    if (batch.hardState) this.durableHardState = batch.hardState;
    if (batch.snapshot && batch.snapshot.index > this.durableSnapshot.index)
      this.durableSnapshot = batch.snapshot;
    this.maybePrepareNextSegment();
  }

  /** Makes the prepared next segment the active one (its header is written by the caller). */
  private async rotate(old: Segment): Promise<Segment> {
    const seq = old.seq + 1;
    const file = join(this.dir, segmentFileName(seq));
    const fh = await this.prepareSegment(seq);
    this.nextSegment = undefined;
    try {
      await rename(file + TEMP_SUFFIX, file);
    } catch (err) {
      // Out of space for a directory block, say: start over from a fresh preallocation.
      await fh.close().catch(() => undefined);
      await unlink(file + TEMP_SUFFIX).catch(() => undefined);
      throw err;
    }
    await this.fh.close();
    this.fh = fh;
    const segment: Segment = { seq, file, sizeBytes: 0, maxIndex: 0, headerDurable: false };
    this.segments.push(segment);
    return segment;
  }

  /**
   * The zero-filled segment `seq` under its temporary name, prepared at most once at a time.
   * A failure forgets it (its temp file is already gone); running out of space raises the alarm
   * and retries in the background, any other error surfaces at the rotation that needs it.
   */
  private prepareSegment(seq: number): Promise<FileHandle> {
    const pending = this.nextSegment;
    if (pending !== undefined) {
      if (pending.seq !== seq) throw new Error(`invariant: preparing segment ${seq} while ${pending.seq} is`);
      return pending.ready;
    }
    const ready = preallocate(join(this.dir, segmentFileName(seq)) + TEMP_SUFFIX, this.segmentSizeBytes);
    const entry = { seq, ready };
    this.nextSegment = entry;
    ready.then(
      () => {
        if (this.prepareFailedBy) {
          this.prepareFailedBy = undefined;
          this.reportNoSpace();
        }
      },
      (err: unknown) => {
        if (this.nextSegment === entry) this.nextSegment = undefined;
        if (!isNoSpaceError(err)) return;
        this.prepareFailedBy = err as Error;
        this.reportNoSpace();
        this.schedulePrepareRetry();
      },
    );
    return ready;
  }

  /**
   * Once the active segment is half full, zero-fill the next one in the background. After a
   * failure for lack of space only the retry timer tries again (not every flush).
   */
  private maybePrepareNextSegment(retrying = false): void {
    const active = this.segments[this.segments.length - 1]!;
    if (this.nextSegment || this.closed || active.sizeBytes < this.segmentSizeBytes / 2) return;
    if (this.prepareFailedBy !== undefined && !retrying) return;
    this.prepareSegment(active.seq + 1).catch(() => undefined); // handled in prepareSegment
  }

  /** Retries preparing the next segment while it fails for lack of space, once statfs shows room. */
  private schedulePrepareRetry(): void {
    if (this.prepareRetryTimer || this.closed) return;
    this.prepareRetryTimer = setTimeout(() => {
      void (async () => {
        const free = await freeBytes(this.dir);
        this.prepareRetryTimer = undefined;
        if (this.closed || this.prepareFailedBy === undefined || this.nextSegment) return;
        const active = this.segments[this.segments.length - 1]!;
        if (active.sizeBytes < this.segmentSizeBytes / 2) {
          // Rotated since (the stalled flush prepared its own segment): nothing to prepare yet.
          this.prepareFailedBy = undefined;
          this.reportNoSpace();
          return;
        }
        if (free !== undefined && free < this.segmentSizeBytes) {
          this.schedulePrepareRetry(); // still no room: do not zero-fill what cannot fit
          return;
        }
        this.maybePrepareNextSegment(true);
      })();
    }, this.noSpaceRetryMs);
  }

  /** Tells onNoSpace when the alarm state changes. */
  private reportNoSpace(): void {
    const now = this.noSpace;
    if ((now === undefined) === (this.reportedNoSpace === undefined)) return;
    this.reportedNoSpace = now;
    this.onNoSpace?.(now);
  }

  private whenIdle(): Promise<void> {
    if (
      !this.flushing &&
      this.flushTimer === undefined &&
      this.filling.waiters.length === 0 &&
      this.queued.length === 0
    ) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}

function newBatch(maxBatchBytes: number): Batch {
  return {
    buf: Buffer.allocUnsafe(SEGMENT_HEADER_RECORD_BYTES + maxBatchBytes),
    length: SEGMENT_HEADER_RECORD_BYTES,
    waiters: [],
    maxIndex: 0,
    hardState: undefined,
    snapshot: undefined,
    openedAtMs: 0,
  };
}

function resetBatch(batch: Batch, maxBatchBytes: number): void {
  if (batch.buf.length !== SEGMENT_HEADER_RECORD_BYTES + maxBatchBytes) {
    batch.buf = Buffer.allocUnsafe(SEGMENT_HEADER_RECORD_BYTES + maxBatchBytes); // drop an oversize buffer
  }
  batch.length = SEGMENT_HEADER_RECORD_BYTES;
  batch.waiters = [];
  batch.maxIndex = 0;
  batch.hardState = undefined;
  batch.snapshot = undefined;
}

/**
 * Creates `path` filled with `sizeBytes` zeros, fsync'ed (blocks allocated, size durable). On
 * failure the file is removed: a partial preallocation must not keep the space it got.
 */
async function preallocate(path: string, sizeBytes: number): Promise<FileHandle> {
  const fh = await open(path, 'w+');
  try {
    const zeros = Buffer.alloc(Math.min(ZERO_FILL_CHUNK_BYTES, sizeBytes));
    for (let pos = 0; pos < sizeBytes; pos += zeros.length) {
      await writeFully(fh, zeros, Math.min(zeros.length, sizeBytes - pos), pos);
    }
    await fh.sync();
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

/** The first segment of a fresh (or fully torn) log: header written before the name appears. */
async function createSegment(
  dir: string,
  seq: number,
  segmentSizeBytes: number,
  header: SegmentHeader,
): Promise<{ fh: FileHandle; segment: Segment }> {
  const file = join(dir, segmentFileName(seq));
  const fh = await preallocate(file + TEMP_SUFFIX, segmentSizeBytes);
  try {
    const buf = Buffer.allocUnsafe(SEGMENT_HEADER_RECORD_BYTES);
    encodeSegmentHeader(buf, 0, header);
    sealRecords(buf, 0, buf.length);
    await writeFully(fh, buf, buf.length, 0);
    await fh.datasync();
    await rename(file + TEMP_SUFFIX, file);
    await fsyncDir(dir);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return {
    fh,
    segment: { seq, file, sizeBytes: SEGMENT_HEADER_RECORD_BYTES, maxIndex: 0, headerDurable: true },
  };
}

/** Replays records into the recovered state, applying overwrites and snapshot markers. */
class Replay {
  hardState: HardState = ZERO_HARD_STATE;
  snapshot: SnapshotMark = { index: 0, term: 0 };
  readonly entries: Entry[] = [];

  scan(
    buf: Buffer,
    file: string,
    seq: number,
    isFirstSegment: boolean,
    seg: Segment,
  ): { validEnd: number; dirtyEnd?: number } {
    let sawHeader = false;
    return scanSegment(buf, file, (kind, p, len, recordOffset) => {
      if (!sawHeader) {
        if (kind !== RecordKind.SegmentHeader) {
          throw new WalCorruptionError(
            file,
            recordOffset,
            `first record is kind ${kind}, not a segment header`,
          );
        }
        sawHeader = true;
        const h = decodeSegmentHeader(buf, p, len);
        if (h.seq !== seq) throw new WalCorruptionError(file, recordOffset, `header says segment ${h.seq}`);
        if (isFirstSegment) {
          // Older segments were released: the header carries what they held.
          this.hardState = h.hardState;
          this.snapshot = h.snapshot;
        } else if (!sameHardState(h.hardState, this.hardState) || h.snapshot.index !== this.snapshot.index) {
          throw new WalCorruptionError(
            file,
            recordOffset,
            'segment header disagrees with the preceding segments',
          );
        }
        return;
      }
      switch (kind) {
        case RecordKind.Entries:
          this.applyEntries(buf, p, len, file, recordOffset, seg);
          return;
        case RecordKind.HardState:
          this.hardState = decodeHardState(buf, p, len);
          return;
        case RecordKind.SnapshotMarker:
          this.applyMarker(decodeSnapshotMarker(buf, p, len));
          return;
        case RecordKind.SegmentHeader:
          throw new WalCorruptionError(file, recordOffset, 'segment header in the middle of a segment');
      }
    });
  }

  private applyEntries(
    buf: Buffer,
    p: number,
    len: number,
    file: string,
    recordOffset: number,
    seg: Segment,
  ): void {
    const { firstIndex, count } = entriesSpan(buf, p, len);
    if (count === 0 || firstIndex < 1)
      throw new WalCorruptionError(file, recordOffset, 'empty or zero-based entries record');
    const lastIndex = firstIndex + count - 1;
    seg.maxIndex = Math.max(seg.maxIndex, lastIndex);
    const base = this.snapshot.index;
    if (lastIndex <= base) return; // wholly covered by the installed snapshot
    const start = Math.max(firstIndex, base + 1);
    const log = this.entries;
    const head = log[0];
    const tail = log[log.length - 1];
    if (head !== undefined && tail !== undefined) {
      if (start > tail.index + 1) {
        throw new WalCorruptionError(
          file,
          recordOffset,
          `entries start at ${start} but the log ends at ${tail.index}`,
        );
      }
      // A new leader overwrote an uncommitted suffix: drop everything from `start` on.
      if (start <= tail.index) log.length = start <= head.index ? 0 : start - head.index;
    }
    decodeEntriesInto(buf, p, len, start - 1, log);
  }

  /** Raft §7: keep the suffix after the snapshot only if the log has the snapshot's last entry. */
  private applyMarker(mark: SnapshotMark): void {
    if (mark.index <= this.snapshot.index) return;
    const log = this.entries;
    const head = log[0];
    const at = head === undefined ? undefined : log[mark.index - head.index];
    if (at !== undefined && at.index === mark.index && at.term === mark.term) {
      log.splice(0, mark.index - head!.index + 1);
    } else {
      log.length = 0;
    }
    this.snapshot = mark;
  }
}

/**
 * Log end after a snapshot marker, -1 if unknown. A marker at or past the end wipes the log; one
 * inside it keeps the suffix only if the terms match, which the WAL does not track.
 */
function logEndAfterMarker(lastIndex: number, markerIndex: number): number {
  return lastIndex >= 0 && markerIndex >= lastIndex ? markerIndex : -1;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
