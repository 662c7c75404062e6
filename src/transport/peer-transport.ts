/**
 * How Raft nodes talk to each other over TCP.
 *
 * Connection model: for everything this node initiates toward peer P (Raft messages, snapshot
 * streams, RPC requests) it uses ONE connection it dialed to P (outbound.ts). Connections other
 * nodes dialed to us (inbound.ts) deliver what they initiate, and carry back only the answers to
 * it (RPC responses, snapshot acks). So between two nodes there are two TCP connections, one per
 * direction of initiative; a Raft response (AppResp, VoteResp) is itself a message and travels on
 * the responder's own outbound connection.
 *
 * Every connection is mutually authenticated with the cluster secret before any frame is
 * delivered, and only current members (the peers map) may connect.
 */
import type { Buffer } from 'node:buffer';
import { createServer, type Server, type Socket } from 'node:net';

import type { Message, NodeId } from '../raft/types.js';
import { DEFAULT_MAX_FRAME_PAYLOAD_BYTES } from './framing.js';
import { secretKey } from './handshake.js';
import { InboundConnection } from './inbound.js';
import { OutboundPeer, type OutboundLimits, type OutboundStats, type PeerAddress } from './outbound.js';

export type { PeerAddress } from './outbound.js';
export type PeerStats = OutboundStats;

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly listen: PeerAddress;
  /** Every other member's address (an entry for selfId is ignored). */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** The cluster secret; never sent, only proven (HMAC-SHA256 challenge-response). */
  readonly secret: string;
  /** Bound on messages waiting for one peer's connection; beyond it messages are dropped. Default 4096. */
  readonly maxQueuedMessagesPerPeer?: number;
  /** Bound on the bytes of messages waiting for one peer. Default 64 MiB. */
  readonly maxQueuedBytesPerPeer?: number;
  /** Bound on RPCs awaiting an answer from one peer. Default 1024. */
  readonly maxPendingRequestsPerPeer?: number;
  /** Bound on RPCs from one peer being served at once; beyond it they fail with 'busy'. Default 256. */
  readonly maxConcurrentRequestsPerPeer?: number;
  /** Largest frame payload accepted or sent. Default 64 MiB + 64 KiB. */
  readonly maxFramePayloadBytes?: number;
  /** Time allowed from dial (or accept) to an authenticated connection. Default 5000 ms. */
  readonly handshakeTimeoutMs?: number;
  /** Bound on connections accepted but not yet authenticated. Default 64. */
  readonly maxPendingHandshakes?: number;
  /** Snapshot bytes per frame. Default 256 KiB. */
  readonly snapshotChunkBytes?: number;
  /** Unread snapshot bytes buffered for the host before the socket stops reading. Default 8 MiB. */
  readonly snapshotBufferBytes?: number;
  /** How long sendSnapshot waits for a connection. Default 10000 ms. */
  readonly snapshotConnectTimeoutMs?: number;
  /** How long sendSnapshot waits for the receiver to store the snapshot after the last chunk. Default 60000 ms. */
  readonly snapshotAckTimeoutMs?: number;
  /** Reconnect backoff: first delay cap and largest delay cap. Defaults 50 ms and 2000 ms. */
  readonly reconnectBaseMs?: number;
  readonly reconnectMaxMs?: number;
  readonly log?: (line: string) => void;
  /** A Raft message from a peer (already checked: from the authenticated peer, to us). */
  readonly onMessage: (msg: Message) => void;
  /**
   * A message to `peer` was dropped (queue full) or its connection failed or was lost. Called
   * asynchronously (never inside send()), at most once per peer per microtask.
   */
  readonly onUnreachable?: (peer: NodeId) => void;
  /** The host stores the chunks durably, then steps `msg`. Rejecting tells the sender it failed. */
  readonly onSnapshot?: (from: NodeId, msg: Message, chunks: AsyncIterable<Uint8Array>) => Promise<void>;
  /** Generic RPC (e.g. a client command forwarded to the leader). Rejecting sends the error text back. */
  readonly onRequest?: (from: NodeId, payload: Uint8Array) => Promise<Uint8Array>;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen <= 0)
    throw new Error(`invariant: ${name} must be > 0, got ${chosen}`);
  return chosen;
}

export class PeerTransport {
  private readonly selfId: NodeId;
  private readonly secret: Buffer;
  private readonly limits: OutboundLimits;
  private readonly maxConcurrentRequests: number;
  private readonly maxPendingHandshakes: number;
  private readonly snapshotBufferBytes: number;
  private readonly log: (line: string) => void;
  private peers = new Map<NodeId, PeerAddress>();
  private readonly outbound = new Map<NodeId, OutboundPeer>();
  private readonly inbound = new Set<InboundConnection>();
  private server: Server | undefined;
  private boundPort = 0;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private readonly unreachable = new Set<NodeId>();
  private unreachableFlushQueued = false;

