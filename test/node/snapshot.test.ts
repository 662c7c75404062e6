/**
 * Snapshots end to end with real processes: nodes snapshot and compact every few entries; a
 * follower that was down while the leader compacted past it catches up through InstallSnapshot
 * (streamed over the peer transport); then all three are killed -9 and rebuild from snapshot + WAL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster, waitFor } from './harness.js';

async function writeSequential(port: number, from: number, to: number): Promise<void> {
  const c = new Redis({ host: '127.0.0.1', port });
  try {
    // One command at a time: each becomes its own Raft entry, so the log grows fast.
    for (let i = from; i < to; i++) expect(await c.set(`snap:${i}`, `value-${i}`)).toBe('OK');
    expect(await c.incrby('snap:counter', to - from)).toBeGreaterThan(0);
  } finally {
    c.disconnect();
  }
}

async function expectAll(port: number, to: number, counter: number): Promise<void> {
  const c = new Redis({ host: '127.0.0.1', port });
  try {
    const keys = Array.from({ length: to }, (_, i) => `snap:${i}`);
    const values = await c.mget(...keys);
    values.forEach((v, i) => expect(v).toBe(`value-${i}`));
    expect(await c.get('snap:counter')).toBe(String(counter));
  } finally {
    c.disconnect();
  }
}

describe('snapshots, compaction and InstallSnapshot', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    // 21301-21503: bad-input.test's HTTP ports (22800 + 201..203) once met this file's old 23001-3.
    cluster = await TestCluster.start({ basePort: 21300, extraArgs: ['--snapshot-entries', '40'] });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('a follower that missed compacted entries catches up through a snapshot', async () => {
    const leader = await cluster.waitForLeader();
    const lagging = cluster.nodes.find((n) => n.id !== leader)!.id;
    await writeSequential(cluster.node(leader).respPort, 0, 60);
    await cluster.kill(lagging, 'SIGKILL');
    // The leader snapshots and compacts well past what the lagging node has.
    await writeSequential(cluster.node(leader).respPort, 60, 260);
    await waitFor(
      async () => ((await cluster.status(leader))?.firstIndex ?? 0) > 100,
      10_000,
      'the leader to compact its log',
    );
    const snapDir = join(cluster.node(leader).dataDir, 'snap');
    expect(readdirSync(snapDir).filter((f) => !f.includes('tmp')).length).toBeGreaterThan(0);
    await cluster.restart(lagging);
    await waitFor(
      async () => {
        const [l, f] = await Promise.all([cluster.status(leader), cluster.status(lagging)]);
        return !!l && !!f && f.appliedIndex >= l.commitIndex && f.leader === leader;
      },
      20_000,
      'the lagging follower to catch up',
    );
    expect(cluster.logs(lagging)).toMatch(/installed snapshot from leader/);
    await expectAll(cluster.node(lagging).respPort, 260, 260);
  });

  it('all three killed -9 rebuild from snapshot + WAL with every acknowledged write', async () => {
    const leader = await cluster.waitForLeader();
    await writeSequential(cluster.node(leader).respPort, 260, 300);
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGKILL')));
    for (const n of cluster.nodes) cluster.spawnNode(n);
    await cluster.waitForLeader(20_000);
    for (const n of cluster.nodes) await expectAll(n.respPort, 300, 300);
    for (const n of cluster.nodes) expect(cluster.logs(n.id)).toMatch(/recovered snapshotIndex=[1-9]/);
  });
});
