/**
 * KvStore: the replicated state machine, with no JS object per key.
 *
 * Keys and values live as records in an Arena (large slabs, see arena.ts); a HashIndex (two
 * typed arrays, see hash-index.ts) maps a key's hash to its record. So 2 M keys are a few hundred
 * Buffers for the GC, not 4 M objects, and a key costs its bytes + a 16-byte record header + ~8
 * bytes of index per slot (README "Memory model").
 *
 * apply() is deterministic: the same commands in the same order give the same results on every
 * replica (the layout may differ; nothing observable depends on it except SCAN's order, which is
 * by hash and therefore the same everywhere).
 *
 * Copy-on-write snapshots: beginSnapshot() copies the index's locations (4 bytes a key, no key
 * or value bytes) and, while the view is open, no record is changed or freed in place: a write
 * writes a new record and the old one's release is deferred until the view closes. The view
 * reads records straight from the slabs while the host keeps applying. The cost of a snapshot is
 * therefore 4 bytes × keys plus the records written while it streams.
 */

import type { KvCommand } from './commands.js';
import { INT64_MAX, INT64_MIN } from './commands.js';
import {
  Arena,
  FLAG_LARGE,
  HEADER_WORDS,
  flagsOf,
  headWord,
  keyLengthOf,
  liveRecordWords,
  needsLarge,
  recordWords,
  type ArenaStats,
} from './arena.js';
import { compileGlob } from './glob.js';
import { EMPTY, HashIndex, hashBytes } from './hash-index.js';

export type KvResult =
  | { readonly type: 'ok' }
  | { readonly type: 'nil' }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'bulk'; readonly value: Buffer }
  | { readonly type: 'array'; readonly items: readonly KvResult[] }
  | { readonly type: 'error'; readonly message: string };

/** Read-only commands, served from the local store (after ReadIndex / lease / stale per read mode). */
export type KvRead =
  | { readonly type: 'get'; readonly key: Buffer }
  | { readonly type: 'mget'; readonly keys: readonly Buffer[] }
  | { readonly type: 'exists'; readonly keys: readonly Buffer[] }
  | { readonly type: 'strlen'; readonly key: Buffer }
  /** TTL/PTTL: keys never expire here, so -1 when present, -2 when absent. */
  | { readonly type: 'ttl'; readonly key: Buffer }
  | { readonly type: 'dbsize' }
  /** SCAN cursor [MATCH pattern] [COUNT n]: cursor is a position in hash space, 0..2^32. */
  | { readonly type: 'scan'; readonly cursor: number; readonly count: number; readonly match?: Buffer }
  | { readonly type: 'keys'; readonly pattern: Buffer };

export const OK_RESULT: KvResult = Object.freeze({ type: 'ok' });
export const NIL_RESULT: KvResult = Object.freeze({ type: 'nil' });
export const ERR_NOT_INTEGER = 'ERR value is not an integer or out of range';
export const ERR_OVERFLOW = 'ERR increment or decrement would overflow';

/** Bytes a key costs beyond its key and value bytes, before index slack (header words). */
export const RECORD_HEADER_BYTES = HEADER_WORDS * 4;
/** Records moved per write while the arena is fragmented: compaction in small steps. */
const COMPACT_RECORDS_PER_WRITE = 8;
/** SCAN cursors are positions in a sequence of this many hash ranges (see scan()). */
export const SCAN_RANGES = 1 << 16;
const SCAN_RANGE_HASHES = 2 ** 32 / SCAN_RANGES;

function reverseBits16(x: number): number {
  x = ((x & 0x5555) << 1) | ((x >>> 1) & 0x5555);
  x = ((x & 0x3333) << 2) | ((x >>> 2) & 0x3333);
  x = ((x & 0x0f0f) << 4) | ((x >>> 4) & 0x0f0f);
  return ((x & 0x00ff) << 8) | ((x >>> 8) & 0x00ff);
}
const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

