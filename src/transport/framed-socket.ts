/**
 * A TCP socket seen as a sequence of frames: decodes incoming frames (framing.ts), writes whole
 * frames, exposes write backpressure, and reports closing exactly once with a reason.
 */
import type { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

import { FrameDecoder, type FrameHandler } from './framing.js';

export interface FramedSocketOptions {
  readonly maxPayloadBytes: number;
  /** A frame arrived. Throwing (FrameError, HandshakeError, ...) closes the socket with that reason. */
  readonly onFrame: FrameHandler;
  /** The socket is closed (by either side); called once. */
  readonly onClose: (reason: string) => void;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class FramedSocket {
  private readonly decoder: FrameDecoder;
  private closed = false;
  private closeReason = '';
  private drainWaiters: Waiter[] = [];

  constructor(
    readonly socket: Socket,
    private readonly options: FramedSocketOptions,
  ) {
    this.decoder = new FrameDecoder(options.maxPayloadBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, options.onFrame);
      } catch (err) {
        this.destroy(err instanceof Error ? err.message : String(err));
      }
    });
    socket.on('drain', () => this.wakeDrainWaiters());
    socket.on('error', (err: Error) => {
      if (this.closeReason === '') this.closeReason = err.message;
    });
    socket.on('close', () => this.finish('closed by peer'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  set maxPayloadBytes(limit: number) {
    this.decoder.maxPayloadBytes = limit;
  }

  /** Whether the socket's buffer is over its high-water mark (write more only after whenWritable). */
  get needsDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /**
   * Writes buffers that together form whole frames, in one syscall where possible (cork). Returns
   * false when the caller should wait for whenWritable() before writing more. Frames written by
   * one call are never interleaved with another caller's frames.
   */
  write(buffers: readonly Uint8Array[]): boolean {
    if (this.closed) return false;
    if (buffers.length === 1) return this.socket.write(buffers[0]!);
    this.socket.cork();
    for (const buffer of buffers) this.socket.write(buffer);
    this.socket.uncork();
    return !this.socket.writableNeedDrain;
  }

  /** Resolves when the socket can take more; rejects if it closes first. */
  whenWritable(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`connection closed: ${this.closeReason}`));
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  pauseReading(): void {
    if (!this.closed) this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  destroy(reason: string): void {
    if (this.closed) return;
    if (this.closeReason === '') this.closeReason = reason;
    this.decoder.stop();
    this.socket.destroy();
    this.finish(reason);
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private finish(fallbackReason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeReason === '') this.closeReason = fallbackReason;
    this.decoder.stop();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    const err = new Error(`connection closed: ${this.closeReason}`);
    for (const waiter of waiters) waiter.reject(err);
    this.options.onClose(this.closeReason);
  }
}
