import { describe, expect, it } from 'vitest';
import type { KvCommand } from '../../src/kv/commands.js';
import {
  decodeKvSnapshot,
  encodeKvSnapshot,
  encodeView,
  KvSnapshotDecoder,
  KvSnapshotError,
} from '../../src/kv/snapshot.js';
import { KvStore, type KvSnapshotView } from '../../src/kv/store.js';
import { Prng } from '../resp/prng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Sorted (key → hex value) listing: the comparable content of a store. */
function contents(entries: Iterable<readonly [string, Buffer]>): string[] {
  return [...entries]
    .map(([k, v]) => `${Buffer.from(k, 'latin1').toString('hex')}=${v.toString('hex')}`)
    .sort();
}

function randomWrite(rng: Prng, keySpace: number): KvCommand {
  const key = b(`k${rng.int(keySpace)}`);
  switch (rng.int(6)) {
    case 0:
      return { type: 'del', keys: [key, b(`k${rng.int(keySpace)}`)] };
    case 1:
      return { type: 'incrby', key, delta: BigInt(rng.int(100)) };
    case 2:
      return {
        type: 'mset',
        keys: [key, b(`k${rng.int(keySpace)}`)],
        values: [rng.bytes(rng.int(20)), rng.bytes(3)],
      };
    case 3:
      return { type: 'cas', key, expected: null, value: rng.bytes(5) };
    default:
      return {
        type: 'set',
        key,
        value: rng.bytes(rng.int(300)),
        mode: rng.pick(['none', 'NX', 'XX'] as const),
        get: false,
      };
  }
}

/** Reads up to n entries of a view (copies), appending to keys/values; returns how many. */
function take(view: KvSnapshotView, n: number, keys: string[], values: Buffer[]): number {
  let got = 0;
  while (got < n && view.next()) {
    keys.push(view.keyBuf.toString('latin1', view.keyStart, view.keyEnd));
    values.push(Buffer.from(view.valueBuf.subarray(view.valueStart, view.valueEnd)));
    got++;
  }
  return got;
}

function fill(store: KvStore, n: number, rng: Prng): void {
  for (let i = 0; i < n; i++)
    store.apply({ type: 'set', key: b(`k${i}`), value: rng.bytes(rng.int(150)), mode: 'none', get: false });
}

/** Splits chunks into random sizes (records then span chunk boundaries). */
function* rechunk(chunks: Iterable<Uint8Array>, rng: Prng): Generator<Uint8Array> {
  const all = Buffer.concat([...chunks].map((c) => Buffer.from(c)));
  for (let at = 0; at < all.length;) {
    const n = rng.bool(0.3) ? 1 + rng.int(4) : 1 + rng.int(700);
    yield all.subarray(at, at + n);
    at += n;
  }
}

