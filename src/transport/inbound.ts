/**
 * One connection a peer dialed to us. It first proves the peer knows the cluster secret
 * (handshake.ts); until then nothing it sends is delivered and frames are limited to a few
 * hundred bytes. Afterwards it carries the authenticated peer id and delivers what the peer
 * initiates: Raft messages, snapshot streams, RPC requests (answered on the same socket).
 *
 * Any protocol violation — bad frame, wrong kind, a message whose `from` is not the
 * authenticated id — closes the connection; the dialer reconnects, Raft retries.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

import { MessageType, type Message, type NodeId } from '../raft/types.js';
import { ChunkStream } from './chunk-stream.js';
import { decodeMessage } from './codec.js';
import { FrameError } from './frame-error.js';
import { FramedSocket } from './framed-socket.js';
import { FRAME_HEADER_BYTES, FrameKind, encodeFrame, writeFrameHeader } from './framing.js';
import { MAX_HANDSHAKE_FRAME_BYTES, ServerHandshake } from './handshake.js';

export interface InboundOptions {
  readonly selfId: NodeId;
  readonly secret: Buffer;
  readonly isMember: (id: NodeId) => boolean;
  readonly maxFramePayloadBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxConcurrentRequests: number;
  readonly snapshotBufferBytes: number;
  readonly log: (line: string) => void;
  readonly onAuthenticated: (conn: InboundConnection) => void;
  readonly onClosed: (conn: InboundConnection) => void;
  readonly onMessage: (msg: Message) => void;
  readonly onSnapshot:
    ((from: NodeId, msg: Message, chunks: AsyncIterable<Uint8Array>) => Promise<void>) | undefined;
  readonly onRequest: ((from: NodeId, payload: Uint8Array) => Promise<Uint8Array>) | undefined;
}

/** Cap on an error text sent back to a peer. */
const MAX_REASON_BYTES = 1024;

interface ReceivingSnapshot {
  readonly streamId: number;
  readonly stream: ChunkStream;
  /** SnapshotEnd or SnapshotAbort arrived: no more frames for this stream (it is no longer open). */
  finished: boolean;
  aborted: boolean;
  /** The host's onSnapshot settled: undefined while running, '' on success, else the reason. */
  failure: string | undefined;
  ackSent: boolean;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readStreamId(payload: Buffer, what: string): number {
  if (payload.length < 4) throw new FrameError('truncated', `${what} of ${payload.length} bytes`);
  return payload.readUInt32LE(0);
}

export class InboundConnection {
  private state: 'hello' | 'auth' | 'ready' | 'closed' = 'hello';
  private peer: NodeId = 0;
  private readonly conn: FramedSocket;
  private readonly handshake: ServerHandshake;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** The open snapshot stream (Begin seen, End/Abort not yet); at most one at a time. */
  private snapshot: ReceivingSnapshot | undefined;
  private inflightRequests = 0;

  constructor(
    socket: Socket,
    private readonly options: InboundOptions,
  ) {
    this.handshake = new ServerHandshake(options.selfId, options.secret, options.isMember);
    this.conn = new FramedSocket(socket, {
      maxPayloadBytes: MAX_HANDSHAKE_FRAME_BYTES,
      onFrame: (kind, payload) => this.onFrame(kind, payload),
      onClose: (reason) => this.onClose(reason),
    });
    this.handshakeTimer = setTimeout(
      () => this.conn.destroy(`not authenticated within ${options.handshakeTimeoutMs} ms`),
      options.handshakeTimeoutMs,
    );
  }

  /** The authenticated peer id; 0 until the handshake completed. */
  get peerId(): NodeId {
    return this.peer;
  }

  get authenticated(): boolean {
    return this.state === 'ready';
  }

  close(reason: string): void {
    this.conn.destroy(reason);
  }

  private onFrame(kind: number, payload: Buffer): void {
    switch (this.state) {
      case 'hello':
        if (kind !== FrameKind.Hello) throw new FrameError('bad-kind', `frame kind ${kind} before Hello`);
        this.conn.write([encodeFrame(FrameKind.Challenge, this.handshake.onHello(payload))]);
        this.state = 'auth';
        return;
      case 'auth':
        if (kind !== FrameKind.Auth) throw new FrameError('bad-kind', `frame kind ${kind} before Auth`);
        this.peer = this.handshake.onAuth(payload);
        clearTimeout(this.handshakeTimer);
        this.handshakeTimer = undefined;
        this.state = 'ready';
        this.conn.maxPayloadBytes = this.options.maxFramePayloadBytes;
        this.conn.write([encodeFrame(FrameKind.Accept, new Uint8Array(0))]);
        this.options.log(`transport: node ${this.peer} connected to us`);
        this.options.onAuthenticated(this);
        return;
      case 'ready':
        this.onReadyFrame(kind, payload);
        return;
      case 'closed':
        return;
    }
  }

