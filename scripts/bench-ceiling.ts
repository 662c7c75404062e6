/**
 * npm run bench:ceiling — how fast can ANY Node.js design with kvnode's process layout go on
 * this machine? Calibrates the bench:node targets against the hardware instead of guessing.
 *
 * Three measurements, each beside redis-server in the same run (same redis-benchmark command):
 *   1. I/O floor: a Node TCP server that answers PING and nothing else, vs redis-server PING.
 *      The server CPU per request is the price of one read + one write per request.
 *   2. Replication floor (SET): the least a 3-process replicated write can do — a "leader"
 *      that batches the RESP commands of one event-loop turn into one frame, sends it to two
 *      "follower" processes that write + fdatasync it on the loop thread and acknowledge, writes
 *      + fdatasyncs it itself through the libuv pool, and answers +OK once two of the three
 *      copies are durable. No Raft, no log, no state machine, no parsing beyond framing.
 *   3. Quorum-read floor (GET): the same pipeline without fsync (one confirmation round per
 *      batch, what ReadIndex costs at least), vs redis-server GET.
 * Also prints the CPU time each process spent per request (from /proc), so the budget of a
 * 2-core machine can be read off: requests/s ≤ cores / (sum of CPU per request).
 *
 *   npm run bench:ceiling [-- --requests 100000 --clients 50 --json]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  write,
  writeSync,
} from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    port: { type: 'string' },
    peers: { type: 'string' },
    dir: { type: 'string' },
    durable: { type: 'string', default: 'yes' },
    requests: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
  },
});

const BASE_PORT = 23700;
const WAL_BYTES = 64 * 1024 * 1024;

// ---- child roles --------------------------------------------------------------------------

/** A preallocated, fsync'ed file (as the WAL does), so fdatasync never commits a size change. */
function preallocated(file: string): number {
  const fd = openSync(file, 'w');
  const zeros = Buffer.alloc(1024 * 1024);
  for (let pos = 0; pos < WAL_BYTES; pos += zeros.length) writeSync(fd, zeros, 0, zeros.length, pos);
  fsyncSync(fd);
  return fd;
}

function pongRole(port: number): void {
  const pong = Buffer.from('+PONG\r\n');
  createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      // redis-benchmark's ping_mbulk sends "*1\r\n$4\r\nPING\r\n" (3 lines) per request.
      let lines = 0;
      for (const b of d) if (b === 10) lines++;
      const n = Math.max(1, Math.floor(lines / 3));
      s.write(n === 1 ? pong : Buffer.concat(new Array<Buffer>(n).fill(pong)));
    });
    s.on('error', () => undefined);
  }).listen(port, '127.0.0.1');
}

/** Frames: u32 body length, u32 batch id, body. Acks: u32 batch id. */
function followerRole(port: number, walFile: string, durable: boolean): void {
  const fd = preallocated(walFile);
  let offset = 0;
  createServer((s) => {
    s.setNoDelay(true);
    let pending: Buffer | undefined;
    s.on('data', (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      let p = 0;
      const ids: number[] = [];
      while (buf.length - p >= 8) {
        const len = buf.readUInt32LE(p);
        if (buf.length - p < 8 + len) break;
        ids.push(buf.readUInt32LE(p + 4));
        p += 8 + len;
      }
      pending = p < buf.length ? buf.subarray(p) : undefined;
      if (ids.length === 0) return;
      if (durable) {
        // Everything that arrived while the previous fsync ran is one write + one fdatasync.
        if (offset + p > WAL_BYTES) offset = 0;
        writeSync(fd, buf, 0, p, offset);
        offset += p;
        fdatasyncSync(fd);
      }
      const ack = Buffer.allocUnsafe(4 * ids.length);
      ids.forEach((id, i) => ack.writeUInt32LE(id, 4 * i));
      s.write(ack);
    });
    s.on('error', () => undefined);
  }).listen(port, '127.0.0.1');
}

interface Batch {
  acks: number;
  clients: Map<Socket, number>;
}

