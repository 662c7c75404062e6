/**
 * Binary encoding of a Raft `Message` for the peer wire.
 *
 * Layout (little-endian; "u64" is an unsigned integer that must stay ≤ 2^53 − 1 so it round-trips
 * through a JS number):
 * ```
 *   u8  codec version (CODEC_VERSION)
 *   u8  message type (MessageType)
 *   u8  flags: bit 0 reject, bit 1 snapshot present; other bits must be 0
 *   u64 from, to, term, logTerm, index, commit, rejectHint, rejectTerm, context
 *   [if snapshot] u64 index, u64 term,
 *                 u32 voterCount, u64 × voterCount, u32 learnerCount, u64 × learnerCount
 *   entries block:
 *     u32 entryCount, then per entry: u64 term, u64 index, u8 type, u32 dataBytes, data
 * ```
 * The entries block comes last so the encoder can hand it out as a separate, shared buffer:
 * a leader that sends the same entries to N followers serializes them once (see
 * encodeEntriesBlock) and every frame references the same bytes.
 *
 * Decoding never trusts a declared count or length: each is checked against the bytes actually
 * present before anything is allocated, so a hostile frame costs at most its own size.
 */
import { Buffer } from 'node:buffer';

import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type SnapshotMeta,
} from '../raft/types.js';
import { FrameError } from './frame-error.js';

export const CODEC_VERSION = 1;

const FLAG_REJECT = 0b01;
const FLAG_SNAPSHOT = 0b10;
const KNOWN_FLAGS = FLAG_REJECT | FLAG_SNAPSHOT;

/** version + type + flags + nine u64 fields. */
const FIXED_HEAD_BYTES = 3 + 9 * 8;
/** term + index + type + dataBytes. */
const ENTRY_HEAD_BYTES = 8 + 8 + 1 + 4;
const ENTRY_COUNT_BYTES = 4;
/** Bound on voters (and, separately, learners) in a snapshot's ConfState: a cluster is small. */
export const MAX_CONF_MEMBERS = 1024;

const TWO_POW_32 = 0x1_0000_0000;
/** A u64 whose high word is ≥ 2^21 exceeds Number.MAX_SAFE_INTEGER. */
const SAFE_HIGH_WORD_LIMIT = 0x20_0000;

const messageTypes: ReadonlySet<number> = new Set(Object.values(MessageType));
const entryTypes: ReadonlySet<number> = new Set(Object.values(EntryType));

// ---------------------------------------------------------------------------------------------
// Encoding

function writeU64(buf: Buffer, offset: number, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`invariant: ${field} must be a non-negative safe integer, got ${value}`);
  }
  buf.writeUInt32LE(value % TWO_POW_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4);
}

function confStateBytes(confState: ConfState): number {
  return 4 + 8 * confState.voters.length + 4 + 8 * confState.learners.length;
}

function writeIdList(buf: Buffer, offset: number, ids: readonly NodeId[], field: string): number {
  if (ids.length > MAX_CONF_MEMBERS) {
    throw new Error(`invariant: ${field} has ${ids.length} members, limit ${MAX_CONF_MEMBERS}`);
  }
  buf.writeUInt32LE(ids.length, offset);
  let at = offset + 4;
  for (const id of ids) {
    if (id < 1) throw new Error(`invariant: ${field} holds node id ${id}; ids are ≥ 1`);
    writeU64(buf, at, id, field);
    at += 8;
  }
  return at;
}

function encodeEntriesBlockUncached(entries: readonly Entry[]): Buffer {
  let size = ENTRY_COUNT_BYTES;
  for (const entry of entries) size += ENTRY_HEAD_BYTES + entry.data.byteLength;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32LE(entries.length, 0);
  let at = ENTRY_COUNT_BYTES;
  for (const entry of entries) {
    if (!entryTypes.has(entry.type)) throw new Error(`invariant: unknown entry type ${entry.type}`);
    writeU64(buf, at, entry.term, 'entry.term');
    writeU64(buf, at + 8, entry.index, 'entry.index');
    buf[at + 16] = entry.type;
    buf.writeUInt32LE(entry.data.byteLength, at + 17);
    at += ENTRY_HEAD_BYTES;
    buf.set(entry.data, at);
    at += entry.data.byteLength;
  }
  if (at !== size) throw new Error(`invariant: entries block wrote ${at} of ${size} bytes`);
  return buf;
}

/** One serialized entries block and the exact entry objects it was made from. */
interface CachedBlock {
  /** Our own copy of the array, so a caller reusing (mutating) its array cannot fool the cache. */
  readonly entries: readonly Entry[];
  readonly block: Buffer;
}

// Two lookups, because a core may hand each follower its own slice of the log: the array differs
// per follower, but the Entry objects are the same. The weak map lives as long as the array (a
// message being encoded). Blocks found by their entries are kept in a short strong list, not in a
// map weakly keyed by the first entry: the leader's log holds its entries until the next
// snapshot, and such a map kept a serialized copy of every sent run alive that long (as much
// memory again as the log itself). A broadcast encodes the same run for every follower within
// a turn or two, so a short memory catches it.
const blockByArray = new WeakMap<readonly Entry[], CachedBlock>();
const recentBlocks: CachedBlock[] = [];
/** Bounds on the recent-blocks list; the newest block is always kept, whatever its size. */
const MAX_RECENT_BLOCKS = 16;
const MAX_RECENT_BLOCK_BYTES = 8 * 1024 * 1024;
let recentBlockBytes = 0;

