import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { EntryType, MessageType, type Message } from '../../src/raft/types.js';
import { encodeMessage } from '../../src/transport/codec.js';
import { FrameDecoder, FrameKind, encodeFrame, frameHeader } from '../../src/transport/framing.js';
import { ClientHandshake, secretKey } from '../../src/transport/handshake.js';
import { PeerTransport } from '../../src/transport/peer-transport.js';
import {
  HOST,
  SECRET,
  closeAll,
  freePort,
  makeNode,
  rawConnect,
  startCluster,
  waitFor,
  whenClosed,
  type Node,
} from './harness.js';
import { Prng, message } from './prng.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function cluster(...args: Parameters<typeof startCluster>): Promise<Node[]> {
  const nodes = await startCluster(...args);
  cleanup.push(() => closeAll(nodes));
  return nodes;
}

/** Collects the frames a raw socket receives. */
function frameCollector(socket: Socket): { kind: number; payload: Buffer }[] {
  const frames: { kind: number; payload: Buffer }[] = [];
  const decoder = new FrameDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (kind, payload) => frames.push({ kind, payload })),
  );
  return frames;
}

describe('PeerTransport: messages', () => {
  it('delivers messages both ways between 3 transports, in order per sender, intact', async () => {
    const nodes = await cluster([1, 2, 3]);
    const perPair = 200;
    for (let i = 0; i < perPair; i++) {
      for (const from of nodes) {
        for (const to of nodes) {
          if (from === to) continue;
          const entries =
            i % 10 === 0
              ? [
                  {
                    term: 2,
                    index: i + 1,
                    type: EntryType.Normal,
                    data: Buffer.from(`cmd ${from.id}->${to.id} #${i}`),
                  },
                ]
              : [];
          from.transport.send(
            message({ type: MessageType.App, from: from.id, to: to.id, context: i, entries }),
          );
        }
      }
    }
    await waitFor('all messages', () => nodes.every((n) => n.received.length === 2 * perPair));
    for (const node of nodes) {
      for (const sender of nodes) {
        if (sender === node) continue;
        const fromSender = node.received.filter((m) => m.from === sender.id);
        expect(fromSender.map((m) => m.context)).toEqual(Array.from({ length: perPair }, (_, i) => i));
        expect(fromSender.every((m) => m.to === node.id)).toBe(true);
        const withEntry = fromSender.find((m) => m.context === 50)!;
        expect(Buffer.from(withEntry.entries[0]!.data).toString()).toBe(`cmd ${sender.id}->${node.id} #50`);
      }
    }
    expect(nodes.every((n) => n.unreachable.length === 0)).toBe(true);
  });

  it('reconnects after the peer restarts', async () => {
    const [a, b] = await cluster([1, 2]);
    a!.transport.send(message({ from: 1, to: 2, context: 1 }));
    await waitFor('first message', () => b!.received.length === 1);
    const port = b!.transport.port;
    await b!.transport.close();
    await waitFor('loss noticed', () => a!.unreachable.includes(2));

    const b2 = makeNode(2, { port, peers: new Map([[1, { host: HOST, port: a!.transport.port }]]) });
    cleanup.push(() => b2.transport.close());
    await b2.transport.start();
    // Raft keeps sending (heartbeats); one of them gets through once the connection is back.
    let context = 100;
    await waitFor('delivery after restart', () => {
      a!.transport.send(message({ from: 1, to: 2, context: context++ }));
      return b2.received.length > 0;
    });
    expect(b2.received[0]!.from).toBe(1);
    // And the restarted node reaches us on its own connection.
    b2.transport.send(message({ from: 2, to: 1, context: 7 }));
    await waitFor('reply', () => a!.received.some((m) => m.context === 7));
  });

  it('bounds the queue to a down peer: drops the excess, reports it unreachable, delivers the rest later', async () => {
    const port = await freePort();
    const a = makeNode(1, { peers: new Map([[2, { host: HOST, port }]]), maxQueuedMessagesPerPeer: 5 });
    cleanup.push(() => a.transport.close());
    await a.transport.start();
    for (let i = 0; i < 10; i++) a.transport.send(message({ from: 1, to: 2, context: i }));
    const stats = a.transport.peerStats(2)!;
    expect(stats.queuedMessages).toBe(5);
    expect(stats.droppedMessages).toBe(5);
    await waitFor('unreachable reported', () => a.unreachable.includes(2));

    const b = makeNode(2, { port, peers: new Map([[1, { host: HOST, port: a.transport.port }]]) });
    cleanup.push(() => b.transport.close());
    await b.transport.start();
    await waitFor('queued messages delivered', () => b.received.length === 5);
    expect(b.received.map((m) => m.context)).toEqual([0, 1, 2, 3, 4]);
  });

  it('bounds the queue by bytes too', async () => {
    const port = await freePort();
    const a = makeNode(1, { peers: new Map([[2, { host: HOST, port }]]), maxQueuedBytesPerPeer: 10_000 });
    cleanup.push(() => a.transport.close());
    await a.transport.start();
    const big = [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(4000) }];
    for (let i = 0; i < 5; i++)
      a.transport.send(message({ type: MessageType.App, from: 1, to: 2, entries: big }));
    expect(a.transport.peerStats(2)!.queuedMessages).toBe(2);
    expect(a.transport.peerStats(2)!.droppedMessages).toBe(3);
  });

  it('takes a message larger than the byte bound behind queued heartbeats (not dropped)', async () => {
    const port = await freePort();
    const a = makeNode(1, { peers: new Map([[2, { host: HOST, port }]]), maxQueuedBytesPerPeer: 100_000 });
    cleanup.push(() => a.transport.close());
    await a.transport.start();
    a.transport.send(message({ type: MessageType.Heartbeat, from: 1, to: 2 }));
    const huge = [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(150_000) }];
    a.transport.send(message({ type: MessageType.App, from: 1, to: 2, entries: huge }));
    expect(a.transport.peerStats(2)!.queuedMessages).toBe(2);
    expect(a.transport.peerStats(2)!.droppedMessages).toBe(0);
    // With a large frame queued, the byte bound applies again.
    a.transport.send(message({ type: MessageType.App, from: 1, to: 2, entries: huge }));
    expect(a.transport.peerStats(2)!.droppedMessages).toBe(1);
  });

  it('drops a message to an unknown peer and reports it unreachable', async () => {
    const [a] = await cluster([1]);
    a!.transport.send(message({ from: 1, to: 9 }));
    await waitFor('unreachable', () => a!.unreachable.includes(9));
  });

  it('stops accepting a removed member', async () => {
    const [a, b] = await cluster([1, 2]);
    b!.transport.send(message({ from: 2, to: 1, context: 1 }));
    await waitFor('first message', () => a!.received.length === 1);
    a!.transport.setPeers(new Map());
    const reportsBefore = b!.unreachable.length;
    let context = 2;
    await waitFor('removed node refused', () => {
      b!.transport.send(message({ from: 2, to: 1, context: context++ }));
      return b!.unreachable.length >= reportsBefore + 2;
    });
    expect(a!.received.map((m) => m.context)).toEqual([1]);
  });
});

