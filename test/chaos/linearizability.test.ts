import { describe, expect, it } from 'vitest';

import {
  type Operation,
  type OpInput,
  type OpOutput,
  type RegisterValue,
  HistoryRecorder,
  assertWellFormed,
  describeOp,
  summarize,
} from '../../src/chaos/history.js';
import { checkHistory } from '../../src/chaos/linearizability.js';

let nextId = 0;
function op(
  clientId: number,
  invokeMs: number,
  completeMs: number | null,
  input: OpInput,
  output: OpOutput | null,
): Operation {
  const made: Operation = { id: nextId++, clientId, input, invokeMs, completeMs, output };
  assertWellFormed(made);
  return made;
}
const write = (c: number, a: number, b: number | null, value: RegisterValue, key = 'k'): Operation =>
  op(c, a, b, { kind: 'write', key, value }, b === null ? null : { kind: 'write' });
const read = (c: number, a: number, b: number | null, value: RegisterValue, key = 'k'): Operation =>
  op(c, a, b, { kind: 'read', key }, b === null ? null : { kind: 'read', value });
const cas = (
  c: number,
  a: number,
  b: number | null,
  expected: RegisterValue,
  value: string,
  ok: boolean | null,
  key = 'k',
): Operation => op(c, a, b, { kind: 'cas', key, expected, value }, ok === null ? null : { kind: 'cas', ok });

