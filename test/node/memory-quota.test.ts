/**
 * --max-memory end to end: a write flood against a real 3-node cluster with a small quota is
 * refused with -OOM (HTTP 507) once the quota is reached, while reads, DEL, INFO and SCAN keep
 * working; no node crashes, no acknowledged write is lost, and writes resume after DELs free
 * memory — without a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestCluster } from './harness.js';

// Ports 21601-21803 (TestCluster: base+1.., +101.., +201..), clear of every other test's range.
const BASE_PORT = 21600;
const VALUE = 'v'.repeat(4000);

function infoField(info: string, name: string): number {
  const line = info.split('\r\n').find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`INFO has no ${name}`);
  return Number(line.slice(name.length + 1));
}

describe('memory quota (--max-memory)', () => {
  let cluster: TestCluster;
  let client: Redis;

  beforeAll(async () => {
    cluster = await TestCluster.start({ basePort: BASE_PORT, extraArgs: ['--max-memory', '48mb'] });
    const leader = await cluster.waitForLeader();
    client = new Redis({ port: cluster.node(leader).respPort, maxRetriesPerRequest: 0, lazyConnect: true });
    await client.connect();
  }, 30_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.destroy();
  });

  it('refuses writes past the quota with -OOM, keeps reads/DEL working, resumes after DEL', async () => {
    const acked: string[] = [];
    let oom = '';
    // Flood in pipelined rounds until the quota refuses (48 MB at ~4 KB a key: < 12k keys).
    for (let round = 0; round < 100 && oom === ''; round++) {
      const p = client.pipeline();
      for (let i = 0; i < 200; i++) p.set(`flood:${round}:${i}`, VALUE);
      const results = (await p.exec()) ?? [];
      results.forEach(([err], i) => {
        if (err === null) acked.push(`flood:${round}:${i}`);
        else if (/^OOM/.test(err.message)) oom = err.message;
        else throw err;
      });
    }
    expect(oom).toMatch(/OOM command not allowed when used memory > 'maxmemory'/);
    expect(acked.length).toBeGreaterThan(1000);

    const info = await client.info('memory');
    expect(infoField(info, 'maxmemory')).toBe(48 * 1024 * 1024);
    expect(infoField(info, 'used_memory') + 4096 * 2).toBeGreaterThan(48 * 1024 * 1024);
    expect(infoField(info, 'raft_log_bytes')).toBeGreaterThanOrEqual(0);
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.node(1).httpPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^kvnode_memory_max_bytes ${48 * 1024 * 1024}$`, 'm'));
    expect(Number(/^kvnode_memory_used_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^kvnode_store_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(1_000_000);

    // Reads, SCAN and INFO still work; every acknowledged write is there on every node.
    for (const n of cluster.nodes) {
      const c = new Redis({ port: n.respPort, maxRetriesPerRequest: 0 });
      try {
        expect(await c.dbsize()).toBe(acked.length);
        expect(await c.get(acked[acked.length - 1]!)).toBe(VALUE);
      } finally {
        c.disconnect();
      }
    }
    const [, firstKeys] = await client.scan('0', 'MATCH', 'flood:*', 'COUNT', '100');
    expect(firstKeys.length).toBeGreaterThan(0);

    // HTTP says 507 Insufficient Storage. (GC may have lowered the heap since the flood: keep
    // writing until the quota refuses again; each acknowledged PUT is a write to keep.)
    const leader = await cluster.waitForLeader();
    let status = 0;
    for (let i = 0; i < 2000 && status !== 507; i++) {
      const res = await fetch(`http://127.0.0.1:${cluster.node(leader).httpPort}/v1/kv/http:${i}`, {
        method: 'PUT',
        body: VALUE,
      });
      await res.body?.cancel();
      status = res.status;
      if (status === 200 || status === 204) acked.push(`http:${i}`);
      else expect(status).toBe(507);
    }
    expect(status).toBe(507);

    // DEL is allowed over the quota, and freeing space lets writes in again (no restart).
    const toDelete = acked.splice(0, Math.floor(acked.length * 0.8));
    for (let i = 0; i < toDelete.length; i += 500)
      expect(await client.del(...toDelete.slice(i, i + 500))).toBeGreaterThan(0);
    await expect(client.set('after-del', 'ok')).resolves.toBe('OK');
    expect(await client.get('after-del')).toBe('ok');
    for (const n of cluster.nodes) expect(cluster.isRunning(n.id)).toBe(true);
  }, 90_000);
});