  constructor(private readonly options: PeerTransportOptions) {
    if (!Number.isSafeInteger(options.selfId) || options.selfId < 1) {
      throw new Error(`invariant: selfId must be an integer ≥ 1, got ${options.selfId}`);
    }
    this.selfId = options.selfId;
    this.secret = secretKey(options.secret);
    const maxFramePayloadBytes = positive(
      options.maxFramePayloadBytes,
      DEFAULT_MAX_FRAME_PAYLOAD_BYTES,
      'maxFramePayloadBytes',
    );
    this.limits = {
      maxQueuedMessages: positive(options.maxQueuedMessagesPerPeer, 4096, 'maxQueuedMessagesPerPeer'),
      maxQueuedBytes: positive(options.maxQueuedBytesPerPeer, 64 * 1024 * 1024, 'maxQueuedBytesPerPeer'),
      maxPendingRequests: positive(options.maxPendingRequestsPerPeer, 1024, 'maxPendingRequestsPerPeer'),
      maxFramePayloadBytes,
      handshakeTimeoutMs: positive(options.handshakeTimeoutMs, 5000, 'handshakeTimeoutMs'),
      snapshotChunkBytes: Math.min(
        positive(options.snapshotChunkBytes, 256 * 1024, 'snapshotChunkBytes'),
        maxFramePayloadBytes - 4,
      ),
      snapshotConnectTimeoutMs: positive(
        options.snapshotConnectTimeoutMs,
        10_000,
        'snapshotConnectTimeoutMs',
      ),
      snapshotAckTimeoutMs: positive(options.snapshotAckTimeoutMs, 60_000, 'snapshotAckTimeoutMs'),
      reconnectBaseMs: positive(options.reconnectBaseMs, 50, 'reconnectBaseMs'),
      reconnectMaxMs: positive(options.reconnectMaxMs, 2000, 'reconnectMaxMs'),
    };
    this.maxConcurrentRequests = positive(
      options.maxConcurrentRequestsPerPeer,
      256,
      'maxConcurrentRequestsPerPeer',
    );
    this.maxPendingHandshakes = positive(options.maxPendingHandshakes, 64, 'maxPendingHandshakes');
    this.snapshotBufferBytes = positive(options.snapshotBufferBytes, 8 * 1024 * 1024, 'snapshotBufferBytes');
    this.log = options.log ?? (() => undefined);
    this.peers = this.memberMap(options.peers);
  }

  /** The bound port: the listen port, or the one the OS chose for port 0 (after start()). */
  get port(): number {
    return this.state === 'running' ? this.boundPort : this.options.listen.port;
  }