describe('linearizability checker: hand-made histories', () => {
  it('accepts an empty history and a sequential one', () => {
    expect(checkHistory([]).verdict).toBe('ok');
    const h = [write(1, 0, 1, 'a'), read(1, 2, 3, 'a'), cas(1, 4, 5, 'a', 'b', true), read(1, 6, 7, 'b')];
    expect(checkHistory(h).verdict).toBe('ok');
  });

  it('flags a stale read (a read after an acknowledged write returns the older value)', () => {
    const h = [write(1, 0, 1, 'a'), write(1, 2, 3, 'b'), read(2, 4, 5, 'a')];
    const result = checkHistory(h);
    expect(result.verdict).toBe('violation');
    expect(result.keys[0]?.stuckAt?.join('\n')).toContain('get(k) -> "a"');
  });

  it('flags a lost write (acknowledged, then reads see the value from before it)', () => {
    const h = [write(1, 0, 1, 'a'), write(2, 2, 3, 'b'), read(3, 4, 5, 'b'), read(3, 6, 7, 'a')];
    expect(checkHistory(h).verdict).toBe('violation');
    // The same shape where the write was never acknowledged (unknown outcome) is fine: it may
    // simply not have happened ... as long as nobody saw it.
    const unknown = [write(1, 0, 1, 'a'), write(2, 2, null, 'b'), read(3, 4, 5, 'a'), read(3, 6, 7, 'a')];
    expect(checkHistory(unknown).verdict).toBe('ok');
  });

  it('flags a read of a value that was never written', () => {
    expect(checkHistory([write(1, 0, 1, 'a'), read(2, 0.5, 3, 'zzz')]).verdict).toBe('violation');
    expect(checkHistory([read(2, 0, 1, 'x')]).verdict).toBe('violation');
    expect(checkHistory([read(2, 0, 1, null)]).verdict).toBe('ok');
  });

  it('accepts concurrent overlapping operations that are linearizable', () => {
    // w(a) and w(b) overlap; readers during the overlap see either, in one consistent order.
    const h = [
      write(1, 0, 10, 'a'),
      write(2, 1, 9, 'b'),
      read(3, 2, 3, 'a'),
      read(4, 4, 5, 'b'),
      read(3, 11, 12, 'b'),
      cas(5, 6, 20, 'b', 'c', true),
      read(4, 21, 22, 'c'),
    ];
    expect(checkHistory(h).verdict).toBe('ok');
  });

  it('flags readers that disagree on the order of two concurrent writes', () => {
    // a then b (reader 3), but reader 4 later sees a again: b cannot be both before and after a.
    const h = [
      write(1, 0, 10, 'a'),
      write(2, 0, 10, 'b'),
      read(3, 1, 2, 'a'),
      read(3, 3, 4, 'b'),
      read(4, 5, 6, 'a'),
    ];
    expect(checkHistory(h).verdict).toBe('violation');
  });

  it('treats an unknown-outcome write as possibly applied at any time after its invocation', () => {
    // Seen long after the client gave up: fine.
    expect(checkHistory([write(1, 0, null, 'a'), read(2, 100, 101, 'a')]).verdict).toBe('ok');
    // Seen before it was invoked: impossible.
    expect(checkHistory([read(2, 0, 1, 'a'), write(1, 2, null, 'a')]).verdict).toBe('violation');
    // Applied between two reads of another value, then overwritten: fine.
    const h = [write(1, 0, 1, 'x'), write(2, 2, null, 'a'), read(3, 3, 4, 'x'), read(3, 5, 6, 'a')];
    expect(checkHistory(h).verdict).toBe('ok');
  });

  it('models CAS: success needs the expected value, failure needs another one', () => {
    expect(checkHistory([write(1, 0, 1, 'a'), cas(1, 2, 3, 'a', 'b', true)]).verdict).toBe('ok');
    expect(checkHistory([write(1, 0, 1, 'a'), cas(1, 2, 3, 'x', 'b', true)]).verdict).toBe('violation');
    expect(checkHistory([write(1, 0, 1, 'a'), cas(1, 2, 3, 'a', 'b', false)]).verdict).toBe('violation');
    expect(checkHistory([cas(1, 0, 1, null, 'b', true), read(1, 2, 3, 'b')]).verdict).toBe('ok');
    // Two successful CAS from the same expected value: at most one can win.
    const both = [write(1, 0, 1, 'a'), cas(2, 2, 5, 'a', 'b', true), cas(3, 2, 5, 'a', 'c', true)];
    expect(checkHistory(both).verdict).toBe('violation');
    // An unknown CAS explains a value nobody else wrote.
    const unknownCas = [write(1, 0, 1, 'a'), cas(2, 2, null, 'a', 'b', null), read(3, 10, 11, 'b')];
    expect(checkHistory(unknownCas).verdict).toBe('ok');
  });

  it('lets an unread unknown write explain a failed CAS (and only then)', () => {
    const base = [
      write(1, 0, 1, 'a'),
      cas(2, 3, 4, 'a', 'b', false),
      write(1, 5, 6, 'c'),
      read(2, 7, 8, 'c'),
    ];
    expect(checkHistory(base).verdict).toBe('violation');
    expect(checkHistory([...base, write(3, 2, null, 'u')]).verdict).toBe('ok');
    // Invoked after the CAS returned: it cannot be what made the CAS fail.
    expect(checkHistory([...base, write(3, 4.5, null, 'u')]).verdict).toBe('violation');
  });

  it('stays fast with many unknown writes (the reduction keeps them from multiplying)', () => {
    const h: Operation[] = [];
    for (let i = 0; i < 60; i++) {
      h.push(write(1, 10 * i, 10 * i + 1, `v${i}`));
      h.push(write(2, 10 * i + 2, null, `lost${i}`));
      h.push(read(3, 10 * i + 4, 10 * i + 5, `v${i}`));
      h.push(cas(4, 10 * i + 6, 10 * i + 7, `v${i}`, `w${i}`, i % 2 === 0));
    }
    expect(checkHistory(h, { maxVisitedPerKey: 100_000 }).verdict).toBe('ok');
    // A stale read at the very end forces the search to exhaust every alternative.
    h.push(read(3, 10_000, 10_001, 'v3'));
    expect(checkHistory(h, { maxVisitedPerKey: 100_000 }).verdict).toBe('violation');
  });

  it('checks keys independently and reports the violating key', () => {
    const h = [
      write(1, 0, 1, 'a', 'x'),
      read(2, 2, 3, 'a', 'x'),
      write(1, 0, 1, 'a', 'y'),
      read(2, 2, 3, 'b', 'y'),
    ];
    const result = checkHistory(h);
    expect(result.verdict).toBe('violation');
    expect(result.keys.find((k) => k.key === 'x')?.verdict).toBe('ok');
    expect(result.keys.find((k) => k.key === 'y')?.verdict).toBe('violation');
  });

  it('honors an initial value', () => {
    const h = [read(1, 0, 1, 'seed')];
    expect(checkHistory(h).verdict).toBe('violation');
    expect(checkHistory(h, { initialValue: () => 'seed' }).verdict).toBe('ok');
  });

  it('answers unknown instead of searching past its bounds', () => {
    const h = [write(1, 0, 1, 'a'), read(1, 2, 3, 'a'), read(1, 4, 5, 'a')];
    const tooMany = checkHistory(h, { maxOpsPerKey: 2 });
    expect(tooMany.verdict).toBe('unknown');
    expect(tooMany.keys[0]?.reason).toMatch(/limit 2/);
    // A hard history: many concurrent writes, none of whose values is ever read, and a final
    // impossible read; exhaustive search is exponential, so the visited bound must stop it.
    const hard: Operation[] = [];
    for (let c = 0; c < 18; c++) hard.push(write(c, 0, 100, `v${c}`));
    hard.push(read(99, 200, 201, 'never'));
    expect(checkHistory(hard, { maxVisitedPerKey: 5_000 }).verdict).toBe('unknown');
    let clock = 0;
    const timed = checkHistory(hard, { timeBudgetMs: 50, now: () => (clock += 1) });
    expect(timed.verdict).toBe('unknown');
    expect(timed.keys[0]?.reason).toMatch(/time budget/);
  });

  it('handles a long sequential history quickly (the memo keeps it linear)', () => {
    const h: Operation[] = [];
    for (let i = 0; i < 20_000; i++) {
      h.push(write(i % 4, 4 * i, 4 * i + 1, `v${i}`));
      h.push(read((i + 1) % 4, 4 * i + 2, 4 * i + 3, `v${i}`));
    }
    expect(checkHistory(h).verdict).toBe('ok');
    h.push(read(1, 1e9, 1e9 + 1, 'v0'));
    expect(checkHistory(h).verdict).toBe('violation');
  });
});