describe('PeerTransport: authentication and hostile input', () => {
  it('refuses a peer with the wrong secret and delivers nothing from it', async () => {
    const [a] = await cluster([1]);
    const intruder = makeNode(2, {
      secret: 'not-the-secret',
      peers: new Map([[1, { host: HOST, port: a!.transport.port }]]),
    });
    cleanup.push(() => intruder.transport.close());
    await intruder.transport.start();
    a!.transport.setPeers(new Map([[2, { host: HOST, port: intruder.transport.port }]]));
    for (let i = 0; i < 20; i++) intruder.transport.send(message({ from: 2, to: 1, context: i }));
    await waitFor('intruder refused', () =>
      intruder.logs.some((l) => l.includes('failed to prove the cluster secret')),
    );
    await waitFor('intruder reported unreachable', () => intruder.unreachable.includes(1));
    // The other direction: node 1 cannot join the intruder's "cluster" either.
    a!.transport.send(message({ from: 1, to: 2 }));
    await waitFor('node 1 refuses the intruder', () => a!.unreachable.includes(2));
    expect(intruder.received).toEqual([]);
    expect(a!.received).toEqual([]);
  });

  it('closes a client that answers the challenge without the secret, before delivering anything', async () => {
    const [a] = await cluster([1, 2]);
    const socket = await rawConnect(a!.transport.port);
    const closed = whenClosed(socket);
    const frames = frameCollector(socket);
    const handshake = new ClientHandshake(2, 1, secretKey('guess'));
    socket.write(encodeFrame(FrameKind.Hello, handshake.hello()));
    await waitFor('challenge', () => frames.length === 1);
    expect(frames[0]!.kind).toBe(FrameKind.Challenge);
    // Forge an Auth and immediately inject a message behind it.
    socket.write(
      Buffer.concat([
        encodeFrame(FrameKind.Auth, Buffer.alloc(32, 1)),
        encodeFrame(FrameKind.Message, encodeMessage(message({ from: 2, to: 1 }))),
      ]),
    );
    await closed;
    expect(frames.map((f) => f.kind)).toEqual([FrameKind.Challenge]);
    expect(a!.received).toEqual([]);
  });

  it('closes a connection that sends a message before the handshake', async () => {
    const [a] = await cluster([1, 2]);
    const socket = await rawConnect(a!.transport.port);
    const closed = whenClosed(socket);
    socket.write(encodeFrame(FrameKind.Message, encodeMessage(message({ from: 2, to: 1 }))));
    await closed;
    expect(a!.received).toEqual([]);
  });

  it('refuses an authenticated client whose id is not a member', async () => {
    const [a] = await cluster([1, 2]);
    const socket = await rawConnect(a!.transport.port);
    const closed = whenClosed(socket);
    const frames = frameCollector(socket);
    socket.write(encodeFrame(FrameKind.Hello, new ClientHandshake(7, 1, secretKey(SECRET)).hello()));
    await closed;
    expect(frames).toEqual([]);
  });

  it('closes an authenticated peer that spoofs another sender', async () => {
    const [a] = await cluster([1, 2, 3]);
    const socket = await rawConnect(a!.transport.port);
    const closed = whenClosed(socket);
    const frames = frameCollector(socket);
    const handshake = new ClientHandshake(2, 1, secretKey(SECRET));
    socket.write(encodeFrame(FrameKind.Hello, handshake.hello()));
    await waitFor('challenge', () => frames.length === 1);
    socket.write(encodeFrame(FrameKind.Auth, handshake.onChallenge(frames[0]!.payload)));
    await waitFor('accept', () => frames.length === 2);
    expect(frames[1]!.kind).toBe(FrameKind.Accept);
    socket.write(encodeFrame(FrameKind.Message, encodeMessage(message({ from: 2, to: 1, context: 1 }))));
    await waitFor('genuine message', () => a!.received.length === 1);
    socket.write(encodeFrame(FrameKind.Message, encodeMessage(message({ from: 3, to: 1, context: 2 }))));
    socket.write(encodeFrame(FrameKind.Message, encodeMessage(message({ from: 2, to: 1, context: 3 }))));
    await closed;
    expect(a!.received.map((m) => m.context)).toEqual([1]);
  });

  it('survives a garbage-spewing socket, closes it, and keeps serving peers', async () => {
    const [a, b] = await cluster([1, 2]);
    const rng = new Prng(99);
    for (let round = 0; round < 20; round++) {
      const socket = await rawConnect(a!.transport.port);
      const closed = whenClosed(socket);
      for (let i = 0; i < 50 && !socket.destroyed; i++) socket.write(rng.bytes(1 + rng.int(2000)));
      await closed;
    }
    // A declared 4 GiB frame before authentication.
    const huge = await rawConnect(a!.transport.port);
    const hugeClosed = whenClosed(huge);
    huge.write(frameHeader(FrameKind.Hello, 0xffff_ffff));
    await hugeClosed;
    b!.transport.send(message({ from: 2, to: 1, context: 42 }));
    await waitFor('legit message after garbage', () => a!.received.some((m) => m.context === 42));
    expect(a!.received).toHaveLength(1);
  });

  it('closes a connection that never completes the handshake', async () => {
    const [a] = await cluster([1], () => ({ handshakeTimeoutMs: 200 }));
    const socket = await rawConnect(a!.transport.port);
    await whenClosed(socket);
    expect(a!.logs.some((l) => l.includes('not authenticated within 200 ms'))).toBe(true);
  });

  it('rejects start() with a clear error when the port is taken', async () => {
    const [a] = await cluster([1]);
    const port = a!.transport.port;
    const b = new PeerTransport({
      selfId: 2,
      listen: { host: HOST, port },
      peers: new Map(),
      secret: SECRET,
      onMessage: () => undefined,
    });
    await expect(b.start()).rejects.toThrow(`${HOST}:${port}: address already in use (EADDRINUSE)`);
    await b.close();
  });
});

