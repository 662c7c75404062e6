/**
 * npm run bench:overwrite — does a node's memory stay flat under sustained overwrites (issue 9)?
 * In one run:
 *
 *   1. starts a real 3-node cluster on loopback (built code in dist/: `npm run build` first) and
 *      loads exactly N keys `key:%012d` (redis-benchmark's -r key format) with V-byte values by
 *      piping SETs into `redis-cli --pipe` against the leader; waits for DBSIZE = N on every node;
 *   2. overwrites those N keys against the leader for --minutes with `redis-benchmark -t set -r N
 *      -d V -c C --csv`, restarted in back-to-back slices of ~--slice-seconds (each slice's -n is
 *      the previous slice's rate × the slice time, the last one trimmed to the time left);
 *      throughput and p50/p99 per slice;
 *   3. every --sample-seconds, per node: VmRSS (/proc/PID/status), INFO used_memory,
 *      raft_log_bytes, kvctl_store_bytes, kvctl_heap_used, raft_term, raft_leader (and any INFO
 *      field about loop stalls), and from /metrics the max event-loop delay since the previous
 *      scrape (prom-client's nodejs_eventloop_lag_max_seconds, and any *stall* gauge); plus the
 *      host's load average. The nodes' "event loop stalled" log lines are counted at the end;
 *   4. prints per node: RSS after the load, min/median/max over the run, at the end, the slope of
 *      RSS over the second half (MiB/min: flat vs growing), peak raft log bytes, elections (term
 *      changes) and the throughput/p99 series of the slices; --json adds every sample.
 *
 *   npm run bench:overwrite [-- --minutes 10 --keys 100000 --value-bytes 100 --clients 50
 *                               --slice-seconds 30 --sample-seconds 10 --json
 *                               --base-port 27000 --node-args "--max-log-bytes 33554432"]
 *
 * Ports: peers basePort+1..3, RESP basePort+101..103, HTTP basePort+201..203.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { TestCluster, waitFor } from '../test/node/harness.js';
import { benchNodeArgs } from './lib/bench-node-args.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    keys: { type: 'string', default: '100000' },
    'value-bytes': { type: 'string', default: '100' },
    clients: { type: 'string', default: '50' },
    'slice-seconds': { type: 'string', default: '30' },
    'sample-seconds': { type: 'string', default: '10' },
    'base-port': { type: 'string', default: '27000' },
    'node-args': { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
});

const KEY_DIGITS = 12;
const minutes = positiveNumber(values.minutes!, '--minutes');
const keyCount = positiveInt(values.keys!, '--keys');
const valueBytes = positiveInt(values['value-bytes']!, '--value-bytes');
const clients = positiveInt(values.clients!, '--clients');
const sliceMs = positiveNumber(values['slice-seconds']!, '--slice-seconds') * 1000;
const sampleMs = positiveNumber(values['sample-seconds']!, '--sample-seconds') * 1000;
const basePort = positiveInt(values['base-port']!, '--base-port');
const durationMs = minutes * 60_000;
if (keyCount >= 10 ** KEY_DIGITS) throw new Error(`--keys must be < 10^${KEY_DIGITS}`);
if (basePort + 203 >= 32768) throw new Error('--base-port: ports must stay below 32768 (ephemeral range)');
/** Bench-node's timing and the node's default WAL segment size (scripts/lib/bench-node-args.ts). */
const nodeArgs = benchNodeArgs(values['node-args']!);
const applyTimeoutMs = 120_000 + keyCount / 5;
/** The first slice calibrates: this many SETs (a few seconds at the ~15k/s of bench:node). */
const FIRST_SLICE_REQUESTS = 50_000;
const MIN_SLICE_REQUESTS = 1000;
/** A slice running this much longer than planned is killed (a stalled cluster must not hang the bench). */
const SLICE_OVERRUN_FACTOR = 4;
const COMMANDS_PER_CHUNK = 4096;
const SETTLE_MS = 2000;
const COMMAND_TIMEOUT_MS = 5000;
const MiB = 1024 * 1024;

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got '${text}'`);
  return n;
}

function positiveInt(text: string, flag: string): number {
  const n = positiveNumber(text, flag);
  if (!Number.isSafeInteger(n)) throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Cleanup: child processes and temp dirs go away on success, error and SIGINT/SIGTERM alike.

const children = new Set<ChildProcess>();
let cluster: TestCluster | undefined;

function cleanupSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (cluster) {
    cluster.killAllSync();
    rmSync(cluster.root, { recursive: true, force: true });
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}

function track<T extends ChildProcess>(c: T): T {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a short command; resolves with stdout, rejects on failure or after `timeoutMs`. */
function run(cmd: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  return new Promise((res, rej) => {
    const child = execFile(
      cmd,
      args,
      { timeout: timeoutMs, encoding: 'utf8', killSignal: 'SIGKILL' },
      (e, out) => (e ? rej(e) : res(out)),
    );
    track(child);
  });
}

const redisCli = (port: number, ...args: string[]): Promise<string> =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);

// ---------------------------------------------------------------------------------------------
// Preload: SET key:%012d for 0..N-1 over redis-cli --pipe.

function setChunk(from: number, to: number): Buffer {
  const value = 'v'.repeat(valueBytes);
  let s = '';
  for (let i = from; i < to; i++) {
    const key = `key:${String(i).padStart(KEY_DIGITS, '0')}`;
    s += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${valueBytes}\r\n${value}\r\n`;
  }
  return Buffer.from(s, 'latin1');
}

