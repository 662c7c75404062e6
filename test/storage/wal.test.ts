import {
  readFile,
  readdir,
  stat,
  truncate,
  unlink,
  writeFile,
  appendFile,
  mkdir,
  copyFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/types.js';
import { Wal, WalCorruptionError, type WalOptions } from '../../src/storage/wal.js';
import {
  entries,
  entry,
  makeTempDir,
  recordOffsets,
  removeDir,
  rng,
  segmentFiles,
  summary,
} from './helpers.js';

let dir: string;
let logLines: string[];

beforeEach(async () => {
  dir = await makeTempDir();
  logLines = [];
});
afterEach(async () => {
  await removeDir(dir);
});

/** Small segments keep tests fast: each segment is zero-filled when created. */
const TEST_SEGMENT_SIZE_BYTES = 256 * 1024;

function open(d = dir, opts: WalOptions = {}) {
  return Wal.open(d, {
    segmentSizeBytes: TEST_SEGMENT_SIZE_BYTES,
    log: (line) => logLines.push(line),
    ...opts,
  });
}

function range(from: number, to: number, term = 1): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${i}/${term}`);
  return out;
}

/** Writes entries 1..n, one append (= one flush) each, and closes. */
async function writeSequential(n: number, opts: WalOptions = {}): Promise<void> {
  const { wal } = await open(dir, opts);
  for (let i = 1; i <= n; i++) await wal.append({ entries: [entry(i)] });
  await wal.close();
}

async function expectCorruption(promise: Promise<unknown>): Promise<WalCorruptionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WalCorruptionError);
  return err as WalCorruptionError;
}

describe('Wal basics', () => {
  it('starts empty and round-trips entries and hard state across reopen', async () => {
    const first = await open();
    expect(first.recovered).toEqual({
      hardState: { term: 0, vote: 0, commit: 0 },
      snapshotIndex: 0,
      snapshotTerm: 0,
      entries: [],
    });
    await first.wal.append({ entries: entries(1, 3), hardState: { term: 1, vote: 2, commit: 1 } });
    await first.wal.append({ entries: entries(4, 5), hardState: { term: 1, vote: 2, commit: 3 } });
    await first.wal.close();

    const second = await open();
    expect(summary(second.recovered.entries)).toEqual(range(1, 5));
    expect(second.recovered.hardState).toEqual({ term: 1, vote: 2, commit: 3 });
    expect(second.recovered.tornTail).toBeUndefined();
    await second.wal.append({ entries: entries(6, 6) });
    await second.wal.close();

    const third = await open();
    expect(summary(third.recovered.entries)).toEqual(range(1, 6));
    await third.wal.close();
  });

  it('hard state: the last one wins, also across segments', async () => {
    const { wal } = await open(dir, { segmentSizeBytes: 4096 });
    for (let i = 1; i <= 200; i++) {
      await wal.append({ entries: [entry(i)], hardState: { term: i, vote: i % 3, commit: i - 1 } });
    }
    expect(wal.stats.segments).toBeGreaterThan(2);
    await wal.close();
    const { wal: w2, recovered } = await open(dir, { segmentSizeBytes: 4096 });
    expect(recovered.hardState).toEqual({ term: 200, vote: 200 % 3, commit: 199 });
    expect(summary(recovered.entries)).toEqual(range(1, 200));
    await w2.close();
  });

  it('group commit: appends issued together share one write+fdatasync, and all are durable', async () => {
    const { wal } = await open();
    const done = Array.from({ length: 300 }, (_, i) => wal.append({ entries: [entry(i + 1)] }));
    await Promise.all(done);
    expect(wal.stats.flushes).toBe(1);
    expect(wal.stats.appends).toBe(300);
    // Appends made while a flush is in flight go together into the next one.
    const more = Array.from({ length: 50 }, (_, i) => wal.append({ entries: [entry(301 + i)] }));
    await Promise.all(more);
    expect(wal.stats.flushes).toBe(2);
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 350));
    await w2.close();
  });

  it('flushOnLoopThread: flushes on the event-loop thread keep order, group commit and rotation', async () => {
    const { wal } = await open(dir, { segmentSizeBytes: 4096 });
    wal.flushOnLoopThread = true;
    const together = Array.from({ length: 40 }, (_, i) => wal.append({ entries: [entry(i + 1)] }));
    await Promise.all(together);
    expect(wal.stats.flushes).toBe(1);
    // Enough single-append flushes to rotate segments several times (a rotation flush creates
    // the file and fsyncs the directory, which goes through the pool whatever the mode).
    for (let i = 41; i <= 240; i++) {
      if (i === 140) wal.flushOnLoopThread = false;
      if (i === 170) wal.flushOnLoopThread = true;
      await wal.append({ entries: [entry(i, 2)], hardState: { term: 2, vote: 1, commit: i - 1 } });
    }
    expect(wal.stats.segments).toBeGreaterThan(2);
    await wal.close();
    const { wal: w2, recovered } = await open(dir, { segmentSizeBytes: 4096 });
    expect(summary(recovered.entries)).toEqual([...range(1, 40), ...range(41, 240, 2)]);
    expect(recovered.hardState).toEqual({ term: 2, vote: 1, commit: 239 });
    await w2.close();
  });

  it('backpressure: batches stay within maxBatchBytes, callers wait, order is kept', async () => {
    const { wal } = await open(dir, { maxBatchBytes: 1024 });
    const done = Array.from({ length: 200 }, (_, i) => wal.append({ entries: [entry(i + 1, 1, 100)] }));
    await Promise.all(done);
    // ~122 bytes per record: at most 8 per 1 KiB batch.
    expect(wal.stats.flushes).toBeGreaterThanOrEqual(Math.ceil(200 / 8));
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries, 100)).toEqual(range(1, 200));
    await w2.close();
  });

  it('an append larger than maxBatchBytes is written alone', async () => {
    const { wal } = await open(dir, { maxBatchBytes: 1024 });
    await Promise.all([
      wal.append({ entries: [entry(1)] }),
      wal.append({ entries: entries(2, 3, 1, 5000) }),
      wal.append({ entries: [entry(4)] }),
    ]);
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(recovered.entries.map((e) => `${e.index}:${e.data.length}`)).toEqual([
      '1:40',
      '2:5000',
      '3:5000',
      '4:40',
    ]);
    await w2.close();
  });

  it('entries holding more than a read block of zeros do not end the scan early', async () => {
    const opts = { segmentSizeBytes: 16 * 1024 * 1024, maxBatchBytes: 1024 * 1024 };
    const { wal } = await open(dir, opts);
    await wal.append({ entries: [entry(1)] });
    const zeros: Entry = { index: 2, term: 1, type: 0, data: new Uint8Array(9 * 1024 * 1024) };
    await wal.append({ entries: [zeros] });
    await wal.append({ entries: [entry(3)] });
    await wal.close();
    const { wal: w2, recovered } = await open(dir, opts);
    expect(recovered.entries.map((e) => `${e.index}:${e.data.length}`)).toEqual([
      '1:40',
      `2:${9 * 1024 * 1024}`,
      '3:40',
    ]);
    expect(recovered.tornTail).toBeUndefined();
    await w2.close();
  });

  it('rejects entries that are not contiguous or leave a gap, and appends after close', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 3) });
    await expect(wal.append({ entries: [entry(5), entry(7)] })).rejects.toThrow(/not contiguous/);
    await expect(wal.append({ entries: [entry(5)] })).rejects.toThrow(/gap/);
    await wal.append({ entries: [entry(4)] });
    await wal.close();
    await expect(wal.append({ entries: [entry(5)] })).rejects.toThrow(/after close/);
  });

  it('close waits for in-flight appends', async () => {
    const { wal } = await open();
    const pending = Array.from({ length: 20 }, (_, i) => wal.append({ entries: [entry(i + 1)] }));
    await wal.close();
    await Promise.all(pending);
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 20));
    await w2.close();
  });

  it('groupCommitWindowMs > 0 still makes every append durable', async () => {
    const { wal } = await open(dir, { groupCommitWindowMs: 2 });
    for (let round = 0; round < 5; round++) {
      const base = round * 10;
      await Promise.all(Array.from({ length: 10 }, (_, i) => wal.append({ entries: [entry(base + i + 1)] })));
    }
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 50));
    await w2.close();
  });
});

describe('Wal overwrites and snapshot markers', () => {
  it('entries whose index goes backwards replace the suffix (new leader overwrote it)', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 10, 1) });
    await wal.append({ entries: entries(6, 8, 2) });
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries)).toEqual([...range(1, 5, 1), ...range(6, 8, 2)]);
    await w2.close();
  });

  it('overwrites that reach into an earlier segment', async () => {
    const opts = { segmentSizeBytes: 4096 };
    const { wal } = await open(dir, opts);
    for (let i = 1; i <= 250; i++) await wal.append({ entries: [entry(i, 1)] });
    expect(wal.stats.segments).toBeGreaterThan(2);
    await wal.append({ entries: entries(20, 25, 3) });
    await wal.append({ entries: entries(26, 30, 3) });
    await wal.close();
    const { wal: w2, recovered } = await open(dir, opts);
    expect(summary(recovered.entries)).toEqual([...range(1, 19, 1), ...range(20, 30, 3)]);
    expect(logLines).toEqual([]);
    await w2.close();
  });

  it('a snapshot marker past the log wipes it; later entries follow the marker', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1, commit: 5 } });
    await wal.append({ snapshot: { index: 20, term: 3 }, hardState: { term: 3, vote: 0, commit: 20 } });
    await wal.append({ entries: entries(21, 23, 3) });
    await wal.close();
    const { wal: w2, recovered } = await open();
    expect(recovered.snapshotIndex).toBe(20);
    expect(recovered.snapshotTerm).toBe(3);
    expect(recovered.hardState).toEqual({ term: 3, vote: 0, commit: 20 });
    expect(summary(recovered.entries)).toEqual(range(21, 23, 3));
    await w2.close();
  });

  it('a snapshot marker that matches an entry keeps the suffix after it; a mismatch drops it', async () => {
    const a = await open();
    await a.wal.append({ entries: entries(1, 10, 1) });
    await a.wal.append({ snapshot: { index: 5, term: 1 } });
    await a.wal.close();
    const a2 = await open();
    expect(summary(a2.recovered.entries)).toEqual(range(6, 10, 1));
    await a2.wal.close();

    const other = await makeTempDir();
    try {
      const b = await open(other);
      await b.wal.append({ entries: entries(1, 10, 1) });
      await b.wal.append({ snapshot: { index: 5, term: 2 } });
      await b.wal.append({ entries: entries(6, 7, 2) });
      await b.wal.close();
      const b2 = await open(other);
      expect(b2.recovered.snapshotIndex).toBe(5);
      expect(summary(b2.recovered.entries)).toEqual(range(6, 7, 2));
      await b2.wal.close();
    } finally {
      await removeDir(other);
    }
  });
});

describe('Wal torn tails', () => {
  it('truncating the last record at every byte offset repairs to the previous record', async () => {
    await writeSequential(20);
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const original = await readFile(file);
    const { offsets, end } = await recordOffsets(file);
    const lastOff = offsets[offsets.length - 1]!;
    expect(end - lastOff).toBeGreaterThan(40);
    for (let cut = lastOff; cut < end; cut++) {
      await writeFile(file, original.subarray(0, cut));
      logLines = [];
      const { wal, recovered } = await open();
      expect(summary(recovered.entries)).toEqual(range(1, 19));
      // What is cut is the non-zero remains (trailing zeros are indistinguishable from preallocation).
      let dirtyEnd = cut;
      while (dirtyEnd > lastOff && original[dirtyEnd - 1] === 0) dirtyEnd--;
      if (dirtyEnd === lastOff) {
        expect(recovered.tornTail).toBeUndefined();
      } else {
        expect(recovered.tornTail).toEqual({ file, offset: lastOff, bytesCut: dirtyEnd - lastOff });
        expect(logLines.join('\n')).toContain(
          `cut ${dirtyEnd - lastOff} bytes from ${file} at offset ${lastOff}`,
        );
      }
      // The repaired log takes new appends where the cut was.
      await wal.append({ entries: [entry(20, 2)] });
      await wal.close();
      expect((await stat(file)).size).toBe(end);
      const again = await open();
      expect(again.recovered.tornTail).toBeUndefined();
      expect(summary(again.recovered.entries)).toEqual([...range(1, 19), '20/2']);
      await again.wal.close();
    }
  });

  it('a zero-filled tail (preallocated, or extended by the crash) is a clean end, kept for appends', async () => {
    await writeSequential(10);
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const size = (await stat(file)).size;
    expect(size).toBe(TEST_SEGMENT_SIZE_BYTES); // preallocated
    await appendFile(file, Buffer.alloc(8192));
    const { wal, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 10));
    expect(recovered.tornTail).toBeUndefined();
    await wal.append({ entries: [entry(11)] });
    await wal.close();
    expect((await stat(file)).size).toBe(size + 8192);
    const again = await open();
    expect(summary(again.recovered.entries)).toEqual(range(1, 11));
    await again.wal.close();
  });

  it('a last record partly zero-filled (a page never reached the disk) is cut off', async () => {
    await writeSequential(10);
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const buf = await readFile(file);
    const { offsets, end } = await recordOffsets(file);
    const lastOff = offsets[offsets.length - 1]!;
    buf.fill(0, lastOff + 12, end); // header survived, payload did not
    await writeFile(file, buf);
    const { wal, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 9));
    let dirtyEnd = lastOff + 12; // the cut counts to the last non-zero byte of the remains
    while (buf[dirtyEnd - 1] === 0) dirtyEnd--;
    expect(recovered.tornTail).toEqual({ file, offset: lastOff, bytesCut: dirtyEnd - lastOff });
    await wal.close();
    // The cut bytes are zeroed, not truncated: the preallocation stays.
    expect((await stat(file)).size).toBe(TEST_SEGMENT_SIZE_BYTES);
    const again = await open();
    expect(again.recovered.tornTail).toBeUndefined();
    await again.wal.close();
  });

  it('random bit flips in the last record are repaired (the torn last write)', async () => {
    await writeSequential(10);
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const original = await readFile(file);
    const { offsets, end } = await recordOffsets(file);
    const lastOff = offsets[offsets.length - 1]!;
    const rand = rng(7);
    for (let round = 0; round < 50; round++) {
      const buf = Buffer.from(original);
      const pos = lastOff + rand(end - lastOff);
      buf[pos] = buf[pos]! ^ (1 << rand(8));
      await writeFile(file, buf);
      const { wal, recovered } = await open();
      expect(summary(recovered.entries)).toEqual(range(1, 9));
      expect(recovered.tornTail?.offset).toBe(lastOff);
      await wal.close();
    }
  });

  it('records of the same torn flush persisted out of order are cut too (not corruption)', async () => {
    const { wal } = await open();
    await wal.append({ entries: entries(1, 5) });
    // One flush holding three records.
    await Promise.all([6, 7, 8].map((i) => wal.append({ entries: [entry(i)] })));
    await wal.close();
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const buf = await readFile(file);
    const { offsets, end } = await recordOffsets(file);
    const rec7 = offsets[offsets.length - 2]!;
    buf.fill(0, rec7, rec7 + 20); // the middle record of the last flush never made it
    await writeFile(file, buf);
    const { wal: w2, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 6));
    expect(recovered.tornTail).toEqual({ file, offset: rec7, bytesCut: end - rec7 });
    await w2.close();
  });

  it('a zero-filled last segment (renamed into place, header never written) and a leftover temp segment are removed', async () => {
    await writeSequential(10);
    await writeFile(join(dir, '00000000000000000002.wal'), Buffer.alloc(4096));
    await writeFile(join(dir, '00000000000000000003.wal.tmp'), Buffer.alloc(4096));
    const { wal, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 10));
    expect(recovered.tornTail).toBeUndefined();
    expect(logLines.join('\n')).toContain('00000000000000000002.wal: no valid record');
    expect((await readdir(dir)).sort()).toEqual(['00000000000000000001.wal']);
    await wal.close();
  });

  it('a last segment with no valid record (crash while creating it) is removed', async () => {
    await writeSequential(10);
    await writeFile(join(dir, '00000000000000000002.wal'), Buffer.from([1, 2, 3, 0, 0]));
    const { wal, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 10));
    expect(recovered.tornTail).toEqual({
      file: join(dir, '00000000000000000002.wal'),
      offset: 0,
      bytesCut: 3,
    });
    expect(await segmentFiles(dir)).toEqual(['00000000000000000001.wal']);
    await wal.append({ entries: [entry(11)] });
    await wal.close();
  });
});

describe('Wal corruption', () => {
  it('random bit flips in the middle raise WalCorruptionError naming file and offset', async () => {
    await writeSequential(30);
    const [seg] = await segmentFiles(dir);
    const file = join(dir, seg!);
    const original = await readFile(file);
    const { offsets } = await recordOffsets(file);
    const rand = rng(11);
    for (let round = 0; round < 50; round++) {
      // A record from the header up to the third-last (two complete flushes follow it).
      const k = rand(offsets.length - 2);
      const recOff = offsets[k]!;
      const recEnd = offsets[k + 1]!;
      const buf = Buffer.from(original);
      const pos = recOff + rand(recEnd - recOff);
      buf[pos] = buf[pos]! ^ (1 << rand(8));
      await writeFile(file, buf);
      const err = await expectCorruption(open());
      expect(err.file).toBe(file);
      expect(err.offset).toBe(recOff);
      expect(err.message).toContain(file);
      expect(err.message).toContain(`offset ${recOff}`);
    }
    // Nothing was "repaired" behind our back.
    await writeFile(file, original);
    const { wal, recovered } = await open();
    expect(summary(recovered.entries)).toEqual(range(1, 30));
    await wal.close();
  });

  it('a bad record at the end of a sealed (not last) segment is corruption', async () => {
    await writeSequential(250, { segmentSizeBytes: 4096 });
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    const file = join(dir, segs[0]!);
    const { offsets, end } = await recordOffsets(file);
    await truncate(file, end - 3);
    const err = await expectCorruption(open(dir, { segmentSizeBytes: 4096 }));
    expect(err.file).toBe(file);
    expect(err.offset).toBe(offsets[offsets.length - 1]);
  });

  it('a missing middle segment is corruption naming the missing file', async () => {
    await writeSequential(250, { segmentSizeBytes: 4096 });
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    await unlink(join(dir, segs[1]!));
    const err = await expectCorruption(open(dir, { segmentSizeBytes: 4096 }));
    expect(err.file).toBe(join(dir, segs[1]!));
    expect(err.message).toMatch(/segment missing/);
  });

  it('a segment renamed out of place is corruption', async () => {
    await writeSequential(10);
    const other = join(dir, 'x');
    await mkdir(other);
    await copyFile(join(dir, '00000000000000000001.wal'), join(other, '00000000000000000005.wal'));
    const err = await expectCorruption(open(other));
    expect(err.message).toMatch(/header says segment 1/);
  });
});

describe('Wal releaseTo', () => {
  const opts = { segmentSizeBytes: 4096 };

  it('deletes segments wholly covered by the snapshot and keeps hard state and marker', async () => {
    const { wal } = await open(dir, opts);
    await wal.append({ snapshot: { index: 0, term: 0 }, hardState: { term: 5, vote: 3, commit: 0 } });
    for (let i = 1; i <= 200; i++) await wal.append({ entries: [entry(i, 5)] });
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(3);
    expect(wal.bytesSinceRelease).toBeGreaterThan(0);
    await wal.releaseTo(150);
    expect(wal.bytesSinceRelease).toBe(0);
    const after = await segmentFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(after[after.length - 1]).toBe(before[before.length - 1]);
    await wal.append({ entries: [entry(201, 5)] });
    await wal.close();

    const { wal: w2, recovered } = await open(dir, opts);
    // The hard state lived only in the first (deleted) segment: the segment headers carried it.
    expect(recovered.hardState).toEqual({ term: 5, vote: 3, commit: 0 });
    const first = recovered.entries[0]!.index;
    expect(first).toBeGreaterThan(1);
    expect(first).toBeLessThanOrEqual(151);
    expect(summary(recovered.entries)).toEqual(range(first, 201, 5));
    await w2.close();
  });

  it('crash between snapshot rename and segment deletion, and in the middle of deletion', async () => {
    const { wal } = await open(dir, opts);
    await wal.append({ hardState: { term: 2, vote: 1, commit: 0 } });
    for (let i = 1; i <= 200; i++) await wal.append({ entries: [entry(i, 2)] });
    await wal.close();
    // "Snapshot at 150 is durable" but releaseTo never ran: everything is still there.
    const segs = await segmentFiles(dir);
    const r1 = await open(dir, opts);
    expect(summary(r1.recovered.entries)).toEqual(range(1, 200, 2));
    await r1.wal.close();
    // Crash after deleting only the oldest segment.
    await unlink(join(dir, segs[0]!));
    const r2 = await open(dir, opts);
    expect(r2.recovered.hardState).toEqual({ term: 2, vote: 1, commit: 0 });
    const first = r2.recovered.entries[0]!.index;
    expect(summary(r2.recovered.entries)).toEqual(range(first, 200, 2));
    // The retried release finishes the job.
    await r2.wal.releaseTo(150);
    await r2.wal.close();
    const r3 = await open(dir, opts);
    expect(r3.recovered.entries[0]!.index).toBeLessThanOrEqual(151);
    expect(r3.recovered.entries[r3.recovered.entries.length - 1]!.index).toBe(200);
    expect(r3.recovered.hardState).toEqual({ term: 2, vote: 1, commit: 0 });
    await r3.wal.close();
  });
});
