/**
 * Write commands of the replicated state machine and their binary encoding (the bytes of a Raft
 * entry). The node batches the writes of many clients into ONE entry, so encodeBatch/decodeBatch
 * is the normal path; encodeCommand exists for single writes and tests.
 *
 * Wire format (all lengths are unsigned LEB128 varints, "bytes" = varint length + raw bytes):
 *   entry  = 0x01 command               (single)
 *          | 0x02 varint(count) command*  (batch)
 *   SET    = 0x01 flags(u8: bits0-1 mode 0 none/1 NX/2 XX, bit2 GET) bytes(key) bytes(value)
 *   DEL    = 0x02 varint(n) bytes(key)*n
 *   INCRBY = 0x03 bytes(key) i64le(delta)
 *   MSET   = 0x04 varint(n) (bytes(key) bytes(value))*n
 *   CAS    = 0x05 flags(u8: bit0 expected present) bytes(key) [bytes(expected)] bytes(value)
 * Decoding validates everything and never reads past the end: a malformed entry throws
 * KvCodecError (committed entries are never malformed unless the log is corrupt).
 */

export type SetMode = 'none' | 'NX' | 'XX';

export interface SetCommand {
  readonly type: 'set';
  readonly key: Buffer;
  readonly value: Buffer;
  readonly mode: SetMode;
  /** SET ... GET: reply with the old value (nil if absent) instead of OK/nil. */
  readonly get: boolean;
}

export interface DelCommand {
  readonly type: 'del';
  readonly keys: readonly Buffer[];
}

/** INCR / DECR / INCRBY / DECRBY. delta is a signed 64-bit integer. */
export interface IncrByCommand {
  readonly type: 'incrby';
  readonly key: Buffer;
  readonly delta: bigint;
}

/** Atomic multi-set: keys[i] gets values[i]; later duplicates win, like Redis. */
export interface MsetCommand {
  readonly type: 'mset';
  readonly keys: readonly Buffer[];
  readonly values: readonly Buffer[];
}

/** Compare-and-set: set key to value iff its current value equals `expected` (null = key absent). */
export interface CasCommand {
  readonly type: 'cas';
  readonly key: Buffer;
  readonly expected: Buffer | null;
  readonly value: Buffer;
}

export type KvCommand = SetCommand | DelCommand | IncrByCommand | MsetCommand | CasCommand;