let cacheHits = 0;
let cacheMisses = 0;

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rememberBlock(cached: CachedBlock): void {
  recentBlocks.push(cached);
  recentBlockBytes += cached.block.length;
  while (
    recentBlocks.length > 1 &&
    (recentBlocks.length > MAX_RECENT_BLOCKS || recentBlockBytes > MAX_RECENT_BLOCK_BYTES)
  ) {
    recentBlockBytes -= recentBlocks.shift()!.block.length;
  }
}

/**
 * The serialized entries block for `entries`, computed once per distinct run of Entry objects
 * sent close together in time.
 * Contract: entries (and their `data` bytes) are immutable once sent, as the core guarantees;
 * the returned buffer is shared and must never be written to.
 */
export function encodeEntriesBlock(entries: readonly Entry[]): Buffer {
  const first = entries[0];
  if (first === undefined) return encodeEntriesBlockUncached(entries);
  const byArray = blockByArray.get(entries);
  if (byArray !== undefined && sameEntries(byArray.entries, entries)) {
    cacheHits++;
    return byArray.block;
  }
  for (let k = recentBlocks.length - 1; k >= 0; k--) {
    const candidate = recentBlocks[k]!;
    if (candidate.entries[0] === first && sameEntries(candidate.entries, entries)) {
      cacheHits++;
      blockByArray.set(entries, candidate);
      return candidate.block;
    }
  }
  cacheMisses++;
  const cached: CachedBlock = { entries: entries.slice(), block: encodeEntriesBlockUncached(entries) };
  blockByArray.set(entries, cached);
  rememberBlock(cached);
  return cached.block;
}

/** Counters of the entries-block cache since process start (for benchmarks and metrics). */
export function entriesBlockCacheStats(): {
  readonly hits: number;
  readonly misses: number;
  /** Serialized blocks the cache itself keeps alive (the recent-blocks list). */
  readonly retainedBlocks: number;
  readonly retainedBytes: number;
} {
  return {
    hits: cacheHits,
    misses: cacheMisses,
    retainedBlocks: recentBlocks.length,
    retainedBytes: recentBlockBytes,
  };
}

/**
 * Encodes `msg` as one or two buffers whose concatenation is the encoding. The first buffer
 * starts with `prefixBytes` zeroed bytes the caller may fill (a frame header), so a frame needs
 * no extra copy. When the message carries entries, the second buffer is the shared entries block.
 * Throws `Error('invariant: ...')` for a message the codec cannot represent (a bug in the caller).
 */
export function encodeMessageParts(msg: Message, prefixBytes = 0): Buffer[] {
  if (!messageTypes.has(msg.type)) throw new Error(`invariant: unknown message type ${msg.type}`);
  if (msg.from < 1 || msg.to < 1) {
    throw new Error(`invariant: message ids must be ≥ 1 (from ${msg.from}, to ${msg.to})`);
  }
  if (!Number.isInteger(prefixBytes) || prefixBytes < 0) {
    throw new Error(`invariant: prefixBytes must be a non-negative integer, got ${prefixBytes}`);
  }
  const snapshot = msg.snapshot;
  const hasEntries = msg.entries.length > 0;
  let headBytes = prefixBytes + FIXED_HEAD_BYTES;
  if (snapshot !== undefined) headBytes += 16 + confStateBytes(snapshot.confState);
  if (!hasEntries) headBytes += ENTRY_COUNT_BYTES;

  const head = Buffer.allocUnsafe(headBytes);
  head.fill(0, 0, prefixBytes);
  let at = prefixBytes;
  head[at] = CODEC_VERSION;
  head[at + 1] = msg.type;
  head[at + 2] = (msg.reject ? FLAG_REJECT : 0) | (snapshot !== undefined ? FLAG_SNAPSHOT : 0);
  at += 3;
  writeU64(head, at, msg.from, 'from');
  writeU64(head, at + 8, msg.to, 'to');
  writeU64(head, at + 16, msg.term, 'term');
  writeU64(head, at + 24, msg.logTerm, 'logTerm');
  writeU64(head, at + 32, msg.index, 'index');
  writeU64(head, at + 40, msg.commit, 'commit');
  writeU64(head, at + 48, msg.rejectHint, 'rejectHint');
  writeU64(head, at + 56, msg.rejectTerm, 'rejectTerm');
  writeU64(head, at + 64, msg.context, 'context');
  at += 72;
  if (snapshot !== undefined) {
    writeU64(head, at, snapshot.index, 'snapshot.index');
    writeU64(head, at + 8, snapshot.term, 'snapshot.term');
    at = writeIdList(head, at + 16, snapshot.confState.voters, 'snapshot.confState.voters');
    at = writeIdList(head, at, snapshot.confState.learners, 'snapshot.confState.learners');
  }
  if (!hasEntries) {
    head.writeUInt32LE(0, at);
    at += ENTRY_COUNT_BYTES;
  }
  if (at !== headBytes) throw new Error(`invariant: message head wrote ${at} of ${headBytes} bytes`);
  return hasEntries ? [head, encodeEntriesBlock(msg.entries)] : [head];
}