const integer = (value: number | bigint): KvResult => ({ type: 'integer', value });
const bulk = (value: Buffer): KvResult => ({ type: 'bulk', value });

/**
 * Redis's string2ll as a bigint: optional '-', digits, no '+', no spaces, no leading zeros,
 * within int64. Returns null otherwise.
 */
export function parseInt64(bytes: Uint8Array): bigint | null {
  const len = bytes.length;
  if (len === 0 || len > 20) return null;
  let p = 0;
  if (bytes[0] === 0x2d) {
    p = 1;
    if (len === 1) return null;
  }
  if (bytes[p] === 0x30) return len === 1 ? 0n : null;
  let small = 0;
  for (let i = p; i < len; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return null;
    small = small * 10 + (c - 0x30);
  }
  if (len - p <= 15) return BigInt(p === 1 ? -small : small);
  const big = BigInt(Buffer.from(bytes.buffer, bytes.byteOffset, len).toString('latin1'));
  return big < INT64_MIN || big > INT64_MAX ? null : big;
}

/**
 * A frozen view of the store for a snapshot. next() moves to the following entry; its key and
 * value are then the byte ranges below, valid until the view closes (records are not changed
 * or freed while it is open). Ranges, not Buffers: no allocation per entry.
 */
export interface KvSnapshotView extends Iterable<readonly [Buffer, Buffer]> {
  /** Advances to the next entry; false when the view is exhausted (it is then closed). */
  next(): boolean;
  readonly keyBuf: Buffer;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly valueBuf: Buffer;
  readonly valueStart: number;
  readonly valueEnd: number;
  /** Number of keys in the frozen view. */
  readonly size: number;
  /** Bytes of keys and values in the view. */
  readonly dataBytes: number;
  /** Ends the view; idempotent. */
  close(): void;
}

export interface KvMemoryStats {
  readonly keys: number;
  /** Key + value bytes. */
  readonly dataBytes: number;
  /** Memory the store holds: slabs, out-of-line values and the index arrays. */
  readonly usedBytes: number;
  readonly indexBytes: number;
  readonly arena: ArenaStats;
  /** usedBytes per key (0 when empty). */
  readonly bytesPerKey: number;
}

export interface ScanResult {
  /** 0 when the scan is complete. */
  readonly cursor: number;
  readonly keys: Buffer[];
}

export class KvStore {
  private readonly arena = new Arena();
  /** The index keeps locations only; a key's hash is word 2 of its record. */
  private readonly index = new HashIndex((loc) => this.arena.wordsOf(loc)[Arena.wordIn(loc) + 2]!);
  private dataBytes = 0;
  /** Store-wide modification counter (u32): a record's version, for WATCH later. */
  private version = 0;
  /** Open snapshot view's deferred frees, or null when none is open. */
  private deferredFrees: number[] | null = null;
  private snapshotSerial = 0;
  /** The key a lookup compares against: set before each index call (no closure per call). */
  private probeBuf: Uint8Array = Buffer.alloc(0);
  private probeStart = 0;
  private probeEnd = 0;
  private readonly matchProbe = (loc: number): boolean => this.keyEquals(loc);

  /** Number of keys (DBSIZE). */
  get size(): number {
    return this.index.size;
  }

  /** Key + value bytes (INFO used_memory_dataset). */
  get approxBytes(): number {
    return this.dataBytes;
  }

  /** Memory the store holds (slabs, out-of-line values, index arrays): O(1), for per-write checks. */
  get usedBytes(): number {
    return this.arena.reservedBytes + this.index.bytes;
  }

  memory(): KvMemoryStats {
    const arena = this.arena.stats();
    const usedBytes = this.usedBytes;
    const keys = this.index.size;
    return {
      keys,
      dataBytes: this.dataBytes,
      usedBytes,
      indexBytes: this.index.bytes,
      arena,
      bytesPerKey: keys === 0 ? 0 : usedBytes / keys,
    };
  }

