import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/raft/types.js';
import { RECORD_HEADER_BYTES, validRecordBytesAt } from '../../src/storage/wal-record.js';

export async function makeTempDir(prefix = 'kvctl-storage-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Deterministic payload for an (index, term), so recovery can check bytes, not just counts. */
export function payload(index: number, term: number, bytes = 40): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = (index * 2654435761 + term * 40503) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function entry(index: number, term = 1, bytes = 40): Entry {
  return { index, term, type: 0, data: payload(index, term, bytes) };
}

export function entries(from: number, to: number, term = 1, bytes = 40): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, bytes));
  return out;
}

/** Compact view for assertions: "index/term" plus whether data matches payload(). */
export function summary(list: readonly Entry[], bytes = 40): string[] {
  return list.map((e) => {
    const ok = Buffer.from(e.data).equals(Buffer.from(payload(e.index, e.term, bytes)));
    return `${e.index}/${e.term}${ok ? '' : '!data'}`;
  });
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort();
}

/** Offsets of the valid records of a clean segment file, and where they end (preallocated zeros follow). */
export async function recordOffsets(file: string): Promise<{ offsets: number[]; end: number }> {
  const buf = await readFile(file);
  const offsets: number[] = [];
  let off = 0;
  while (off < buf.length) {
    const n = validRecordBytesAt(buf, off, buf.length);
    if (n < RECORD_HEADER_BYTES) {
      if (buf.subarray(off).some((b) => b !== 0))
        throw new Error(`test helper: garbage at ${off} of ${file}`);
      break;
    }
    offsets.push(off);
    off += n;
  }
  return { offsets, end: off };
}

/** mulberry32: small seeded PRNG so fault tests replay exactly. */
export function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