  private onReadyFrame(kind: number, payload: Buffer): void {
    switch (kind) {
      case FrameKind.Message:
        this.deliver(this.decodeFromPeer(payload));
        return;
      case FrameKind.SnapshotBegin:
        this.onSnapshotBegin(
          readStreamId(payload, 'SnapshotBegin'),
          this.decodeFromPeer(payload.subarray(4)),
        );
        return;
      case FrameKind.SnapshotChunk:
        this.streamFor(readStreamId(payload, 'SnapshotChunk')).stream.push(payload.subarray(4));
        return;
      case FrameKind.SnapshotEnd:
        this.onSnapshotFinished(this.streamFor(readStreamId(payload, 'SnapshotEnd')), false, '');
        return;
      case FrameKind.SnapshotAbort:
        this.onSnapshotFinished(
          this.streamFor(readStreamId(payload, 'SnapshotAbort')),
          true,
          payload.subarray(4).toString('utf8'),
        );
        return;
      case FrameKind.Request:
        this.onRequest(readStreamId(payload, 'Request'), new Uint8Array(payload.subarray(4)));
        return;
      default:
        throw new FrameError('bad-kind', `frame kind ${kind} on an inbound connection`);
    }
  }

  /** Decodes a message and checks it is really from the authenticated peer, and for us. */
  private decodeFromPeer(bytes: Buffer): Message {
    const msg = decodeMessage(bytes);
    if (msg.from !== this.peer) {
      throw new FrameError(
        'bad-value',
        `message claims to be from node ${msg.from} on node ${this.peer}'s connection`,
      );
    }
    if (msg.to !== this.options.selfId) {
      throw new FrameError('bad-value', `message for node ${msg.to} reached node ${this.options.selfId}`);
    }
    return msg;
  }

  private deliver(msg: Message): void {
    try {
      this.options.onMessage(msg);
    } catch (err) {
      // The host's bug, not the peer's: keep the connection, say so.
      this.options.log(`transport: onMessage threw on a message from node ${this.peer}: ${reasonOf(err)}`);
    }
  }

  private onClose(reason: string): void {
    if (this.state === 'closed') return;
    const wasAuthenticated = this.state === 'ready';
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const receiving = this.snapshot;
    if (receiving !== undefined) {
      receiving.stream.fail(new Error(`snapshot stream from node ${this.peer} broke: ${reason}`));
    }
    this.snapshot = undefined;
    const who = wasAuthenticated ? `node ${this.peer}` : `unauthenticated ${this.describeRemote()}`;
    this.options.log(`transport: inbound connection from ${who} closed (${reason})`);
    this.options.onClosed(this);
  }

  private describeRemote(): string {
    const claimed = this.handshake.claimedId;
    const address = `${this.conn.socket.remoteAddress ?? '?'}:${this.conn.socket.remotePort ?? '?'}`;
    return claimed === 0 ? address : `${address} (claiming node ${claimed})`;
  }

