/**
 * npm run bench:node — a real 3-node cluster on loopback (every node fdatasyncs before it
 * acknowledges) against redis-server with appendfsync always, same redis-benchmark commands, in
 * one run so the ratio means something on a noisy machine.
 *
 *   npm run bench:node [-- --requests 200000 --clients 50 --skip-redis --json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { TestCluster } from '../test/node/harness.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    clients: { type: 'string', default: '50' },
    'skip-redis': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const requests = values.requests!;
const clients = values.clients!;

interface Run {
  name: string;
  target: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

function redisBenchmark(port: number, extra: string[]): { rps: number; p50Ms: number; p99Ms: number } {
  const args = [
    '-p',
    String(port),
    '-c',
    clients,
    '-n',
    requests,
    '-r',
    '1000000',
    '-d',
    '100',
    '--csv',
    ...extra,
  ];
  const r = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  // CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const line = r.stdout.trim().split('\n').pop()!;
  const cols = line.split(',').map((c) => Number(c.replace(/"/g, '')));
  return { rps: cols[1]!, p50Ms: cols[4]!, p99Ms: cols[6]! };
}

const workloads: { name: string; args: string[] }[] = [
  { name: 'SET -c 50', args: ['-t', 'set'] },
  { name: 'SET -c 50 -P 16', args: ['-t', 'set', '-P', '16'] },
  { name: 'GET -c 50 (linearizable)', args: ['-t', 'get'] },
];

async function main(): Promise<void> {
  const runs: Run[] = [];
  let redis: ChildProcess | undefined;
  const redisDir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const cluster = await TestCluster.start({
    basePort: 23500,
    extraArgs: ['--tick-ms', '20', '--election-ticks', '25', '--heartbeat-ticks', '5'],
  });
  try {
    const leader = await cluster.waitForLeader();
    for (const w of workloads) {
      runs.push({
        name: w.name,
        target: 'kvctl (3 nodes, leader)',
        ...redisBenchmark(cluster.node(leader).respPort, w.args),
      });
    }
    if (!values['skip-redis'] && spawnSync('redis-server', ['--version']).status === 0) {
      redis = spawn(
        'redis-server',
        [
          '--port',
          '23599',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
          '--dir',
          redisDir,
        ],
        { stdio: 'ignore' },
      );
      await new Promise((r) => setTimeout(r, 500));
      for (const w of workloads) {
        runs.push({
          name: w.name,
          target: 'redis-server appendfsync always',
          ...redisBenchmark(23599, w.args),
        });
      }
    }
  } finally {
    redis?.kill('SIGKILL');
    await cluster.destroy();
    rmSync(redisDir, { recursive: true, force: true });
  }
  const table = new Table({ head: ['workload', 'target', 'req/s', 'p50 ms', 'p99 ms', 'kvctl / redis'] });
  for (const r of runs) {
    const ref = runs.find((x) => x.name === r.name && x.target.startsWith('redis'));
    const ratio = ref && !r.target.startsWith('redis') ? (r.rps / ref.rps).toFixed(2) : '';
    table.push([r.name, r.target, Math.round(r.rps), r.p50Ms, r.p99Ms, ratio]);
  }
  console.log(table.toString());
  if (values.json) console.log(JSON.stringify({ runs }));
}

await main();
