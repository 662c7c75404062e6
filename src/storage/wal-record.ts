/**
 * WAL record framing and payload codecs.
 *
 * Record: `length u32 | crc32c u32 | type u8 | payload[length]`, little-endian.
 * - `length` counts the payload only; the record is RECORD_HEADER_BYTES + length bytes.
 * - `crc32c` covers the type byte and the payload, so a flipped type is caught too.
 * - `type`: low 7 bits are the RecordKind; bit 7 (FLUSH_END_FLAG) marks the last record of one
 *   write+fdatasync. Recovery uses it to tell a torn last flush (records of that same flush may
 *   be persisted out of order by the disk) from damage in an earlier, acknowledged flush.
 * A zero-filled region decodes as length 0, crc 0, type 0: kind 0 is invalid, so it is never
 * mistaken for a record.
 */
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { readU64, writeU64 } from './fs-util.js';

export const RECORD_HEADER_BYTES = 9;
export const FLUSH_END_FLAG = 0x80;
const KIND_MASK = 0x7f;

export const RecordKind = {
  /** A run of contiguous entries: firstIndex u64, count u32, then per entry term u64, type u8, len u32, data. */
  Entries: 1,
  /** term u64, vote u32, commit u64. */
  HardState: 2,
  /** A snapshot was installed: index u64, term u64. Entries at or below index are obsolete. */
  SnapshotMarker: 3,
  /** First record of every segment: carries the state so older segments can be deleted. */
  SegmentHeader: 4,
} as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** Sanity bound: no record is larger than this (a batch is bounded far below it). */
export const MAX_RECORD_PAYLOAD_BYTES = 1 << 30;

export const ENTRIES_FIXED_BYTES = 8 + 4;
export const ENTRY_OVERHEAD_BYTES = 8 + 1 + 4;
export const HARD_STATE_PAYLOAD_BYTES = 8 + 4 + 8;
export const SNAPSHOT_MARKER_PAYLOAD_BYTES = 8 + 8;
const SEGMENT_MAGIC = 0x4c57564b; // "KVWL" little-endian
const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_PAYLOAD_BYTES =
  4 + 1 + 8 + HARD_STATE_PAYLOAD_BYTES + SNAPSHOT_MARKER_PAYLOAD_BYTES;
export const SEGMENT_HEADER_RECORD_BYTES = RECORD_HEADER_BYTES + SEGMENT_HEADER_PAYLOAD_BYTES;

export interface SnapshotMark {
  readonly index: number;
  readonly term: number;
}

export interface SegmentHeader {
  readonly seq: number;
  readonly hardState: HardState;
  readonly snapshot: SnapshotMark;
}

export function entriesRecordBytes(entries: readonly Entry[]): number {
  let n = RECORD_HEADER_BYTES + ENTRIES_FIXED_BYTES;
  for (const e of entries) n += ENTRY_OVERHEAD_BYTES + e.data.length;
  return n;
}

/** Writes the 9-byte frame (CRC left as 0: sealRecord fills it in at flush time). Returns the payload offset. */
function writeFrame(buf: Buffer, off: number, kind: RecordKind, payloadBytes: number): number {
  buf.writeUInt32LE(payloadBytes, off);
  buf.writeUInt32LE(0, off + 4);
  buf[off + 8] = kind;
  return off + RECORD_HEADER_BYTES;
}

/** Encodes entries (contiguous, ascending) at off; returns the offset after the record. */
export function encodeEntries(buf: Buffer, off: number, entries: readonly Entry[]): number {
  const first = entries[0];
  if (first === undefined) throw new Error('invariant: empty entries record');
  const total = entriesRecordBytes(entries);
  let p = writeFrame(buf, off, RecordKind.Entries, total - RECORD_HEADER_BYTES);
  writeU64(buf, first.index, p);
  buf.writeUInt32LE(entries.length, p + 8);
  p += ENTRIES_FIXED_BYTES;
  for (const e of entries) {
    writeU64(buf, e.term, p);
    buf[p + 8] = e.type;
    buf.writeUInt32LE(e.data.length, p + 9);
    p += ENTRY_OVERHEAD_BYTES;
    buf.set(e.data, p);
    p += e.data.length;
  }
  if (p !== off + total) throw new Error('invariant: entries record size mismatch');
  return p;
}

export function encodeHardState(buf: Buffer, off: number, hs: HardState): number {
  const p = writeFrame(buf, off, RecordKind.HardState, HARD_STATE_PAYLOAD_BYTES);
  writeHardStateBody(buf, p, hs);
  return p + HARD_STATE_PAYLOAD_BYTES;
}

