/**
 * npm run bench:loaded — does a big key space slow the cluster down or cost it its leader?
 * One real 3-node cluster, in one run:
 *   1. empty: redis-benchmark SET (-c 50 -d 100 -r 1000000), the reference;
 *   2. N keys loaded (redis-cli --pipe, key:%012d × 100 B), the same SET run: throughput and
 *      p99 as ratios of the empty run;
 *   3. sustained SET load for --minutes on the loaded cluster: Raft terms sampled every 2 s
 *      (elections = term changes), and the nodes' "event loop stalled" log lines (longest stall).
 *
 *   npm run bench:loaded [-- --keys 2000000 --minutes 5 --requests 200000 --json]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { TestCluster } from '../test/node/harness.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '2000000' },
    minutes: { type: 'string', default: '5' },
    requests: { type: 'string', default: '200000' },
    json: { type: 'boolean', default: false },
  },
});
const keyCount = Number(values.keys);
const minutes = Number(values.minutes);
const requests = Number(values.requests);
const BASE_PORT = 25300;
const VALUE_BYTES = 100;

interface SetRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** redis-benchmark SET, run asynchronously (the term sampler keeps running meanwhile). */
async function redisBenchmarkSet(port: number, n: number): Promise<SetRun> {
  const args = ['-p', String(port), '-t', 'set', '-c', '50', '-n', String(n), '-r', '1000000', '-d', '100'];
  const child = spawn('redis-benchmark', [...args, '--csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`redis-benchmark failed (${code}): ${err}`);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const cols = out
    .trim()
    .split('\n')
    .pop()!
    .split(',')
    .map((c) => Number(c.replace(/"/g, '')));
  return { rps: cols[1]!, p50Ms: cols[4]!, p99Ms: cols[6]!, maxMs: cols[7]! };
}

async function preload(port: number): Promise<number> {
  const started = performance.now();
  const child = spawn('redis-cli', ['-p', String(port), '--pipe', '--pipe-timeout', '120'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const value = 'v'.repeat(VALUE_BYTES);
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let parts: string[] = [];
  for (let i = 0; i < keyCount; i++) {
    const key = `key:${String(i).padStart(12, '0')}`;
    parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${VALUE_BYTES}\r\n${value}\r\n`);
    if (parts.length === 10_000) {
      if (!child.stdin.write(parts.join(''))) await new Promise((r) => child.stdin.once('drain', r));
      parts = [];
    }
  }
  child.stdin.end(parts.join(''));
  await done;
  const m = /errors:\s*(\d+),\s*replies:\s*(\d+)/.exec(out);
  if (m === null || m[1] !== '0') throw new Error(`preload failed: ${out.trim()}`);
  return performance.now() - started;
}

/** Largest "event loop stalled ms=N" in a node's log, and how many stalls it logged. */
function stalls(log: string): { count: number; maxMs: number } {
  const ms = [...log.matchAll(/event loop stalled.*?ms=(\d+)/g)].map((m) => Number(m[1]));
  return { count: ms.length, maxMs: ms.length === 0 ? 0 : Math.max(...ms) };
}

async function main(): Promise<void> {
  const cluster = await TestCluster.start({
    basePort: BASE_PORT,
    extraArgs: ['--wal-segment-bytes', String(64 * 1024 * 1024)],
  });
  try {
    const leader = await cluster.waitForLeader();
    const port = cluster.node(leader).respPort;
    await redisBenchmarkSet(port, Math.ceil(requests / 4)); // warm-up: JIT, WAL segments, sockets
    const empty = await redisBenchmarkSet(port, requests);
    const preloadMs = await preload(port);
    const loaded = await redisBenchmarkSet(port, requests);

    const termsSeen = new Set<number>();
    const sample = async (): Promise<void> => {
      for (const n of cluster.nodes) {
        const s = await cluster.status(n.id);
        if (s !== undefined) termsSeen.add(s.term);
      }
    };
    await sample();
    const termsBefore = termsSeen.size;
    const sampler = setInterval(() => void sample(), 2000);
    // Sustained: as many requests as the loaded rate does in the wanted time.
    const sustainedStarted = performance.now();
    const sustained = await redisBenchmarkSet(port, Math.round(loaded.rps * minutes * 60));
    const sustainedS = (performance.now() - sustainedStarted) / 1000;
    clearInterval(sampler);
    await sample();
    const nodeStalls = cluster.nodes.map((n) => ({ id: n.id, ...stalls(cluster.logs(n.id)) }));
    const result = {
      keys: keyCount,
      preloadS: preloadMs / 1000,
      empty,
      loaded,
      throughputRatio: loaded.rps / empty.rps,
      p99Ratio: loaded.p99Ms / empty.p99Ms,
      sustained: { ...sustained, seconds: sustainedS },
      elections: termsSeen.size - termsBefore,
      stalls: nodeStalls,
    };
    if (values.json) {
      console.log(JSON.stringify(result));
      return;
    }
    const f = (r: SetRun): string =>
      `${Math.round(r.rps).toLocaleString('en-US')}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms`;
    console.log(`empty cluster:          SET ${f(empty)}`);
    console.log(
      `${keyCount.toLocaleString('en-US')} keys loaded (${result.preloadS.toFixed(1)} s): SET ${f(loaded)}`,
    );
    console.log(
      `ratios loaded/empty:    throughput ${result.throughputRatio.toFixed(2)} (target ≥ 0.90), p99 ${result.p99Ratio.toFixed(2)} (target ≤ 2)`,
    );
    console.log(`sustained ${sustainedS.toFixed(0)} s:          SET ${f(sustained)}`);
    console.log(`elections during the sustained load: ${result.elections} (target 0)`);
    for (const s of nodeStalls)
      console.log(`node ${s.id}: ${s.count} event-loop stalls logged, longest ${s.maxMs} ms`);
  } finally {
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