/** Streams SETs for keys [0, N) into `redis-cli --pipe`; throws unless every reply is OK. */
async function preload(port: number): Promise<void> {
  const child = track(
    spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe', '--pipe-timeout', '120'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => res(code));
  });
  let broken: Error | undefined;
  child.stdin.on('error', (e) => (broken = e));
  for (let i = 0; i < keyCount && !broken; i += COMMANDS_PER_CHUNK) {
    if (!child.stdin.write(setChunk(i, Math.min(keyCount, i + COMMANDS_PER_CHUNK)))) {
      await new Promise<void>((res) => {
        const done = (): void => {
          child.stdin.off('drain', done);
          child.stdin.off('close', done);
          res();
        };
        child.stdin.on('drain', done);
        child.stdin.on('close', done);
      });
    }
  }
  child.stdin.end();
  const code = await exited;
  const m = /errors:\s*(\d+),\s*replies:\s*(\d+)/.exec(out);
  if (!m || Number(m[1]) !== 0 || Number(m[2]) !== keyCount)
    throw new Error(`preload: redis-cli --pipe exited ${code}: ${out.trim()}`);
}

// ---------------------------------------------------------------------------------------------
// Samples.

interface NodeSample {
  id: number;
  rssBytes?: number;
  usedMemoryBytes?: number;
  raftLogBytes?: number;
  storeBytes?: number;
  heapUsedBytes?: number;
  term?: number;
  leader?: number;
  role?: string;
  /** Max event-loop delay since the previous scrape (prom-client's nodejs_eventloop_lag_max_seconds). */
  loopLagMaxMs?: number;
  /** Any INFO field or /metrics gauge about loop stalls the node reports (names vary: tolerated absent). */
  stallFields: Record<string, number>;
  /** How long INFO took to answer (a loaded node answers late). */
  infoMs?: number;
  errors: string[];
}

interface Sample {
  /** From the start of the overwrite phase (0 = after the preload). */
  tMs: number;
  loadAvg1: number;
  nodes: NodeSample[];
}

function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function fieldsOf(text: string, sep: ':' | ' '): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(sep);
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

const num = (s: string | undefined): number | undefined =>
  s === undefined || s === '' || !Number.isFinite(Number(s)) ? undefined : Number(s);

const STALL_FIELD = /stall|loop_?(lag|delay)/i;

