/**
 * KvStore snapshot bytes: a stream of ~1 MiB chunks the host writes to disk or sends to a peer.
 *
 * Format (varints are unsigned LEB128):
 *   header  = "KVSNAP" 0x02 0x00 varint(recordCount)  (magic, version, reserved; v1 had no count)
 *   record  = varint(keyLength + 1) key varint(valueLength) value
 *   trailer = 0x00 varint(recordCount)                (0 cannot start a record: keyLength + 1 >= 1)
 * Nothing may follow the trailer. Integrity (checksums) is the storage layer's job: this format
 * only detects truncation, garbage and duplicate keys.
 *
 * Encoding runs over a copy-on-write view (KvStore.beginSnapshot), so the host may keep applying
 * entries between chunks. Decoding copies each record into the new store's arena as it goes, so
 * a chunk can be dropped once pushed.
 */

import { KvStore, type KvSnapshotView } from './store.js';

export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Values at least this large are yielded as their own chunk (the store's immutable Buffer, not a copy). */
const ZERO_COPY_VALUE_BYTES = 256 * 1024;
const MAGIC = Buffer.from([0x4b, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x02, 0x00]); // "KVSNAP" v2
/** Version 1 had no key count after the magic; still read. */
const MAGIC_V1 = Buffer.from([0x4b, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x01, 0x00]);
/**
 * A header's key count presizes the index up to this many keys (a corrupt count cannot ask for
 * more). Records arrive in hash order, which a presized table takes at full speed; past this
 * many keys (~5 GB of data, far beyond one small VM) the table grows while loading and the
 * restore slows down.
 */
const MAX_RESERVE_KEYS = 1 << 25;
const MAX_FIELD_BYTES = 2 ** 31 - 1;

export class KvSnapshotError extends Error {
  override readonly name = 'KvSnapshotError';
}

/**
 * Starts a snapshot of `store` NOW (the point in time is this call, not the first next()) and
 * returns its chunks. Iterate it to the end, or call return() on it (a for-of `break` does), to
 * end the copy-on-write view; until then the store keeps old values of overwritten keys.
 * Chunks are fresh buffers, except that large values are yielded as the store's own (immutable)
 * Buffer: consumers must not mutate chunks.
 */
export function encodeKvSnapshot(store: KvStore, chunkBytes = SNAPSHOT_CHUNK_BYTES): Generator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 64)
    throw new Error('invariant: chunkBytes must be >= 64');
  return encodeView(store.beginSnapshot(), chunkBytes);
}

function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/**
 * Encodes an already-open view (see encodeKvSnapshot). The caller owns the view: close() it if
 * the generator is dropped before it starts (a generator that never ran cannot close it).
 *
 * reuseChunks: a yielded chunk is valid only until the next chunk is pulled (the consumer copies
 * or writes it first, as SnapshotStore.write does). Then one buffer serves the whole snapshot
 * instead of hundreds of MiB of 1 MiB buffers left for the GC — garbage that V8 frees late
 * (external memory) and that shows in the node's RSS.
 */