export class KvCodecError extends Error {
  override readonly name = 'KvCodecError';
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

const ENTRY_SINGLE = 0x01;
const ENTRY_BATCH = 0x02;
const OP_SET = 0x01;
const OP_DEL = 0x02;
const OP_INCRBY = 0x03;
const OP_MSET = 0x04;
const OP_CAS = 0x05;
const SET_MODE_CODES: Record<SetMode, number> = { none: 0, NX: 1, XX: 2 };
const SET_MODES: readonly SetMode[] = ['none', 'NX', 'XX'];
const SET_FLAG_GET = 0x04;
/** Longest byte string we encode: keeps every length well inside a 32-bit varint. */
const MAX_FIELD_BYTES = 2 ** 31 - 1;

function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

function fieldBytes(b: Uint8Array): number {
  if (b.length > MAX_FIELD_BYTES)
    throw new Error(`invariant: field of ${b.length} bytes exceeds ${MAX_FIELD_BYTES}`);
  return varintBytes(b.length) + b.length;
}

/** Exact encoded size of one command (without the entry header); lets the host bound batch bytes. */
export function encodedCommandBytes(cmd: KvCommand): number {
  switch (cmd.type) {
    case 'set':
      return 2 + fieldBytes(cmd.key) + fieldBytes(cmd.value);
    case 'del': {
      let n = 1 + varintBytes(cmd.keys.length);
      for (const k of cmd.keys) n += fieldBytes(k);
      return n;
    }
    case 'incrby':
      return 1 + fieldBytes(cmd.key) + 8;
    case 'mset': {
      if (cmd.keys.length !== cmd.values.length)
        throw new Error('invariant: MSET keys and values differ in count');
      let n = 1 + varintBytes(cmd.keys.length);
      for (let i = 0; i < cmd.keys.length; i++) n += fieldBytes(cmd.keys[i]!) + fieldBytes(cmd.values[i]!);
      return n;
    }
    case 'cas':
      return (
        2 +
        fieldBytes(cmd.key) +
        (cmd.expected === null ? 0 : fieldBytes(cmd.expected)) +
        fieldBytes(cmd.value)
      );
  }
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  field(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  command(cmd: KvCommand): void {
    switch (cmd.type) {
      case 'set':
        this.u8(OP_SET);
        this.u8(SET_MODE_CODES[cmd.mode] | (cmd.get ? SET_FLAG_GET : 0));
        this.field(cmd.key);
        this.field(cmd.value);
        return;
      case 'del':
        this.u8(OP_DEL);
        this.varint(cmd.keys.length);
        for (const k of cmd.keys) this.field(k);
        return;
      case 'incrby':
        if (cmd.delta < INT64_MIN || cmd.delta > INT64_MAX)
          throw new Error('invariant: INCRBY delta outside int64');
        this.u8(OP_INCRBY);
        this.field(cmd.key);
        this.buf.writeBigInt64LE(cmd.delta, this.pos);
        this.pos += 8;
        return;
      case 'mset':
        this.u8(OP_MSET);
        this.varint(cmd.keys.length);
        for (let i = 0; i < cmd.keys.length; i++) {
          this.field(cmd.keys[i]!);
          this.field(cmd.values[i]!);
        }
        return;
      case 'cas':
        this.u8(OP_CAS);
        this.u8(cmd.expected === null ? 0 : 1);
        this.field(cmd.key);
        if (cmd.expected !== null) this.field(cmd.expected);
        this.field(cmd.value);
        return;
    }
  }
}

export function encodeCommand(cmd: KvCommand): Buffer {
  const w = new Writer(Buffer.allocUnsafe(1 + encodedCommandBytes(cmd)));
  w.u8(ENTRY_SINGLE);
  w.command(cmd);
  if (w.pos !== w.buf.length) throw new Error('invariant: encoded size mismatch');
  return w.buf;
}

/**
 * One entry holding many commands, applied in order. The caller bounds the batch (count and
 * bytes); a caller that has already summed encodedCommandBytes over `cmds` (to bound it) passes
 * the sum so it is not computed twice. A wrong sum fails the size invariant below.
 */
export function encodeBatch(cmds: readonly KvCommand[], commandBytes?: number): Buffer {
  let size = 1 + varintBytes(cmds.length);
  if (commandBytes !== undefined) size += commandBytes;
  else for (const c of cmds) size += encodedCommandBytes(c);
  // Its own ArrayBuffer, never a slice of Node's shared 8 KiB pool: the entry lives in the Raft
  // log until a snapshot, and a pooled slice would keep the whole pool chunk (and whatever else
  // was carved from it) alive — measured: a leader's buffers were ~3.5× its log bytes.
  const w = new Writer(Buffer.allocUnsafeSlow(size));
  w.u8(ENTRY_BATCH);
  w.varint(cmds.length);
  for (const c of cmds) w.command(c);
  if (w.pos !== size) throw new Error('invariant: encoded size mismatch');
  return w.buf;
}

/** Reads fields as views of the input (no copies): the store copies what it keeps. */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  fail(what: string): never {
    throw new KvCodecError(`malformed kv entry at byte ${this.pos}: ${what}`);
  }
  u8(): number {
    if (this.pos >= this.buf.length) this.fail('truncated');
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (result > MAX_FIELD_BYTES) this.fail('length too large');
        return result;
      }
      scale *= 128;
    }
    return this.fail('varint too long');
  }
  field(): Buffer {
    const len = this.varint();
    if (len > this.buf.length - this.pos) this.fail('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  /** A count of items, each at least `minItemBytes` long: checked against the bytes left before use. */
  count(minItemBytes: number): number {
    const n = this.varint();
    if (n * minItemBytes > this.buf.length - this.pos) this.fail('count exceeds remaining bytes');
    return n;
  }
  command(): KvCommand {
    const op = this.u8();
    switch (op) {
      case OP_SET: {
        const flags = this.u8();
        const mode = SET_MODES[flags & 0x03];
        if (mode === undefined || (flags & ~0x07) !== 0) this.fail(`bad SET flags ${flags}`);
        const key = this.field();
        const value = this.field();
        return { type: 'set', key, value, mode, get: (flags & SET_FLAG_GET) !== 0 };
      }
      case OP_DEL: {
        const n = this.count(1);
        const keys: Buffer[] = [];
        for (let i = 0; i < n; i++) keys.push(this.field());
        return { type: 'del', keys };
      }
      case OP_INCRBY: {
        const key = this.field();
        if (this.buf.length - this.pos < 8) this.fail('truncated delta');
        const delta = this.buf.readBigInt64LE(this.pos);
        this.pos += 8;
        return { type: 'incrby', key, delta };
      }
      case OP_MSET: {
        const n = this.count(2);
        const keys: Buffer[] = [];
        const values: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          keys.push(this.field());
          values.push(this.field());
        }
        return { type: 'mset', keys, values };
      }
      case OP_CAS: {
        const flags = this.u8();
        if (flags > 1) this.fail(`bad CAS flags ${flags}`);
        const key = this.field();
        const expected = flags === 1 ? this.field() : null;
        const value = this.field();
        return { type: 'cas', key, expected, value };
      }
      default:
        return this.fail(`unknown op ${op}`);
    }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a single-command entry. Keys and values are views of `bytes`. */
export function decodeCommand(bytes: Uint8Array): KvCommand {
  const r = new Reader(asBuffer(bytes));
  if (r.u8() !== ENTRY_SINGLE) r.fail('not a single-command entry');
  const cmd = r.command();
  if (r.pos !== r.buf.length) r.fail('trailing bytes');
  return cmd;
}

/**
 * Decodes a batch entry, or a single-command entry as a batch of one. Empty data (the leader's
 * no-op entry) decodes to no commands. Keys and values are views of `bytes`.
 */
export function decodeBatch(bytes: Uint8Array): KvCommand[] {
  if (bytes.length === 0) return [];
  const r = new Reader(asBuffer(bytes));
  const kind = r.u8();
  if (kind === ENTRY_SINGLE) {
    const cmd = r.command();
    if (r.pos !== r.buf.length) r.fail('trailing bytes');
    return [cmd];
  }
  if (kind !== ENTRY_BATCH) r.fail(`unknown entry kind ${kind}`);
  const n = r.count(2);
  const out: KvCommand[] = [];
  for (let i = 0; i < n; i++) out.push(r.command());
  if (r.pos !== r.buf.length) r.fail('trailing bytes');
  return out;
}
