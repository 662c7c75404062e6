import { afterEach, describe, expect, it } from 'vitest';

import { KvClient, OutcomeUnknownError, ReplyError, UnavailableError } from '../../src/client/kv-client.js';
import { fakeServerPool, array, bulk, error, integer, ok } from './fake-resp-server.js';

// Port range of this file: 24900-24949.
const PORT = 24900;
const FAST = { baseDelayMs: 5, maxDelayMs: 20 };

describe('KvClient against scripted nodes', () => {
  const pool = fakeServerPool();
  const clients: KvClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await pool.closeAll();
  });

  const start = pool.start;
  function client(seeds: string[], extra: Partial<ConstructorParameters<typeof KvClient>[0]> = {}) {
    const c = new KvClient({ seeds, backoff: FAST, retryDeadlineMs: 2_000, commandTimeoutMs: 500, ...extra });
    clients.push(c);
    return c;
  }

  it('finds the leader with RAFT.LEADER and sends the command there', async () => {
    const store = new Map<string, string>();
    const leader = await start(PORT + 1, (argv) => {
      if (argv[0] === 'RAFT.LEADER') return array(integer(2), bulk(`127.0.0.1:${PORT + 1}`));
      if (argv[0] === 'SET') {
        store.set(argv[1]!, argv[2]!);
        return ok;
      }
      if (argv[0] === 'GET') return bulk(store.get(argv[1]!) ?? null);
      return error('ERR unknown');
    });
    const follower = await start(PORT, (argv) =>
      argv[0] === 'RAFT.LEADER'
        ? array(integer(2), bulk(leader.address))
        : error(`MOVED 0 ${leader.address}`),
    );
    const c = client([follower.address, leader.address]);
    await c.set('a', '1');
    const reply = await c.command(['GET', 'a']);
    expect(reply).toMatchObject({ value: '1', address: leader.address, attempts: 1 });
    expect(await c.get('missing')).toBeNull();
    expect(follower.commands).toEqual([]);
    expect(c.knownLeader).toBe(leader.address);
  });

  it('follows MOVED from a node that is not the leader', async () => {
    const leader = await start(PORT + 3, (argv) => (argv[0] === 'SET' ? ok : error('ERR no')));
    // This node does not know a leader for RAFT.LEADER, but redirects commands.
    const follower = await start(PORT + 2, (argv) =>
      argv[0] === 'RAFT.LEADER' ? array(integer(0), bulk(null)) : error(`MOVED 0 ${leader.address}`),
    );
    const c = client([follower.address]);
    const reply = await c.command(['SET', 'k', 'v']);
    expect(reply.address).toBe(leader.address);
    expect(reply.attempts).toBe(2);
    expect(follower.commands).toEqual([['SET', 'k', 'v']]);
    expect(leader.commands).toEqual([['SET', 'k', 'v']]);
  });

  it('retries a write after TRYAGAIN until a leader exists, sending it again', async () => {
    let tryAgains = 3;
    const node = await start(PORT + 4, (argv) => {
      if (argv[0] === 'RAFT.LEADER') return array(integer(0), bulk(null));
      if (tryAgains > 0) {
        tryAgains--;
        return error('TRYAGAIN no leader');
      }
      return integer(1);
    });
    const retries: string[] = [];
    const c = client([node.address], { onRetry: (info) => retries.push(info.failure) });
    const reply = await c.command(['INCR', 'n']);
    expect(reply.value).toBe(1);
    expect(retries).toEqual(['tryagain', 'tryagain', 'tryagain']);
    expect(node.commands).toHaveLength(4);
  });

  it('moves on to another node when one refuses connections (nothing was sent)', async () => {
    const live = await start(PORT + 6, (argv) =>
      argv[0] === 'RAFT.LEADER' ? array(integer(0), bulk(null)) : argv[0] === 'SET' ? ok : error('ERR'),
    );
    const c = client([`127.0.0.1:${PORT + 5}`, live.address]);
    const reply = await c.command(['SET', 'x', 'y']);
    expect(reply.address).toBe(live.address);
  });

  it('does NOT resend a write whose connection died after sending: outcome unknown', async () => {
    const node = await start(PORT + 7, (argv, socket) => {
      if (argv[0] === 'RAFT.LEADER') return array(integer(1), bulk(`127.0.0.1:${PORT + 7}`));
      socket.destroy(); // crash before answering
      return null;
    });
    const c = client([node.address]);
    await expect(c.command(['SET', 'x', 'y'])).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(node.commands).toEqual([['SET', 'x', 'y']]);
  });

  it('treats -TIMEOUT (the node could not learn the outcome) as unknown: a write is not resent', async () => {
    const node = await start(PORT + 30, (argv) => {
      if (argv[0] === 'RAFT.LEADER') return array(integer(1), bulk(`127.0.0.1:${PORT + 30}`));
      return error('TIMEOUT forwarding to leader 2 failed, outcome unknown: connection closed');
    });
    const c = client([node.address]);
    await expect(c.command(['SET', 'x', 'y'])).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(node.commands).toEqual([['SET', 'x', 'y']]);
  });

  it('does resend a read whose connection died', async () => {
    let crashes = 1;
    const node = await start(PORT + 8, (argv, socket) => {
      if (argv[0] === 'RAFT.LEADER') return array(integer(1), bulk(`127.0.0.1:${PORT + 8}`));
      if (crashes-- > 0) {
        socket.destroy();
        return null;
      }
      return bulk('v');
    });
    const c = client([node.address]);
    expect((await c.command(['GET', 'x'])).value).toBe('v');
    expect(node.commands).toEqual([
      ['GET', 'x'],
      ['GET', 'x'],
    ]);
  });

  it('reports final server errors as ReplyError without retrying', async () => {
    const node = await start(PORT + 9, (argv) =>
      argv[0] === 'RAFT.LEADER' ? array(integer(1), bulk(`127.0.0.1:${PORT + 9}`)) : error('WRONGTYPE nope'),
    );
    const c = client([node.address]);
    await expect(c.command(['INCR', 'k'])).rejects.toBeInstanceOf(ReplyError);
    expect(node.commands).toHaveLength(1);
  });

  it('gives up with UnavailableError when no node is reachable before the deadline', async () => {
    const c = client([`127.0.0.1:${PORT + 10}`], { retryDeadlineMs: 200 });
    await expect(c.command(['GET', 'a'])).rejects.toBeInstanceOf(UnavailableError);
  });
});
