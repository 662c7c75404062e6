/**
 * The connection this node dials to one peer, for everything it initiates: Raft messages,
 * snapshot streams, RPC requests. The peer answers RPCs and snapshot acks on the same socket.
 *
 * - Messages wait in a bounded queue (count and bytes); when it is full the message is dropped
 *   and the peer reported unreachable: Raft retries, so dropping is safe and blocking is not.
 * - The queue is drained once per event-loop turn (setImmediate) in one corked write, small
 *   frames coalesced into one buffer: a Ready's worth of messages leaves in one syscall.
 * - The writer respects socket backpressure: after write() returns false nothing more is written
 *   until 'drain', so the socket's own buffer stays bounded and the queue bound is the real one.
 * - On loss the connection redials with exponential backoff and jitter, forever, until the peer
 *   is removed or the transport closed. Queued messages survive a reconnect; RPCs already
 *   written and an ongoing snapshot fail (their answers could only come on the lost socket).
 */
import { Buffer } from 'node:buffer';
import { connect } from 'node:net';

import type { Message, NodeId } from '../raft/types.js';
import { Backoff } from './backoff.js';
import { encodeMessageParts } from './codec.js';
import { FrameError } from './frame-error.js';
import { FramedSocket } from './framed-socket.js';
import { FRAME_HEADER_BYTES, FrameKind, encodeFrame, writeFrameHeader } from './framing.js';
import { ClientHandshake, MAX_HANDSHAKE_FRAME_BYTES } from './handshake.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface OutboundLimits {
  readonly maxQueuedMessages: number;
  readonly maxQueuedBytes: number;
  readonly maxPendingRequests: number;
  readonly maxFramePayloadBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly snapshotChunkBytes: number;
  readonly snapshotConnectTimeoutMs: number;
  readonly snapshotAckTimeoutMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
}

export interface OutboundOptions {
  readonly selfId: NodeId;
  readonly peerId: NodeId;
  readonly address: PeerAddress;
  readonly secret: Buffer;
  readonly limits: OutboundLimits;
  readonly log: (line: string) => void;
  /** The peer could not be reached (dial failed, connection lost, message dropped). */
  readonly reportUnreachable: (peer: NodeId) => void;
}

export interface OutboundStats {
  readonly connected: boolean;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly droppedMessages: number;
  readonly sentFrames: number;
  readonly pendingRequests: number;
}

/** Frames up to this size are copied into one coalesced buffer; larger ones are written as is. */
const COALESCE_MAX_PART_BYTES = 16 * 1024;
const COALESCE_TARGET_BYTES = 64 * 1024;
/** Bound on one flush, so one peer's backlog cannot monopolise the event loop. */
const MAX_FLUSH_BYTES = 4 * 1024 * 1024;
const MAX_FLUSH_FRAMES = 8192;
const STREAM_HEADER_BYTES = FRAME_HEADER_BYTES + 4;
/** A queue holding at most this many bytes (and 1/8 of its byte bound) takes any frame (see hasRoomFor). */
const LARGE_FRAME_ADMIT_BYTES = 1024 * 1024;

interface QueuedFrame {
  readonly parts: readonly Buffer[];
  readonly bytes: number;
  /** Set for an RPC request; a request that timed out before being written is skipped. */
  readonly request: PendingRequest | undefined;
}

interface PendingRequest {
  readonly id: number;
  readonly resolve: (payload: Uint8Array) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  written: boolean;
  settled: boolean;
}

interface ActiveSnapshot {
  readonly streamId: number;
  readonly conn: FramedSocket;
  readonly ack: Promise<void>;
  readonly resolveAck: () => void;
  readonly rejectAck: (err: Error) => void;
  /** Set when the stream must stop: negative ack or connection lost. */
  failure: Error | undefined;
}