  /** True while a snapshot view is open. */
  get snapshotOpen(): boolean {
    return this.deferredFrees !== null;
  }

  /**
   * The key's value, or undefined. Inline values are copied out (the slab is reused); large
   * out-of-line values are returned as the store's own immutable bytes.
   */
  get(key: Buffer | string): Buffer | undefined {
    const k = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
    const loc = this.lookup(k, 0, k.length, hashBytes(k, 0, k.length));
    return loc === EMPTY ? undefined : this.valueAt(loc, true);
  }

  exists(key: Buffer | string): boolean {
    const k = typeof key === 'string' ? Buffer.from(key, 'latin1') : key;
    return this.lookup(k, 0, k.length, hashBytes(k, 0, k.length)) !== EMPTY;
  }

  /** Live entries (latin1 key, value copy), in no particular order; for tests and tooling. */
  *entries(): IterableIterator<[string, Buffer]> {
    const locs: number[] = [];
    this.index.forEach((loc) => locs.push(loc));
    for (const loc of locs) yield [this.keyAt(loc).toString('latin1'), this.valueAt(loc, true)];
  }

  read(r: KvRead): KvResult {
    switch (r.type) {
      case 'get': {
        const v = this.get(r.key);
        return v === undefined ? NIL_RESULT : bulk(v);
      }
      case 'mget':
        return {
          type: 'array',
          items: r.keys.map((k) => {
            const v = this.get(k);
            return v === undefined ? NIL_RESULT : bulk(v);
          }),
        };
      case 'exists': {
        let n = 0;
        for (const k of r.keys) if (this.exists(k)) n++;
        return integer(n);
      }
      case 'strlen': {
        const loc = this.lookup(r.key, 0, r.key.length, hashBytes(r.key, 0, r.key.length));
        return integer(loc === EMPTY ? 0 : this.arena.wordsOf(loc)[Arena.wordIn(loc) + 1]!);
      }
      case 'ttl':
        return integer(this.exists(r.key) ? -1 : -2);
      case 'dbsize':
        return integer(this.index.size);
      case 'scan': {
        const { cursor, keys } = this.scan(r.cursor, r.count, r.match);
        return {
          type: 'array',
          items: [bulk(Buffer.from(String(cursor))), { type: 'array', items: keys.map(bulk) }],
        };
      }
      case 'keys':
        return { type: 'array', items: this.keys(r.pattern).map(bulk) };
    }
  }

  /**
   * One step of SCAN. The hash space is cut into SCAN_RANGES equal ranges, visited in
   * bit-reversed order; a call returns every key of the next few ranges (about `count` keys),
   * filtered by `match`, and the cursor is the position in that order (0 = start / done).
   * A key present for the whole scan is returned exactly once per pass, whatever resizes happen
   * between calls (ranges are in hash space, not slots), unless it is deleted and re-added.
   * Why bit-reversed: keys come out scattered over the hash space, not sorted by hash, so a
   * client copying keys in SCAN order into another store does not insert them in the one order
   * that piles them into a growing table's first slots (Redis's reverse-binary cursor, too).
   */
  scan(cursor: number, count: number, match?: Uint8Array): ScanResult {
    if (!Number.isInteger(cursor) || cursor < 0 || cursor >= SCAN_RANGES)
      throw new Error(`invariant: scan cursor ${cursor}`);
    // About `count` keys' worth of ranges; a small store is scanned in one call, as Redis does.
    const wanted = Math.ceil((Math.max(1, count) * SCAN_RANGES) / Math.max(1, this.index.size));
    const ranges = Math.min(SCAN_RANGES - cursor, Math.max(1, wanted));
    const matcher = match === undefined ? null : compileGlob(match);
    const keys: Buffer[] = [];
    const end = cursor + ranges;
    this.forEachInScanOrder(cursor, end, (loc) => {
      const key = this.keyAt(loc);
      if (matcher === null || matcher(key, 0, key.length)) keys.push(key);
    });
    return { cursor: end === SCAN_RANGES ? 0 : end, keys };
  }

