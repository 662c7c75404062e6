/**
 * KvStore snapshot bytes: a stream of ~1 MiB chunks the host writes to disk or sends to a peer.
 *
 * Format (varints are unsigned LEB128):
 *   header  = "KVSNAP" 0x01 0x00                      (magic, version, reserved)
 *   record  = varint(keyLength + 1) key varint(valueLength) value
 *   trailer = 0x00 varint(recordCount)                (0 cannot start a record: keyLength + 1 >= 1)
 * Nothing may follow the trailer. Integrity (checksums) is the storage layer's job: this format
 * only detects truncation, garbage and duplicate keys.
 *
 * Encoding runs over a copy-on-write view (KvStore.beginSnapshot), so the host may keep applying
 * entries between chunks. Decoding keeps values as views of the chunks (no per-value copy).
 */

import { KvStore, type KvSnapshotView } from './store.js';

export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Values at least this large are yielded as their own chunk (the store's immutable Buffer, not a copy). */
const ZERO_COPY_VALUE_BYTES = 256 * 1024;
const MAGIC = Buffer.from([0x4b, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x01, 0x00]); // "KVSNAP" v1
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

/** Entries pulled from the view per batch (bounds the arrays; keeps per-entry work out of generators). */
const ENCODE_BATCH_ENTRIES = 4096;

/**
 * Encodes an already-open view (see encodeKvSnapshot). The caller owns the view: close() it if
 * the generator is dropped before it starts (a generator that never ran cannot close it).
 */
export function* encodeView(view: KvSnapshotView, chunkBytes: number): Generator<Uint8Array> {
  try {
    let chunk = Buffer.allocUnsafe(chunkBytes);
    MAGIC.copy(chunk, 0);
    let pos = MAGIC.length;
    let count = 0;
    const keys: string[] = [];
    const values: Buffer[] = [];
    for (;;) {
      keys.length = 0;
      values.length = 0;
      const n = view.readBatch(keys, values, ENCODE_BATCH_ENTRIES);
      if (n === 0) break;
      count += n;
      for (let i = 0; i < n; i++) {
        const key = keys[i]!;
        const value = values[i]!;
        if (key.length > MAX_FIELD_BYTES || value.length > MAX_FIELD_BYTES) {
          throw new Error('invariant: key or value larger than 2 GiB');
        }
        const zeroCopy = value.length >= ZERO_COPY_VALUE_BYTES;
        const head = varintBytes(key.length + 1) + key.length + varintBytes(value.length);
        const need = head + (zeroCopy ? 0 : value.length);
        if (pos + need > chunk.length) {
          if (pos > 0) yield chunk.subarray(0, pos);
          chunk = Buffer.allocUnsafe(Math.max(chunkBytes, need));
          pos = 0;
        }
        pos = writeVarint(chunk, pos, key.length + 1);
        if (key.length <= 32) {
          // Short keys: a JS loop beats the native write call's fixed cost.
          for (let j = 0; j < key.length; j++) chunk[pos + j] = key.charCodeAt(j);
          pos += key.length;
        } else {
          pos += chunk.write(key, pos, key.length, 'latin1');
        }
        pos = writeVarint(chunk, pos, value.length);
        if (zeroCopy) {
          yield chunk.subarray(0, pos);
          yield value;
          chunk = Buffer.allocUnsafe(chunkBytes);
          pos = 0;
        } else {
          chunk.set(value, pos);
          pos += value.length;
        }
      }
    }
    if (count !== view.size)
      throw new Error(`invariant: snapshot view yielded ${count} of ${view.size} keys`);
    if (pos + 6 > chunk.length) {
      yield chunk.subarray(0, pos);
      chunk = Buffer.allocUnsafe(16);
      pos = 0;
    }
    chunk[pos++] = 0;
    pos = writeVarint(chunk, pos, count);
    yield chunk.subarray(0, pos);
  } finally {
    view.close();
  }
}

/**
 * Incremental decoder: push() chunks of any size in order, then finish(). Values are views of the
 * pushed chunks (or of a small joined buffer for a record that spans chunks), so the chunks must
 * not be mutated or reused by the caller afterwards.
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
      if (buf.compare(MAGIC, 0, MAGIC.length, pos, pos + MAGIC.length) !== 0) {
        throw new KvSnapshotError('not a kv snapshot (bad magic or version)');
      }
      this.headerDone = true;
      return pos + MAGIC.length;
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
    const key = buf.toString('latin1', keyStart, keyEnd);
    if (!this.store.loadEntry(key, buf.subarray(p, valueEnd))) {
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
