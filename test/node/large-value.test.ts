/**
 * Issue 9: a value of exactly --max-value-bytes (the default) is written without disturbing
 * leadership — heartbeats keep flowing while the big entry is encoded, written, replicated and
 * applied — and read back byte-exact from every node; one byte more is refused (RESP and HTTP 413).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { parseNodeConfig } from '../../node/config.js';
import { TestCluster, waitFor } from './harness.js';

const BASE_PORT = 25200;

/** The default --max-value-bytes, as the node computes it. */
function defaultMaxValueBytes(): number {
  const config = parseNodeConfig([
    '--id', '1', '--data-dir', '/nonexistent', '--peers', '1=127.0.0.1:1',
    '--listen-peer', '127.0.0.1:1', '--listen-resp', '127.0.0.1:2', '--listen-http', '127.0.0.1:3',
    '--cluster-secret', 'test-secret-0123456789',
  ]); // prettier-ignore
  if (config === 'help') throw new Error('unexpected help');
  return config.maxValueBytes;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('large values within the limit', () => {
  let cluster: TestCluster;
  const maxValueBytes = defaultMaxValueBytes();
  beforeAll(async () => {
    // The node's default timing (the harness's is tighter): the default limit is sized for it.
    cluster = await TestCluster.start({
      basePort: BASE_PORT,
      extraArgs: ['--tick-ms', '20', '--election-ticks', '15'],
    });
  }, 30_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('writes a value of exactly --max-value-bytes with no leader change and reads it back from every node', async () => {
    const leader = await cluster.waitForLeader();
    const before = (await cluster.status(leader))!;
    const value = Buffer.allocUnsafe(maxValueBytes);
    for (let i = 0; i < value.length; i += 4) value.writeUInt32LE((i * 2654435761) >>> 0, i);
    const c = new Redis({ host: '127.0.0.1', port: cluster.node(leader).respPort, maxRetriesPerRequest: 0 });
    try {
      // Watch the term on every node while the write runs: an election anywhere shows up here.
      const terms = new Set<number>();
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          for (const s of await Promise.all(cluster.nodes.map((n) => cluster.status(n.id))))
            if (s) terms.add(s.term);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      expect(await c.set('big', value)).toBe('OK');
      // Followers apply it a moment later (commit rides on the next App or tick).
      await waitFor(
        async () => {
          const st = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
          return st.every((s) => s !== undefined && s.appliedIndex >= before.lastIndex + 1);
        },
        10_000,
        'every node to apply the big write',
      );
      watching = false;
      await watcher;
      const after = (await cluster.status(leader))!;
      expect(after.role).toBe('leader');
      expect(after.term).toBe(before.term);
      expect([...terms]).toEqual([before.term]);
    } finally {
      c.disconnect();
    }
    const want = sha(value);
    for (const n of cluster.nodes) {
      // Through each node's own RESP port: every node answers with the same bytes.
      const r = new Redis({ host: '127.0.0.1', port: n.respPort, maxRetriesPerRequest: 0 });
      try {
        const got = await r.getBuffer('big');
        expect(got?.length, `node ${n.id}`).toBe(maxValueBytes);
        expect(sha(got!), `node ${n.id}`).toBe(want);
      } finally {
        r.disconnect();
      }
    }
  }, 30_000);

  it('refuses a value one byte over the limit: RESP protocol error, HTTP 413', async () => {
    const leader = await cluster.waitForLeader();
    const over = Buffer.alloc(maxValueBytes + 1, 7);
    const c = new Redis({ host: '127.0.0.1', port: cluster.node(leader).respPort, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    try {
      await expect(c.set('over', over)).rejects.toThrow(/Protocol error: invalid bulk length/);
    } finally {
      c.disconnect();
    }
    const res = await fetch(`http://127.0.0.1:${cluster.node(leader).httpPort}/v1/kv/over`, {
      method: 'PUT',
      body: over,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe(`value larger than ${maxValueBytes} bytes`);
    // Nothing was written, and the node still serves.
    const r = new Redis({ host: '127.0.0.1', port: cluster.node(leader).respPort });
    try {
      expect(await r.exists('over')).toBe(0);
      expect(await r.set('small', 'fine')).toBe('OK');
    } finally {
      r.disconnect();
    }
  }, 20_000);
});
