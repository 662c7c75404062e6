/**
 * Durability with real processes and real fsync: kill -9 the leader and a follower under load,
 * then all three at once; every write the cluster acknowledged must be readable afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestCluster, waitFor } from './harness.js';

/** Writes unique keys through every node in a loop; records which ones were acknowledged. */
class Writer {
  readonly acked = new Map<string, string>();
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly clients: Redis[] = [];
  private seq = 0;

  constructor(
    private readonly cluster: TestCluster,
    private readonly concurrency: number,
  ) {}

  start(): void {
    for (let w = 0; w < this.concurrency; w++) this.loops.push(this.loop(w));
  }

  private async loop(worker: number): Promise<void> {
    let nodeIdx = worker % this.cluster.nodes.length;
    while (!this.stopped) {
      const node = this.cluster.nodes[nodeIdx]!;
      if (!this.cluster.isRunning(node.id)) {
        nodeIdx = (nodeIdx + 1) % this.cluster.nodes.length;
        await sleep(10);
        continue;
      }
      const c = new Redis({
        host: '127.0.0.1',
        port: node.respPort,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        lazyConnect: true,
      });
      c.on('error', () => undefined);
      this.clients.push(c);
      try {
        await c.connect();
        while (!this.stopped) {
          const key = `w${worker}:${this.seq++}`;
          const value = `v-${key}`;
          try {
            if ((await c.set(key, value)) === 'OK') this.acked.set(key, value);
          } catch (e) {
            // TRYAGAIN/TIMEOUT during failover: not acknowledged, the client would retry.
            if (!/TRYAGAIN|TIMEOUT|leader/.test((e as Error).message)) throw e;
            await sleep(20);
          }
        }
      } catch {
        // Connection lost (node killed): move to another node.
      } finally {
        c.disconnect();
      }
      nodeIdx = (nodeIdx + 1) % this.cluster.nodes.length;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function verifyAll(cluster: TestCluster, acked: Map<string, string>): Promise<void> {
  // Read through every node: linearizable reads must see every acknowledged write.
  for (const n of cluster.nodes) {
    const c = new Redis({ host: '127.0.0.1', port: n.respPort, maxRetriesPerRequest: 3 });
    try {
      const keys = [...acked.keys()];
      for (let i = 0; i < keys.length; i += 500) {
        const chunk = keys.slice(i, i + 500);
        const values = await c.mget(...chunk);
        chunk.forEach((k, j) => {
          if (values[j] !== acked.get(k))
            throw new Error(`node ${n.id}: acknowledged ${k} lost (got ${values[j]})`);
        });
      }
    } finally {
      c.disconnect();
    }
  }
}

describe('kill -9 under load', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ basePort: 22400, extraArgs: ['--snapshot-entries', '2000'] });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('loses no acknowledged write when the leader is killed', async () => {
    const writer = new Writer(cluster, 6);
    writer.start();
    await sleep(800);
    const leader = await cluster.waitForLeader();
    await cluster.kill(leader, 'SIGKILL');
    const next = await cluster.waitForLeader(20_000);
    expect(next).not.toBe(leader);
    await sleep(800);
    await cluster.restart(leader);
    await sleep(500);
    await writer.stop();
    expect(writer.acked.size).toBeGreaterThan(20);
    await cluster.waitForLeader();
    await waitFor(
      async () => (await cluster.status(leader))?.role === 'follower',
      15_000,
      'old leader to rejoin',
    );
    await verifyAll(cluster, writer.acked);
  });

  it('loses no acknowledged write when a follower is killed', async () => {
    const writer = new Writer(cluster, 6);
    writer.start();
    await sleep(500);
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    await cluster.kill(follower, 'SIGKILL');
    await sleep(1000);
    await cluster.restart(follower);
    await sleep(500);
    await writer.stop();
    await cluster.waitForLeader();
    await verifyAll(cluster, writer.acked);
  });

  it('recovers every acknowledged write after all three are killed at once', async () => {
    const writer = new Writer(cluster, 6);
    writer.start();
    await sleep(1000);
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGKILL')));
    await writer.stop();
    const acked = writer.acked;
    expect(acked.size).toBeGreaterThan(20);
    for (const n of cluster.nodes) cluster.spawnNode(n);
    await cluster.waitForLeader(20_000);
    await verifyAll(cluster, acked);
  });
});