describe('history recorder', () => {
  it('records invoke/complete/unknown/discard and summarizes', () => {
    let clock = 0;
    const recorder = new HistoryRecorder(() => clock++, 10);
    const w = recorder.invoke(1, { kind: 'write', key: 'k', value: 'a' });
    const r = recorder.invoke(2, { kind: 'read', key: 'k' });
    const c = recorder.invoke(3, { kind: 'cas', key: 'k', expected: 'a', value: 'b' });
    const gone = recorder.invoke(4, { kind: 'write', key: 'k', value: 'z' });
    const pending = recorder.invoke(5, { kind: 'write', key: 'k', value: 'p' });
    recorder.complete(w, { kind: 'write' });
    recorder.complete(r, { kind: 'read', value: 'a' });
    recorder.unknown(c);
    recorder.discard(gone);
    expect(() => recorder.complete(w, { kind: 'write' })).toThrow(/invariant/);
    const history = recorder.history();
    expect(history.map((o) => o.id)).toEqual([w.id, r.id, c.id, pending.id]);
    expect(history[3]?.completeMs).toBeNull();
    expect(summarize(history)).toEqual({
      ops: 4,
      reads: 1,
      writes: 2,
      cas: 1,
      ackedWrites: 1,
      unknownOutcomes: 2,
    });
    expect(describeOp(history[2]!)).toMatch(/^#2 c3 \[2\.0, ∞\] cas\(k, "a"→"b"\) -> \?$/);
    expect(checkHistory(history).verdict).toBe('ok');
  });

  it('is bounded', () => {
    const recorder = new HistoryRecorder(() => 0, 2);
    recorder.invoke(1, { kind: 'read', key: 'k' });
    recorder.invoke(1, { kind: 'read', key: 'k' });
    expect(recorder.full).toBe(true);
    expect(() => recorder.invoke(1, { kind: 'read', key: 'k' })).toThrow(/full/);
  });

  it('rejects a malformed operation', () => {
    expect(() => op(1, 5, 4, { kind: 'read', key: 'k' }, { kind: 'read', value: null })).toThrow(/invariant/);
    expect(() => op(1, 0, 1, { kind: 'read', key: 'k' }, { kind: 'write' })).toThrow(/invariant/);
    expect(() => op(1, 0, null, { kind: 'read', key: 'k' }, { kind: 'read', value: null })).toThrow(
      /invariant/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Randomized: the checker agrees with a brute-force search on tiny histories.

/** Seeded PRNG (mulberry32) so a failure names a seed that replays it. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Tries every order of every allowed subset: all known-outcome ops, any unknown ones. */
function bruteForce(history: readonly Operation[]): boolean {
  const ops = history.filter((o) => !(o.input.kind === 'read' && o.completeMs === null));
  const used = new Array<boolean>(ops.length).fill(false);
  const ret = (o: Operation): number => o.completeMs ?? Infinity;
  const search = (value: RegisterValue): boolean => {
    if (ops.every((o, i) => used[i] || o.completeMs === null)) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      const o = ops[i]!;
      // o may go next only if no other unused op returned before o was invoked.
      if (ops.some((p, j) => !used[j] && j !== i && ret(p) < o.invokeMs)) continue;
      let after: RegisterValue | undefined;
      const input = o.input;
      const output = o.output;
      if (input.kind === 'write') after = input.value;
      else if (input.kind === 'read')
        after = output?.kind === 'read' && output.value === value ? value : undefined;
      else if (output === null) after = value === input.expected ? input.value : undefined;
      else if (output.kind === 'cas' && output.ok) after = value === input.expected ? input.value : undefined;
      else after = value !== input.expected ? value : undefined;
      if (after === undefined) continue;
      used[i] = true;
      const found = search(after);
      used[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(null);
}

/** A random history: ops on one key over small integer times, outputs from a real register run
 * (so many are linearizable), then sometimes corrupted (so many are not). */
function randomHistory(random: () => number): Operation[] {
  const count = 1 + Math.floor(random() * 6);
  const values = ['a', 'b', 'c'];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const timeline = Array.from({ length: count }, (_, index) => {
    const start = Math.floor(random() * 8);
    const point = start + random() * 3;
    return { index, start, point, end: Math.ceil(point + random() * 3) };
  }).sort((x, y) => x.point - y.point);
  let register: RegisterValue = null;
  const result: Operation[] = [];
  for (const t of timeline) {
    const unknown = random() < 0.2;
    const kind = pick(['write', 'read', 'cas'] as const);
    const completeMs = unknown ? null : t.end;
    if (kind === 'write') {
      const value = pick(values);
      // An unknown write is applied or not, at random.
      if (!unknown || random() < 0.5) register = value;
      result.push(write(t.index, t.start, completeMs, value));
    } else if (kind === 'read') {
      let seen: RegisterValue = register;
      if (random() < 0.25) seen = pick([null, ...values]);
      result.push(read(t.index, t.start, completeMs, seen));
    } else {
      const expected = pick([null, ...values]);
      const value = pick(values);
      let ok = register === expected;
      if (ok && (!unknown || random() < 0.5)) register = value;
      if (random() < 0.2) ok = !ok;
      result.push(cas(t.index, t.start, completeMs, expected, value, unknown ? null : ok));
    }
  }
  return result.sort((x, y) => x.invokeMs - y.invokeMs);
}

describe('linearizability checker vs brute force', () => {
  it('agrees on 3,000 random tiny histories (both verdicts occur)', () => {
    const counts = { ok: 0, violation: 0 };
    for (let seed = 1; seed <= 3_000; seed++) {
      const history = randomHistory(prng(seed));
      const expected = bruteForce(history) ? 'ok' : 'violation';
      const actual = checkHistory(history).verdict;
      if (actual !== expected) {
        throw new Error(
          `seed ${seed}: checker says ${actual}, brute force ${expected}:\n${history.map(describeOp).join('\n')}`,
        );
      }
      counts[expected]++;
    }
    expect(counts.ok).toBeGreaterThan(300);
    expect(counts.violation).toBeGreaterThan(300);
  });
});
