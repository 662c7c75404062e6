/**
 * Frames on a peer TCP connection: `length u32 LE | kind u8 | payload`, where `length` counts the
 * payload bytes only (not the 5-byte header). The decoder is streaming: TCP may split or merge
 * frames at any byte, and the decoder must produce the same frames for every split.
 */
import { Buffer } from 'node:buffer';

import { FrameError } from './frame-error.js';

export const FRAME_HEADER_BYTES = 5;

/** Largest payload by default: a 64 MiB Raft message plus slack for its header and entry heads. */
export const DEFAULT_MAX_FRAME_PAYLOAD_BYTES = 64 * 1024 * 1024 + 64 * 1024;

/** Hard ceiling: the length field is a u32. */
const MAX_U32 = 0xffff_ffff;

export const FrameKind = {
  // Handshake (see handshake.ts): dialer → listener Hello, Auth; listener → dialer Challenge, Accept.
  Hello: 1,
  Challenge: 2,
  Auth: 3,
  Accept: 4,
  /** One encoded Raft Message (codec.ts). */
  Message: 10,
  /** streamId u32 | encoded Snapshot Message: a snapshot stream starts. */
  SnapshotBegin: 20,
  /** streamId u32 | bytes of the snapshot. */
  SnapshotChunk: 21,
  /** streamId u32: every chunk was sent. */
  SnapshotEnd: 22,
  /** streamId u32 | utf8 reason: the sender gave up; discard what arrived. */
  SnapshotAbort: 23,
  /** Listener → dialer. streamId u32 | status u8 (0 stored, 1 failed) | utf8 reason. */
  SnapshotAck: 24,
  /** requestId u32 | payload. */
  Request: 30,
  /** Listener → dialer. requestId u32 | status u8 (0 ok, 1 error) | payload or utf8 error. */
  Response: 31,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Writes the 5-byte header for a payload of `payloadBytes` at `offset`. */
export function writeFrameHeader(buf: Buffer, offset: number, kind: FrameKind, payloadBytes: number): void {
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > MAX_U32) {
    throw new Error(`invariant: frame payload of ${payloadBytes} bytes does not fit a u32 length`);
  }
  buf.writeUInt32LE(payloadBytes, offset);
  buf[offset + 4] = kind;
}

export function frameHeader(kind: FrameKind, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, kind, payloadBytes);
  return header;
}

/** A whole frame in one buffer (payload copied). For small control frames. */
export function encodeFrame(kind: FrameKind, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(frame, 0, kind, payload.byteLength);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export type FrameHandler = (kind: number, payload: Buffer) => void;

/**
 * Streaming frame decoder. Feed it socket chunks with push(); it calls the handler once per
 * complete frame. Memory is bounded by the bytes actually received: a declared length is checked
 * against `maxPayloadBytes` at once, but nothing is allocated for it until the whole frame is here.
 * The payload handed out may be a view into a received chunk; chunks are never reused by Node.
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private offset = 0;
  private bufferedBytes = 0;
  /** Header of the frame being assembled, once its 5 bytes have arrived. */
  private pendingPayloadBytes = -1;
  private pendingKind = 0;
  private stopped = false;

  /** Limit on one payload; may be raised after authentication (tight before it). */
  maxPayloadBytes: number;

  constructor(maxPayloadBytes: number = DEFAULT_MAX_FRAME_PAYLOAD_BYTES) {
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 0 || maxPayloadBytes > MAX_U32) {
      throw new Error(`invariant: maxPayloadBytes ${maxPayloadBytes} out of range`);
    }
    this.maxPayloadBytes = maxPayloadBytes;
  }

  /** Bytes received but not yet handed out as frames. */
  get buffered(): number {
    return this.bufferedBytes;
  }

  /** Drop everything and ignore further input (the connection is being closed). */
  stop(): void {
    this.stopped = true;
    this.chunks.length = 0;
    this.bufferedBytes = 0;
  }

  /**
   * Consumes `chunk`, calling `onFrame` for each complete frame. Throws FrameError when a header
   * declares a payload above the limit; the caller must then drop the connection.
   */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    if (this.stopped || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    while (!this.stopped) {
      if (this.pendingPayloadBytes < 0) {
        if (this.bufferedBytes < FRAME_HEADER_BYTES) return;
        const header = this.take(FRAME_HEADER_BYTES);
        const payloadBytes = header.readUInt32LE(0);
        if (payloadBytes > this.maxPayloadBytes) {
          this.stop();
          throw new FrameError(
            'too-large',
            `frame declares ${payloadBytes} payload bytes, limit ${this.maxPayloadBytes}`,
          );
        }
        this.pendingPayloadBytes = payloadBytes;
        this.pendingKind = header[4]!;
      }
      if (this.bufferedBytes < this.pendingPayloadBytes) return;
      const payload = this.take(this.pendingPayloadBytes);
      const kind = this.pendingKind;
      this.pendingPayloadBytes = -1;
      onFrame(kind, payload);
    }
  }

  /** Removes and returns the next `length` buffered bytes: a view when they sit in one chunk. */
  private take(length: number): Buffer {
    const first = this.chunks[0];
    if (length === 0) return Buffer.alloc(0);
    if (first === undefined) throw new Error('invariant: take() with no buffered chunk');
    if (first.length - this.offset >= length) {
      const view = first.subarray(this.offset, this.offset + length);
      this.advance(length);
      return view;
    }
    const out = Buffer.allocUnsafe(length);
    let written = 0;
    while (written < length) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new Error('invariant: take() ran out of buffered bytes');
      const n = Math.min(length - written, chunk.length - this.offset);
      chunk.copy(out, written, this.offset, this.offset + n);
      written += n;
      this.advance(n);
    }
    return out;
  }

  private advance(length: number): void {
    this.offset += length;
    this.bufferedBytes -= length;
    const first = this.chunks[0];
    if (first !== undefined && this.offset === first.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