describe('kv snapshot codec', () => {
  it('round-trips an empty store', async () => {
    const restored = await decodeKvSnapshot(encodeKvSnapshot(new KvStore()));
    expect(restored.size).toBe(0);
  });

  it('round-trips binary keys, empty keys/values, large values, in 1 MiB-ish chunks', async () => {
    const rng = new Prng(1);
    const s = new KvStore();
    fill(s, 3000, rng);
    s.apply({ type: 'set', key: b(''), value: b(''), mode: 'none', get: false });
    s.apply({
      type: 'set',
      key: Buffer.from([0, 0x80, 0xff]),
      value: rng.bytes(70_000),
      mode: 'none',
      get: false,
    });
    s.apply({ type: 'set', key: b('big'), value: rng.bytes(2_500_000), mode: 'none', get: false });
    s.apply({ type: 'set', key: b('x'.repeat(300)), value: b('long key'), mode: 'none', get: false });
    const chunks = [...encodeKvSnapshot(s)];
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(2_500_000);
    const restored = await decodeKvSnapshot(chunks);
    expect(contents(restored.entries())).toEqual(contents(s.entries()));
    expect(restored.approxBytes).toBe(s.approxBytes);
    expect(s.snapshotOpen).toBe(false);
  });

  it('decodes the same bytes cut at random places (sync and async iterables)', async () => {
    const rng = new Prng(2);
    const s = new KvStore();
    fill(s, 500, rng);
    s.apply({ type: 'set', key: b('big'), value: rng.bytes(5000), mode: 'none', get: false });
    const expected = contents(s.entries());
    const chunks = [...encodeKvSnapshot(s, 4096)];
    for (let round = 0; round < 30; round++) {
      const restored = await decodeKvSnapshot(rechunk(chunks, rng));
      expect(contents(restored.entries())).toEqual(expected);
    }
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (const c of rechunk(chunks, rng)) yield c;
    }
    expect(contents((await decodeKvSnapshot(slow())).entries())).toEqual(expected);
    // Byte by byte.
    const d = new KvSnapshotDecoder();
    for (const c of chunks) for (let i = 0; i < c.length; i++) d.push(c.subarray(i, i + 1));
    expect(contents(d.finish().entries())).toEqual(expected);
  });

  it('rejects truncation, trailing bytes, bad magic, duplicates, count mismatch', async () => {
    const rng = new Prng(3);
    const s = new KvStore();
    fill(s, 50, rng);
    const bytes = Buffer.concat([...encodeKvSnapshot(s)]);
    for (let cut = 0; cut < bytes.length; cut += 37) {
      await expect(decodeKvSnapshot([bytes.subarray(0, cut)])).rejects.toThrow(KvSnapshotError);
    }
    await expect(decodeKvSnapshot([bytes, Buffer.from([1])])).rejects.toThrow(/after the trailer/);
    const badMagic = Buffer.from(bytes);
    badMagic[0] = 0;
    await expect(decodeKvSnapshot([badMagic])).rejects.toThrow(/not a kv snapshot/);
    // header + record "a"=1 twice + trailer(2)
    const rec = Buffer.from([2, 0x61, 1, 0x31]);
    const header = Buffer.concat([bytes.subarray(0, 8), Buffer.from([2])]); // v2: magic + count
    // A version-1 header (no count) still decodes.
    const v1 = Buffer.from([0x4b, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x01, 0x00]);
    expect((await decodeKvSnapshot([v1, rec, Buffer.from([0, 1])])).get('a')).toEqual(b('1'));
    await expect(decodeKvSnapshot([header, rec, rec, Buffer.from([0, 2])])).rejects.toThrow(/duplicate key/);
    await expect(decodeKvSnapshot([header, rec, Buffer.from([0, 5])])).rejects.toThrow(/trailer says 5/);
  });
});

