import { connect, createServer, type Socket } from 'node:net';

import type { Message, NodeId } from '../../src/raft/types.js';
import {
  PeerTransport,
  type PeerAddress,
  type PeerTransportOptions,
} from '../../src/transport/peer-transport.js';

export const HOST = '127.0.0.1';
export const SECRET = 'test-cluster-secret';

/** Polls `condition` until true; fails (naming `what`) after `timeoutMs`. No timing assertion: only a deadline. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Node {
  readonly id: NodeId;
  readonly transport: PeerTransport;
  readonly received: Message[];
  readonly unreachable: NodeId[];
  readonly logs: string[];
}

type Extra = Partial<Omit<PeerTransportOptions, 'selfId' | 'listen' | 'peers' | 'secret' | 'onMessage'>> & {
  readonly secret?: string;
  readonly port?: number;
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
};

export function makeNode(id: NodeId, extra: Extra = {}): Node {
  const received: Message[] = [];
  const unreachable: NodeId[] = [];
  const logs: string[] = [];
  const transport = new PeerTransport({
    ...extra,
    selfId: id,
    listen: { host: HOST, port: extra.port ?? 0 },
    peers: extra.peers ?? new Map(),
    secret: extra.secret ?? SECRET,
    log: (line) => logs.push(line),
    onMessage: (msg) => received.push(msg),
    onUnreachable: (peer) => {
      unreachable.push(peer);
      extra.onUnreachable?.(peer);
    },
  });
  return { id, transport, received, unreachable, logs };
}

/** Starts nodes on OS-chosen ports, then tells each about all the others. */
export async function startCluster(
  ids: readonly NodeId[],
  extra: (id: NodeId) => Extra = () => ({}),
): Promise<Node[]> {
  const nodes = ids.map((id) => makeNode(id, extra(id)));
  await Promise.all(nodes.map((n) => n.transport.start()));
  const peers = new Map(nodes.map((n) => [n.id, { host: HOST, port: n.transport.port }]));
  for (const node of nodes) node.transport.setPeers(peers);
  return nodes;
}

export async function closeAll(nodes: readonly Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.transport.close()));
}

/** A port nobody listens on (bound then released by the OS). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when `socket` closes (the server hung up). */
export function whenClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
    socket.on('error', () => undefined);
  });
}