  /** Every key matching the glob pattern (KEYS), in SCAN order. */
  keys(pattern: Uint8Array): Buffer[] {
    const matcher = compileGlob(pattern);
    const out: Buffer[] = [];
    this.forEachInScanOrder(0, SCAN_RANGES, (loc) => {
      const key = this.keyAt(loc);
      if (matcher(key, 0, key.length)) out.push(key);
    });
    return out;
  }

  /** Longest probe run in the index (diagnostics). */
  get longestProbeRun(): number {
    return this.index.longestRun();
  }

  /** Presizes the index for `keys` keys (snapshot restore: no growth steps while loading). */
  reserve(keys: number): void {
    this.index.reserve(keys);
  }

  /** Calls fn for the entries of scan ranges [from, to) in SCAN order (bit-reversed ranges). */
  private forEachInScanOrder(from: number, to: number, fn: (loc: number) => void): void {
    for (let i = from; i < to; i++) {
      const range = reverseBits16(i);
      this.index.forEachInHashRange(range * SCAN_RANGE_HASHES, (range + 1) * SCAN_RANGE_HASHES, fn);
    }
  }

  /** Applies one committed write. Deterministic; never throws for valid commands. */
  apply(cmd: KvCommand): KvResult {
    const result = this.applyOne(cmd);
    this.maybeCompact();
    return result;
  }

  /** Applies the commands of one entry in order; one result per command. */
  applyBatch(cmds: readonly KvCommand[]): KvResult[] {
    const out: KvResult[] = new Array<KvResult>(cmds.length);
    for (let i = 0; i < cmds.length; i++) out[i] = this.applyOne(cmds[i]!);
    this.maybeCompact();
    return out;
  }

  /**
   * Inserts key = buf[keyStart, keyEnd), value = buf[valueStart, valueEnd), copying the bytes; for
   * snapshot restore. Returns false (nothing inserted) if the key is already present: a corrupt
   * snapshot, which the caller rejects.
   */
  loadEntry(
    buf: Uint8Array,
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
  ): boolean {
    if (this.deferredFrees !== null) throw new Error('invariant: loadEntry while a snapshot is open');
    const hash = hashBytes(buf, keyStart, keyEnd);
    const loc = this.writeRecord(hash, buf, keyStart, keyEnd, buf, valueStart, valueEnd);
    this.setProbe(buf, keyStart, keyEnd);
    if (!this.index.insertIfAbsent(hash, loc, this.matchProbe)) {
      this.arena.free(loc);
      return false;
    }
    this.dataBytes += keyEnd - keyStart + (valueEnd - valueStart);
    return true;
  }

