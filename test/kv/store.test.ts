import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../../src/kv/commands.js';
import { INT64_MAX, INT64_MIN } from '../../src/kv/commands.js';
import { KvStore, parseInt64, type KvResult } from '../../src/kv/store.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const set = (key: string, value: string, mode: 'none' | 'NX' | 'XX' = 'none', get = false): KvCommand => ({
  type: 'set',
  key: b(key),
  value: b(value),
  mode,
  get,
});
const incrby = (key: string, delta: bigint): KvCommand => ({ type: 'incrby', key: b(key), delta });
const del = (...keys: string[]): KvCommand => ({ type: 'del', keys: keys.map(b) });
const cas = (key: string, expected: string | null, value: string): KvCommand => ({
  type: 'cas',
  key: b(key),
  expected: expected === null ? null : b(expected),
  value: b(value),
});
const OK: KvResult = { type: 'ok' };
const NIL: KvResult = { type: 'nil' };
const int = (value: number | bigint): KvResult => ({ type: 'integer', value });
const bulk = (s: string): KvResult => ({ type: 'bulk', value: b(s) });
const val = (store: KvStore, key: string): string | undefined => store.get(b(key))?.toString('latin1');

describe('KvStore.apply', () => {
  it('SET / GET with binary keys and values', () => {
    const s = new KvStore();
    const key = Buffer.from([0, 255, 13, 10]);
    const value = Buffer.from([1, 2, 0, 3]);
    expect(s.apply({ type: 'set', key, value, mode: 'none', get: false })).toEqual(OK);
    expect(s.get(key)).toEqual(value);
    expect(s.read({ type: 'get', key })).toEqual({ type: 'bulk', value });
    expect(s.read({ type: 'get', key: b('nope') })).toEqual(NIL);
  });

  it('copies values it keeps (a caller mutating its buffer does not change the store)', () => {
    const s = new KvStore();
    const value = b('abc');
    s.apply({ type: 'set', key: b('k'), value, mode: 'none', get: false });
    value[0] = 0x7a;
    expect(val(s, 'k')).toBe('abc');
  });

  it('SET NX / XX', () => {
    const s = new KvStore();
    expect(s.apply(set('k', '1', 'XX'))).toEqual(NIL);
    expect(s.exists(b('k'))).toBe(false);
    expect(s.apply(set('k', '1', 'NX'))).toEqual(OK);
    expect(s.apply(set('k', '2', 'NX'))).toEqual(NIL);
    expect(val(s, 'k')).toBe('1');
    expect(s.apply(set('k', '3', 'XX'))).toEqual(OK);
    expect(val(s, 'k')).toBe('3');
  });

  it('SET GET returns the old value whether or not the condition held', () => {
    const s = new KvStore();
    expect(s.apply(set('k', '1', 'none', true))).toEqual(NIL);
    expect(s.apply(set('k', '2', 'none', true))).toEqual(bulk('1'));
    expect(s.apply(set('k', '3', 'NX', true))).toEqual(bulk('2'));
    expect(val(s, 'k')).toBe('2');
    expect(s.apply(set('x', '9', 'XX', true))).toEqual(NIL);
    expect(s.exists(b('x'))).toBe(false);
  });

  it('DEL counts keys that existed, duplicates once', () => {
    const s = new KvStore();
    s.apply(set('a', '1'));
    s.apply(set('b', '2'));
    expect(s.apply(del('a', 'a', 'c', 'b'))).toEqual(int(2));
    expect(s.size).toBe(0);
  });

  it('INCRBY on missing, integer, non-integer values', () => {
    const s = new KvStore();
    expect(s.apply(incrby('n', 5n))).toEqual(int(5n));
    expect(s.apply(incrby('n', -7n))).toEqual(int(-2n));
    expect(val(s, 'n')).toBe('-2');
    for (const bad of ['abc', ' 1', '1 ', '01', '+1', '-0', '1.5', '', '99999999999999999999']) {
      s.apply(set('x', bad));
      expect(s.apply(incrby('x', 1n)), bad).toEqual({
        type: 'error',
        message: 'ERR value is not an integer or out of range',
      });
      expect(val(s, 'x')).toBe(bad);
    }
  });

  it('INCRBY overflow at the int64 edges leaves the value unchanged', () => {
    const s = new KvStore();
    s.apply(set('max', INT64_MAX.toString()));
    expect(s.apply(incrby('max', 1n))).toEqual({
      type: 'error',
      message: 'ERR increment or decrement would overflow',
    });
    expect(val(s, 'max')).toBe('9223372036854775807');
    s.apply(set('min', INT64_MIN.toString()));
    expect(s.apply(incrby('min', -1n))).toEqual({
      type: 'error',
      message: 'ERR increment or decrement would overflow',
    });
    expect(s.apply(incrby('min', 1n))).toEqual(int(INT64_MIN + 1n));
    expect(s.apply(incrby('max', -1n))).toEqual(int(INT64_MAX - 1n));
  });

  it('MSET sets all pairs, later duplicates win', () => {
    const s = new KvStore();
    expect(
      s.apply({ type: 'mset', keys: [b('a'), b('b'), b('a')], values: [b('1'), b('2'), b('3')] }),
    ).toEqual(OK);
    expect(val(s, 'a')).toBe('3');
    expect(val(s, 'b')).toBe('2');
    expect(s.size).toBe(2);
  });

  it('CAS compares bytes or absence', () => {
    const s = new KvStore();
    expect(s.apply(cas('k', 'x', 'y'))).toEqual(int(0));
    expect(s.apply(cas('k', null, 'v1'))).toEqual(int(1));
    expect(s.apply(cas('k', null, 'v2'))).toEqual(int(0));
    expect(s.apply(cas('k', 'v0', 'v2'))).toEqual(int(0));
    expect(s.apply(cas('k', 'v1', 'v2'))).toEqual(int(1));
    expect(val(s, 'k')).toBe('v2');
    expect(s.apply(cas('k', '', 'v3'))).toEqual(int(0));
    s.apply(set('e', ''));
    expect(s.apply(cas('e', '', 'z'))).toEqual(int(1));
  });

  it('applyBatch applies in order and returns one result per command', () => {
    const s = new KvStore();
    expect(s.applyBatch([set('a', '1'), incrby('a', 1n), del('a'), incrby('a', 1n)])).toEqual([
      OK,
      int(2n),
      int(1),
      int(1n),
    ]);
  });

  it('is deterministic: two stores fed the same commands end equal', () => {
    const cmds: KvCommand[] = [];
    for (let i = 0; i < 500; i++) {
      const k = `k${i % 37}`;
      cmds.push(
        i % 5 === 0
          ? del(k)
          : i % 3 === 0
            ? incrby(k, BigInt(i))
            : set(k, String(i), i % 7 === 0 ? 'NX' : 'none'),
      );
    }
    const a = new KvStore();
    const c = new KvStore();
    expect(a.applyBatch(cmds)).toEqual(c.applyBatch(cmds));
    expect([...a.entries()]).toEqual([...c.entries()]);
  });

  it('reads: MGET, EXISTS (counting repeats), STRLEN, TTL, DBSIZE', () => {
    const s = new KvStore();
    s.apply(set('a', 'xyz'));
    expect(s.read({ type: 'mget', keys: [b('a'), b('b')] })).toEqual({
      type: 'array',
      items: [bulk('xyz'), NIL],
    });
    expect(s.read({ type: 'exists', keys: [b('a'), b('a'), b('b')] })).toEqual(int(2));
    expect(s.read({ type: 'strlen', key: b('a') })).toEqual(int(3));
    expect(s.read({ type: 'strlen', key: b('b') })).toEqual(int(0));
    expect(s.read({ type: 'ttl', key: b('a') })).toEqual(int(-1));
    expect(s.read({ type: 'ttl', key: b('b') })).toEqual(int(-2));
    expect(s.read({ type: 'dbsize' })).toEqual(int(1));
  });

  it('accounts key + value bytes exactly and returns to zero', () => {
    const s = new KvStore();
    s.apply(set('key', 'value'));
    expect(s.approxBytes).toBe(3 + 5);
    s.apply(set('key', 'v'));
    expect(s.approxBytes).toBe(3 + 1);
    s.apply(set('key', 'x'.repeat(10_000))); // out of line
    expect(s.approxBytes).toBe(3 + 10_000);
    s.apply(del('key'));
    expect(s.approxBytes).toBe(0);
    expect(s.memory().arena.liveBytes).toBe(0);
  });
});

describe('parseInt64', () => {
  it('follows string2ll exactly', () => {
    expect(parseInt64(b('0'))).toBe(0n);
    expect(parseInt64(b('-1'))).toBe(-1n);
    expect(parseInt64(b('9223372036854775807'))).toBe(INT64_MAX);
    expect(parseInt64(b('-9223372036854775808'))).toBe(INT64_MIN);
    expect(parseInt64(b('1234567890123456'))).toBe(1234567890123456n);
    for (const bad of [
      '',
      '-',
      '-0',
      '00',
      '01',
      '+5',
      '9223372036854775808',
      '-9223372036854775809',
      '1e3',
      '0x10',
      ' 7',
    ]) {
      expect(parseInt64(b(bad)), bad).toBeNull();
    }
  });
});
