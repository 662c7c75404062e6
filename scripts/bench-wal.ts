/**
 * WAL append benchmark: records/s and append latency (p50/p99) for 1, 16 and 256 concurrent
 * appenders of 100-byte records, in three modes:
 *   group     — group commit, adaptive (groupCommitWindowMs 0): one write+fdatasync per flush
 *   window5   — group commit with groupCommitWindowMs 5
 *   per-write — appends serialised, each waiting for its own write+fdatasync
 *
 * usage: npm run bench:wal [-- --seconds 2] [--json] [--dir /path/on/the/disk/to/test]
 * --json: the LAST line of stdout is one JSON object (groupCommit / perWrite / window5 at 256).
 */
import Table from 'cli-table3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Entry } from '../src/raft/types.js';
import { Wal } from '../src/storage/wal.js';

const RECORD_BYTES = 100;
const CONCURRENCIES = [1, 16, 256] as const;
const MODES = ['group', 'window5', 'per-write'] as const;
type Mode = (typeof MODES)[number];
/** Bound on latency samples kept per run (a run at 200k records/s for 5 s fits). */
const MAX_SAMPLES = 1_000_000;

interface RunResult {
  mode: Mode;
  appenders: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  fsyncs: number;
  recordsPerFsync: number;
}

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
if (!(seconds > 0)) throw new Error('--seconds must be > 0');

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(mode: Mode, appenders: number): Promise<RunResult> {
  const dir = await mkdtemp(join(args.dir ?? tmpdir(), 'kvctl-bench-wal-'));
  try {
    // Segment preallocation happens here, outside the timed part.
    const { wal } = await Wal.open(dir, {
      groupCommitWindowMs: mode === 'window5' ? 5 : 0,
      log: () => undefined,
    });
    const payload = new Uint8Array(RECORD_BYTES).fill(0x61);
    const samples = new Float64Array(MAX_SAMPLES);
    let sampleCount = 0;
    let next = 1;
    let serial: Promise<void> = Promise.resolve();
    const flushesBefore = wal.stats.flushes;
    const started = performance.now();
    const deadline = started + seconds * 1000;

    const appendOne = (): Promise<void> => {
      const e: Entry = { index: next++, term: 1, type: 0, data: payload };
      if (mode !== 'per-write') return wal.append({ entries: [e] });
      // Per-write: the next append is issued only after the previous one's fdatasync.
      const p = serial.then(() => wal.append({ entries: [e] }));
      serial = p;
      return p;
    };
    const appender = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await appendOne();
        if (sampleCount < MAX_SAMPLES) samples[sampleCount++] = performance.now() - t;
      }
    };
    await Promise.all(Array.from({ length: appenders }, appender));
    const elapsed = (performance.now() - started) / 1000;
    const fsyncs = wal.stats.flushes - flushesBefore;
    await wal.close();
    const sorted = samples.subarray(0, sampleCount).sort();
    const records = next - 1;
    return {
      mode,
      appenders,
      records,
      seconds: elapsed,
      recordsPerSec: Math.round(records / elapsed),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      fsyncs,
      recordsPerFsync: fsyncs > 0 ? records / fsyncs : 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (const appenders of CONCURRENCIES) {
  for (const mode of MODES) {
    results.push(await run(mode, appenders));
  }
}

const table = new Table({
  head: ['mode', 'appenders', 'records/s', 'p50 ms', 'p99 ms', 'fdatasyncs', 'records/fdatasync'],
});
for (const r of results) {
  table.push([
    r.mode,
    r.appenders,
    r.recordsPerSec.toLocaleString('en-US'),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.fsyncs,
    r.recordsPerFsync.toFixed(1),
  ]);
}
console.log(`WAL append, ${RECORD_BYTES}-byte records, ${seconds} s per run, dir ${args.dir ?? tmpdir()}`);
console.log(table.toString());

const at256 = (mode: Mode): RunResult => results.find((r) => r.mode === mode && r.appenders === 256)!;
const summarize = (r: RunResult) => ({
  recordsPerSec: r.recordsPerSec,
  p50Ms: Number(r.p50Ms.toFixed(3)),
  p99Ms: Number(r.p99Ms.toFixed(3)),
  recordsPerFsync: Number(r.recordsPerFsync.toFixed(1)),
});
if (args.json) {
  console.log(
    JSON.stringify({
      recordBytes: RECORD_BYTES,
      appenders: 256,
      groupCommit: summarize(at256('group')),
      perWrite: summarize(at256('per-write')),
      window5: summarize(at256('window5')),
      runs: results,
    }),
  );
}
