/**
 * npm run bench:capacity — how many keys fit, and how long a full restart takes (issue 9:
 * "millions of keys on a 1 GB VM"). In one run:
 *
 *   1. starts a real 3-node cluster on loopback (built code in dist/: `npm run build` first),
 *      records each node's idle RSS, then loads exactly N distinct keys `key:%012d` with V-byte
 *      values by piping a generated RESP stream of SETs into `redis-cli --pipe` against the leader
 *      (--pipes streams over disjoint key ranges); waits until DBSIZE = N on every node
 *      (DBSIZE is a linearizable read, so a follower answers it only once it has applied that far);
 *   2. reports per node: VmRSS and VmHWM from /proc/PID/status, bytes per key = (RSS loaded − RSS
 *      idle) / N, the INFO memory fields the node reports, and the size of its data dir;
 *   3. kill -9 all three nodes at once, restarts them with the same data dirs and flags, and
 *      times from "all three are dead" to: each node answering PING, each node answering a
 *      linearizable DBSIZE = N and GET of the last key with its value ("ready"), a leader agreed
 *      on by all, and the first write acknowledged (an overwrite of key 0 with the same value,
 *      so DBSIZE stays N);
 *   4. the same load into redis-server (--save '' --appendonly no: memory only) for comparison,
 *      unless --skip-redis.
 *
 *   npm run bench:capacity [-- --keys 2000000 --value-bytes 100 --pipes 2 --json --skip-redis
 *                              --base-port 25600 --node-args "--snapshot-entries 50000"]
 *
 * Ports: peers basePort+1..3, RESP basePort+101..103, HTTP basePort+201..203, redis basePort+299.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import type { Redis } from 'ioredis';
import { failFastRedis } from '../src/client/fail-fast-redis.js';
import { TestCluster, waitFor } from '../test/node/harness.js';
import { benchNodeArgs } from './lib/bench-node-args.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '2000000' },
    'value-bytes': { type: 'string', default: '100' },
    pipes: { type: 'string', default: '2' },
    'base-port': { type: 'string', default: '25600' },
    'node-args': { type: 'string', default: '' },
    'skip-redis': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const KEY_DIGITS = 12;
const KEY_PREFIX = 'key:';
const keyCount = positiveInt(values.keys!, '--keys');
const valueBytes = positiveInt(values['value-bytes']!, '--value-bytes');
const pipeCount = Math.min(positiveInt(values.pipes!, '--pipes'), keyCount);
const basePort = positiveInt(values['base-port']!, '--base-port');
if (keyCount >= 10 ** KEY_DIGITS) throw new Error(`--keys must be < 10^${KEY_DIGITS}`);
if (basePort + 299 >= 32768) throw new Error('--base-port: ports must stay below 32768 (ephemeral range)');
const redisPort = basePort + 299;
/** Bench-node's timing and the node's default WAL segment size (scripts/lib/bench-node-args.ts). */
const nodeArgs = benchNodeArgs(values['node-args']!);
/** Generous bounds: a 2M-key load or restart on a slow box takes tens of seconds, not tens of minutes. */
const applyTimeoutMs = 120_000 + keyCount / 5;
const restartTimeoutMs = 120_000 + keyCount / 5;
const POLL_MS = 20;
const SETTLE_MS = 1000;
const COMMANDS_PER_CHUNK = 4096;

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Cleanup: child processes and temp dirs go away on success, error and SIGINT/SIGTERM alike.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cluster: TestCluster | undefined;

function cleanupSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cluster?.killAllSync();
  if (cluster) tempDirs.add(cluster.root);
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}

function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

// ---------------------------------------------------------------------------------------------
// Deterministic keys and values, and the RESP stream that writes them.

function keyOf(i: number): string {
  return KEY_PREFIX + String(i).padStart(KEY_DIGITS, '0');
}

/** `valueBytes` bytes: 'v' filler ending in the key's digits (as many as fit), so values differ. */
function valueOf(i: number): string {
  const digits = String(i).padStart(KEY_DIGITS, '0');
  return valueBytes >= KEY_DIGITS
    ? 'v'.repeat(valueBytes - KEY_DIGITS) + digits
    : digits.slice(KEY_DIGITS - valueBytes);
}

/** One SET command in RESP; every command has the same length, so a chunk is the template patched. */
function setCommand(i: number): Buffer {
  const key = keyOf(i);
  const value = valueOf(i);
  return Buffer.from(
    `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`,
    'latin1',
  );
}