  /**
   * Opens a copy-on-write view of the current state (see the file comment). One at a time: the
   * caller must iterate it to the end or close() it before beginning another.
   */
  beginSnapshot(): KvSnapshotView {
    if (this.deferredFrees !== null) throw new Error('invariant: a snapshot is already open');
    const deferred: number[] = [];
    this.deferredFrees = deferred;
    const serial = ++this.snapshotSerial;
    // Table order (a typed-array copy: ~10 ms at 2 M keys, no per-key callback). A restore
    // inserts in this hash order, which is safe because the v2 header presizes its index.
    const locs = this.index.copyLocations();
    const arena = this.arena;
    let i = 0;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      if (this.deferredFrees !== deferred || this.snapshotSerial !== serial) return;
      this.deferredFrees = null;
      for (const loc of deferred) this.arena.free(loc);
    };
    const view = {
      size: locs.length,
      dataBytes: this.dataBytes,
      keyBuf: EMPTY_BUFFER,
      keyStart: 0,
      keyEnd: 0,
      valueBuf: EMPTY_BUFFER,
      valueStart: 0,
      valueEnd: 0,
      close,
      next(): boolean {
        if (i >= locs.length) {
          close();
          return false;
        }
        if (closed) throw new Error('invariant: snapshot view read after close()');
        const loc = locs[i++]!;
        const w = arena.wordsOf(loc);
        const o = Arena.wordIn(loc);
        const w0 = w[o]!;
        if ((w0 & 0x80000000) !== 0) throw new Error(`invariant: snapshot record ${loc} was freed`);
        const keyLength = keyLengthOf(w0);
        const valueLength = w[o + 1]!;
        if ((flagsOf(w0) & FLAG_LARGE) !== 0) {
          const large = arena.largeValue(w[o + liveRecordWords(w0, valueLength) - 1]!);
          view.keyBuf = view.valueBuf = large;
          view.keyStart = 0;
        } else {
          view.keyBuf = view.valueBuf = arena.slabOf(loc);
          view.keyStart = (o + HEADER_WORDS) * 4;
        }
        view.keyEnd = view.keyStart + keyLength;
        view.valueStart = view.keyEnd;
        view.valueEnd = view.valueStart + valueLength;
        return true;
      },
      *[Symbol.iterator](): Iterator<readonly [Buffer, Buffer]> {
        try {
          while (view.next()) {
            yield [
              Buffer.from(view.keyBuf.subarray(view.keyStart, view.keyEnd)),
              Buffer.from(view.valueBuf.subarray(view.valueStart, view.valueEnd)),
            ];
          }
        } finally {
          close();
        }
      },
    };
    return view;
  }

  // ---- writes -------------------------------------------------------------------------------

  private applyOne(cmd: KvCommand): KvResult {
    switch (cmd.type) {
      case 'set':
        return this.applySet(cmd.key, cmd.value, cmd.mode, cmd.get);
      case 'del': {
        let n = 0;
        for (const k of cmd.keys) if (this.remove(k)) n++;
        return integer(n);
      }
      case 'incrby':
        return this.applyIncrBy(cmd.key, cmd.delta);
      case 'mset':
        if (cmd.keys.length !== cmd.values.length)
          throw new Error('invariant: MSET keys and values differ in count');
        for (let i = 0; i < cmd.keys.length; i++) {
          const k = cmd.keys[i]!;
          const hash = hashBytes(k, 0, k.length);
          this.put(k, hash, this.lookup(k, 0, k.length, hash), cmd.values[i]!);
        }
        return OK_RESULT;
      case 'cas': {
        const k = cmd.key;
        const hash = hashBytes(k, 0, k.length);
        const loc = this.lookup(k, 0, k.length, hash);
        const match =
          cmd.expected === null ? loc === EMPTY : loc !== EMPTY && this.valueEquals(loc, cmd.expected);
        if (!match) return integer(0);
        this.put(k, hash, loc, cmd.value);
        return integer(1);
      }
    }
  }

  private applySet(k: Buffer, value: Buffer, mode: 'none' | 'NX' | 'XX', get: boolean): KvResult {
    const hash = hashBytes(k, 0, k.length);
    const loc = this.lookup(k, 0, k.length, hash);
    const allowed = mode === 'none' || (mode === 'NX' ? loc === EMPTY : loc !== EMPTY);
    // The old value must be read before put() may overwrite it in place.
    const old = get && loc !== EMPTY ? this.valueAt(loc, true) : undefined;
    if (allowed) this.put(k, hash, loc, value);
    if (get) return old === undefined ? NIL_RESULT : bulk(old);
    return allowed ? OK_RESULT : NIL_RESULT;
  }

  private applyIncrBy(k: Buffer, delta: bigint): KvResult {
    const hash = hashBytes(k, 0, k.length);
    const loc = this.lookup(k, 0, k.length, hash);
    let current = 0n;
    if (loc !== EMPTY) {
      const parsed = parseInt64(this.valueAt(loc, false));
      if (parsed === null) return { type: 'error', message: ERR_NOT_INTEGER };
      current = parsed;
    }
    const next = current + delta;
    if (next < INT64_MIN || next > INT64_MAX) return { type: 'error', message: ERR_OVERFLOW };
    this.put(k, hash, loc, Buffer.from(next.toString(), 'latin1'));
    return integer(next);
  }

  /** Sets key k (hash, current location `loc` or EMPTY) to a copy of value. */
  private put(k: Buffer, hash: number, loc: number, value: Buffer): void {
    this.version = (this.version + 1) >>> 0;
    if (loc !== EMPTY) {
      const w = this.arena.wordsOf(loc);
      const o = Arena.wordIn(loc);
      const oldLength = w[o + 1]!;
      this.dataBytes += value.length - oldLength;
      // In place when the record keeps its size and no snapshot needs the old bytes.
      if (
        this.deferredFrees === null &&
        (flagsOf(w[o]!) & FLAG_LARGE) === 0 &&
        !needsLarge(k.length, value.length) &&
        recordWords(k.length, value.length, 0) === recordWords(k.length, oldLength, 0)
      ) {
        w[o + 1] = value.length;
        w[o + 3] = this.version;
        value.copy(this.arena.slabOf(loc), (o + HEADER_WORDS) * 4 + k.length);
        return;
      }
    } else {
      this.dataBytes += k.length + value.length;
    }
    const fresh = this.writeRecord(hash, k, 0, k.length, value, 0, value.length);
    this.setProbe(k, 0, k.length);
    const prev = this.index.set(hash, fresh, this.matchProbe);
    if (prev !== loc) throw new Error(`invariant: index held ${prev} for a key found at ${loc}`);
    if (prev !== EMPTY) this.release(prev);
  }

  /** Deletes k; false if it did not exist. */
  private remove(k: Buffer): boolean {
    const hash = hashBytes(k, 0, k.length);
    this.setProbe(k, 0, k.length);
    const loc = this.index.delete(hash, this.matchProbe);
    if (loc === EMPTY) return false;
    this.version = (this.version + 1) >>> 0;
    const w = this.arena.wordsOf(loc);
    const o = Arena.wordIn(loc);
    this.dataBytes -= keyLengthOf(w[o]!) + w[o + 1]!;
    this.release(loc);
    return true;
  }

  private release(loc: number): void {
    if (this.deferredFrees !== null) this.deferredFrees.push(loc);
    else this.arena.free(loc);
  }

  /** Writes a new record (key + value copied, the key's hash in its header); returns its location. */
  private writeRecord(
    hash: number,
    kb: Uint8Array,
    ks: number,
    ke: number,
    vb: Uint8Array,
    vs: number,
    ve: number,
  ): number {
    const keyLength = ke - ks;
    const valueLength = ve - vs;
    const large = needsLarge(keyLength, valueLength);
    const flags = large ? FLAG_LARGE : 0;
    const size = recordWords(keyLength, valueLength, flags);
    const loc = this.arena.alloc(size);
    const w = this.arena.wordsOf(loc);
    const o = Arena.wordIn(loc);
    w[o] = headWord(keyLength, flags);
    w[o + 1] = valueLength;
    w[o + 2] = hash;
    w[o + 3] = this.version;
    if (large) {
      const bytes = Buffer.allocUnsafeSlow(keyLength + valueLength);
      bytes.set(kb.subarray(ks, ke), 0);
      bytes.set(vb.subarray(vs, ve), keyLength);
      w[o + size - 1] = this.arena.addLarge(bytes);
    } else {
      const slab = this.arena.slabOf(loc);
      let p = (o + HEADER_WORDS) * 4;
      if (keyLength <= 32) for (let i = ks; i < ke; i++) slab[p++] = kb[i]!;
      else {
        slab.set(kb.subarray(ks, ke), p);
        p += keyLength;
      }
      if (valueLength <= 32) for (let i = vs; i < ve; i++) slab[p++] = vb[i]!;
      else slab.set(vb.subarray(vs, ve), p);
    }
    return loc;
  }

  // ---- lookups ------------------------------------------------------------------------------

  private setProbe(buf: Uint8Array, start: number, end: number): void {
    this.probeBuf = buf;
    this.probeStart = start;
    this.probeEnd = end;
  }

  private lookup(buf: Uint8Array, start: number, end: number, hash: number): number {
    this.setProbe(buf, start, end);
    return this.index.find(hash, this.matchProbe);
  }

  /** Whether the record at loc has the probe key. */
  private keyEquals(loc: number): boolean {
    const w = this.arena.wordsOf(loc);
    const o = Arena.wordIn(loc);
    const w0 = w[o]!;
    const keyLength = keyLengthOf(w0);
    const start = this.probeStart;
    if (keyLength !== this.probeEnd - start) return false;
    let bytes: Buffer;
    let p: number;
    if ((flagsOf(w0) & FLAG_LARGE) !== 0) {
      bytes = this.arena.largeValue(w[o + liveRecordWords(w0, w[o + 1]!) - 1]!);
      p = 0;
    } else {
      bytes = this.arena.slabOf(loc);
      p = (o + HEADER_WORDS) * 4;
    }
    const probe = this.probeBuf;
    if (keyLength <= 32) {
      for (let i = 0; i < keyLength; i++) if (bytes[p + i] !== probe[start + i]) return false;
      return true;
    }
    return bytes.compare(probe, start, this.probeEnd, p, p + keyLength) === 0;
  }

  /** The record's key bytes, as a copy. */
  private keyAt(loc: number): Buffer {
    const w = this.arena.wordsOf(loc);
    const o = Arena.wordIn(loc);
    const w0 = w[o]!;
    const keyLength = keyLengthOf(w0);
    if ((flagsOf(w0) & FLAG_LARGE) !== 0) {
      const large = this.arena.largeValue(w[o + liveRecordWords(w0, w[o + 1]!) - 1]!);
      return Buffer.from(large.subarray(0, keyLength));
    }
    const p = (o + HEADER_WORDS) * 4;
    return Buffer.from(this.arena.slabOf(loc).subarray(p, p + keyLength));
  }

  /** The record's value: a copy (copy=true) or a view valid until the next write. */
  private valueAt(loc: number, copy: boolean): Buffer {
    const w = this.arena.wordsOf(loc);
    const o = Arena.wordIn(loc);
    const w0 = w[o]!;
    const keyLength = keyLengthOf(w0);
    const valueLength = w[o + 1]!;
    if ((flagsOf(w0) & FLAG_LARGE) !== 0) {
      // Out-of-line buffers are never written after creation: no copy needed.
      const large = this.arena.largeValue(w[o + liveRecordWords(w0, valueLength) - 1]!);
      return large.subarray(keyLength, keyLength + valueLength);
    }
    const p = (o + HEADER_WORDS) * 4 + keyLength;
    const view = this.arena.slabOf(loc).subarray(p, p + valueLength);
    return copy ? Buffer.from(view) : view;
  }

  private valueEquals(loc: number, expected: Buffer): boolean {
    const v = this.valueAt(loc, false);
    return v.length === expected.length && v.equals(expected);
  }

  // ---- compaction ---------------------------------------------------------------------------

  /** A few records of compaction per applied entry while the arena is fragmented. */
  private maybeCompact(): void {
    if (this.deferredFrees !== null || !this.arena.fragmented) return;
    this.arena.compactStep(COMPACT_RECORDS_PER_WRITE, this.onMoved);
  }

  /** Compaction moved a record: the index follows (the record's header holds the key's hash). */
  private readonly onMoved = (from: number, to: number): void => {
    this.index.relocate(this.arena.wordsOf(to)[Arena.wordIn(to) + 2]!, from, to);
  };
}
