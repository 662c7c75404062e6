/**
 * Rough throughput of one peer connection on 127.0.0.1 (not a test: run by hand).
 *   npx tsx test/transport/bench/throughput.ts
 * Prints messages/s for small messages (heartbeat-sized) and for App messages with entries, and
 * RPC round trips/s. The sender keeps its queue below the bound, as a Raft leader's pipeline would.
 */
import { performance } from 'node:perf_hooks';

import { EntryType, MessageType, type Entry, type Message } from '../src/raft/types.js';
import { entriesBlockCacheStats } from '../src/transport/codec.js';
import { PeerTransport } from '../src/transport/peer-transport.js';

const HOST = '127.0.0.1';

async function pair(onMessage: () => void): Promise<[PeerTransport, PeerTransport]> {
  const make = (id: number, handler: (msg: Message) => void): PeerTransport =>
    new PeerTransport({
      selfId: id,
      listen: { host: HOST, port: 0 },
      peers: new Map(),
      secret: 'bench',
      onMessage: handler,
      onRequest: async (_from, payload) => payload,
    });
  const a = make(1, () => undefined);
  const b = make(2, onMessage);
  await Promise.all([a.start(), b.start()]);
  a.setPeers(new Map([[2, { host: HOST, port: b.port }]]));
  b.setPeers(new Map([[1, { host: HOST, port: a.port }]]));
  return [a, b];
}

async function messagesPerSecond(label: string, make: (i: number) => Message, total: number): Promise<void> {
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const [a, b] = await pair(() => {
    if (++received === total) done();
  });
  // Warm the connection up.
  a.send(make(0));
  while (received === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  received = 0;
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const queued = a.peerStats(2)?.queuedMessages ?? 0;
    const room = Math.min(4000 - queued, total - sent);
    for (let i = 0; i < room; i++) a.send(make(sent++));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const seconds = (performance.now() - start) / 1000;
  const dropped = a.peerStats(2)?.droppedMessages ?? 0;
  console.log(
    `${label}: ${Math.round(total / seconds).toLocaleString()} msg/s (${total} in ${seconds.toFixed(2)} s, dropped ${dropped})`,
  );
  await Promise.all([a.close(), b.close()]);
}

async function requestsPerSecond(total: number, concurrency: number): Promise<void> {
  const [a, b] = await pair(() => undefined);
  const payload = new Uint8Array(64);
  await a.request(2, payload, 5000);
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await a.request(2, payload, 5000);
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  console.log(`RPC (64 B, ${concurrency} concurrent): ${Math.round(total / seconds).toLocaleString()} req/s`);
  await Promise.all([a.close(), b.close()]);
}

const heartbeat = (i: number): Message => ({
  type: MessageType.Heartbeat,
  from: 1,
  to: 2,
  term: 3,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: i,
  reject: false,
  rejectHint: 0,
  rejectTerm: 0,
  context: i,
});

const entries: Entry[] = Array.from({ length: 10 }, (_, i) => ({
  term: 3,
  index: i + 1,
  type: EntryType.Normal,
  data: new Uint8Array(100).fill(i),
}));
const append = (i: number): Message => ({ ...heartbeat(i), type: MessageType.App, entries });

await messagesPerSecond('Heartbeat (≈80 B)', heartbeat, 500_000);
await messagesPerSecond('App, 10 entries × 100 B (≈1.3 KB, shared entries block)', append, 200_000);
await requestsPerSecond(50_000, 64);
console.log('entries block cache', entriesBlockCacheStats());