async function sampleNode(c: TestCluster, id: number): Promise<NodeSample> {
  const n = c.node(id);
  const s: NodeSample = { id, rssBytes: rssOf(n.proc?.pid), stallFields: {}, errors: [] };
  const t0 = performance.now();
  const [info, metrics] = await Promise.allSettled([
    redisCli(n.respPort, 'info'),
    fetch(`http://127.0.0.1:${n.httpPort}/metrics`, { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) }).then(
      (r) => r.text(),
    ),
  ]);
  if (info.status === 'fulfilled') {
    s.infoMs = performance.now() - t0;
    const f = fieldsOf(info.value, ':');
    s.usedMemoryBytes = num(f.get('used_memory'));
    s.raftLogBytes = num(f.get('raft_log_bytes'));
    s.storeBytes = num(f.get('kvctl_store_bytes'));
    s.heapUsedBytes = num(f.get('kvctl_heap_used'));
    s.term = num(f.get('raft_term'));
    s.leader = num(f.get('raft_leader'));
    s.role = f.get('role');
    for (const [k, v] of f)
      if (STALL_FIELD.test(k) && num(v) !== undefined) s.stallFields[`info:${k}`] = num(v)!;
  } else s.errors.push(`INFO: ${String(info.reason)}`);
  if (metrics.status === 'fulfilled') {
    const f = fieldsOf(metrics.value, ' ');
    const lag = num(f.get('nodejs_eventloop_lag_max_seconds'));
    if (lag !== undefined) s.loopLagMaxMs = lag * 1000;
    for (const [k, v] of f)
      if (/stall/i.test(k) && num(v) !== undefined) s.stallFields[`metrics:${k}`] = num(v)!;
  } else s.errors.push(`/metrics: ${String(metrics.reason)}`);
  return s;
}

async function sample(c: TestCluster, tMs: number): Promise<Sample> {
  return {
    tMs,
    loadAvg1: loadavg()[0]!,
    nodes: await Promise.all(c.nodes.map((n) => sampleNode(c, n.id))),
  };
}

/** Counters from /metrics (elections started, leader changes seen), summed over the nodes. */
async function counters(c: TestCluster): Promise<{ elections: number; leaderChanges: number }> {
  let elections = 0;
  let leaderChanges = 0;
  for (const n of c.nodes) {
    try {
      const res = await fetch(`http://127.0.0.1:${n.httpPort}/metrics`, {
        signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
      });
      const f = fieldsOf(await res.text(), ' ');
      elections += num(f.get('kvnode_elections_total')) ?? 0;
      leaderChanges += num(f.get('kvnode_leader_changes_total')) ?? 0;
    } catch {
      // Counted as 0: the summary says which samples failed.
    }
  }
  return { elections, leaderChanges };
}

// ---------------------------------------------------------------------------------------------
// Overwrite slices.

interface Slice {
  startMs: number;
  wallMs: number;
  requests: number;
  leader: number;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  /** Error replies redis-benchmark printed, or why the slice failed. */
  errors: number;
  failure?: string;
}

