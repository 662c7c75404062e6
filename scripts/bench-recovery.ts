/**
 * Recovery benchmark: builds a data dir with a snapshot of 2,000,000 keys (100-byte values) and
 * 200,000 WAL entries after it (each a SET, as the node writes them), then times, in a fresh
 * process (clean heap), what a restarting node does before it is ready:
 *   snapshot: SnapshotStore.open + latest() (verifies every chunk CRC) + decode into the Map
 *   wal:      Wal.open (reads every segment, checks every record CRC, rebuilds the entries)
 *   apply:    applying the 200,000 WAL entries to the Map (what the core re-delivers after boot)
 *
 * usage: npm run bench:recovery [-- --keys 2000000 --entries 200000 --json --dir /path --keep]
 * The page cache is warm (the files were just written): this measures our code, not the disk.
 * CPU ms (user+system of the process) are printed next to wall ms: on a shared, loaded box
 * wall time includes waiting for a core.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeBatch, encodeBatch } from '../src/kv/commands.js';
import { decodeKvSnapshot, encodeKvSnapshot } from '../src/kv/snapshot.js';
import { KvStore } from '../src/kv/store.js';
import type { Entry } from '../src/raft/types.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import { Wal } from '../src/storage/wal.js';

const VALUE_BYTES = 100;
const GOAL_MS = 2000;
const ENTRIES_PER_APPEND = 1000;

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '2000000' },
    entries: { type: 'string', default: '200000' },
    json: { type: 'boolean', default: false },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'recover-only': { type: 'string' }, // the timed child process (also usable on a --keep dir)
  },
});

interface Timings {
  /** CPU ms (user + system) for the same phases: wall minus waiting for a core. */
  cpu: { snapshotVerifyMs: number; snapshotMs: number; walMs: number; readyMs: number; applyMs: number };
  snapshotMs: number;
  snapshotVerifyMs: number;
  walMs: number;
  readyMs: number;
  applyMs: number;
  totalMs: number;
  keys: number;
  walEntries: number;
  snapshotBytes: number;
}

function keyOfIndex(i: number): string {
  return `key:${String(i).padStart(9, '0')}`;
}

function valueFor(i: number, generation: number): Buffer {
  const v = Buffer.alloc(VALUE_BYTES, 0x61 + (generation % 26));
  v.writeUInt32LE(i, 0);
  return v;
}