export function* encodeView(
  view: KvSnapshotView,
  chunkBytes: number,
  reuseChunks = false,
): Generator<Uint8Array> {
  const fresh = (bytes: number, old: Buffer): Buffer =>
    reuseChunks && old.length >= bytes ? old : Buffer.allocUnsafe(Math.max(chunkBytes, bytes));
  try {
    let chunk: Buffer = Buffer.allocUnsafe(chunkBytes);
    MAGIC.copy(chunk, 0);
    // v2: the key count up front, so a restore sizes its index once instead of growing it.
    let pos = writeVarint(chunk, MAGIC.length, view.size);
    let count = 0;
    while (view.next()) {
      count++;
      const keyLength = view.keyEnd - view.keyStart;
      const valueLength = view.valueEnd - view.valueStart;
      if (keyLength > MAX_FIELD_BYTES || valueLength > MAX_FIELD_BYTES) {
        throw new Error('invariant: key or value larger than 2 GiB');
      }
      const zeroCopy = valueLength >= ZERO_COPY_VALUE_BYTES;
      const head = varintBytes(keyLength + 1) + keyLength + varintBytes(valueLength);
      const need = head + (zeroCopy ? 0 : valueLength);
      if (pos + need > chunk.length) {
        if (pos > 0) yield chunk.subarray(0, pos);
        chunk = fresh(need, chunk);
        pos = 0;
      }
      pos = writeVarint(chunk, pos, keyLength + 1);
      pos = copyBytes(view.keyBuf, view.keyStart, view.keyEnd, chunk, pos);
      pos = writeVarint(chunk, pos, valueLength);
      if (zeroCopy) {
        // Large values live out of line in buffers the store never writes again: no copy.
        yield chunk.subarray(0, pos);
        yield view.valueBuf.subarray(view.valueStart, view.valueEnd);
        chunk = fresh(chunkBytes, chunk);
        pos = 0;
      } else {
        pos = copyBytes(view.valueBuf, view.valueStart, view.valueEnd, chunk, pos);
      }
    }
    if (count !== view.size)
      throw new Error(`invariant: snapshot view yielded ${count} of ${view.size} keys`);
    if (pos + 6 > chunk.length) {
      yield chunk.subarray(0, pos);
      chunk = fresh(16, chunk);
      pos = 0;
    }
    chunk[pos++] = 0;
    pos = writeVarint(chunk, pos, count);
    yield chunk.subarray(0, pos);
  } finally {
    view.close();
  }
}

/** Copies src[start, end) to dst at pos; returns the position after it. */
function copyBytes(src: Buffer, start: number, end: number, dst: Buffer, pos: number): number {
  if (end - start <= 32) {
    // Short runs: a JS loop beats the native copy call's fixed cost.
    for (let i = start; i < end; i++) dst[pos++] = src[i]!;
    return pos;
  }
  return pos + src.copy(dst, pos, start, end);
}

/**
 * Incremental decoder: push() chunks of any size in order, then finish(). Records are copied into
 * the store as they are parsed: the caller may reuse a chunk after push() returns.
 */
export class KvSnapshotDecoder {
  private readonly store = new KvStore();
  private headerDone = false;
  private trailerCount = -1;
  /** Bytes of an item (header, record or trailer) that spans chunks, and how many it needs at least. */
  private tailParts: Buffer[] = [];
  private tailBytes = 0;
  private tailNeed = 0;
  /** End position of the last varint read by readVarint (avoids allocating a tuple per read). */
  private varintEnd = 0;

  push(bytes: Uint8Array): void {
    const buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = buf.length;
    let pos = 0;
    if (this.tailBytes > 0) {
      pos = this.takeIntoTail(buf, 0);
      while (this.tailBytes >= this.tailNeed) {
        const joined =
          this.tailParts.length === 1 ? this.tailParts[0]! : Buffer.concat(this.tailParts, this.tailBytes);
        const r = this.step(joined, 0, joined.length);
        if (r >= 0) {
          if (r !== joined.length) throw new Error('invariant: spanning item shorter than its lower bound');
          this.tailParts = [];
          this.tailBytes = 0;
          this.tailNeed = 0;
          break;
        }
        this.tailParts = [joined];
        this.tailNeed = -r;
        pos = this.takeIntoTail(buf, pos);
      }
      if (this.tailBytes > 0) return; // chunk used up, item still incomplete
    }
    while (pos < end) {
      const r = this.step(buf, pos, end);
      if (r < 0) {
        this.tailParts = [buf.subarray(pos)];
        this.tailBytes = end - pos;
        this.tailNeed = -r;
        return;
      }
      pos = r;
    }
  }