/** One redis-benchmark run of `requests` SETs over keys [0, N) against `port`. */
async function runSlice(
  port: number,
  requests: number,
  plannedMs: number,
): Promise<Omit<Slice, 'startMs' | 'leader'>> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    'set',
    '-r',
    String(keyCount),
    '-d',
    String(valueBytes),
  ];
  args.push('-c', String(clients), '-n', String(requests), '--csv');
  const t0 = performance.now();
  const child = track(spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), plannedMs * SLICE_OVERRUN_FACTOR + 30_000);
  const code = await new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (c) => res(c));
  }).finally(() => clearTimeout(killer));
  const wallMs = performance.now() - t0;
  const errors = (err.match(/error/gi) ?? []).length + (out.match(/error from server/gi) ?? []).length;
  // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const line = out
    .trim()
    .split('\n')
    .find((l) => l.startsWith('"SET"'));
  if (code !== 0 || !line) {
    const why = `redis-benchmark exited ${code ?? child.signalCode}: ${(err || out).trim().slice(0, 200)}`;
    return { wallMs, requests, errors, failure: why };
  }
  const cols = line.split(',').map((c) => Number(c.replace(/"/g, '')));
  return { wallMs, requests, rps: cols[1], p50Ms: cols[4], p99Ms: cols[6], maxMs: cols[7], errors };
}

async function overwrite(c: TestCluster, t0: number): Promise<Slice[]> {
  const slices: Slice[] = [];
  let rate: number | undefined;
  for (;;) {
    const startMs = performance.now() - t0;
    const leftMs = durationMs - startMs;
    if (leftMs < 1000) break;
    const plannedMs = Math.min(sliceMs, leftMs);
    const requests =
      rate === undefined
        ? Math.min(
            FIRST_SLICE_REQUESTS,
            Math.max(MIN_SLICE_REQUESTS, Math.round((FIRST_SLICE_REQUESTS * leftMs) / 10_000)),
          )
        : Math.max(MIN_SLICE_REQUESTS, Math.round((rate * plannedMs) / 1000));
    let leader: number;
    try {
      leader = await c.waitForLeader(30_000);
    } catch (e) {
      slices.push({ startMs, wallMs: 0, requests: 0, leader: 0, errors: 1, failure: String(e) });
      await sleep(1000);
      continue;
    }
    const r = await runSlice(c.node(leader).respPort, requests, plannedMs);
    slices.push({ startMs, leader, ...r });
    // Plan the next slice from what this one achieved (wall time includes connection setup).
    if (r.failure === undefined && r.wallMs > 0) rate = (r.requests / r.wallMs) * 1000;
    const s = slices[slices.length - 1]!;
    console.error(
      `  slice ${slices.length} t=${(startMs / 1000).toFixed(0)}s leader=${leader}: ` +
        (s.failure ?? `${s.rps} rps p50 ${s.p50Ms} ms p99 ${s.p99Ms} ms (${(s.wallMs / 1000).toFixed(1)} s)`),
    );
  }
  return slices;
}

// ---------------------------------------------------------------------------------------------
// Summary.

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** Least-squares slope of y over x (per x unit); undefined with fewer than 2 points. */
function slope(points: [number, number][]): number | undefined {
  if (points.length < 2) return undefined;
  const mx = points.reduce((a, [x]) => a + x, 0) / points.length;
  const my = points.reduce((a, [, y]) => a + y, 0) / points.length;
  let num2 = 0;
  let den = 0;
  for (const [x, y] of points) {
    num2 += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? undefined : num2 / den;
}

interface NodeSummary {
  id: number;
  rssStartBytes?: number;
  rssMinBytes?: number;
  rssMedianBytes?: number;
  rssMaxBytes?: number;
  rssEndBytes?: number;
  /** Slope of RSS over the samples of the second half of the run, MiB per minute. */
  rssSlopeSecondHalfMiBPerMin?: number;
  rssSlopeWholeRunMiBPerMin?: number;
  usedMemoryStartBytes?: number;
  usedMemoryMaxBytes?: number;
  usedMemoryEndBytes?: number;
  heapUsedStartBytes?: number;
  heapUsedMaxBytes?: number;
  heapUsedEndBytes?: number;
  storeBytesStart?: number;
  storeBytesEnd?: number;
  raftLogPeakBytes?: number;
  termStart?: number;
  termEnd?: number;
  /** Term changes seen between consecutive samples. */
  termChanges: number;
  loopLagMaxMs?: number;
  /** Max of each stall field the node reported (INFO or /metrics). */
  stallFieldsMax: Record<string, number>;
  /** "event loop stalled" lines in the node's log during the overwrite phase. */
  logStalls: number;
  logStallMaxMs?: number;
  infoMaxMs?: number;
  failedSamples: number;
}

function summarizeNode(id: number, samples: Sample[], logTail: string): NodeSummary {
  const ns = samples.map((s) => ({ tMs: s.tMs, n: s.nodes.find((x) => x.id === id)! }));
  const vals = (f: (n: NodeSample) => number | undefined): number[] =>
    ns.map((x) => f(x.n)).filter((v): v is number => v !== undefined);
  const first = (f: (n: NodeSample) => number | undefined): number | undefined => vals(f)[0];
  const last = (f: (n: NodeSample) => number | undefined): number | undefined => vals(f).at(-1);
  const max = (f: (n: NodeSample) => number | undefined): number | undefined => {
    const v = vals(f);
    return v.length ? Math.max(...v) : undefined;
  };
  const rssPoints = (fromMs: number): [number, number][] =>
    ns
      .filter((x) => x.tMs >= fromMs && x.n.rssBytes !== undefined)
      .map((x) => [x.tMs / 60_000, x.n.rssBytes! / MiB]);
  const rss = vals((n) => n.rssBytes);
  let termChanges = 0;
  let prevTerm: number | undefined;
  for (const t of vals((n) => n.term)) {
    if (prevTerm !== undefined && t !== prevTerm) termChanges++;
    prevTerm = t;
  }
  const stallFieldsMax: Record<string, number> = {};
  for (const x of ns)
    for (const [k, v] of Object.entries(x.n.stallFields))
      stallFieldsMax[k] = Math.max(stallFieldsMax[k] ?? v, v);
  const logStallMs = [...logTail.matchAll(/event loop stalled ms=(\d+)/g)].map((m) => Number(m[1]));
  const lastT = samples.at(-1)?.tMs ?? 0;
  return {
    id,
    rssStartBytes: first((n) => n.rssBytes),
    rssMinBytes: rss.length ? Math.min(...rss) : undefined,
    rssMedianBytes: median(rss),
    rssMaxBytes: max((n) => n.rssBytes),
    rssEndBytes: last((n) => n.rssBytes),
    rssSlopeSecondHalfMiBPerMin: slope(rssPoints(lastT / 2)),
    rssSlopeWholeRunMiBPerMin: slope(rssPoints(0)),
    usedMemoryStartBytes: first((n) => n.usedMemoryBytes),
    usedMemoryMaxBytes: max((n) => n.usedMemoryBytes),
    usedMemoryEndBytes: last((n) => n.usedMemoryBytes),
    heapUsedStartBytes: first((n) => n.heapUsedBytes),
    heapUsedMaxBytes: max((n) => n.heapUsedBytes),
    heapUsedEndBytes: last((n) => n.heapUsedBytes),
    storeBytesStart: first((n) => n.storeBytes),
    storeBytesEnd: last((n) => n.storeBytes),
    raftLogPeakBytes: max((n) => n.raftLogBytes),
    termStart: first((n) => n.term),
    termEnd: last((n) => n.term),
    termChanges,
    loopLagMaxMs: max((n) => n.loopLagMaxMs),
    stallFieldsMax,
    logStalls: logStallMs.length,
    logStallMaxMs: logStallMs.length ? Math.max(...logStallMs) : undefined,
    infoMaxMs: max((n) => n.infoMs),
    failedSamples: ns.filter((x) => x.n.errors.length > 0).length,
  };
}

const mib = (b: number | undefined): string => (b === undefined ? '—' : (b / MiB).toFixed(1));
const fix = (x: number | undefined, d = 1): string => (x === undefined ? '—' : x.toFixed(d));

function render(nodes: NodeSummary[], slices: Slice[], samples: Sample[], elections: ElectionCounts): void {
  const leaderAtEnd = samples.at(-1)?.nodes.find((n) => n.role === 'leader')?.id;
  const label = (n: NodeSummary): string => `node ${n.id}${n.id === leaderAtEnd ? ' (leader)' : ''}`;
  const rssTable = new Table({
    head: [
      'RSS MiB',
      'start',
      'min',
      'median',
      'max',
      'end',
      'slope 2nd half MiB/min',
      'slope whole run MiB/min',
    ],
  });
  const infoTable = new Table({
    head: [
      'INFO / health',
      'used_memory MiB start→max→end',
      'heap used MiB start→max→end',
      'store MiB start→end',
      'peak raft log MiB',
      'term start→end',
      'max loop lag ms',
      'log stalls (max ms)',
      'INFO max ms',
    ],
  });
  for (const n of nodes) {
    rssTable.push([
      label(n),
      mib(n.rssStartBytes),
      mib(n.rssMinBytes),
      mib(n.rssMedianBytes),
      mib(n.rssMaxBytes),
      mib(n.rssEndBytes),
      fix(n.rssSlopeSecondHalfMiBPerMin, 2),
      fix(n.rssSlopeWholeRunMiBPerMin, 2),
    ]);
    infoTable.push([
      label(n),
      `${mib(n.usedMemoryStartBytes)}→${mib(n.usedMemoryMaxBytes)}→${mib(n.usedMemoryEndBytes)}`,
      `${mib(n.heapUsedStartBytes)}→${mib(n.heapUsedMaxBytes)}→${mib(n.heapUsedEndBytes)}`,
      `${mib(n.storeBytesStart)}→${mib(n.storeBytesEnd)}`,
      mib(n.raftLogPeakBytes),
      `${n.termStart ?? '—'}→${n.termEnd ?? '—'}`,
      fix(n.loopLagMaxMs, 0),
      `${n.logStalls}${n.logStallMaxMs === undefined ? '' : ` (${n.logStallMaxMs})`}`,
      fix(n.infoMaxMs, 0),
    ]);
  }
  console.log(
    `${keyCount.toLocaleString('en-US')} keys × ${valueBytes} B overwritten for ${minutes} min by redis-benchmark -c ${clients}; ` +
      `${samples.length} samples every ${sampleMs / 1000} s (start = after the preload)`,
  );
  console.log(rssTable.toString());
  console.log(infoTable.toString());
  for (const n of nodes) {
    const extra = Object.entries(n.stallFieldsMax).map(([k, v]) => `${k}=${v}`);
    if (extra.length) console.log(`node ${n.id} stall fields (max): ${extra.join(' ')}`);
    if (n.failedSamples) console.log(`node ${n.id}: ${n.failedSamples} sample(s) with errors (see --json)`);
  }
  const ok = slices.filter((s) => s.rps !== undefined);
  const totalReq = ok.reduce((a, s) => a + s.requests, 0);
  const totalMs = ok.reduce((a, s) => a + s.wallMs, 0);
  console.log(
    `elections: ${elections.termChanges} term change(s) in samples (max term ${elections.termStart}→${elections.termEnd}), ` +
      `kvnode_elections_total +${elections.electionsStarted}, leader changes seen +${elections.leaderChanges}`,
  );
  console.log(
    `overwrites: ${totalReq.toLocaleString('en-US')} SETs in ${ok.length} slice(s), ${Math.round((totalReq / totalMs) * 1000).toLocaleString('en-US')}/s overall; ` +
      `slice rps min/median/max ${fix(Math.min(...ok.map((s) => s.rps!)), 0)}/${fix(median(ok.map((s) => s.rps!)), 0)}/${fix(Math.max(...ok.map((s) => s.rps!)), 0)}; ` +
      `p99 ms min/median/max ${fix(Math.min(...ok.map((s) => s.p99Ms!)), 2)}/${fix(median(ok.map((s) => s.p99Ms!)), 2)}/${fix(Math.max(...ok.map((s) => s.p99Ms!)), 2)}` +
      (slices.length > ok.length ? `; ${slices.length - ok.length} slice(s) FAILED` : ''),
  );
  console.log(
    'slices (t s: rps/p99 ms): ' +
      slices
        .map(
          (s) =>
            `${(s.startMs / 1000).toFixed(0)}: ${s.failure ? 'FAILED' : `${fix(s.rps, 0)}/${fix(s.p99Ms, 2)}`}`,
        )
        .join(', '),
  );
  const errs = slices.reduce((a, s) => a + s.errors, 0);
  if (errs) console.log(`redis-benchmark reported ${errs} error line(s)`);
  const la = samples.map((s) => s.loadAvg1);
  console.log(
    `load average (1 min) over the run: min ${fix(Math.min(...la), 2)} median ${fix(median(la), 2)} max ${fix(Math.max(...la), 2)}`,
  );
  console.log(
    'RSS series MiB (per sample): ' +
      nodes
        .map(
          (n) =>
            `node ${n.id} [${samples.map((s) => mib(s.nodes.find((x) => x.id === n.id)!.rssBytes)).join(' ')}]`,
        )
        .join('; '),
  );
}

interface ElectionCounts {
  termStart?: number;
  termEnd?: number;
  termChanges: number;
  electionsStarted: number;
  leaderChanges: number;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  for (const tool of ['redis-cli', 'redis-benchmark'])
    if (spawnSync(tool, ['--version']).status !== 0) throw new Error(`${tool} is needed`);
  const c = await TestCluster.start({ basePort, extraArgs: nodeArgs });
  cluster = c;
  try {
    const leader = await c.waitForLeader(30_000);
    console.error(`loading ${keyCount.toLocaleString('en-US')} keys × ${valueBytes} B into node ${leader}…`);
    const tLoad = performance.now();
    await preload(c.node(leader).respPort);
    await waitFor(
      async () => {
        const sizes = await Promise.all(c.nodes.map((n) => redisCli(n.respPort, 'dbsize').catch(() => '')));
        return sizes.every((s) => Number(s.trim()) === keyCount);
      },
      applyTimeoutMs,
      `DBSIZE = ${keyCount} on every node`,
    );
    console.error(
      `loaded in ${((performance.now() - tLoad) / 1000).toFixed(1)} s; overwriting for ${minutes} min…`,
    );
    await sleep(SETTLE_MS);

    const logOffsets = new Map(c.nodes.map((n) => [n.id, c.logs(n.id).length]));
    const before = await counters(c);
    const t0 = performance.now();
    const samples: Sample[] = [await sample(c, 0)];
    let sampling = true;
    const sampler = (async (): Promise<void> => {
      for (let k = 1; sampling; k++) {
        const wait = t0 + k * sampleMs - performance.now();
        if (wait > 0) await sleep(wait);
        if (!sampling) break;
        samples.push(await sample(c, performance.now() - t0));
      }
    })();
    let slices: Slice[];
    try {
      slices = await overwrite(c, t0);
    } finally {
      sampling = false;
      await sampler;
    }
    // The end sample: after the last slice (the sampler may have stopped up to one interval early).
    samples.push(await sample(c, performance.now() - t0));
    const after = await counters(c);

    const nodes = c.nodes.map((n) => summarizeNode(n.id, samples, c.logs(n.id).slice(logOffsets.get(n.id))));
    const terms = samples.map((s) => Math.max(...s.nodes.map((n) => n.term ?? 0)));
    let termChanges = 0;
    for (let i = 1; i < terms.length; i++) if (terms[i] !== terms[i - 1]) termChanges++;
    const elections: ElectionCounts = {
      termStart: terms[0],
      termEnd: terms.at(-1),
      termChanges,
      electionsStarted: after.elections - before.elections,
      leaderChanges: after.leaderChanges - before.leaderChanges,
    };
    render(nodes, slices, samples, elections);
    if (values.json)
      console.log(
        JSON.stringify({
          keys: keyCount,
          valueBytes,
          clients,
          minutes,
          nodeArgs,
          nodes,
          elections,
          slices,
          samples,
        }),
      );
  } finally {
    await c.destroy();
    cluster = undefined;
    cleanupSync();
  }
}

try {
  await main();
} catch (e) {
  cleanupSync();
  console.error(e);
  process.exit(1);
}
