/**
 * The non-default modes of a real cluster: followers answer -MOVED / 307 instead of forwarding,
 * reads in lease and stale mode, and AUTH when a password is configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import net from 'node:net';
import { TestCluster } from './harness.js';

describe('--follower-mode redirect, --read-mode stale, --requirepass', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({
      basePort: 23300,
      extraArgs: ['--follower-mode', 'redirect', '--read-mode', 'stale', '--requirepass', 'hunter22'],
    });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  const connect = (id: number, password?: string): Redis =>
    new Redis({
      host: '127.0.0.1',
      port: cluster.node(id).respPort,
      maxRetriesPerRequest: 0,
      ...(password ? { password } : {}),
    });

  it('refuses commands before AUTH and accepts the right password only', async () => {
    // A raw connection: ioredis's own ready check would trip over NOAUTH first.
    const sock = net.connect(cluster.node(1).respPort, '127.0.0.1');
    const replies: string[] = [];
    let buffered = '';
    sock.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\r\n');
      buffered = lines.pop()!;
      replies.push(...lines);
    });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET x\r\nAUTH wrong\r\nAUTH hunter22\r\nPING\r\n');
    const deadline = Date.now() + 5000;
    while (replies.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    expect(replies[0]).toMatch(/^-NOAUTH/);
    expect(replies[1]).toMatch(/^-WRONGPASS/);
    expect(replies[2]).toBe('+OK');
    expect(replies[3]).toBe('+PONG');
  });

  it('a follower answers writes with -MOVED naming the leader, and HTTP with 307', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!;
    const c = connect(follower.id, 'hunter22');
    try {
      await expect(c.set('k', 'v')).rejects.toThrow(`MOVED 0 127.0.0.1:${cluster.node(leader).respPort}`);
    } finally {
      c.disconnect();
    }
    const res = await fetch(`http://127.0.0.1:${follower.httpPort}/v1/kv/k`, {
      method: 'PUT',
      body: 'v',
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`http://127.0.0.1:${cluster.node(leader).httpPort}/v1/kv/k`);
  });

  it('stale reads are served locally by every node and converge to the written value', async () => {
    const leader = await cluster.waitForLeader();
    const w = connect(leader, 'hunter22');
    try {
      expect(await w.set('stale-key', 'v1')).toBe('OK');
    } finally {
      w.disconnect();
    }
    for (const n of cluster.nodes) {
      const c = connect(n.id, 'hunter22');
      try {
        // Stale mode never waits for a quorum: eventually (within a heartbeat or two) every node has it.
        let value: string | null = null;
        for (let i = 0; i < 100 && value !== 'v1'; i++) {
          value = await c.get('stale-key');
          if (value !== 'v1') await new Promise((r) => setTimeout(r, 20));
        }
        expect(value).toBe('v1');
      } finally {
        c.disconnect();
      }
    }
  });
});

describe('--read-mode lease', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ basePort: 23400, extraArgs: ['--read-mode', 'lease'] });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('the leader serves reads from its state; followers still confirm with ReadIndex', async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
    const c = new Redis({ host: '127.0.0.1', port: cluster.node(follower).respPort });
    const l = new Redis({ host: '127.0.0.1', port: cluster.node(leader).respPort });
    try {
      expect(await c.set('lease-key', 'v2')).toBe('OK'); // forwarded
      expect(await l.get('lease-key')).toBe('v2');
      expect(await c.get('lease-key')).toBe('v2'); // read-your-write through the follower
    } finally {
      c.disconnect();
      l.disconnect();
    }
  });
});