interface ReadyWaiter {
  readonly resolve: (conn: FramedSocket) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** FIFO of frames with O(1) removal from the front. */
class FrameQueue {
  private items: (QueuedFrame | undefined)[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(frame: QueuedFrame): void {
    this.items.push(frame);
    this.bytes += frame.bytes;
  }

  shift(): QueuedFrame | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (frame !== undefined) this.bytes -= frame.bytes;
    return frame;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}

function totalBytes(parts: readonly Buffer[]): number {
  let bytes = 0;
  for (const part of parts) bytes += part.length;
  return bytes;
}

function streamFrame(kind: FrameKind, streamId: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(STREAM_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(frame, 0, kind, 4 + payload.byteLength);
  frame.writeUInt32LE(streamId, FRAME_HEADER_BYTES);
  frame.set(payload, STREAM_HEADER_BYTES);
  return frame;
}

/** Merges runs of small buffers so a batch of heartbeats becomes one buffer, not hundreds. */
function coalesce(parts: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 1) out.push(run[0]!);
    else if (run.length > 1) out.push(Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const part of parts) {
    if (part.length > COALESCE_MAX_PART_BYTES) {
      endRun();
      out.push(part);
      continue;
    }
    run.push(part);
    runBytes += part.length;
    if (runBytes >= COALESCE_TARGET_BYTES) endRun();
  }
  endRun();
  return out;
}

export class OutboundPeer {
  private state: 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed' = 'idle';
  private address: PeerAddress;
  private conn: FramedSocket | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;
  private awaitingDrain = false;
  private readonly backoff: Backoff;
  private readonly queue = new FrameQueue();
  private readonly pendingRequests = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  private readonly readyWaiters = new Set<ReadyWaiter>();
  /** Snapshots to one peer go one at a time; each waits for the previous to settle. */
  private snapshotTail: Promise<void> = Promise.resolve();
  private activeSnapshot: ActiveSnapshot | undefined;
  private nextStreamId = 1;
  private droppedMessages = 0;
  private sentFrames = 0;

  constructor(private readonly options: OutboundOptions) {
    this.address = options.address;
    this.backoff = new Backoff(options.limits.reconnectBaseMs, options.limits.reconnectMaxMs);
  }

  get peerId(): NodeId {
    return this.options.peerId;
  }

  stats(): OutboundStats {
    return {
      connected: this.state === 'ready',
      queuedMessages: this.queue.length,
      queuedBytes: this.queue.bytes,
      droppedMessages: this.droppedMessages,
      sentFrames: this.sentFrames,
      pendingRequests: this.pendingRequests.size,
    };
  }

  /** Enqueues `msg`; false when it was dropped (queue full, too large, closed). Never blocks. */
  send(msg: Message): boolean {
    if (this.state === 'closed') return false;
    const parts = encodeMessageParts(msg, FRAME_HEADER_BYTES);
    const bytes = totalBytes(parts);
    const payloadBytes = bytes - FRAME_HEADER_BYTES;
    if (payloadBytes > this.options.limits.maxFramePayloadBytes) {
      this.options.log(
        `transport: dropped type-${msg.type} message to node ${msg.to}: ${payloadBytes} bytes exceeds the frame limit`,
      );
      this.droppedMessages++;
      return false;
    }
    if (!this.hasRoomFor(bytes)) {
      this.droppedMessages++;
      return false;
    }
    writeFrameHeader(parts[0]!, 0, FrameKind.Message, payloadBytes);
    this.queue.push({ parts, bytes, request: undefined });
    this.wake();
    return true;
  }

