/**
 * Bad input never crashes a node: random and malformed RESP frames, an unauthenticated peer,
 * oversized values; bad flags, a port in use, a missing data dir give a clear one-line error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/raft/rng.js';
import { TestCluster, kvnodeMain } from './harness.js';

/** Sends bytes on a fresh connection and collects whatever comes back until close or timeout. */
function exchange(port: number, data: Buffer, waitMs = 300): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(data));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => undefined);
    const done = () => {
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    sock.on('close', done);
    setTimeout(done, waitMs);
  });
}

function randomFrame(rng: { int(n: number): number }): Buffer {
  const kind = rng.int(6);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(256)));
  switch (kind) {
    case 0:
      return bytes(1 + rng.int(64)); // pure noise
    case 1:
      return Buffer.from(
        `*${rng.int(5) - 1}\r\n$${rng.int(10) - 2}\r\n${bytes(rng.int(8)).toString('latin1')}\r\n`,
        'latin1',
      );
    case 2:
      return Buffer.from(`*2\r\n$3\r\nGET\r\n$99999999999\r\n`); // huge declared bulk
    case 3:
      return Buffer.from(`*1\r\n:${rng.int(100)}\r\n`); // wrong type inside array
    case 4:
      return Buffer.from(`${'"unbalanced '.repeat(1 + rng.int(3))}\r\n`);
    default: {
      // A valid command with one byte mutated.
      const ok = Buffer.from(`*3\r\n$3\r\nSET\r\n$4\r\nfuzz\r\n$5\r\nvalue\r\n`);
      ok[rng.int(ok.length)] = rng.int(256);
      return ok;
    }
  }
}

describe('bad input', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ basePort: 22800, extraArgs: ['--max-value-bytes', '1048576'] });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('survives 10,000 random and malformed RESP frames and still serves', async () => {
    const rng = createRng(20261124);
    const port = cluster.node(2).respPort;
    // Many frames per connection (closed on the first protocol error), 40 connections at a time.
    let sent = 0;
    while (sent < 10_000) {
      const batch: Promise<Buffer>[] = [];
      for (let conn = 0; conn < 40 && sent < 10_000; conn++) {
        const frames: Buffer[] = [];
        for (let i = 0; i < 10; i++) frames.push(randomFrame(rng));
        sent += frames.length;
        batch.push(exchange(port, Buffer.concat(frames), 150));
      }
      await Promise.all(batch);
    }
    const c = new Redis({ host: '127.0.0.1', port });
    try {
      expect(await c.ping()).toBe('PONG');
      expect(await c.set('after-fuzz', 'ok')).toBe('OK');
      expect(await c.get('after-fuzz')).toBe('ok');
    } finally {
      c.disconnect();
    }
    expect(cluster.isRunning(2)).toBe(true);
  });

  it('answers a protocol error with a RESP error, then closes', async () => {
    const reply = await exchange(cluster.node(1).respPort, Buffer.from('*1\r\n$abc\r\n'));
    expect(reply.toString()).toMatch(/^-ERR Protocol error/);
    const partial = await exchange(
      cluster.node(1).respPort,
      Buffer.from('PING\r\n*2\r\n$3\r\nGET\r\n$-5\r\n'),
    );
    expect(partial.toString()).toMatch(/^\+PONG\r\n-ERR Protocol error/);
  });

  it('refuses values above --max-value-bytes without harm', async () => {
    const c = new Redis({ host: '127.0.0.1', port: cluster.node(1).respPort, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    try {
      await expect(c.set('big', Buffer.alloc(2 * 1024 * 1024))).rejects.toThrow(
        /Protocol error|too large|max/i,
      );
    } finally {
      c.disconnect();
    }
    const c2 = new Redis({ host: '127.0.0.1', port: cluster.node(1).respPort });
    try {
      expect(await c2.set('small', 'fine')).toBe('OK');
    } finally {
      c2.disconnect();
    }
  });

  it('refuses a peer that does not know the cluster secret', async () => {
    // Garbage and a fake handshake on the peer port: the node drops the connection, keeps serving.
    const reply = await exchange(
      cluster.node(1).peerPort,
      Buffer.from('\x00\x00\x00\x10\x01hello-i-am-node-9'),
      500,
    );
    expect(reply.length).toBeLessThan(200);
    const before = await cluster.status(1);
    expect(before?.role).toBeDefined();
    const rogue = new TestClusterRogue(cluster);
    const refused = await rogue.tryJoin();
    expect(refused).toBe(true);
    expect(cluster.isRunning(1)).toBe(true);
  });
});

/** A real kvnode with the wrong secret, pretending to be member 3 while 3 is down. */
class TestClusterRogue {
  constructor(private readonly cluster: TestCluster) {}

  async tryJoin(): Promise<boolean> {
    const leader = await this.cluster.waitForLeader();
    const victim = this.cluster.nodes.find((n) => n.id !== leader)!;
    await this.cluster.kill(victim.id, 'SIGKILL');
    const args = this.cluster
      .args(victim)
      .map((a) => (a === 'test-secret-0123456789' ? 'wrong-secret-xxxxxxxx' : a));
    const dir = mkdtempSync(join(tmpdir(), 'rogue-'));
    const dataIdx = args.indexOf('--data-dir');
    args[dataIdx + 1] = dir;
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [kvnodeMain, ...args, '--election-ticks', '5'], { stdio: 'ignore' });
    try {
      // Give the rogue time to campaign; it must never be heard: term and leader stay put.
      const before = await this.cluster.status(leader);
      await new Promise((r) => setTimeout(r, 1500));
      const after = await this.cluster.status(leader);
      return after?.role === 'leader' && after.term === before?.term;
    } finally {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await this.cluster.restart(victim.id);
    }
  }
}

describe('kvnode startup errors', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [kvnodeMain, ...args], { encoding: 'utf8', timeout: 15_000 });
  const base = (dir: string, port: number) => [
    '--id', '1', '--data-dir', dir, '--peers', `1=127.0.0.1:${port}`,
    '--listen-peer', `127.0.0.1:${port}`, '--listen-resp', `127.0.0.1:${port + 1}`,
    '--listen-http', `127.0.0.1:${port + 2}`, '--cluster-secret', 'secret-secret',
  ]; // prettier-ignore

  it('rejects unknown flags and bad values with one line and exit 2', () => {
    const r = run(['--id', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^kvnode: error: --id/);
    expect(run(['--bogus']).stderr).toMatch(/kvnode: error: .*bogus/);
    const r2 = run([...base('/tmp/x', 23200), '--read-mode', 'fast']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/--read-mode: expected one of linearizable\|lease\|stale/);
  });

  it('names a port already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(23211, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'kvnode-port-'));
    try {
      const r = run(base(dir, 23210));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/127\.0\.0\.1:23211 is already in use/);
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a missing or unwritable data dir', () => {
    const r = run(base('/nonexistent-parent/for/kvnode', 23220));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/data dir .* missing or not writable/);
  });

  it('reads --config JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvnode-cfg-'));
    try {
      const file = join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ id: 1, readMode: 'nope' }));
      const r = run(['--config', file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--read-mode|--data-dir|required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