  /** Starts listening. Rejects with an error naming host:port if the address is taken. */
  start(): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error(`invariant: start() in state ${this.state}`));
    this.state = 'starting';
    const { host, port } = this.options.listen;
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        this.state = 'closed';
        this.server = undefined;
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        const error = new Error(
          `peer transport cannot listen on ${host}:${port}: ${why} (${err.code ?? 'error'})`,
          {
            cause: err,
          },
        );
        reject(error);
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log(`transport: listener error: ${err.message}`));
        const address = server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('invariant: a TCP listener has a numeric address'));
          return;
        }
        this.boundPort = address.port;
        if (this.state === 'closed') {
          // close() ran while we were starting.
          server.close();
          reject(new Error('peer transport closed during start()'));
          return;
        }
        this.state = 'running';
        this.log(`transport: node ${this.selfId} listening on ${host}:${address.port}`);
        resolve();
      });
    });
  }

  /**
   * Queues `msg` on the connection to msg.to. Never blocks, never throws for network reasons:
   * when the peer's queue is full (or the peer is unknown) the message is dropped and
   * onUnreachable(msg.to) follows; Raft retries.
   */
  send(msg: Message): void {
    if (msg.from !== this.selfId) {
      throw new Error(`invariant: node ${this.selfId} sending a message from node ${msg.from}`);
    }
    if (msg.to === this.selfId) throw new Error(`invariant: node ${this.selfId} sending a message to itself`);
    if (this.state === 'closed') return;
    const peer = this.peerConnection(msg.to);
    if (peer === undefined) {
      this.log(`transport: dropped type-${msg.type} message to node ${msg.to}: not a known peer`);
      this.reportUnreachable(msg.to);
      return;
    }
    if (!peer.send(msg)) this.reportUnreachable(msg.to);
  }

  /** Streams a snapshot to msg.to and resolves once the receiver stored it; rejects on failure. */
  sendSnapshot(msg: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    if (msg.from !== this.selfId || msg.to === this.selfId) {
      return Promise.reject(
        new Error(`invariant: snapshot message from ${msg.from} to ${msg.to} on node ${this.selfId}`),
      );
    }
    if (this.state === 'closed') return Promise.reject(new Error('peer transport closed'));
    const peer = this.peerConnection(msg.to);
    if (peer === undefined) return Promise.reject(new Error(`node ${msg.to} is not a known peer`));
    return peer.sendSnapshot(msg, chunks);
  }

  /** Sends `payload` to `to` and resolves with its answer; rejects on remote error, loss or timeout. */
  request(to: NodeId, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.state === 'closed') return Promise.reject(new Error('peer transport closed'));
    const peer = this.peerConnection(to);
    if (peer === undefined) return Promise.reject(new Error(`node ${to} is not a known peer`));
    return peer.request(payload, timeoutMs);
  }

  /** Membership change: connections to and from removed members close; new members may connect. */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    if (this.state === 'closed') return;
    this.peers = this.memberMap(peers);
    for (const [id, peer] of this.outbound) {
      const address = this.peers.get(id);
      if (address === undefined) {
        peer.close();
        this.outbound.delete(id);
        this.log(`transport: node ${id} removed; closed our connection to it`);
      } else {
        peer.setAddress(address);
      }
    }
    for (const conn of this.inbound) {
      if (conn.authenticated && !this.peers.has(conn.peerId))
        conn.close(`node ${conn.peerId} is no longer a member`);
    }
  }

  /** Per-peer counters (for metrics and tests); undefined if we never sent to that peer. */
  peerStats(peer: NodeId): PeerStats | undefined {
    return this.outbound.get(peer)?.stats();
  }

  /** Closes the listener and every connection; pending requests and snapshots reject. */
  async close(): Promise<void> {
    if (this.state === 'closed' && this.server === undefined) return;
    this.state = 'closed';
    for (const peer of this.outbound.values()) peer.close();
    this.outbound.clear();
    for (const conn of [...this.inbound]) conn.close('transport closed');
    this.inbound.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined && server.listening) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  // -------------------------------------------------------------------------------------------

  private memberMap(peers: ReadonlyMap<NodeId, PeerAddress>): Map<NodeId, PeerAddress> {
    const members = new Map<NodeId, PeerAddress>();
    for (const [id, address] of peers) {
      if (!Number.isSafeInteger(id) || id < 1)
        throw new Error(`invariant: peer id ${id} must be an integer ≥ 1`);
      if (id !== this.selfId) members.set(id, { host: address.host, port: address.port });
    }
    return members;
  }

  private peerConnection(id: NodeId): OutboundPeer | undefined {
    const existing = this.outbound.get(id);
    if (existing !== undefined) return existing;
    const address = this.peers.get(id);
    if (address === undefined) return undefined;
    const peer = new OutboundPeer({
      selfId: this.selfId,
      peerId: id,
      address,
      secret: this.secret,
      limits: this.limits,
      log: this.log,
      reportUnreachable: (unreachable) => this.reportUnreachable(unreachable),
    });
    this.outbound.set(id, peer);
    return peer;
  }

  private accept(socket: Socket): void {
    if (this.state === 'closed') {
      socket.destroy();
      return;
    }
    let pendingHandshakes = 0;
    for (const conn of this.inbound) if (!conn.authenticated) pendingHandshakes++;
    if (pendingHandshakes >= this.maxPendingHandshakes) {
      this.log(
        `transport: refused a connection from ${socket.remoteAddress ?? '?'}: too many pending handshakes`,
      );
      socket.destroy();
      return;
    }
    const conn = new InboundConnection(socket, {
      selfId: this.selfId,
      secret: this.secret,
      isMember: (id) => this.peers.has(id),
      maxFramePayloadBytes: this.limits.maxFramePayloadBytes,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      maxConcurrentRequests: this.maxConcurrentRequests,
      snapshotBufferBytes: this.snapshotBufferBytes,
      log: this.log,
      onAuthenticated: (authenticated) => this.onInboundAuthenticated(authenticated),
      onClosed: (closed) => this.inbound.delete(closed),
      onMessage: this.options.onMessage,
      onSnapshot: this.options.onSnapshot,
      onRequest: this.options.onRequest,
    });
    this.inbound.add(conn);
  }

  /** A peer that redials replaces its old connection (which may be half-dead). */
  private onInboundAuthenticated(conn: InboundConnection): void {
    for (const other of this.inbound) {
      if (other !== conn && other.authenticated && other.peerId === conn.peerId) {
        other.close(`node ${conn.peerId} reconnected`);
      }
    }
  }

  private reportUnreachable(peer: NodeId): void {
    const callback = this.options.onUnreachable;
    if (callback === undefined) return;
    this.unreachable.add(peer);
    if (this.unreachableFlushQueued) return;
    this.unreachableFlushQueued = true;
    queueMicrotask(() => {
      this.unreachableFlushQueued = false;
      if (this.state === 'closed') return;
      const peers = [...this.unreachable];
      this.unreachable.clear();
      for (const id of peers) {
        try {
          callback(id);
        } catch (err) {
          this.log(`transport: onUnreachable threw: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });
  }
}
