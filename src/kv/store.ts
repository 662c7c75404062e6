/**
 * KvStore: the replicated state machine, a Map from key to value.
 *
 * Keys are kept as latin1 strings of the key bytes (one char per byte: binary-safe, compact and
 * cheap to hash); values are Buffers that the store never mutates. apply() is deterministic: the
 * same commands in the same order give the same state and results on every replica.
 *
 * Copy-on-write snapshots: beginSnapshot() returns a frozen view of the map as it was at that
 * moment, iterable while the host keeps applying writes. While a view is open:
 *  - the first write to a key saves the key's previous value (or ABSENT) in a side map, and the
 *    view yields the saved value instead of the live one (ABSENT keys, added after the begin,
 *    are skipped);
 *  - a delete leaves a tombstone in the live map instead of removing the entry, so the view's
 *    live Map iterator still meets every key that existed at the begin exactly once (Map
 *    iteration is insertion-ordered and set() on an existing key keeps its position).
 * close() drops the side map and removes the tombstones: cost O(keys written while open).
 */

import type { KvCommand } from './commands.js';
import { INT64_MAX, INT64_MIN } from './commands.js';

export type KvResult =
  | { readonly type: 'ok' }
  | { readonly type: 'nil' }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'bulk'; readonly value: Buffer }
  | { readonly type: 'array'; readonly items: readonly KvResult[] }
  | { readonly type: 'error'; readonly message: string };

/** Read-only commands, served from the local map (after ReadIndex / lease / stale per read mode). */
export type KvRead =
  | { readonly type: 'get'; readonly key: Buffer }
  | { readonly type: 'mget'; readonly keys: readonly Buffer[] }
  | { readonly type: 'exists'; readonly keys: readonly Buffer[] }
  | { readonly type: 'strlen'; readonly key: Buffer }
  /** TTL/PTTL: keys never expire here, so -1 when present, -2 when absent. */
  | { readonly type: 'ttl'; readonly key: Buffer }
  | { readonly type: 'dbsize' };

export const OK_RESULT: KvResult = Object.freeze({ type: 'ok' });
export const NIL_RESULT: KvResult = Object.freeze({ type: 'nil' });
export const ERR_NOT_INTEGER = 'ERR value is not an integer or out of range';
export const ERR_OVERFLOW = 'ERR increment or decrement would overflow';

/**
 * Approximate heap cost of one entry beyond its key and value bytes: the Map slot, the key string
 * header and the Buffer object. Measured on Node 20 (see scripts/bench-resp.ts report); approximate.
 */
export const ENTRY_OVERHEAD_BYTES = 120;

/** Sentinels compared by identity: never stored as real values (real values are copies). */
const TOMBSTONE: Buffer = Buffer.alloc(0);
const ABSENT: Buffer = Buffer.alloc(0);

const integer = (value: number | bigint): KvResult => ({ type: 'integer', value });
/** A map slot's value as the store's users see it: a tombstone (see beginSnapshot) is absent. */
const live = (raw: Buffer | undefined): Buffer | undefined => (raw === TOMBSTONE ? undefined : raw);
const bulk = (value: Buffer): KvResult => ({ type: 'bulk', value });

/** The key's map representation: latin1 string of its bytes. */
export function keyOf(key: Buffer): string {
  return key.toString('latin1');
}

/** A key back to its bytes. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

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

export interface KvSnapshotView extends Iterable<readonly [string, Buffer]> {
  /**
   * Appends up to `max` entries of the frozen view to keys/values (cheaper than the iterator:
   * no tuple per entry) and returns how many; 0 means the view is exhausted (and now closed).
   */
  readBatch(keys: string[], values: Buffer[], max: number): number;
  /** Number of keys in the frozen view. */
  readonly size: number;
  /** Approximate bytes of the frozen view (ENTRY_OVERHEAD_BYTES included). */
  readonly approxBytes: number;
  /** Ends the view; idempotent. Iterating to the end closes it too. */
  close(): void;
}

