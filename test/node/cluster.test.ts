/**
 * A real 3-node cluster on 127.0.0.1: election, replication through every node, ioredis,
 * redis-cli, redis-benchmark and the HTTP API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { execFileSync, spawnSync } from 'node:child_process';
import { TestCluster, waitFor } from './harness.js';

const hasRedisTools = spawnSync('redis-cli', ['--version']).status === 0;

describe('a 3-node cluster', () => {
  let cluster: TestCluster;
  const clients: Redis[] = [];
  const client = (id: number): Redis => {
    const c = new Redis({
      host: '127.0.0.1',
      port: cluster.node(id).respPort,
      lazyConnect: false,
      maxRetriesPerRequest: 2,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start({ basePort: 22000 });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster?.destroy();
  });

  it('elects exactly one leader that every node follows', async () => {
    const leader = await cluster.waitForLeader();
    const statuses = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
    expect(statuses.filter((s) => s?.role === 'leader').map((s) => s?.id)).toEqual([leader]);
    for (const s of statuses) expect(s?.leader).toBe(leader);
  });

  it('replicates a write made through any node to every node (ioredis)', async () => {
    for (const id of [1, 2, 3]) {
      const c = client(id);
      expect(await c.set(`via-${id}`, `value-${id}`)).toBe('OK');
    }
    for (const id of [1, 2, 3]) {
      const c = client(id);
      for (const from of [1, 2, 3]) expect(await c.get(`via-${from}`)).toBe(`value-${from}`);
    }
    // Every node's state machine applied the same log.
    await waitFor(
      async () => {
        const s = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
        return s.every((x) => x && x.appliedIndex === s[0]!.appliedIndex && x.appliedIndex > 0);
      },
      5000,
      'all nodes to apply the same index',
    );
  });

  it('speaks the Redis commands clients use', async () => {
    const c = client(1);
    expect(await c.ping()).toBe('PONG');
    expect(await c.echo('hi')).toBe('hi');
    expect(await c.set('n', '10')).toBe('OK');
    expect(await c.incr('n')).toBe(11);
    expect(await c.incrby('n', 5)).toBe(16);
    expect(await c.decr('n')).toBe(15);
    expect(await c.mset('a', '1', 'b', '2')).toBe('OK');
    expect(await c.mget('a', 'b', 'missing')).toEqual(['1', '2', null]);
    expect(await c.exists('a', 'b', 'missing')).toBe(2);
    expect(await c.set('a', 'x', 'NX')).toBeNull();
    expect(await c.set('fresh', 'x', 'XX')).toBeNull();
    expect(await c.del('a', 'b', 'missing')).toBe(2);
    expect(await c.get('a')).toBeNull();
    await expect(
      c
        .incr('fresh-not-int-key-set-below')
        .then(() => c.set('s', 'abc'))
        .then(() => c.incr('s')),
    ).rejects.toThrow(/not an integer/);
    expect(await c.dbsize()).toBeGreaterThan(0);
    const info = await c.info();
    expect(info).toMatch(/role:(leader|follower)/);
    expect(info).toMatch(/raft_term:\d+/);
    expect(info).toMatch(/raft_leader:\d/);
    expect(info).toMatch(/raft_commit_index:\d+/);
    const [leaderId, addr] = (await c.call('RAFT.LEADER')) as [number, string];
    expect(leaderId).toBe(await cluster.waitForLeader());
    expect(addr).toBe(`127.0.0.1:${cluster.node(leaderId).respPort}`);
    const status = JSON.parse((await c.call('RAFT.STATUS')) as string) as { id: number; term: number };
    expect(status.id).toBe(1);
    await expect(c.call('NOSUCHCMD', 'x')).rejects.toThrow(/unknown command/);
    await expect(c.call('SELECT', '1')).rejects.toThrow(/out of range/);
  });

  it('keeps binary values intact', async () => {
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const c = client(2);
    await c.set(Buffer.from([0, 1, 0xff]), value);
    const back = await client(3).getBuffer(Buffer.from([0, 1, 0xff]));
    expect(back?.equals(value)).toBe(true);
  });

  it('answers pipelined commands in order', async () => {
    const c = client(1);
    const p = c.pipeline();
    for (let i = 0; i < 500; i++) p.set(`pipe:${i}`, String(i)).get(`pipe:${i}`);
    const out = await p.exec();
    for (let i = 0; i < 500; i++) {
      expect(out![2 * i]).toEqual([null, 'OK']);
      expect(out![2 * i + 1]).toEqual([null, String(i)]);
    }
  });

  it('serves the HTTP API on every node', async () => {
    const http = (id: number, path: string, init?: RequestInit) =>
      fetch(`http://127.0.0.1:${cluster.node(id).httpPort}${path}`, init);
    expect((await http(2, '/v1/kv/h1', { method: 'PUT', body: 'hello' })).status).toBe(200);
    const got = await http(3, '/v1/kv/h1');
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello');
    expect((await http(1, '/v1/kv/nope')).status).toBe(404);
    expect((await http(1, '/v1/kv/h1', { method: 'DELETE' })).status).toBe(200);
    expect((await http(2, '/v1/kv/h1')).status).toBe(404);
    expect((await http(1, '/healthz')).status).toBe(200);
    expect((await http(1, '/readyz')).status).toBe(200);
    const metrics = await (await http(1, '/metrics')).text();
    expect(metrics).toContain('kvnode_wal_fsync_seconds');
    expect(metrics).toContain('kvnode_group_commit_entries');
    const status = (await (await http(1, '/v1/status')).json()) as {
      id: number;
      role: string;
      peers: unknown[];
    };
    expect(status.id).toBe(1);
    expect((await http(1, '/v1/kv/x', { method: 'POST' })).status).toBe(405);
  });

  it.skipIf(!hasRedisTools)('works with redis-cli and redis-benchmark', () => {
    const port = String(cluster.node(2).respPort);
    expect(execFileSync('redis-cli', ['-p', port, 'SET', 'cli', 'yes']).toString().trim()).toBe('OK');
    expect(execFileSync('redis-cli', ['-p', port, 'GET', 'cli']).toString().trim()).toBe('yes');
    const leader = String(cluster.node(1).respPort);
    const out = execFileSync(
      'redis-benchmark',
      ['-p', leader, '-t', 'set,get', '-n', '2000', '-c', '10', '-r', '1000', '-d', '100', '-q'],
      { timeout: 60_000 },
    ).toString();
    expect(out).toMatch(/SET: [\d.]+ requests per second/);
    expect(out).toMatch(/GET: [\d.]+ requests per second/);
  });
});