function leaderRole(port: number, followerPorts: number[], walFile: string, durable: boolean): void {
  const fd = preallocated(walFile);
  const reply = durable ? Buffer.from('+OK\r\n') : Buffer.from(`$100\r\n${'x'.repeat(100)}\r\n`); // a GET's answer
  const batches = new Map<number, Batch>();
  let nextId = 1;
  let open: Batch = { acks: 0, clients: new Map() };
  let openBodies: Buffer[] = [];
  let flushScheduled = false;

  const ack = (id: number): void => {
    const b = batches.get(id);
    if (b === undefined) return;
    if (++b.acks < 2) return;
    batches.delete(id);
    for (const [sock, n] of b.clients)
      sock.write(n === 1 ? reply : Buffer.concat(new Array<Buffer>(n).fill(reply)));
  };

  // Own copy: one write + fdatasync at a time through the pool; later batches wait and join.
  let walBusy = false;
  let walQueue: { frame: Buffer; id: number }[] = [];
  let walOffset = 0;
  const walFlush = (): void => {
    if (walQueue.length === 0) {
      walBusy = false;
      return;
    }
    walBusy = true;
    const items = walQueue;
    walQueue = [];
    const data = Buffer.concat(items.map((x) => x.frame));
    if (walOffset + data.length > WAL_BYTES) walOffset = 0;
    const at = walOffset;
    walOffset += data.length;
    write(fd, data, 0, data.length, at, () =>
      fdatasync(fd, () => {
        for (const x of items) ack(x.id);
        walFlush();
      }),
    );
  };

  const followers = followerPorts.map((p) => {
    const s = connect(p, '127.0.0.1');
    s.setNoDelay(true);
    let pending: Buffer | undefined;
    s.on('data', (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      let i = 0;
      for (; i + 4 <= buf.length; i += 4) ack(buf.readUInt32LE(i));
      pending = i < buf.length ? buf.subarray(i) : undefined;
    });
    return s;
  });

  const flush = (): void => {
    flushScheduled = false;
    const id = nextId++;
    const body = Buffer.concat(openBodies);
    const frame = Buffer.allocUnsafe(8 + body.length);
    frame.writeUInt32LE(body.length, 0);
    frame.writeUInt32LE(id, 4);
    body.copy(frame, 8);
    batches.set(id, open);
    open = { acks: 0, clients: new Map() };
    openBodies = [];
    for (const f of followers) f.write(frame);
    if (durable) {
      walQueue.push({ frame, id });
      if (!walBusy) walFlush();
    } else {
      ack(id); // a read needs no copy of its own: the leader counts itself
    }
  };

  createServer((sock) => {
    sock.setNoDelay(true);
    let pending: Buffer | undefined;
    sock.on('data', (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      const end = completeCommandsEnd(buf);
      if (end.commands > 0) {
        openBodies.push(buf.subarray(0, end.offset));
        open.clients.set(sock, (open.clients.get(sock) ?? 0) + end.commands);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      }
      pending = end.offset < buf.length ? buf.subarray(end.offset) : undefined;
    });
    sock.on('error', () => undefined);
  }).listen(port, '127.0.0.1');
}

/** Counts the complete RESP arrays of bulk strings at the start of buf. */
function completeCommandsEnd(buf: Buffer): { commands: number; offset: number } {
  let off = 0;
  let commands = 0;
  for (;;) {
    const start = off;
    let nl = buf.indexOf(10, off);
    if (buf[off] !== 42 || nl < 0) return { commands, offset: start };
    const argc = Number(buf.toString('latin1', off + 1, nl - 1));
    off = nl + 1;
    for (let i = 0; i < argc; i++) {
      nl = buf.indexOf(10, off);
      if (nl < 0) return { commands, offset: start };
      off = nl + 1 + Number(buf.toString('latin1', off + 1, nl - 1)) + 2;
      if (off > buf.length) return { commands, offset: start };
    }
    commands++;
  }
}

// ---- the driver ---------------------------------------------------------------------------

interface Result {
  workload: string;
  target: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per request: each server process, then redis-benchmark. */
  serverCpuUsPerReq: number[];
  benchCpuUsPerReq: number;
}

const requests = Number(values.requests);
const clients = values.clients!;

/** utime + stime of a process in µs (clock ticks are 100 Hz on Linux). */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** CPU of reaped children (redis-benchmark) in µs, from our own /proc/self/stat. */
function childrenCpuUs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10_000;
}