  /** Sends `payload` as an RPC; resolves with the peer's answer, rejects on error or timeout. */
  request(payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(
        new Error(`invariant: request timeout must be a positive number, got ${timeoutMs}`),
      );
    }
    const peer = this.options.peerId;
    if (this.state === 'closed')
      return Promise.reject(new Error(`request to node ${peer}: transport closed`));
    if (this.pendingRequests.size >= this.options.limits.maxPendingRequests) {
      return Promise.reject(new Error(`request to node ${peer}: too many outstanding requests`));
    }
    if (4 + payload.byteLength > this.options.limits.maxFramePayloadBytes) {
      return Promise.reject(
        new Error(`request to node ${peer}: payload of ${payload.byteLength} bytes too large`),
      );
    }
    const frame = streamFrame(FrameKind.Request, 0, payload);
    if (!this.hasRoomFor(frame.length)) {
      return Promise.reject(new Error(`request to node ${peer}: send queue full`));
    }
    const id = this.allocateRequestId();
    frame.writeUInt32LE(id, FRAME_HEADER_BYTES);
    return new Promise<Uint8Array>((resolve, reject) => {
      const pending: PendingRequest = {
        id,
        resolve,
        reject,
        written: false,
        settled: false,
        timer: setTimeout(() => {
          this.settleRequest(pending, new Error(`request to node ${peer} timed out after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pendingRequests.set(id, pending);
      this.queue.push({ parts: [frame], bytes: frame.length, request: pending });
      this.wake();
    });
  }

  /**
   * Streams a snapshot: SnapshotBegin (with `msg`), the chunks cut into frames of at most
   * snapshotChunkBytes (waiting for 'drain' whenever the socket is full), SnapshotEnd; then
   * waits for the peer's ack that its host stored the snapshot. Rejects on any failure.
   */
  sendSnapshot(msg: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const run = this.snapshotTail.then(() => this.streamSnapshot(msg, chunks));
    this.snapshotTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The peer moved: drop the connection and redial the new address. */
  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    this.backoff.reset();
    if (this.conn !== undefined) this.conn.destroy('peer address changed');
    else if (this.state === 'backoff') this.redialNow();
  }

  /** Dial now if idle (used on start to warm the connection). */
  connectSoon(): void {
    if (this.state === 'idle') this.dial();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.reconnectTimer);
    if (this.flushImmediate !== undefined) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.conn?.destroy('transport closed');
    this.conn = undefined;
    this.queue.clear();
    const closedErr = new Error(`connection to node ${this.options.peerId}: transport closed`);
    for (const pending of [...this.pendingRequests.values()]) this.settleRequest(pending, closedErr);
    for (const waiter of [...this.readyWaiters]) {
      clearTimeout(waiter.timer);
      waiter.reject(closedErr);
    }
    this.readyWaiters.clear();
    this.failSnapshot(closedErr);
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  private hasRoomFor(bytes: number): boolean {
    const limits = this.options.limits;
    if (this.queue.length >= limits.maxQueuedMessages) return false;
    // A queue holding only small frames (heartbeats, acks) still takes one large frame, so a
    // message near or above the byte bound (a value of tens of MiB) is not dropped just because
    // a heartbeat was queued in the same turn: dropped, it is resent whole after a probe, and
    // dropped again. Memory stays bounded by the byte bound plus one message.
    const smallOnly = Math.min(LARGE_FRAME_ADMIT_BYTES, limits.maxQueuedBytes / 8);
    return this.queue.bytes <= smallOnly || this.queue.bytes + bytes <= limits.maxQueuedBytes;
  }

  /** There is something to send: make sure we are connecting, or flush if connected. */
  private wake(): void {
    if (this.state === 'idle') this.dial();
    else if (this.state === 'ready') this.scheduleFlush();
  }

  private dial(): void {
    if (this.state !== 'idle') throw new Error(`invariant: dial() in state ${this.state}`);
    this.state = 'connecting';
    const { host, port } = this.address;
    const handshake = new ClientHandshake(this.options.selfId, this.options.peerId, this.options.secret);
    const conn: FramedSocket = new FramedSocket(connect({ host, port }), {
      maxPayloadBytes: MAX_HANDSHAKE_FRAME_BYTES,
      onFrame: (kind, payload) => this.onFrame(conn, handshake, kind, payload),
      onClose: (reason) => this.onConnectionClosed(conn, reason),
    });
    this.conn = conn;
    // Written before 'connect'; Node sends it once connected.
    conn.write([encodeFrame(FrameKind.Hello, handshake.hello())]);
    this.handshakeTimer = setTimeout(() => {
      conn.destroy(`no authenticated connection within ${this.options.limits.handshakeTimeoutMs} ms`);
    }, this.options.limits.handshakeTimeoutMs);
  }

  private onFrame(conn: FramedSocket, handshake: ClientHandshake, kind: number, payload: Buffer): void {
    if (conn !== this.conn) return;
    if (this.state === 'connecting') {
      if (kind === FrameKind.Challenge) {
        conn.write([encodeFrame(FrameKind.Auth, handshake.onChallenge(payload))]);
      } else if (kind === FrameKind.Accept) {
        handshake.onAccept(payload);
        this.onAuthenticated(conn);
      } else {
        throw new FrameError('bad-kind', `frame kind ${kind} during the handshake`);
      }
      return;
    }
    if (kind === FrameKind.Response) this.onResponse(payload);
    else if (kind === FrameKind.SnapshotAck) this.onSnapshotAck(payload);
    else throw new FrameError('bad-kind', `frame kind ${kind} on an outbound connection`);
  }

  private onAuthenticated(conn: FramedSocket): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    conn.maxPayloadBytes = this.options.limits.maxFramePayloadBytes;
    this.state = 'ready';
    this.backoff.reset();
    this.options.log(`transport: connected to node ${this.options.peerId} at ${this.describeAddress()}`);
    for (const waiter of this.readyWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(conn);
    }
    this.readyWaiters.clear();
    this.scheduleFlush();
  }

  private onConnectionClosed(conn: FramedSocket, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.awaitingDrain = false;
    const peer = this.options.peerId;
    const lost = new Error(`connection to node ${peer} lost: ${reason}`);
    // Requests already written can only be answered on the lost socket; unwritten ones wait.
    for (const pending of [...this.pendingRequests.values()]) {
      if (pending.written) this.settleRequest(pending, lost);
    }
    this.failSnapshot(lost);
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    if (wasReady) this.backoff.reset();
    this.state = 'backoff';
    const delayMs = this.backoff.nextDelayMs();
    this.options.log(
      `transport: ${wasReady ? 'lost' : 'could not connect to'} node ${peer} at ${this.describeAddress()} ` +
        `(${reason}); retrying in ${delayMs} ms`,
    );
    this.options.reportUnreachable(peer);
    this.reconnectTimer = setTimeout(() => this.redialNow(), delayMs);
  }

  private redialNow(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.state !== 'backoff') return;
    this.state = 'idle';
    this.dial();
  }

  private describeAddress(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  /** The authenticated connection, waiting up to `timeoutMs` for one. */
  private waitReady(timeoutMs: number): Promise<FramedSocket> {
    if (this.state === 'ready' && this.conn !== undefined) return Promise.resolve(this.conn);
    if (this.state === 'closed') return Promise.reject(new Error('transport closed'));
    if (this.state === 'idle') this.dial();
    return new Promise<FramedSocket>((resolve, reject) => {
      const waiter: ReadyWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.readyWaiters.delete(waiter);
          reject(new Error(`no connection to node ${this.options.peerId} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.readyWaiters.add(waiter);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  private scheduleFlush(): void {
    if (this.flushImmediate !== undefined || this.awaitingDrain || this.queue.length === 0) return;
    this.flushImmediate = setImmediate(() => {
      this.flushImmediate = undefined;
      this.flush();
    });
  }

  private flush(): void {
    const conn = this.conn;
    if (this.state !== 'ready' || conn === undefined) return;
    if (conn.needsDrain) {
      this.waitForDrain(conn);
      return;
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    let frames = 0;
    while (bytes < MAX_FLUSH_BYTES && frames < MAX_FLUSH_FRAMES) {
      const frame = this.queue.shift();
      if (frame === undefined) break;
      if (frame.request !== undefined) {
        if (frame.request.settled) continue;
        frame.request.written = true;
      }
      for (const part of frame.parts) parts.push(part);
      bytes += frame.bytes;
      frames++;
    }
    if (frames === 0) return;
    this.sentFrames += frames;
    const writable = conn.write(coalesce(parts));
    if (!writable) this.waitForDrain(conn);
    else this.scheduleFlush();
  }

  private waitForDrain(conn: FramedSocket): void {
    if (this.awaitingDrain) return;
    this.awaitingDrain = true;
    conn.whenWritable().then(
      () => {
        if (conn !== this.conn) return;
        this.awaitingDrain = false;
        this.scheduleFlush();
      },
      () => {
        // Closed: onConnectionClosed resets the flag and reconnects.
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // RPC

  private allocateRequestId(): number {
    // u32 ids wrap; skip ids still in flight (at most maxPendingRequests of them).
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = id === 0xffff_ffff ? 1 : id + 1;
      if (!this.pendingRequests.has(id)) return id;
    }
  }

  private settleRequest(pending: PendingRequest, result: Error | Uint8Array): void {
    if (pending.settled) return;
    pending.settled = true;
    clearTimeout(pending.timer);
    this.pendingRequests.delete(pending.id);
    if (result instanceof Error) pending.reject(result);
    else pending.resolve(result);
  }

  private onResponse(payload: Buffer): void {
    if (payload.length < 5) throw new FrameError('truncated', `Response of ${payload.length} bytes`);
    const id = payload.readUInt32LE(0);
    const status = payload[4]!;
    const pending = this.pendingRequests.get(id);
    // Unknown id: the request timed out already; its late answer is dropped.
    if (pending === undefined || !pending.written) return;
    const body = new Uint8Array(payload.subarray(5));
    if (status === 0) this.settleRequest(pending, body);
    else if (status === 1) {
      const reason = Buffer.from(body).toString('utf8');
      this.settleRequest(pending, new Error(`node ${this.options.peerId} failed the request: ${reason}`));
    } else throw new FrameError('bad-value', `Response status ${status}`);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots

  private async streamSnapshot(msg: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.state === 'closed') throw new Error('transport closed');
    const limits = this.options.limits;
    const conn = await this.waitReady(limits.snapshotConnectTimeoutMs);
    const streamId = this.nextStreamId;
    this.nextStreamId = streamId === 0xffff_ffff ? 1 : streamId + 1;
    let resolveAck!: () => void;
    let rejectAck!: (err: Error) => void;
    const ack = new Promise<void>((resolve, reject) => {
      resolveAck = resolve;
      rejectAck = reject;
    });
    ack.catch(() => undefined); // observed below; a failure before then must not be "unhandled"
    const active: ActiveSnapshot = { streamId, conn, ack, resolveAck, rejectAck, failure: undefined };
    this.activeSnapshot = active;
    try {
      const begin = encodeMessageParts(msg, STREAM_HEADER_BYTES);
      const beginPayloadBytes = totalBytes(begin) - FRAME_HEADER_BYTES;
      if (beginPayloadBytes > limits.maxFramePayloadBytes) throw new Error('snapshot message too large');
      writeFrameHeader(begin[0]!, 0, FrameKind.SnapshotBegin, beginPayloadBytes);
      begin[0]!.writeUInt32LE(streamId, FRAME_HEADER_BYTES);
      await this.writeStreamFrame(active, begin);
      try {
        for await (const chunk of chunks) {
          for (let offset = 0; offset < chunk.byteLength; offset += limits.snapshotChunkBytes) {
            const piece = chunk.subarray(offset, offset + limits.snapshotChunkBytes);
            const header = Buffer.allocUnsafe(STREAM_HEADER_BYTES);
            writeFrameHeader(header, 0, FrameKind.SnapshotChunk, 4 + piece.byteLength);
            header.writeUInt32LE(streamId, FRAME_HEADER_BYTES);
            await this.writeStreamFrame(active, [
              header,
              Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength),
            ]);
          }
        }
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        if (!conn.isClosed)
          conn.write([streamFrame(FrameKind.SnapshotAbort, streamId, Buffer.from(reason.slice(0, 512)))]);
        throw err;
      }
      await this.writeStreamFrame(active, [streamFrame(FrameKind.SnapshotEnd, streamId, new Uint8Array(0))]);
      let ackTimer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        ackTimer = setTimeout(
          () =>
            reject(
              new Error(
                `node ${this.options.peerId} did not ack the snapshot within ${limits.snapshotAckTimeoutMs} ms`,
              ),
            ),
          limits.snapshotAckTimeoutMs,
        );
      });
      try {
        await Promise.race([ack, timeout]);
      } finally {
        clearTimeout(ackTimer);
      }
    } finally {
      if (this.activeSnapshot === active) this.activeSnapshot = undefined;
    }
  }

  /** Writes one stream frame, then waits for 'drain' if the socket is full. */
  private async writeStreamFrame(active: ActiveSnapshot, parts: readonly Buffer[]): Promise<void> {
    if (active.failure !== undefined) throw active.failure;
    if (!active.conn.write(parts)) await active.conn.whenWritable();
    if (active.failure !== undefined) throw active.failure;
    this.sentFrames++;
  }

  private onSnapshotAck(payload: Buffer): void {
    if (payload.length < 5) throw new FrameError('truncated', `SnapshotAck of ${payload.length} bytes`);
    const streamId = payload.readUInt32LE(0);
    const status = payload[4]!;
    const active = this.activeSnapshot;
    if (active === undefined || active.streamId !== streamId) return; // stale ack of an aborted stream
    if (status === 0) {
      active.resolveAck();
    } else if (status === 1) {
      const reason = payload.subarray(5).toString('utf8');
      const err = new Error(`node ${this.options.peerId} failed to store the snapshot: ${reason}`);
      active.failure = err;
      active.rejectAck(err);
    } else {
      throw new FrameError('bad-value', `SnapshotAck status ${status}`);
    }
  }

  private failSnapshot(err: Error): void {
    const active = this.activeSnapshot;
    if (active === undefined || active.failure !== undefined) return;
    active.failure = err;
    active.rejectAck(err);
  }
}