/** Encodes `msg` into one fresh buffer (tests, tools; the transport uses encodeMessageParts). */
export function encodeMessage(msg: Message): Buffer {
  const parts = encodeMessageParts(msg);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Bounds-checked cursor over untrusted bytes; every read names its field for the error. */
class Reader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(bytes: number, field: string): void {
    if (this.remaining() < bytes) {
      throw new FrameError(
        'truncated',
        `${field} needs ${bytes} bytes at offset ${this.offset}, ${this.remaining()} left`,
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.offset++]!;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(field: string): number {
    this.need(8, field);
    const low = this.buf.readUInt32LE(this.offset);
    const high = this.buf.readUInt32LE(this.offset + 4);
    if (high >= SAFE_HIGH_WORD_LIMIT) {
      throw new FrameError('bad-value', `${field} at offset ${this.offset} exceeds 2^53 - 1`);
    }
    this.offset += 8;
    return high * TWO_POW_32 + low;
  }

  id(field: string): NodeId {
    const id = this.u64(field);
    if (id < 1) throw new FrameError('bad-value', `${field} is 0; node ids are ≥ 1`);
    return id;
  }

  /** A copy, so decoded data does not pin the (possibly much larger) network buffer. */
  bytesCopy(length: number, field: string): Uint8Array {
    this.need(length, field);
    const copy = new Uint8Array(length);
    copy.set(this.buf.subarray(this.offset, this.offset + length));
    this.offset += length;
    return copy;
  }

  /** A declared element count, checked against the bytes present before anything is allocated. */
  count(field: string, minElementBytes: number, limit: number): number {
    const count = this.u32(field);
    if (count > limit) throw new FrameError('too-large', `${field} ${count} exceeds limit ${limit}`);
    if (count * minElementBytes > this.remaining()) {
      throw new FrameError(
        'too-large',
        `${field} ${count} needs at least ${count * minElementBytes} bytes, ${this.remaining()} left`,
      );
    }
    return count;
  }
}

function readIdList(reader: Reader, field: string): NodeId[] {
  const count = reader.count(`${field} count`, 8, MAX_CONF_MEMBERS);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) ids.push(reader.id(field));
  return ids;
}

function readEntries(reader: Reader): Entry[] {
  const count = reader.count('entry count', ENTRY_HEAD_BYTES, 0xffff_ffff);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const term = reader.u64('entry.term');
    const index = reader.u64('entry.index');
    const type = reader.u8('entry.type');
    if (!entryTypes.has(type)) throw new FrameError('bad-value', `unknown entry type ${type}`);
    const dataBytes = reader.u32('entry.dataBytes');
    const data = reader.bytesCopy(dataBytes, 'entry.data');
    entries.push({ term, index, type: type as EntryType, data });
  }
  return entries;
}

/**
 * Decodes one message, validating every field. Throws FrameError (and nothing else) for any
 * malformed input; never allocates more than the input's own size.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const version = reader.u8('version');
  if (version !== CODEC_VERSION) {
    throw new FrameError('bad-version', `codec version ${version}, expected ${CODEC_VERSION}`);
  }
  const type = reader.u8('type');
  if (!messageTypes.has(type)) throw new FrameError('bad-value', `unknown message type ${type}`);
  const flags = reader.u8('flags');
  if ((flags & ~KNOWN_FLAGS) !== 0)
    throw new FrameError('bad-value', `unknown flags 0x${flags.toString(16)}`);
  const from = reader.id('from');
  const to = reader.id('to');
  const term = reader.u64('term');
  const logTerm = reader.u64('logTerm');
  const index = reader.u64('index');
  const commit = reader.u64('commit');
  const rejectHint = reader.u64('rejectHint');
  const rejectTerm = reader.u64('rejectTerm');
  const context = reader.u64('context');
  let snapshot: SnapshotMeta | undefined;
  if ((flags & FLAG_SNAPSHOT) !== 0) {
    const snapshotIndex = reader.u64('snapshot.index');
    const snapshotTerm = reader.u64('snapshot.term');
    const voters = readIdList(reader, 'snapshot.confState.voters');
    const learners = readIdList(reader, 'snapshot.confState.learners');
    snapshot = { index: snapshotIndex, term: snapshotTerm, confState: { voters, learners } };
  }
  const entries = readEntries(reader);
  if (reader.remaining() !== 0) {
    throw new FrameError('trailing-bytes', `${reader.remaining()} bytes after the message`);
  }
  const base = {
    type: type as MessageType,
    from,
    to,
    term,
    logTerm,
    index,
    entries,
    commit,
    reject: (flags & FLAG_REJECT) !== 0,
    rejectHint,
    rejectTerm,
    context,
  };
  return snapshot === undefined ? base : { ...base, snapshot };
}
