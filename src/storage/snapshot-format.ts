/**
 * Snapshot file format (little-endian):
 *
 *   header   = magic "KVSS" u32 | version u8 | 3 reserved zero bytes | metaBytes u32 | metaCrc u32 | meta
 *   meta     = index u64 | term u64 | voterCount u32 | voter u32 ... | learnerCount u32 | learner u32 ...
 *   chunk    = length u32 (> 0) | crc32c(data) u32 | data            (repeated; length ≤ MAX_CHUNK_BYTES)
 *   trailer  = 0 u32 | crc u32 | bodyBytes u64 | chunkCount u32       (crc = crc32c(bodyBytes|chunkCount, seed metaCrc))
 *
 * Nothing may follow the trailer. Per-chunk CRCs let a reader verify while it streams; the
 * trailer makes a torn file (missing tail) detectable even where the chunks present are intact.
 */
import type { SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { readU64, writeU64 } from './fs-util.js';

export const SNAPSHOT_MAGIC = 0x5353564b; // "KVSS"
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_FIXED_HEADER_BYTES = 16;
export const CHUNK_HEADER_BYTES = 8;
export const TRAILER_BYTES = 4 + 4 + 8 + 4;
/** Bound on one stored chunk (writers split larger pieces). */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Bound on the metadata (membership lists), so a garbage length cannot make us allocate gigabytes. */
export const MAX_META_BYTES = 1024 * 1024;

export function encodeHeader(meta: SnapshotMeta): Buffer {
  const { voters, learners } = meta.confState;
  const metaBytes = 8 + 8 + 4 + 4 * voters.length + 4 + 4 * learners.length;
  if (metaBytes > MAX_META_BYTES) throw new Error('invariant: snapshot membership too large');
  const buf = Buffer.alloc(SNAPSHOT_FIXED_HEADER_BYTES + metaBytes);
  buf.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  buf[4] = SNAPSHOT_FORMAT_VERSION;
  buf.writeUInt32LE(metaBytes, 8);
  let p = SNAPSHOT_FIXED_HEADER_BYTES;
  writeU64(buf, meta.index, p);
  writeU64(buf, meta.term, p + 8);
  p += 16;
  buf.writeUInt32LE(voters.length, p);
  p += 4;
  for (const id of voters) {
    buf.writeUInt32LE(id, p);
    p += 4;
  }
  buf.writeUInt32LE(learners.length, p);
  p += 4;
  for (const id of learners) {
    buf.writeUInt32LE(id, p);
    p += 4;
  }
  buf.writeUInt32LE(crc32c(buf, 0, SNAPSHOT_FIXED_HEADER_BYTES, buf.length), 12);
  return buf;
}

export interface ParsedHeader {
  readonly meta: SnapshotMeta;
  readonly metaCrc: number;
  /** Offset of the first chunk. */
  readonly bodyOffset: number;
}

/** What went wrong, as [offset, reason]; the caller turns it into a SnapshotCorruptionError. */
export class FormatError extends Error {
  constructor(
    readonly offset: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** Parses the fixed header; returns the number of meta bytes that must follow it. */
export function parseFixedHeader(buf: Buffer): { metaBytes: number; metaCrc: number } {
  if (buf.length < SNAPSHOT_FIXED_HEADER_BYTES) throw new FormatError(0, 'file shorter than the header');
  if (buf.readUInt32LE(0) !== SNAPSHOT_MAGIC) throw new FormatError(0, 'bad magic');
  if (buf[4] !== SNAPSHOT_FORMAT_VERSION) throw new FormatError(4, `unknown format version ${buf[4]}`);
  const metaBytes = buf.readUInt32LE(8);
  if (metaBytes < 24 || metaBytes > MAX_META_BYTES) throw new FormatError(8, `bad meta length ${metaBytes}`);
  return { metaBytes, metaCrc: buf.readUInt32LE(12) };
}

/** buf holds the fixed header and the meta. */
export function parseHeader(buf: Buffer): ParsedHeader {
  const { metaBytes, metaCrc } = parseFixedHeader(buf);
  const end = SNAPSHOT_FIXED_HEADER_BYTES + metaBytes;
  if (buf.length < end) throw new FormatError(SNAPSHOT_FIXED_HEADER_BYTES, 'file shorter than the metadata');
  if (crc32c(buf, 0, SNAPSHOT_FIXED_HEADER_BYTES, end) !== metaCrc) {
    throw new FormatError(SNAPSHOT_FIXED_HEADER_BYTES, 'metadata CRC mismatch');
  }
  let p = SNAPSHOT_FIXED_HEADER_BYTES;
  const index = readU64(buf, p);
  const term = readU64(buf, p + 8);
  p += 16;
  const readIds = (): number[] => {
    if (p + 4 > end) throw new FormatError(p, 'metadata truncated');
    const n = buf.readUInt32LE(p);
    p += 4;
    if (p + 4 * n > end) throw new FormatError(p, 'metadata truncated');
    const ids: number[] = [];
    for (let k = 0; k < n; k++, p += 4) ids.push(buf.readUInt32LE(p));
    return ids;
  };
  const voters = readIds();
  const learners = readIds();
  if (p !== end) throw new FormatError(p, 'metadata has trailing bytes');
  return { meta: { index, term, confState: { voters, learners } }, metaCrc, bodyOffset: end };
}

export function encodeTrailer(metaCrc: number, bodyBytes: number, chunkCount: number): Buffer {
  const buf = Buffer.alloc(TRAILER_BYTES); // length 0 marks the trailer; then crc, bodyBytes, chunkCount
  writeU64(buf, bodyBytes, 8);
  buf.writeUInt32LE(chunkCount, 16);
  buf.writeUInt32LE(crc32c(buf, metaCrc, 8, 20), 4);
  return buf;
}

/** Checks a trailer at buf[off, off + TRAILER_BYTES) against what the reader counted. */
export function checkTrailer(
  buf: Buffer,
  off: number,
  fileOffset: number,
  metaCrc: number,
  bodyBytes: number,
  chunkCount: number,
): void {
  if (crc32c(buf, metaCrc, off + 8, off + 20) !== buf.readUInt32LE(off + 4)) {
    throw new FormatError(fileOffset, 'trailer CRC mismatch');
  }
  const storedBytes = readU64(buf, off + 8);
  const storedChunks = buf.readUInt32LE(off + 16);
  if (storedBytes !== bodyBytes || storedChunks !== chunkCount) {
    throw new FormatError(
      fileOffset,
      `trailer says ${storedBytes} bytes in ${storedChunks} chunks, found ${bodyBytes} in ${chunkCount}`,
    );
  }
}