async function build(dir: string, keyCount: number, entryCount: number): Promise<void> {
  const store = new KvStore();
  for (let i = 0; i < keyCount; i++) {
    const kv = Buffer.concat([Buffer.from(keyOfIndex(i), 'latin1'), valueFor(i, 0)]);
    store.loadEntry(kv, 0, kv.length - VALUE_BYTES, kv.length - VALUE_BYTES, kv.length);
  }
  const snapshotIndex = keyCount; // as if each key had been written by one entry
  const snaps = await SnapshotStore.open(join(dir, 'snap'));
  const { sizeBytes } = await snaps.write(
    { index: snapshotIndex, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
    encodeKvSnapshot(store),
  );
  const { wal } = await Wal.open(join(dir, 'wal'), { log: () => undefined });
  let index = snapshotIndex + 1;
  while (index <= snapshotIndex + entryCount) {
    const batch: Entry[] = [];
    for (let k = 0; k < ENTRIES_PER_APPEND && index <= snapshotIndex + entryCount; k++, index++) {
      // Overwrite existing keys, spread over the key space.
      const key = (index * 7919) % keyCount;
      const data = encodeBatch([
        {
          type: 'set',
          key: Buffer.from(keyOfIndex(key), 'latin1'),
          value: valueFor(key, 1),
          mode: 'none',
          get: false,
        },
      ]);
      batch.push({ index, term: 1, type: 0, data });
    }
    await wal.append({ entries: batch, hardState: { term: 1, vote: 1, commit: index - 1 } });
  }
  await wal.close();
  console.error(
    `built ${dir}: snapshot ${keyCount.toLocaleString('en-US')} keys, ${(sizeBytes / 1048576).toFixed(1)} MiB; ` +
      `WAL ${entryCount.toLocaleString('en-US')} entries`,
  );
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function recoverTimed(dir: string): Promise<Timings> {
  const c0 = cpuMs();
  const t0 = performance.now();
  const snaps = await SnapshotStore.open(join(dir, 'snap'));
  const latest = await snaps.latest();
  if (!latest) throw new Error('no snapshot');
  const t1 = performance.now();
  const c1 = cpuMs();
  const store = await decodeKvSnapshot(snaps.readBody(latest.path));
  const t2 = performance.now();
  const c2 = cpuMs();
  const { wal, recovered } = await Wal.open(join(dir, 'wal'), { log: () => undefined });
  const t3 = performance.now();
  const c3 = cpuMs();
  const entries = recovered.entries.filter((e) => e.index > latest.meta.index);
  for (const e of entries) store.applyBatch(decodeBatch(e.data));
  const t4 = performance.now();
  const c4 = cpuMs();
  await wal.close();
  return {
    cpu: {
      snapshotVerifyMs: c1 - c0,
      snapshotMs: c2 - c0,
      walMs: c3 - c2,
      readyMs: c3 - c0,
      applyMs: c4 - c3,
    },
    snapshotVerifyMs: t1 - t0,
    snapshotMs: t2 - t0,
    walMs: t3 - t2,
    readyMs: t3 - t0,
    applyMs: t4 - t3,
    totalMs: t4 - t0,
    keys: store.size,
    walEntries: entries.length,
    snapshotBytes: latest.sizeBytes,
  };
}

/** Runs the timed recovery in a fresh process so the build's heap does not distort it. */
function recoverInChild(dir: string): Promise<Timings> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--recover-only', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`recovery child exited ${code}`));
      const last = out.trim().split('\n').pop()!;
      resolve(JSON.parse(last) as Timings);
    });
  });
}

if (args['recover-only']) {
  console.log(JSON.stringify(await recoverTimed(args['recover-only'])));
} else {
  const keyCount = Number(args.keys);
  const entryCount = Number(args.entries);
  const dir = await mkdtemp(join(args.dir ?? tmpdir(), 'kvctl-bench-recovery-'));
  try {
    await build(dir, keyCount, entryCount);
    const t = await recoverInChild(dir);
    const ms = (n: number): string => `${n.toFixed(0)} ms`.padEnd(9);
    console.log(
      [
        `recovery of ${t.keys.toLocaleString('en-US')} keys (${(t.snapshotBytes / 1048576).toFixed(1)} MiB snapshot) + ${t.walEntries.toLocaleString('en-US')} WAL entries:`,
        `                                     wall      cpu`,
        `  snapshot verify (all chunk CRCs)   ${ms(t.snapshotVerifyMs)} ${ms(t.cpu.snapshotVerifyMs)}`,
        `  snapshot read + decode into Map    ${ms(t.snapshotMs - t.snapshotVerifyMs)} ${ms(t.cpu.snapshotMs - t.cpu.snapshotVerifyMs)}`,
        `  WAL open + replay                  ${ms(t.walMs)} ${ms(t.cpu.walMs)}`,
        `  open + ready                       ${ms(t.readyMs)} ${ms(t.cpu.readyMs)} (goal ≤ ${GOAL_MS} ms wall: ${t.readyMs <= GOAL_MS ? 'met' : 'MISSED'})`,
        `  then apply WAL entries to the Map  ${ms(t.applyMs)} ${ms(t.cpu.applyMs)}`,
      ].join('\n'),
    );
    if (args.json) console.log(JSON.stringify({ ...t, goalMs: GOAL_MS, goalMet: t.readyMs <= GOAL_MS }));
  } finally {
    if (args.keep)
      console.error(`kept ${dir} (re-time with: npx tsx scripts/bench-recovery.ts --recover-only ${dir})`);
    else await rm(dir, { recursive: true, force: true });
  }
}
