import { describe, expect, it } from 'vitest';
import {
  decodeBatch,
  decodeCommand,
  encodeBatch,
  encodeCommand,
  encodedCommandBytes,
  INT64_MAX,
  INT64_MIN,
  KvCodecError,
  type KvCommand,
} from '../../src/kv/commands.js';
import { Prng } from '../resp/prng.js';

function randomBytes(rng: Prng): Buffer {
  const r = rng.int(10);
  if (r === 0) return Buffer.alloc(0);
  if (r === 1) return rng.bytes(200 + rng.int(300)); // two-byte varint lengths
  return rng.bytes(rng.int(40));
}

function randomDelta(rng: Prng): bigint {
  return rng.pick([
    0n,
    1n,
    -1n,
    INT64_MAX,
    INT64_MIN,
    BigInt(rng.int(1e9)) * BigInt(rng.int(1e9)) * (rng.bool() ? 1n : -1n),
  ]);
}

export function randomCommand(rng: Prng): KvCommand {
  switch (rng.int(5)) {
    case 0:
      return {
        type: 'set',
        key: randomBytes(rng),
        value: randomBytes(rng),
        mode: rng.pick(['none', 'NX', 'XX'] as const),
        get: rng.bool(),
      };
    case 1:
      return { type: 'del', keys: Array.from({ length: 1 + rng.int(5) }, () => randomBytes(rng)) };
    case 2:
      return { type: 'incrby', key: randomBytes(rng), delta: randomDelta(rng) };
    case 3: {
      const n = 1 + rng.int(5);
      return {
        type: 'mset',
        keys: Array.from({ length: n }, () => randomBytes(rng)),
        values: Array.from({ length: n }, () => randomBytes(rng)),
      };
    }
    default:
      return {
        type: 'cas',
        key: randomBytes(rng),
        expected: rng.bool() ? null : randomBytes(rng),
        value: randomBytes(rng),
      };
  }
}

/** Fast comparable form (vitest's deep equality on many Buffers is slow). */
const norm = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
};
const show = (cmds: readonly KvCommand[]): string => JSON.stringify(norm(cmds));

describe('kv command encoding', () => {
  it('round-trips single commands (2,000 random)', () => {
    const rng = new Prng(7);
    for (let i = 0; i < 2000; i++) {
      const cmd = randomCommand(rng);
      const bytes = encodeCommand(cmd);
      expect(bytes.length).toBe(1 + encodedCommandBytes(cmd));
      expect(show([decodeCommand(bytes)])).toBe(show([cmd]));
      expect(show(decodeBatch(bytes))).toBe(show([cmd]));
    }
  });

  it('round-trips batches (200 random, up to 200 commands)', () => {
    const rng = new Prng(8);
    for (let i = 0; i < 200; i++) {
      const cmds = Array.from({ length: rng.int(200) }, () => randomCommand(rng));
      const bytes = encodeBatch(cmds);
      expect(show(decodeBatch(bytes))).toBe(show(cmds));
      // The caller's precomputed size gives the same bytes; a wrong one is an invariant breach.
      const commandBytes = cmds.reduce((n, c) => n + encodedCommandBytes(c), 0);
      expect(encodeBatch(cmds, commandBytes).equals(bytes)).toBe(true);
      expect(() => encodeBatch(cmds, commandBytes + 1)).toThrow(/invariant/);
      // A Uint8Array that is not a Buffer, at a non-zero offset, decodes the same.
      const copy = new Uint8Array(bytes.length + 3);
      copy.set(bytes, 3);
      expect(show(decodeBatch(copy.subarray(3)))).toBe(show(cmds));
    }
  });

  it('decodes keys and values as views of the entry', () => {
    const bytes = encodeBatch([
      { type: 'set', key: Buffer.from('k'), value: Buffer.from('v'), mode: 'none', get: false },
    ]);
    const cmd = decodeBatch(bytes)[0]!;
    expect(cmd.type === 'set' && cmd.value.buffer === bytes.buffer).toBe(true);
  });

  it('decodes the empty no-op entry to no commands', () => {
    expect(decodeBatch(new Uint8Array(0))).toEqual([]);
  });

  it('rejects every truncation and garbage with KvCodecError only', () => {
    const rng = new Prng(9);
    for (let i = 0; i < 150; i++) {
      const cmds = Array.from({ length: 1 + rng.int(4) }, () => randomCommand(rng));
      const bytes = encodeBatch(cmds);
      for (let cut = 0; cut < bytes.length; cut += 1 + rng.int(7)) {
        if (cut === 0) continue;
        expect(() => decodeBatch(bytes.subarray(0, cut))).toThrow(KvCodecError);
      }
      expect(() => decodeBatch(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(KvCodecError);
      // Random corruption: either a clean decode or KvCodecError, never another exception.
      const bad = Buffer.from(bytes);
      bad[rng.int(bad.length)] = rng.int(256);
      try {
        decodeBatch(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(KvCodecError);
      }
    }
    expect(() => decodeBatch(Buffer.from([9]))).toThrow(/unknown entry kind/);
    expect(() => decodeCommand(encodeBatch([]))).toThrow(/not a single-command entry/);
    // A huge declared count with few bytes fails before allocating anything.
    expect(() => decodeBatch(Buffer.from([2, 0xff, 0xff, 0xff, 0xff, 0x07]))).toThrow(/count exceeds/);
  });
});