  /** Verifies the snapshot ended cleanly and returns the store. */
  finish(): KvStore {
    if (this.tailBytes > 0 || this.trailerCount < 0) throw new KvSnapshotError('truncated snapshot');
    if (this.trailerCount !== this.store.size) {
      throw new KvSnapshotError(`snapshot trailer says ${this.trailerCount} keys, found ${this.store.size}`);
    }
    return this.store;
  }

  private takeIntoTail(buf: Buffer, pos: number): number {
    const take = Math.min(this.tailNeed - this.tailBytes, buf.length - pos);
    if (take <= 0) return pos;
    this.tailParts.push(buf.subarray(pos, pos + take));
    this.tailBytes += take;
    return pos + take;
  }

  /** Reads a varint at p; -1 if incomplete. Sets varintEnd. */
  private readVarint(buf: Buffer, p: number, end: number): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (p >= end) return -1;
      const b = buf[p++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (result > MAX_FIELD_BYTES + 1) throw new KvSnapshotError('corrupt snapshot: length too large');
        this.varintEnd = p;
        return result;
      }
      scale *= 128;
    }
    throw new KvSnapshotError('corrupt snapshot: varint too long');
  }

  /**
   * Parses one item at pos: the header, a record (inserted into the store) or the trailer.
   * Returns the position after it, or -(bytes needed from pos, at least) when incomplete.
   */
  private step(buf: Buffer, pos: number, end: number): number {
    if (this.trailerCount >= 0) throw new KvSnapshotError('corrupt snapshot: bytes after the trailer');
    if (!this.headerDone) {
      if (end - pos < MAGIC.length) return -MAGIC.length;
      if (buf.compare(MAGIC_V1, 0, MAGIC.length, pos, pos + MAGIC.length) === 0) {
        this.headerDone = true;
        return pos + MAGIC.length;
      }
      if (buf.compare(MAGIC, 0, MAGIC.length, pos, pos + MAGIC.length) !== 0) {
        throw new KvSnapshotError('not a kv snapshot (bad magic or version)');
      }
      const count = this.readVarint(buf, pos + MAGIC.length, end);
      if (count < 0) return -(end - pos + 1);
      this.store.reserve(Math.min(count, MAX_RESERVE_KEYS));
      this.headerDone = true;
      return this.varintEnd;
    }
    let p = pos;
    // Hot path: one-byte varints (keys < 127 bytes, values < 128 bytes).
    let keyLen1 = buf[p]!;
    if (keyLen1 < 0x80) p++;
    else {
      keyLen1 = this.readVarint(buf, p, end);
      if (keyLen1 < 0) return -(end - pos + 1);
      p = this.varintEnd;
    }
    if (keyLen1 === 0) {
      const count = this.readVarint(buf, p, end);
      if (count < 0) return -(end - pos + 1);
      this.trailerCount = count;
      return this.varintEnd;
    }
    const keyStart = p;
    const keyEnd = keyStart + keyLen1 - 1;
    if (keyEnd >= end) return -(keyEnd - pos + 1);
    let valueLen = buf[keyEnd]!;
    if (valueLen < 0x80) p = keyEnd + 1;
    else {
      valueLen = this.readVarint(buf, keyEnd, end);
      if (valueLen < 0) return -(end - pos + 1);
      p = this.varintEnd;
    }
    const valueEnd = p + valueLen;
    if (valueEnd > end) return -(valueEnd - pos);
    if (!this.store.loadEntry(buf, keyStart, keyEnd, p, valueEnd)) {
      throw new KvSnapshotError('corrupt snapshot: duplicate key');
    }
    return valueEnd;
  }
}

/** Rebuilds a store from snapshot chunks (sync or async iterable, any chunk sizes). */
export async function decodeKvSnapshot(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<KvStore> {
  const decoder = new KvSnapshotDecoder();
  if (Symbol.asyncIterator in chunks) {
    for await (const chunk of chunks) decoder.push(chunk);
  } else {
    for (const chunk of chunks) decoder.push(chunk);
  }
  return decoder.finish();
}