describe('KvStore copy-on-write snapshot', () => {
  it('yields the state at begin while writes continue between chunks', async () => {
    const rng = new Prng(4);
    const s = new KvStore();
    fill(s, 10_000, rng); // several encoder batches, so writes land between view reads
    const before = contents(s.entries());
    const shadow = new KvStore(); // the same writes, with no snapshot open
    for (const [k, v] of s.entries()) {
      const kv = Buffer.concat([b(k), v]);
      shadow.loadEntry(kv, 0, k.length, k.length, kv.length);
    }
    const out: Uint8Array[] = [];
    for (const chunk of encodeKvSnapshot(s, 512)) {
      out.push(chunk);
      for (let i = 0; i < 20; i++) {
        const w = randomWrite(rng, 12_000); // also creates keys that did not exist at begin
        expect(s.apply(w)).toEqual(shadow.apply(w));
      }
    }
    expect(s.snapshotOpen).toBe(false);
    expect(contents((await decodeKvSnapshot(out)).entries())).toEqual(before);
    // The live store saw every write, and tombstones are gone after close.
    expect(contents(s.entries())).toEqual(contents(shadow.entries()));
    expect(s.size).toBe(shadow.size);
    expect(s.approxBytes).toBe(shadow.approxBytes);
  });

  it('reads interleaved with random writes yields exactly the state at begin', () => {
    const rng = new Prng(5);
    for (let round = 0; round < 20; round++) {
      const s = new KvStore();
      fill(s, 300, rng);
      const before = contents(s.entries());
      const view = s.beginSnapshot();
      const keys: string[] = [];
      const values: Buffer[] = [];
      while (take(view, 1 + rng.int(8), keys, values) > 0) {
        for (let i = rng.int(12); i > 0; i--) s.apply(randomWrite(rng, 400));
      }
      expect(s.snapshotOpen).toBe(false);
      expect(keys.length).toBe(view.size);
      expect(contents(keys.map((k, i) => [k, values[i]!] as const))).toEqual(before);
    }
  });

  it('handles delete, re-create, overwrite and new keys of the same key while open', () => {
    const s = new KvStore();
    for (const k of ['a', 'b', 'c', 'd'])
      s.apply({ type: 'set', key: b(k), value: b(`${k}0`), mode: 'none', get: false });
    const view = s.beginSnapshot();
    const keys: string[] = [];
    const values: Buffer[] = [];
    expect(take(view, 1, keys, values)).toBe(1);
    // One key was already yielded: deleting it must not yield it again; keys deleted before
    // their turn must still be yielded with their old value; 'c' re-created; 'e' is new and
    // deleted; 'd' overwritten; 'g' created by INCRBY.
    s.apply({ type: 'del', keys: [b('a'), b('b'), b('c')] });
    s.apply({ type: 'set', key: b('c'), value: b('c1'), mode: 'none', get: false });
    s.apply({ type: 'set', key: b('e'), value: b('e1'), mode: 'none', get: false });
    s.apply({ type: 'del', keys: [b('e')] });
    s.apply({ type: 'set', key: b('f'), value: b('f1'), mode: 'none', get: false });
    s.apply({ type: 'set', key: b('d'), value: b('d1'), mode: 'none', get: false });
    s.apply({ type: 'incrby', key: b('g'), delta: 1n });
    expect(s.get(b('a'))).toBeUndefined();
    expect(s.get(b('b'))).toBeUndefined();
    expect(s.size).toBe(4); // c d f g
    while (take(view, 1, keys, values) > 0);
    expect(contents(keys.map((k, i) => [k, values[i]!] as const))).toEqual(
      contents([
        ['a', b('a0')],
        ['b', b('b0')],
        ['c', b('c0')],
        ['d', b('d0')],
      ]),
    );
    expect(view.size).toBe(4);
    expect(s.snapshotOpen).toBe(false);
    expect(contents(s.entries())).toEqual(
      contents([
        ['c', b('c1')],
        ['d', b('d1')],
        ['f', b('f1')],
        ['g', b('1')],
      ]),
    );
    expect([...s.entries()].length).toBe(4);
  });

  it('allows one view at a time; close() ends it early; a broken-off encode closes it', () => {
    const s = new KvStore();
    s.apply({ type: 'set', key: b('a'), value: b('1'), mode: 'none', get: false });
    const v = s.beginSnapshot();
    expect(() => s.beginSnapshot()).toThrow(/already open/);
    v.close();
    v.close();
    expect(s.snapshotOpen).toBe(false);
    expect(() => v.next()).toThrow(/after close/);
    const gen = encodeKvSnapshot(s, 64);
    expect(s.snapshotOpen).toBe(true); // begun at the call, not at the first next()
    gen.next();
    gen.return(undefined);
    expect(s.snapshotOpen).toBe(false);
  });

  it('reused chunks (valid until the next pull) give the same bytes as fresh ones', async () => {
    const rng = new Prng(9);
    const s = new KvStore();
    fill(s, 3000, rng);
    s.apply({ type: 'set', key: b('big'), value: rng.bytes(300_000), mode: 'none', get: false });
    const fresh = Buffer.concat([...encodeKvSnapshot(s, 1024)]);
    const copied: Buffer[] = [];
    for (const chunk of encodeView(s.beginSnapshot(), 1024, true)) copied.push(Buffer.from(chunk));
    expect(Buffer.concat(copied).equals(fresh)).toBe(true);
    expect(contents((await decodeKvSnapshot(copied)).entries())).toEqual(contents(s.entries()));
  });

  it('takes the point in time at encodeKvSnapshot(), not at the first chunk', async () => {
    const s = new KvStore();
    s.apply({ type: 'set', key: b('a'), value: b('old'), mode: 'none', get: false });
    const gen = encodeKvSnapshot(s);
    s.apply({ type: 'set', key: b('a'), value: b('new'), mode: 'none', get: false });
    s.apply({ type: 'set', key: b('later'), value: b('x'), mode: 'none', get: false });
    const restored = await decodeKvSnapshot(gen);
    expect(contents(restored.entries())).toEqual(contents([['a', b('old')]]));
  });
});