const template = setCommand(0);
const keyDigitsAt = template.indexOf(KEY_PREFIX, 0, 'latin1') + KEY_PREFIX.length;
const valueEndAt = template.length - 2; // before the final CRLF
const valueDigitCount = Math.min(valueBytes, KEY_DIGITS);

/** SETs for keys [from, to) in one buffer. */
function chunk(from: number, to: number): Buffer {
  const len = template.length;
  const buf = Buffer.allocUnsafe((to - from) * len);
  for (let i = from, off = 0; i < to; i++, off += len) {
    template.copy(buf, off);
    let n = i;
    for (let d = KEY_DIGITS - 1; d >= 0; d--) {
      const digit = 48 + (n % 10);
      n = Math.floor(n / 10);
      buf[off + keyDigitsAt + d] = digit;
      const fromEnd = KEY_DIGITS - 1 - d;
      if (fromEnd < valueDigitCount) buf[off + valueEndAt - 1 - fromEnd] = digit;
    }
  }
  return buf;
}

// Self-check: the patched template equals the command built from scratch.
for (const i of [0, 7, 123456789, keyCount - 1]) {
  if (!chunk(i, i + 1).equals(setCommand(i))) throw new Error(`RESP generator is wrong for key ${i}`);
}

interface PipeResult {
  errors: number;
  replies: number;
}

/** Streams SETs for keys [from, to) into `redis-cli --pipe`; resolves with its error/reply counts. */
async function pipeRange(port: number, from: number, to: number): Promise<PipeResult> {
  const child = track(
    spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--pipe', '--pipe-timeout', '120'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => res(code));
  });
  const stdin = child.stdin!;
  let broken: Error | undefined;
  stdin.on('error', (e) => (broken = e));
  for (let i = from; i < to && !broken; i += COMMANDS_PER_CHUNK) {
    if (!stdin.write(chunk(i, Math.min(to, i + COMMANDS_PER_CHUNK)))) {
      await new Promise<void>((res) => {
        const done = (): void => {
          stdin.off('drain', done);
          stdin.off('close', done);
          res();
        };
        stdin.on('drain', done);
        stdin.on('close', done);
      });
    }
  }
  stdin.end();
  const code = await exited;
  const m = /errors:\s*(\d+),\s*replies:\s*(\d+)/.exec(out);
  if (!m) throw new Error(`redis-cli --pipe (keys ${from}..${to}) exited ${code}: ${out.trim()}`);
  return { errors: Number(m[1]), replies: Number(m[2]) };
}

interface LoadResult {
  ms: number;
  keysPerSec: number;
  /** Ranges re-sent because a pipe saw errors (e.g. a leader change); SET is idempotent. */
  retriedPipes: number;
}

/** Loads keys 0..N-1 over `pipeCount` parallel pipes; a range with errors is re-sent to `port()`. */
async function load(port: () => Promise<number>): Promise<LoadResult> {
  const t0 = performance.now();
  let retriedPipes = 0;
  const ranges = Array.from({ length: pipeCount }, (_, k) => [
    Math.floor((k * keyCount) / pipeCount),
    Math.floor(((k + 1) * keyCount) / pipeCount),
  ]);
  await Promise.all(
    ranges.map(async ([from, to]) => {
      for (let attempt = 0; ; attempt++) {
        const r = await pipeRange(await port(), from!, to!);
        if (r.errors === 0 && r.replies === to! - from!) return;
        if (attempt >= 2) throw new Error(`keys ${from}..${to}: ${r.errors} errors, ${r.replies} replies`);
        console.error(
          `keys ${from}..${to}: ${r.errors} errors, ${r.replies} replies; sending the range again`,
        );
        retriedPipes++;
      }
    }),
  );
  const ms = performance.now() - t0;
  return { ms, keysPerSec: (keyCount / ms) * 1000, retriedPipes };
}

// ---------------------------------------------------------------------------------------------
// Measuring a process.

interface Mem {
  rssBytes: number;
  hwmBytes: number;
}

function procMem(pid: number): Mem {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    // Allocated blocks (du), not apparent size: WAL segments are preallocated.
    total += e.isDirectory() ? dirBytes(p) : e.isFile() ? statSync(p).blocks * 512 : 0;
  }
  return total;
}

/** INFO fields about memory (whatever the server reports; none is required). */
const MEMORY_FIELD = /mem|rss|heap|dataset|alloc|fragmentation/i;
/** Redis INFO memory fields left out of the text output (they are in --json). */
const NOISY_REDIS_FIELD =
  /_perc$|lua|_vm_|scripts|functions|^allocator_|^rss_overhead|^mem_(?!fragmentation_ratio|allocator)|^total_system_memory$|^maxmemory/;
