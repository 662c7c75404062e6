import { describe, expect, it } from 'vitest';
import { decodeBatch, type KvCommand } from '../../src/kv/commands.js';
import type { KvResult } from '../../src/kv/store.js';
import { WriteBatcher } from '../../node/write-batcher.js';

const set = (k: string): KvCommand => ({
  type: 'set',
  key: Buffer.from(k),
  value: Buffer.from('v'),
  mode: 'none',
  get: false,
});
const OK: KvResult = { type: 'ok' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A batcher whose proposals all succeed; `proposed` gets each proposal's command count. */
function countingBatcher(proposed: number[], canPropose?: () => boolean): WriteBatcher {
  return new WriteBatcher(
    (data) => {
      const n = decodeBatch(data).length;
      proposed.push(n);
      return Promise.resolve(new Array<KvResult>(n).fill(OK));
    },
    { maxCommandsPerEntry: 100, maxBytesPerEntry: 1 << 20, maxQueued: 1000, maxBlockedMs: 5000 },
    undefined,
    canPropose,
  );
}

describe('WriteBatcher', () => {
  it('batches one turn of writes into one proposal', async () => {
    const proposed: number[] = [];
    const b = countingBatcher(proposed);
    await Promise.all([b.submit(set('a')), b.submit(set('b')), b.submit(set('c'))]);
    expect(proposed).toEqual([3]);
  });

  it('holds writes while the host is blocked (log at its bound) and proposes them once it is not', async () => {
    let blocked = true;
    const proposed: number[] = [];
    const b = countingBatcher(proposed, () => !blocked);
    const done = Promise.all([b.submit(set('a')), b.submit(set('b'))]);
    await sleep(30);
    expect(proposed).toEqual([]); // held, not refused
    const later = b.submit(set('c'));
    blocked = false;
    await expect(done).resolves.toEqual([OK, OK]);
    await expect(later).resolves.toEqual(OK);
    expect(proposed.reduce((x, y) => x + y, 0)).toBe(3);
  });

  it('fails writes held back past maxBlockedMs with TRYAGAIN, and refuses past maxQueued', async () => {
    const b = new WriteBatcher(
      () => Promise.reject(new Error('never proposed')),
      { maxCommandsPerEntry: 100, maxBytesPerEntry: 1 << 20, maxQueued: 2, maxBlockedMs: 40 },
      undefined,
      () => false,
    );
    const first = b.submit(set('a'));
    const second = b.submit(set('b'));
    await expect(b.submit(set('c'))).rejects.toThrow(/TRYAGAIN too many writes queued/);
    await expect(first).rejects.toThrow(/TRYAGAIN writes held back too long/);
    await expect(second).rejects.toThrow(/TRYAGAIN/);
  });
});