export function encodeSnapshotMarker(buf: Buffer, off: number, mark: SnapshotMark): number {
  const p = writeFrame(buf, off, RecordKind.SnapshotMarker, SNAPSHOT_MARKER_PAYLOAD_BYTES);
  writeU64(buf, mark.index, p);
  writeU64(buf, mark.term, p + 8);
  return p + SNAPSHOT_MARKER_PAYLOAD_BYTES;
}

export function encodeSegmentHeader(buf: Buffer, off: number, h: SegmentHeader): number {
  let p = writeFrame(buf, off, RecordKind.SegmentHeader, SEGMENT_HEADER_PAYLOAD_BYTES);
  buf.writeUInt32LE(SEGMENT_MAGIC, p);
  buf[p + 4] = SEGMENT_FORMAT_VERSION;
  writeU64(buf, h.seq, p + 5);
  p += 13;
  writeHardStateBody(buf, p, h.hardState);
  p += HARD_STATE_PAYLOAD_BYTES;
  writeU64(buf, h.snapshot.index, p);
  writeU64(buf, h.snapshot.term, p + 8);
  return p + SNAPSHOT_MARKER_PAYLOAD_BYTES;
}

function writeHardStateBody(buf: Buffer, p: number, hs: HardState): void {
  writeU64(buf, hs.term, p);
  buf.writeUInt32LE(hs.vote, p + 8);
  writeU64(buf, hs.commit, p + 12);
}

/**
 * Fills in the CRC of every record in buf[start, end) and sets FLUSH_END_FLAG on the last one.
 * Done once per flush, so the flag can be decided when the batch is closed.
 */
export function sealRecords(buf: Buffer, start: number, end: number): void {
  let off = start;
  let last = -1;
  while (off < end) {
    const len = buf.readUInt32LE(off);
    last = off;
    off += RECORD_HEADER_BYTES + len;
  }
  if (off !== end || last < 0) throw new Error('invariant: batch does not end on a record boundary');
  buf[last + 8] = buf[last + 8]! | FLUSH_END_FLAG;
  off = start;
  while (off < end) {
    const len = buf.readUInt32LE(off);
    buf.writeUInt32LE(crc32c(buf, 0, off + 8, off + RECORD_HEADER_BYTES + len), off + 4);
    off += RECORD_HEADER_BYTES + len;
  }
}

/** Records larger than this have their CRC computed in slices of this size, one per loop turn. */
export const CRC_SLICE_BYTES = 2 * 1024 * 1024;

/**
 * sealRecords for batches that may hold a huge record (a value of tens of MiB): the CRC (about
 * 2 ms per MiB in JS) is computed CRC_SLICE_BYTES at a time with a loop turn between slices,
 * so timers, heartbeats and acknowledgements keep flowing. Returns undefined when the batch is
 * small enough to have been sealed synchronously (the common case: no extra turn). The caller
 * must not touch buf[start, end) until the promise settles.
 */
export function sealRecordsYielding(buf: Buffer, start: number, end: number): Promise<void> | undefined {
  if (end - start <= CRC_SLICE_BYTES) {
    sealRecords(buf, start, end);
    return undefined;
  }
  return (async () => {
    let off = start;
    let last = -1;
    while (off < end) {
      last = off;
      off += RECORD_HEADER_BYTES + buf.readUInt32LE(off);
    }
    if (off !== end || last < 0) throw new Error('invariant: batch does not end on a record boundary');
    buf[last + 8] = buf[last + 8]! | FLUSH_END_FLAG;
    off = start;
    let sinceYield = 0;
    while (off < end) {
      const recordEnd = off + RECORD_HEADER_BYTES + buf.readUInt32LE(off);
      let crc = 0;
      for (let p = off + 8; p < recordEnd;) {
        const q = Math.min(recordEnd, p + CRC_SLICE_BYTES - sinceYield);
        crc = crc32c(buf, crc, p, q);
        sinceYield += q - p;
        p = q;
        if (sinceYield >= CRC_SLICE_BYTES) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sinceYield = 0;
        }
      }
      buf.writeUInt32LE(crc, off + 4);
      off = recordEnd;
    }
  })();
}

/** Total bytes of the valid record at off, or -1 if there is none there (truncated, bad kind, bad CRC). */
export function validRecordBytesAt(buf: Uint8Array & Buffer, off: number, end: number): number {
  if (end - off < RECORD_HEADER_BYTES) return -1;
  const len = buf.readUInt32LE(off);
  if (len > end - off - RECORD_HEADER_BYTES || len > MAX_RECORD_PAYLOAD_BYTES) return -1;
  const kind = buf[off + 8]! & KIND_MASK;
  if (kind < RecordKind.Entries || kind > RecordKind.SegmentHeader) return -1;
  if (crc32c(buf, 0, off + 8, off + RECORD_HEADER_BYTES + len) !== buf.readUInt32LE(off + 4)) return -1;
  return RECORD_HEADER_BYTES + len;
}