describe('PeerTransport: snapshots', () => {
  const snapshotMsg = (from: number, to: number): Message =>
    message({
      type: MessageType.Snapshot,
      from,
      to,
      term: 5,
      snapshot: { index: 1000, term: 4, confState: { voters: [1, 2, 3], learners: [4] } },
    });

  async function* chunksOf(data: Buffer, rng: Prng): AsyncGenerator<Uint8Array> {
    let offset = 0;
    while (offset < data.length) {
      const size = rng.pick([1, 100, 4096, 65_536, 300_000, 1_500_000]);
      yield data.subarray(offset, offset + size);
      offset += size;
    }
  }

  it('streams several MiB in order and intact to a slow consumer, then acks', async () => {
    const rng = new Prng(5);
    const data = Buffer.from(rng.bytes(6 * 1024 * 1024 + 123));
    const stored: { from: number; msg: Message; sha: string; chunks: number }[] = [];
    const [a, b] = await cluster([1, 2], (id) =>
      id === 2
        ? {
            snapshotBufferBytes: 256 * 1024,
            onSnapshot: async (from, msg, chunks) => {
              const hash = createHash('sha256');
              let count = 0;
              for await (const chunk of chunks) {
                hash.update(chunk);
                count++;
                if (count % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
              }
              stored.push({ from, msg, sha: hash.digest('hex'), chunks: count });
            },
          }
        : {},
    );
    await a!.transport.sendSnapshot(snapshotMsg(1, 2), chunksOf(data, rng));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.from).toBe(1);
    expect(stored[0]!.msg).toEqual(snapshotMsg(1, 2));
    expect(stored[0]!.sha).toBe(createHash('sha256').update(data).digest('hex'));
    // Messages still flow on the same connection afterwards.
    a!.transport.send(message({ from: 1, to: 2, context: 5 }));
    await waitFor('message after snapshot', () => b!.received.some((m) => m.context === 5));
  });

  it('rejects when the receiver fails to store the snapshot', async () => {
    const [a] = await cluster([1, 2], (id) =>
      id === 2
        ? {
            onSnapshot: async (_from, _msg, chunks) => {
              for await (const _chunk of chunks) throw new Error('disk full');
            },
          }
        : {},
    );
    const data = Buffer.alloc(3 * 1024 * 1024, 1);
    await expect(a!.transport.sendSnapshot(snapshotMsg(1, 2), chunksOf(data, new Prng(1)))).rejects.toThrow(
      /failed to store the snapshot: disk full/,
    );
    // The connection is still usable for the next snapshot attempt (which again fails cleanly).
    await expect(a!.transport.sendSnapshot(snapshotMsg(1, 2), chunksOf(data, new Prng(2)))).rejects.toThrow(
      /disk full/,
    );
  });

  it('aborts the receiver when the sender cannot read its snapshot, and rejects', async () => {
    let receiverError = '';
    const [a] = await cluster([1, 2], (id) =>
      id === 2
        ? {
            onSnapshot: async (_from, _msg, chunks) => {
              try {
                for await (const _chunk of chunks) {
                  // consume
                }
              } catch (err) {
                receiverError = (err as Error).message;
                throw err;
              }
            },
          }
        : {},
    );
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000);
      throw new Error('snapshot file vanished');
    }
    await expect(a!.transport.sendSnapshot(snapshotMsg(1, 2), failing())).rejects.toThrow(
      'snapshot file vanished',
    );
    await waitFor('receiver sees the abort', () => receiverError !== '');
    expect(receiverError).toMatch(/aborted the snapshot: snapshot file vanished/);
  });

  it('rejects when the peer cannot be reached', async () => {
    const port = await freePort();
    const a = makeNode(1, { peers: new Map([[2, { host: HOST, port }]]), snapshotConnectTimeoutMs: 300 });
    cleanup.push(() => a.transport.close());
    await a.transport.start();
    await expect(
      a.transport.sendSnapshot(snapshotMsg(1, 2), chunksOf(Buffer.alloc(10), new Prng(1))),
    ).rejects.toThrow(/no connection to node 2 within 300 ms/);
  });
});

