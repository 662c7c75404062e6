/**
 * Out of space is not fatal: on a real, tiny tmpfs the WAL raises its no-space alarm when the
 * next segment cannot be preallocated, holds (never acknowledges, never fails) a flush that
 * cannot be written, and finishes it by itself once space is freed — nothing acknowledged is
 * lost, and a crash while it waits recovers exactly the acknowledged prefix. A snapshot that
 * runs out of space leaves no temp file behind.
 */
import { readdir, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Wal, type WalOptions } from '../../src/storage/wal.js';
import { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { freeBytes } from '../../src/storage/fs-util.js';
import { entries, entry, segmentFiles, summary } from './helpers.js';
import { fillDisk, mountTmpfs, removeFiller, type Tmpfs } from './tmpfs.js';

const DISK_BYTES = 1024 * 1024;
const SEGMENT_BYTES = 64 * 1024;
const ENTRY_BYTES = 1024;

const mounted = mountTmpfs(DISK_BYTES, 'kvctl-wal-enospc-');
const tmpfs: Tmpfs | undefined = typeof mounted === 'string' ? undefined : mounted;
const skipReason = typeof mounted === 'string' ? mounted : '';

let dir: string;
let filler: string;
let logLines: string[];

beforeAll(() => {
  if (skipReason) console.warn(`wal-enospc tests skipped: ${skipReason}`);
});
afterAll(() => tmpfs?.unmount());

beforeEach(() => {
  if (!tmpfs) return;
  dir = join(tmpfs.dir, 'wal');
  filler = join(tmpfs.dir, 'filler');
  logLines = [];
});
afterEach(async () => {
  if (!tmpfs) return;
  await rm(dir, { recursive: true, force: true });
  await rm(filler, { force: true });
});

function open(opts: WalOptions = {}) {
  return Wal.open(dir, {
    segmentSizeBytes: SEGMENT_BYTES,
    noSpaceRetryMs: 50,
    log: (line) => logLines.push(line),
    ...opts,
  });
}

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = p.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function range(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${i}/1`);
  return out;
}

describe.skipIf(tmpfs === undefined)('WAL out of space (tmpfs)', () => {
  it('raises the alarm when the next segment cannot be preallocated, holds the flush that needs it, and finishes it once space is freed', async () => {
    const { wal } = await open();
    const alarms: (string | undefined)[] = [];
    wal.onNoSpace = (err) => alarms.push((err as NodeJS.ErrnoException | undefined)?.code);
    fillDisk(filler);

    // Appends inside the preallocated segment still succeed; past its half the next one cannot
    // be prepared (alarm), and the append that needs it waits.
    let acked = 0;
    let stalled: Promise<void> | undefined;
    for (let i = 1; i <= 4 * (SEGMENT_BYTES / ENTRY_BYTES) && !stalled; i++) {
      const p = wal.append({
        entries: [entry(i, 1, ENTRY_BYTES)],
        hardState: { term: 1, vote: 1, commit: i },
      });
      // A tmpfs append takes well under a millisecond; one that waits a second waits for space.
      if (await settlesWithin(p, wal.noSpace ? 1000 : 5000)) {
        await p; // must not have failed
        acked = i;
      } else {
        stalled = p;
      }
    }
    expect(stalled, 'an append should wait for space').toBeDefined();
    expect(acked).toBeGreaterThan(SEGMENT_BYTES / ENTRY_BYTES / 2 - 2);
    expect(alarms).toEqual(['ENOSPC']);
    expect((wal.noSpace as NodeJS.ErrnoException).code).toBe('ENOSPC');
    // Appends behind it wait too, in order; nothing is failed.
    const behind = wal.append({ entries: entries(acked + 2, acked + 3, 1, ENTRY_BYTES) });
    expect(await settlesWithin(Promise.race([stalled, behind]), 500)).toBe(false);
    // A failed preallocation does not keep the space it got.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    removeFiller(filler);
    await stalled;
    await behind;
    expect(wal.noSpace).toBeUndefined();
    expect(alarms).toEqual(['ENOSPC', undefined]);
    await wal.append({ entries: [entry(acked + 4, 1, ENTRY_BYTES)] });
    await wal.close();

    const { wal: again, recovered } = await open();
    expect(recovered.tornTail).toBeUndefined();
    expect(summary(recovered.entries, ENTRY_BYTES)).toEqual(range(1, acked + 4));
    expect(recovered.hardState.commit).toBe(acked + 1);
    expect((await segmentFiles(dir)).length).toBe(2);
    await again.close();
  }, 20_000);

  it('a flush that fails midway is rewritten whole once space is freed', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 5, 1, ENTRY_BYTES) });
    // Leave room for the next segment and part of a record larger than a segment: the write
    // past the preallocated end runs out of space halfway.
    const big = 3 * SEGMENT_BYTES;
    const written = fillDisk(filler);
    await truncate(filler, written - (SEGMENT_BYTES + SEGMENT_BYTES));
    const p = wal.append({ entries: [entry(6, 1, big)] });
    await waitUntil(() => wal.noSpace !== undefined, 5000, 'the no-space alarm');
    expect((wal.noSpace as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(await settlesWithin(p, 300)).toBe(false);

    removeFiller(filler);
    await p;
    expect(wal.noSpace).toBeUndefined();
    await wal.close();
    const { wal: again, recovered } = await open();
    expect(recovered.tornTail).toBeUndefined();
    expect(recovered.entries.map((e) => `${e.index}:${e.data.length}`)).toEqual([
      ...range(1, 5).map((_, k) => `${k + 1}:${ENTRY_BYTES}`),
      `6:${big}`,
    ]);
    expect(summary(recovered.entries.slice(5), big)).toEqual(['6/1']);
    await again.close();
  }, 20_000);

  it('a crash while a flush waits for space recovers exactly the acknowledged prefix (torn tail cut)', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 5, 1, ENTRY_BYTES), hardState: { term: 1, vote: 1, commit: 5 } });
    const written = fillDisk(filler);
    await truncate(filler, written - 2 * SEGMENT_BYTES);
    const p = wal.append({
      entries: [entry(6, 1, 3 * SEGMENT_BYTES)],
      hardState: { term: 2, vote: 2, commit: 6 },
    });
    p.catch(() => undefined);
    await waitUntil(() => wal.noSpace !== undefined, 5000, 'the no-space alarm');
    expect(await settlesWithin(p, 300)).toBe(false);
    // Closing while stalled tries once more, then fails what waits (never acknowledged).
    await wal.close();
    await expect(p).rejects.toThrow(/ENOSPC/);

    removeFiller(filler);
    const { wal: again, recovered } = await open();
    expect(summary(recovered.entries, ENTRY_BYTES)).toEqual(range(1, 5));
    expect(recovered.hardState).toEqual({ term: 1, vote: 1, commit: 5 });
    expect(recovered.tornTail?.bytesCut).toBeGreaterThan(0);
    // The log goes on from there.
    await again.append({ entries: [entry(6, 2, ENTRY_BYTES)] });
    await again.close();
    const { wal: third, recovered: r3 } = await open();
    expect(r3.entries.map((e) => `${e.index}/${e.term}`)).toEqual([...range(1, 5), '6/2']);
    await third.close();
  }, 20_000);

  it('a snapshot that runs out of space fails and leaves no temp file', async () => {
    const snapDir = join(tmpfs!.dir, 'snap');
    const store = await SnapshotStore.open(snapDir);
    fillDisk(filler);
    const before = await freeBytes(tmpfs!.dir);
    const body = Buffer.alloc(512 * 1024, 7);
    await expect(
      store.write({ index: 10, term: 1, confState: { voters: [1], learners: [] } }, [body]),
    ).rejects.toThrow(/ENOSPC/);
    expect(await readdir(snapDir)).toEqual([]);
    expect(await freeBytes(tmpfs!.dir)).toBe(before);
    removeFiller(filler);
    await store.write({ index: 10, term: 1, confState: { voters: [1], learners: [] } }, [body]);
    expect((await store.latest())?.meta.index).toBe(10);
    await rm(snapDir, { recursive: true, force: true });
  });
});