export function recordKind(buf: Buffer, off: number): RecordKind {
  return (buf[off + 8]! & KIND_MASK) as RecordKind;
}

export function isFlushEnd(buf: Buffer, off: number): boolean {
  return (buf[off + 8]! & FLUSH_END_FLAG) !== 0;
}

/** Thrown by payload decoders when a CRC-valid payload is malformed (a bug, or a forged CRC). */
export class MalformedPayloadError extends Error {}

export function decodeHardState(buf: Buffer, p: number, len: number): HardState {
  if (len !== HARD_STATE_PAYLOAD_BYTES) throw new MalformedPayloadError(`hard state payload is ${len} bytes`);
  return readHardStateBody(buf, p);
}

function readHardStateBody(buf: Buffer, p: number): HardState {
  return { term: readU64(buf, p), vote: buf.readUInt32LE(p + 8), commit: readU64(buf, p + 12) };
}

export function decodeSnapshotMarker(buf: Buffer, p: number, len: number): SnapshotMark {
  if (len !== SNAPSHOT_MARKER_PAYLOAD_BYTES)
    throw new MalformedPayloadError(`snapshot marker payload is ${len} bytes`);
  return { index: readU64(buf, p), term: readU64(buf, p + 8) };
}

export function decodeSegmentHeader(buf: Buffer, p: number, len: number): SegmentHeader {
  if (len !== SEGMENT_HEADER_PAYLOAD_BYTES)
    throw new MalformedPayloadError(`segment header payload is ${len} bytes`);
  if (buf.readUInt32LE(p) !== SEGMENT_MAGIC) throw new MalformedPayloadError('segment header magic mismatch');
  if (buf[p + 4] !== SEGMENT_FORMAT_VERSION)
    throw new MalformedPayloadError(`segment format version ${buf[p + 4]}`);
  const seq = readU64(buf, p + 5);
  const hardState = readHardStateBody(buf, p + 13);
  const q = p + 13 + HARD_STATE_PAYLOAD_BYTES;
  return { seq, hardState, snapshot: { index: readU64(buf, q), term: readU64(buf, q + 8) } };
}

/** First index and count of an entries record, without decoding the entries. */
export function entriesSpan(buf: Buffer, p: number, len: number): { firstIndex: number; count: number } {
  if (len < ENTRIES_FIXED_BYTES) throw new MalformedPayloadError(`entries payload is ${len} bytes`);
  return { firstIndex: readU64(buf, p), count: buf.readUInt32LE(p + 8) };
}

/**
 * Decodes the entries of a record and pushes those with index > skipThrough onto out.
 * Entry data are views into buf's memory (no copy): recovery reads each segment in one buffer.
 * Hot path of recovery: plain Uint8Array views (cheaper to make than Buffer.subarray), no
 * intermediate objects.
 */
export function decodeEntriesInto(
  buf: Buffer,
  p: number,
  len: number,
  skipThrough: number,
  out: Entry[],
): void {
  const end = p + len;
  if (len < ENTRIES_FIXED_BYTES) throw new MalformedPayloadError(`entries payload is ${len} bytes`);
  const firstIndex = readU64(buf, p);
  const count = buf.readUInt32LE(p + 8);
  const ab = buf.buffer;
  const base = buf.byteOffset;
  let q = p + ENTRIES_FIXED_BYTES;
  for (let k = 0; k < count; k++) {
    if (end - q < ENTRY_OVERHEAD_BYTES)
      throw new MalformedPayloadError(`entry ${k} header overruns the record`);
    const termHi = buf.readUInt32LE(q + 4);
    if (termHi > 0x1f_ffff) throw new MalformedPayloadError(`entry ${k} term exceeds 2^53`);
    const term = termHi * 0x1_0000_0000 + buf.readUInt32LE(q);
    const type = buf[q + 8]!;
    const dataBytes = buf.readUInt32LE(q + 9);
    q += ENTRY_OVERHEAD_BYTES;
    if (dataBytes > end - q) throw new MalformedPayloadError(`entry ${k} data overruns the record`);
    if (type !== 0 && type !== 1) throw new MalformedPayloadError(`entry ${k} has unknown type ${type}`);
    const index = firstIndex + k;
    if (index > skipThrough) {
      out.push({ term, index, type: type as EntryType, data: new Uint8Array(ab, base + q, dataBytes) });
    }
    q += dataBytes;
  }
  if (q !== end) throw new MalformedPayloadError(`entries record has ${end - q} trailing bytes`);
}