describe('PeerTransport: request/response', () => {
  it('answers requests, forwards handler errors, and times out', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    cleanup.push(async () => release());
    const [a] = await cluster([1, 2], (id) =>
      id === 2
        ? {
            onRequest: async (from, payload) => {
              const text = Buffer.from(payload).toString();
              if (text === 'fail') throw new Error('not the leader');
              if (text === 'hang') await gate;
              return Buffer.from(`${from}:${text.toUpperCase()}`);
            },
          }
        : {},
    );
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => a!.transport.request(2, Buffer.from(`set k${i}`), 10_000)),
    );
    expect(answers.map((x) => Buffer.from(x).toString())).toEqual(
      Array.from({ length: 100 }, (_, i) => `1:SET K${i}`),
    );
    await expect(a!.transport.request(2, Buffer.from('fail'), 10_000)).rejects.toThrow(
      'node 2 failed the request: not the leader',
    );
    await expect(a!.transport.request(2, Buffer.from('hang'), 200)).rejects.toThrow(
      'request to node 2 timed out after 200 ms',
    );
    expect(a!.transport.peerStats(2)!.pendingRequests).toBe(0);
  });

  it('bounds outstanding requests and fails them when the peer is unreachable', async () => {
    const port = await freePort();
    const a = makeNode(1, { peers: new Map([[2, { host: HOST, port }]]), maxPendingRequestsPerPeer: 2 });
    cleanup.push(() => a.transport.close());
    await a.transport.start();
    const first = a.transport.request(2, Buffer.from('x'), 300);
    const second = a.transport.request(2, Buffer.from('y'), 300);
    await expect(a.transport.request(2, Buffer.from('z'), 300)).rejects.toThrow(
      'too many outstanding requests',
    );
    await expect(first).rejects.toThrow('timed out');
    await expect(second).rejects.toThrow('timed out');
  });

  it('rejects pending requests on close', async () => {
    const [a] = await cluster([1, 2], (id) =>
      id === 2 ? { onRequest: () => new Promise<Uint8Array>(() => undefined) } : {},
    );
    const pending = a!.transport.request(2, Buffer.from('x'), 10_000);
    await waitFor('request written', () => a!.transport.peerStats(2)!.sentFrames > 0);
    await a!.transport.close();
    await expect(pending).rejects.toThrow(/transport closed/);
  });
});