export class KvStore {
  private readonly map = new Map<string, Buffer>();
  private liveCount = 0;
  private bytes = 0;
  /** Open snapshot: key → value before the first write since begin (ABSENT if it did not exist). */
  private saved: Map<string, Buffer> | null = null;
  private snapshotSerial = 0;

  /** Number of keys (DBSIZE). */
  get size(): number {
    return this.liveCount;
  }

  /** Approximate memory of keys + values + per-entry overhead, for INFO used_memory. */
  get approxBytes(): number {
    return this.bytes;
  }

  /** True while a snapshot view is open. */
  get snapshotOpen(): boolean {
    return this.saved !== null;
  }

  get(key: Buffer | string): Buffer | undefined {
    return live(this.map.get(typeof key === 'string' ? key : keyOf(key)));
  }

  exists(key: Buffer | string): boolean {
    return this.get(key) !== undefined;
  }

  /** Live entries (latin1 key, value) in insertion order; for tests and tooling. */
  *entries(): IterableIterator<[string, Buffer]> {
    for (const [k, v] of this.map) if (v !== TOMBSTONE) yield [k, v];
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
        for (const k of r.keys) if (this.get(k) !== undefined) n++;
        return integer(n);
      }
      case 'strlen':
        return integer(this.get(r.key)?.length ?? 0);
      case 'ttl':
        return integer(this.get(r.key) === undefined ? -2 : -1);
      case 'dbsize':
        return integer(this.liveCount);
    }
  }

  /** Applies one committed write. Deterministic; never throws for valid commands. */
  apply(cmd: KvCommand): KvResult {
    switch (cmd.type) {
      case 'set':
        return this.applySet(keyOf(cmd.key), cmd.value, cmd.mode, cmd.get);
      case 'del': {
        let n = 0;
        for (const k of cmd.keys) if (this.remove(keyOf(k))) n++;
        return integer(n);
      }
      case 'incrby':
        return this.applyIncrBy(keyOf(cmd.key), cmd.delta);
      case 'mset':
        if (cmd.keys.length !== cmd.values.length)
          throw new Error('invariant: MSET keys and values differ in count');
        for (let i = 0; i < cmd.keys.length; i++) this.put(keyOf(cmd.keys[i]!), Buffer.from(cmd.values[i]!));
        return OK_RESULT;
      case 'cas': {
        const k = keyOf(cmd.key);
        const old = live(this.map.get(k));
        const match =
          cmd.expected === null ? old === undefined : old !== undefined && old.equals(cmd.expected);
        if (!match) return integer(0);
        this.put(k, Buffer.from(cmd.value), old);
        return integer(1);
      }
    }
  }

  /** Applies the commands of one entry in order; one result per command. */
  applyBatch(cmds: readonly KvCommand[]): KvResult[] {
    const out: KvResult[] = new Array<KvResult>(cmds.length);
    for (let i = 0; i < cmds.length; i++) out[i] = this.apply(cmds[i]!);
    return out;
  }

  /**
   * Inserts a value without copying it; for snapshot restore only (the caller guarantees the bytes
   * are never mutated). Returns false, leaving the store unusable, if the key was already present
   * (a corrupt snapshot: the caller discards the store).
   */
  loadEntry(key: string, value: Buffer): boolean {
    if (this.saved !== null) throw new Error('invariant: loadEntry while a snapshot is open');
    const before = this.map.size;
    this.map.set(key, value);
    if (this.map.size === before) return false;
    this.liveCount++;
    this.bytes += key.length + value.length + ENTRY_OVERHEAD_BYTES;
    return true;
  }

  /**
   * Opens a copy-on-write view of the current state (see the file comment). One at a time: the
   * caller must iterate it to the end or close() it before beginning another.
   */
  beginSnapshot(): KvSnapshotView {
    if (this.saved !== null) throw new Error('invariant: a snapshot is already open');
    const saved = new Map<string, Buffer>();
    this.saved = saved;
    const serial = ++this.snapshotSerial;
    const map = this.map;
    let iterated = false;
    let closed = false;
    const close = (): void => {
      closed = true;
      if (this.saved !== saved || this.snapshotSerial !== serial) return;
      this.saved = null;
      for (const k of saved.keys()) if (map.get(k) === TOMBSTONE) map.delete(k);
    };
    const cursor = map.entries();
    let exhausted = false;
    const readBatch = (keys: string[], values: Buffer[], max: number): number => {
      if (closed) throw new Error('invariant: snapshot view read after close()');
      let n = 0;
      while (n < max && !exhausted) {
        const r = cursor.next();
        if (r.done === true) {
          exhausted = true;
          break;
        }
        const [k, live] = r.value;
        const old = saved.get(k);
        if (old === undefined) {
          if (live === TOMBSTONE) throw new Error('invariant: tombstone without a saved value');
          keys.push(k);
          values.push(live);
          n++;
        } else if (old !== ABSENT) {
          keys.push(k);
          values.push(old);
          n++;
        }
      }
      if (n === 0) close();
      return n;
    };
    const view: KvSnapshotView = {
      size: this.liveCount,
      approxBytes: this.bytes,
      close,
      readBatch,
      *[Symbol.iterator](): Iterator<readonly [string, Buffer]> {
        if (iterated) throw new Error('invariant: a snapshot view can be iterated once');
        iterated = true;
        if (closed) throw new Error('invariant: snapshot view iterated after close()');
        try {
          const keys: string[] = [];
          const values: Buffer[] = [];
          while (readBatch(keys, values, 1024) > 0) {
            for (let i = 0; i < keys.length; i++) yield [keys[i]!, values[i]!];
            keys.length = 0;
            values.length = 0;
          }
        } finally {
          close();
        }
      },
    };
    return view;
  }

  private applySet(k: string, value: Buffer, mode: 'none' | 'NX' | 'XX', get: boolean): KvResult {
    const old = live(this.map.get(k));
    const allowed = mode === 'none' || (mode === 'NX' ? old === undefined : old !== undefined);
    if (allowed) this.put(k, Buffer.from(value), old);
    if (get) return old === undefined ? NIL_RESULT : bulk(old);
    return allowed ? OK_RESULT : NIL_RESULT;
  }

  private applyIncrBy(k: string, delta: bigint): KvResult {
    const old = live(this.map.get(k));
    let current = 0n;
    if (old !== undefined) {
      const parsed = parseInt64(old);
      if (parsed === null) return { type: 'error', message: ERR_NOT_INTEGER };
      current = parsed;
    }
    const next = current + delta;
    if (next < INT64_MIN || next > INT64_MAX) return { type: 'error', message: ERR_OVERFLOW };
    this.put(k, Buffer.from(next.toString(), 'latin1'), old);
    return integer(next);
  }

  /**
   * Sets k to value (already owned by the store). `old` is k's live value, when the caller has
   * just looked it up (one hash lookup per write instead of two on the hot path).
   */
  private put(k: string, value: Buffer, old: Buffer | undefined = live(this.map.get(k))): void {
    if (this.saved !== null && !this.saved.has(k)) this.saved.set(k, old ?? ABSENT);
    this.map.set(k, value);
    if (old === undefined) {
      this.liveCount++;
      this.bytes += k.length + value.length + ENTRY_OVERHEAD_BYTES;
    } else {
      this.bytes += value.length - old.length;
    }
  }

  /** Deletes k; false if it did not exist. */
  private remove(k: string): boolean {
    const old = live(this.map.get(k));
    if (old === undefined) return false;
    if (this.saved !== null) {
      if (!this.saved.has(k)) this.saved.set(k, old);
      this.map.set(k, TOMBSTONE);
    } else {
      this.map.delete(k);
    }
    this.liveCount--;
    this.bytes -= k.length + old.length + ENTRY_OVERHEAD_BYTES;
    return true;
  }
}