  private write(frame: Buffer): void {
    // Answers are small and bounded in number (one per request/stream), so they skip the drain wait.
    this.conn.write([frame]);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots

  private streamFor(streamId: number): ReceivingSnapshot {
    const receiving = this.snapshot;
    if (receiving === undefined || receiving.streamId !== streamId) {
      throw new FrameError('bad-kind', `snapshot frame for stream ${streamId}, which is not open`);
    }
    return receiving;
  }

  private onSnapshotBegin(streamId: number, msg: Message): void {
    if (this.snapshot !== undefined) {
      throw new FrameError(
        'bad-kind',
        `snapshot stream ${streamId} began while stream ${this.snapshot.streamId} is open`,
      );
    }
    if (msg.type !== MessageType.Snapshot || msg.snapshot === undefined) {
      throw new FrameError(
        'bad-value',
        `SnapshotBegin carries a type-${msg.type} message without snapshot meta`,
      );
    }
    const stream = new ChunkStream({
      highWaterBytes: this.options.snapshotBufferBytes,
      onPressure: (paused) => (paused ? this.conn.pauseReading() : this.conn.resumeReading()),
    });
    const receiving: ReceivingSnapshot = {
      streamId,
      stream,
      finished: false,
      aborted: false,
      failure: undefined,
      ackSent: false,
    };
    this.snapshot = receiving;
    const handler = this.options.onSnapshot;
    const from = this.peer;
    const run =
      handler === undefined
        ? Promise.reject(new Error('this node does not accept snapshots'))
        : Promise.resolve().then(() => handler(from, msg, stream));
    run.then(
      () =>
        this.onSnapshotHandled(
          receiving,
          receiving.finished ? '' : 'the host returned before the last chunk',
        ),
      (err: unknown) => this.onSnapshotHandled(receiving, reasonOf(err) || 'failed'),
    );
  }

  private onSnapshotFinished(receiving: ReceivingSnapshot, aborted: boolean, reason: string): void {
    receiving.finished = true;
    receiving.aborted = aborted;
    // No more frames for this stream; the host may still be storing it (its ack comes later).
    if (this.snapshot === receiving) this.snapshot = undefined;
    if (aborted) receiving.stream.fail(new Error(`node ${this.peer} aborted the snapshot: ${reason}`));
    else receiving.stream.end();
    this.maybeAckSnapshot(receiving);
  }

  private onSnapshotHandled(receiving: ReceivingSnapshot, failure: string): void {
    receiving.failure = failure;
    // Whatever the host did not read is dropped, and a paused socket resumes.
    receiving.stream.cancel();
    this.maybeAckSnapshot(receiving);
  }

  /**
   * Acks once the outcome is known: a failure at once (the sender stops streaming), a success only
   * after SnapshotEnd. An aborted stream gets no ack: its sender has given up already.
   */
  private maybeAckSnapshot(receiving: ReceivingSnapshot): void {
    const failure = receiving.failure;
    if (failure === undefined || receiving.ackSent || receiving.aborted) return;
    if (failure === '' && !receiving.finished) return;
    receiving.ackSent = true;
    if (failure !== '') this.options.log(`transport: snapshot from node ${this.peer} failed: ${failure}`);
    const reason = Buffer.from(failure.slice(0, MAX_REASON_BYTES), 'utf8');
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 5 + reason.length);
    writeFrameHeader(frame, 0, FrameKind.SnapshotAck, 5 + reason.length);
    frame.writeUInt32LE(receiving.streamId, FRAME_HEADER_BYTES);
    frame[FRAME_HEADER_BYTES + 4] = failure === '' ? 0 : 1;
    reason.copy(frame, FRAME_HEADER_BYTES + 5);
    this.write(frame);
  }

  // -------------------------------------------------------------------------------------------
  // RPC

  private onRequest(requestId: number, payload: Uint8Array): void {
    const handler = this.options.onRequest;
    if (handler === undefined) {
      this.respond(requestId, new Error('this node does not serve requests'));
      return;
    }
    if (this.inflightRequests >= this.options.maxConcurrentRequests) {
      this.respond(requestId, new Error('busy: too many concurrent requests'));
      return;
    }
    this.inflightRequests++;
    const from = this.peer;
    Promise.resolve()
      .then(() => handler(from, payload))
      .then(
        (answer) => this.respond(requestId, answer),
        (err: unknown) => this.respond(requestId, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => this.inflightRequests--);
  }

  private respond(requestId: number, result: Uint8Array | Error): void {
    if (this.state === 'closed') return;
    let status = 0;
    let body: Uint8Array;
    if (result instanceof Error) {
      status = 1;
      body = Buffer.from(result.message.slice(0, MAX_REASON_BYTES), 'utf8');
    } else if (5 + result.byteLength > this.options.maxFramePayloadBytes) {
      status = 1;
      body = Buffer.from(`response of ${result.byteLength} bytes exceeds the frame limit`, 'utf8');
    } else {
      body = result;
    }
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 5 + body.byteLength);
    writeFrameHeader(frame, 0, FrameKind.Response, 5 + body.byteLength);
    frame.writeUInt32LE(requestId, FRAME_HEADER_BYTES);
    frame[FRAME_HEADER_BYTES + 4] = status;
    frame.set(body, FRAME_HEADER_BYTES + 5);
    this.write(frame);
  }
}