describe('PeerTransport: close', () => {
  it('leaves no sockets, listeners or timers behind', async () => {
    const count = (kinds: readonly string[]): number =>
      process.getActiveResourcesInfo().filter((r) => kinds.includes(r)).length;
    const tcp = ['TCPSocketWrap', 'TCPServerWrap'];
    // Sockets of earlier tests in this file finish closing first: they must not linger either.
    await waitFor('earlier sockets released', () => count(tcp) === 0);
    const timersBefore = count(['Timeout', 'Immediate']);
    const nodes = await startCluster([1, 2, 3]);
    const port = await freePort();
    nodes[0]!.transport.setPeers(
      new Map([
        [2, { host: HOST, port: nodes[1]!.transport.port }],
        [3, { host: HOST, port: nodes[2]!.transport.port }],
        [4, { host: HOST, port }],
      ]),
    );
    for (const from of nodes) {
      for (const to of [1, 2, 3, 4]) if (to !== from.id) from.transport.send(message({ from: from.id, to }));
    }
    await waitFor('traffic', () => nodes[1]!.received.length > 0 && nodes[0]!.unreachable.includes(4));
    expect(count(tcp)).toBeGreaterThan(0);
    await closeAll(nodes);
    // Socket handles go on the next turns of the loop; nothing of ours may stay.
    await waitFor('sockets released', () => count(tcp) === 0);
    expect(count(['Timeout', 'Immediate'])).toBeLessThanOrEqual(timersBefore);
  });
});