function memoryFields(info: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon < 0) continue;
    const name = line.slice(0, colon);
    if (MEMORY_FIELD.test(name) && !name.endsWith('_human')) fields[name] = line.slice(colon + 1);
  }
  return fields;
}

/** `key=value` fields of the last `<time> <level> [id] <message> k=v ...` line with that message ({} if none). */
function lastLogFields(log: string, message: string): Record<string, string> {
  const line = log
    .split('\n')
    .filter((l) => new RegExp(`^\\S+ \\w+ (\\[\\d+\\] )?${message}( |$)`).test(l))
    .pop();
  const fields: Record<string, string> = {};
  for (const m of (line ?? '').matchAll(/ (\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) fields[m[1]!] = m[2]!;
  return fields;
}

function client(port: number): Redis {
  return failFastRedis({ address: `127.0.0.1:${port}`, connectTimeoutMs: 1000, commandTimeoutMs: 10_000 });
}

async function withClient<T>(port: number, f: (r: Redis) => Promise<T>): Promise<T> {
  const r = client(port);
  try {
    await r.connect();
    return await f(r);
  } finally {
    r.disconnect();
  }
}

async function dbsize(port: number): Promise<number | undefined> {
  try {
    return await withClient(port, (r) => r.dbsize());
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Results.

interface TargetResult {
  target: string;
  keys: number;
  valueBytes: number;
  /** Keys acknowledged per second (by the leader: committed on a majority). */
  loadKeysPerSec: number;
  loadMs: number;
  /** From the start of the load until every node answers DBSIZE = N (kvnode only). */
  allAppliedMs?: number;
  retriedPipes: number;
  nodes: NodeMemory[];
}

interface NodeMemory {
  name: string;
  pid: number;
  idleRssBytes: number;
  loadedRssBytes: number;
  peakRssBytes: number;
  bytesPerKey: number;
  dataDirBytes?: number;
  info: Record<string, string>;
}

interface NodeRestart {
  id: number;
  /** From all three dead (and respawned at once) to the node answering PING. */
  listeningMs: number;
  /** … to the node answering a linearizable DBSIZE = N and GET of the last key with its value. */
  readyMs: number;
  rssAfterReadyBytes: number;
  /** Fields of the node's last `recovered` log line (its own open + replay time `ms`, `walEntries`, …). */
  recoveredLog: Record<string, string>;
}

interface RestartResult {
  killToDeadMs: number;
  nodes: NodeRestart[];
  /** Every node ready (the slowest). */
  clusterReadyMs: number;
  leaderMs: number;
  firstWriteMs: number;
}

async function nodeMemory(name: string, pid: number, idle: Mem, port: number): Promise<NodeMemory> {
  const mem = procMem(pid);
  let info: Record<string, string> = {};
  try {
    info = memoryFields(await withClient(port, (r) => r.info()));
  } catch (e) {
    console.error(`${name}: INFO failed: ${(e as Error).message}`);
  }
  return {
    name,
    pid,
    idleRssBytes: idle.rssBytes,
    loadedRssBytes: mem.rssBytes,
    peakRssBytes: mem.hwmBytes,
    bytesPerKey: (mem.rssBytes - idle.rssBytes) / keyCount,
    info,
  };
}

// ---------------------------------------------------------------------------------------------
// kvnode.

async function leaderPort(c: TestCluster): Promise<number> {
  return c.node(await c.waitForLeader(30_000)).respPort;
}

async function benchCluster(): Promise<{ result: TargetResult; restart: RestartResult }> {
  const c = await TestCluster.start({ basePort, extraArgs: nodeArgs });
  cluster = c;
  await c.waitForLeader();
  await sleep(SETTLE_MS);
  const pidOf = (id: number): number => {
    const pid = c.node(id).proc?.pid;
    if (pid === undefined) throw new Error(`node ${id} has no pid`);
    return pid;
  };
  const idle = new Map(c.nodes.map((n) => [n.id, procMem(pidOf(n.id))]));

  console.error(`kvnode: loading ${keyCount.toLocaleString('en-US')} keys × ${valueBytes} B…`);
  const t0 = performance.now();
  const loaded = await load(() => leaderPort(c));
  await waitFor(
    async () => (await Promise.all(c.nodes.map((n) => dbsize(n.respPort)))).every((s) => s === keyCount),
    applyTimeoutMs,
    `DBSIZE = ${keyCount} on every node`,
  );
  const allAppliedMs = performance.now() - t0;
  await sleep(SETTLE_MS);
  const leader = await c.waitForLeader();
  const nodes: NodeMemory[] = [];
  for (const n of c.nodes) {
    const name = `node ${n.id}${n.id === leader ? ' (leader)' : ''}`;
    const m = await nodeMemory(name, pidOf(n.id), idle.get(n.id)!, n.respPort);
    nodes.push({ ...m, dataDirBytes: dirBytes(n.dataDir) });
  }
  const result: TargetResult = {
    target: 'kvnode (3 nodes)',
    keys: keyCount,
    valueBytes,
    loadKeysPerSec: loaded.keysPerSec,
    loadMs: loaded.ms,
    allAppliedMs,
    retriedPipes: loaded.retriedPipes,
    nodes,
  };

  console.error('kvnode: kill -9 all three, restarting…');
  const restart = await killAndRestart(c, pidOf);
  await c.destroy();
  cluster = undefined;
  return { result, restart };
}

async function killAndRestart(c: TestCluster, pidOf: (id: number) => number): Promise<RestartResult> {
  const tKill = performance.now();
  await Promise.all(c.nodes.map((n) => c.kill(n.id, 'SIGKILL')));
  const t0 = performance.now();
  for (const n of c.nodes) c.spawnNode(n);
  const since = (): number => performance.now() - t0;
  const lastKey = keyOf(keyCount - 1);
  const lastValue = valueOf(keyCount - 1);
  const deadline = Date.now() + restartTimeoutMs;
  const check = (what: string): void => {
    if (Date.now() > deadline)
      throw new Error(`restart: timed out after ${restartTimeoutMs} ms waiting for ${what}`);
  };

  const perNode = c.nodes.map(async (n): Promise<NodeRestart> => {
    let listeningMs: number | undefined;
    for (;;) {
      check(`node ${n.id} to be ready`);
      try {
        const ready = await withClient(n.respPort, async (r) => {
          await r.ping();
          listeningMs ??= since();
          return (await r.dbsize()) === keyCount && (await r.get(lastKey)) === lastValue;
        });
        if (ready) {
          const readyMs = since();
          return {
            id: n.id,
            listeningMs: listeningMs!,
            readyMs,
            rssAfterReadyBytes: procMem(pidOf(n.id)).rssBytes,
            recoveredLog: lastLogFields(c.logs(n.id), 'recovered'),
          };
        }
      } catch {
        // Not listening yet, no leader yet (TRYAGAIN), or still catching up: poll again.
      }
      await sleep(POLL_MS);
    }
  });

  const firstWrite = (async (): Promise<number> => {
    for (let attempt = 0; ; attempt++) {
      check('a write to succeed');
      const n = c.nodes[attempt % c.nodes.length]!;
      try {
        // An overwrite with the same value: DBSIZE stays N for the readiness checks.
        const ok = await withClient(n.respPort, (r) => r.set(keyOf(0), valueOf(0)));
        if (ok === 'OK') return since();
      } catch {
        // Not listening or no leader yet.
      }
      await sleep(POLL_MS);
    }
  })();

  const leader = c.waitForLeader(restartTimeoutMs).then(since);
  const [nodes, leaderMs, firstWriteMs] = await Promise.all([Promise.all(perNode), leader, firstWrite]);
  return {
    killToDeadMs: t0 - tKill,
    nodes,
    clusterReadyMs: Math.max(...nodes.map((n) => n.readyMs)),
    leaderMs,
    firstWriteMs,
  };
}

// ---------------------------------------------------------------------------------------------
// redis-server.

async function benchRedis(): Promise<TargetResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-capacity-redis-'));
  tempDirs.add(dir);
  const redis = track(
    spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    ),
  );
  try {
    await waitFor(async () => (await dbsize(redisPort)) === 0, 10_000, `redis-server on port ${redisPort}`);
    await sleep(SETTLE_MS);
    const idle = procMem(redis.pid!);
    console.error(`redis-server: loading ${keyCount.toLocaleString('en-US')} keys × ${valueBytes} B…`);
    const loaded = await load(() => Promise.resolve(redisPort));
    const size = await dbsize(redisPort);
    if (size !== keyCount) throw new Error(`redis-server: DBSIZE ${size}, expected ${keyCount}`);
    await sleep(SETTLE_MS);
    return {
      target: 'redis-server (no persistence)',
      keys: keyCount,
      valueBytes,
      loadKeysPerSec: loaded.keysPerSec,
      loadMs: loaded.ms,
      retriedPipes: loaded.retriedPipes,
      nodes: [await nodeMemory('redis-server', redis.pid!, idle, redisPort)],
    };
  } finally {
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

// ---------------------------------------------------------------------------------------------

const MiB = 1024 * 1024;
const mib = (b: number | undefined): string => (b === undefined ? '' : (b / MiB).toFixed(1));
const ms = (x: number): string => x.toFixed(0);

function render(targets: TargetResult[], restart: RestartResult | undefined): void {
  const mem = new Table({
    head: [
      'target',
      'keys',
      'load keys/s',
      'RSS idle MiB',
      'RSS loaded MiB',
      'peak RSS MiB',
      'bytes/key',
      'INFO used_memory MiB',
      'INFO used_memory_dataset MiB',
      'data dir MiB (du)',
    ],
  });
  for (const t of targets) {
    for (const n of t.nodes) {
      const info = (f: string): string => (n.info[f] === undefined ? '—' : mib(Number(n.info[f])));
      mem.push([
        `${t.target}: ${n.name}`,
        t.keys.toLocaleString('en-US'),
        Math.round(t.loadKeysPerSec).toLocaleString('en-US'),
        mib(n.idleRssBytes),
        mib(n.loadedRssBytes),
        mib(n.peakRssBytes),
        n.bytesPerKey.toFixed(0),
        info('used_memory'),
        info('used_memory_dataset'),
        mib(n.dataDirBytes),
      ]);
    }
  }
  console.log(
    `${keyCount.toLocaleString('en-US')} keys × ${valueBytes} B values; bytes/key = (RSS loaded − RSS idle) / keys`,
  );
  console.log(mem.toString());
  for (const t of targets) {
    if (t.allAppliedMs !== undefined)
      console.log(
        `${t.target}: load acknowledged in ${ms(t.loadMs)} ms, applied on every node after ${ms(t.allAppliedMs)} ms`,
      );
    if (t.retriedPipes > 0) console.log(`${t.target}: ${t.retriedPipes} key range(s) re-sent after errors`);
    for (const n of t.nodes) {
      const fields = Object.entries(n.info)
        .filter(([k]) => !NOISY_REDIS_FIELD.test(k))
        .map(([k, v]) => `${k}=${v}`);
      console.log(`${t.target}: ${n.name} INFO memory: ${fields.length > 0 ? fields.join(' ') : '(none)'}`);
    }
  }
  if (restart) {
    const rt = new Table({
      head: [
        'kill -9 all, restart',
        'answers PING ms',
        'ready ms',
        'RSS after ready MiB',
        'node log: recovered in ms',
        'WAL entries replayed',
        'snapshot index',
      ],
    });
    for (const n of restart.nodes)
      rt.push([
        `node ${n.id}`,
        ms(n.listeningMs),
        ms(n.readyMs),
        mib(n.rssAfterReadyBytes),
        n.recoveredLog.ms ?? '—',
        n.recoveredLog.walEntries ?? '—',
        n.recoveredLog.snapshotIndex ?? '—',
      ]);
    rt.push(['cluster: every node ready', '', ms(restart.clusterReadyMs), '']);
    rt.push(['cluster: leader agreed', '', ms(restart.leaderMs), '']);
    rt.push(['cluster: first write acknowledged', '', ms(restart.firstWriteMs), '']);
    console.log('ready = linearizable DBSIZE = N and GET of the last key answered; ms from all three dead');
    console.log(rt.toString());
  }
}

async function main(): Promise<void> {
  if (spawnSync('redis-cli', ['--version']).status !== 0) throw new Error('redis-cli is needed (--pipe)');
  const targets: TargetResult[] = [];
  let restart: RestartResult | undefined;
  try {
    const kv = await benchCluster();
    targets.push(kv.result);
    restart = kv.restart;
    if (!values['skip-redis']) {
      if (spawnSync('redis-server', ['--version']).status === 0) targets.push(await benchRedis());
      else console.error('redis-server not found: skipping the comparison');
    }
  } finally {
    if (cluster) await cluster.destroy();
    cluster = undefined;
    cleanupSync();
  }
  render(targets, restart);
  if (values.json) console.log(JSON.stringify({ keys: keyCount, valueBytes, nodeArgs, targets, restart }));
}

try {
  await main();
} catch (e) {
  cleanupSync();
  console.error(e);
  process.exit(1);
}