function redisBenchmark(
  workload: string,
  target: string,
  port: number,
  test: string,
  pids: number[],
): Result {
  const before = pids.map(cpuUs);
  const benchBefore = childrenCpuUs();
  const args = [
    '-p',
    String(port),
    '-t',
    test,
    '-c',
    clients,
    '-n',
    String(requests),
    '-r',
    '100000',
    '-d',
    '100',
    '--csv',
  ];
  const r = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr}`);
  const cols = r.stdout
    .trim()
    .split('\n')
    .pop()!
    .split(',')
    .map((c) => Number(c.replace(/"/g, '')));
  return {
    workload,
    target,
    rps: cols[1]!,
    p50Ms: cols[4]!,
    p99Ms: cols[6]!,
    serverCpuUsPerReq: pids.map((p, i) => (cpuUs(p) - before[i]!) / requests),
    benchCpuUsPerReq: (childrenCpuUs() - benchBefore) / requests,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function self(args: string[]): ChildProcess {
  // Re-run this file (under the same loader flags, e.g. tsx) in a child role.
  return spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], { stdio: 'inherit' });
}

async function withChildren<T>(children: ChildProcess[], run: () => T): Promise<T> {
  try {
    await sleep(1500); // listeners up, followers' files preallocated
    return run();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await sleep(200);
  }
}

async function pipeline(dir: string, durable: boolean, port: number): Promise<ChildProcess[]> {
  const fsync = ['--durable', durable ? 'yes' : 'no'];
  const f1 = self(['--role', 'follower', '--port', String(port + 1), '--dir', dir, ...fsync]);
  const f2 = self(['--role', 'follower', '--port', String(port + 2), '--dir', dir, ...fsync]);
  await sleep(1000);
  const leader = self([
    '--role',
    'leader',
    '--port',
    String(port),
    '--peers',
    `${port + 1},${port + 2}`,
    '--dir',
    dir,
    ...fsync,
  ]);
  return [leader, f1, f2];
}

function redisServer(port: number, dir: string, durable: boolean): ChildProcess {
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  return spawn('redis-server', ['--port', String(port), '--save', '', '--dir', dir, ...persistence], {
    stdio: 'ignore',
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ceiling-'));
  const results: Result[] = [];
  // Each Node floor right before redis-server doing the same work, on ports of its own.
  const runs: {
    workload: string;
    target: string;
    test: string;
    start: (port: number) => Promise<ChildProcess[]>;
  }[] = [
    {
      workload: 'PING',
      target: 'node: read + write only',
      test: 'ping_mbulk',
      start: async (port) => [self(['--role', 'pong', '--port', String(port)])],
    },
    {
      workload: 'PING',
      target: 'redis-server',
      test: 'ping_mbulk',
      start: async (port) => [redisServer(port, dir, false)],
    },
    {
      workload: 'SET',
      target: 'node: 3-process floor, fsync',
      test: 'set',
      start: (port) => pipeline(dir, true, port),
    },
    {
      workload: 'SET',
      target: 'redis-server appendfsync always',
      test: 'set',
      start: async (port) => [redisServer(port, dir, true)],
    },
    {
      workload: 'GET',
      target: 'node: 3-process floor, quorum round',
      test: 'get',
      start: (port) => pipeline(dir, false, port),
    },
    {
      workload: 'GET',
      target: 'redis-server',
      test: 'get',
      start: async (port) => [redisServer(port, dir, false)],
    },
  ];
  try {
    for (const [k, run] of runs.entries()) {
      const port = BASE_PORT + 10 * k;
      const children = await run.start(port);
      results.push(
        await withChildren(children, () =>
          redisBenchmark(
            run.workload,
            run.target,
            port,
            run.test,
            children.map((c) => c.pid!),
          ),
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const table = new Table({
    head: ['workload', 'target', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'bench CPU µs/req'],
  });
  for (const r of results) {
    table.push([
      r.workload,
      r.target,
      Math.round(r.rps),
      r.p50Ms,
      r.p99Ms,
      r.serverCpuUsPerReq.map((u) => u.toFixed(1)).join(' + '),
      r.benchCpuUsPerReq.toFixed(1),
    ]);
  }
  console.log(table.toString());
  if (values.json) console.log(JSON.stringify({ results }));
}

const role = values.role;
const port = Number(values.port);
const durable = values.durable === 'yes';
if (role === 'pong') pongRole(port);
else if (role === 'follower') followerRole(port, join(values.dir!, `follower-${port}.wal`), durable);
else if (role === 'leader')
  leaderRole(port, values.peers!.split(',').map(Number), join(values.dir!, `leader-${port}.wal`), durable);
else await main();
