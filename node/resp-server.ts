/**
 * The Redis-protocol front door. Per connection: parse everything that arrived, start every
 * command (writes from all connections in one turn join one Raft proposal), and send the replies
 * in request order, as many as are ready, in one socket write.
 * Malformed input gets a RESP error after the replies owed, then the connection closes.
 */
import net from 'node:net';
import { RespParser, RespProtocolError, RespWriter } from '../src/resp/index.js';
import type { Reply } from './reply.js';

/** Per-connection state the executor may read and change (AUTH, QUIT). */
export interface ConnState {
  authed: boolean;
  closeAfterReply: boolean;
  readonly id: number;
  /**
   * The latest write started on this connection and not yet answered. Reads wait for it, so a
   * pipelined SET-then-GET reads its own write (Redis clients rely on per-connection order).
   */
  lastWrite: Promise<unknown> | undefined;
}

export interface RespExecutor {
  execute(args: Buffer[], conn: ConnState): Reply | Promise<Reply>;
}

export interface RespServerOptions {
  readonly maxBulkBytes: number;
  readonly maxClients: number;
  /** Commands started but not yet answered per connection; beyond it we stop reading (backpressure). */
  readonly maxPendingReplies: number;
  readonly requirePassword: boolean;
  readonly onConnectionsChanged?: (open: number) => void;
  readonly onProtocolError?: (message: string) => void;
}

export function writeReply(w: RespWriter, r: Reply): void {
  switch (r.t) {
    case 'simple':
      w.simpleString(r.s);
      return;
    case 'error':
      w.error(r.s);
      return;
    case 'int':
      w.integer(r.n);
      return;
    case 'bulk':
      w.bulk(r.b);
      return;
    case 'raw':
      w.raw(r.buf);
      return;
    case 'array':
      if (r.items === null) {
        w.nullArray();
        return;
      }
      w.arrayHeader(r.items.length);
      for (const item of r.items) writeReply(w, item);
      return;
  }
}

let nextConnId = 1;

export function newConnState(authed: boolean): ConnState {
  return { authed, closeAfterReply: false, id: nextConnId++, lastWrite: undefined };
}

class Connection {
  private readonly parser: RespParser;
  private readonly writer = new RespWriter();
  /** Replies owed, in request order; a slot is filled when its command finishes. */
  private readonly slots: (Reply | undefined)[] = [];
  private slotBase = 0;
  private protocolError: string | undefined;
  private paused = false;
  private closing = false;
  private flushScheduled = false;
  readonly state: ConnState;

  constructor(
    private readonly socket: net.Socket,
    private readonly executor: RespExecutor,
    private readonly opts: RespServerOptions,
  ) {
    this.parser = new RespParser({ maxBulkBytes: opts.maxBulkBytes });
    this.state = newConnState(!opts.requirePassword);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.parser.feed(chunk);
    const commands: Buffer[][] = [];
    const failure = this.parser.drain(commands);
    for (const args of commands) {
      if (this.closing) break;
      this.start(args);
    }
    if (failure) {
      this.protocolError = failure.message;
      this.opts.onProtocolError?.(failure.message);
      this.closing = true;
    }
    if (this.slots.length - this.slotBase >= this.opts.maxPendingReplies && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    this.flush();
  }

  private start(args: Buffer[]): void {
    const slot = this.slots.length;
    this.slots.push(undefined);
    let result: Reply | Promise<Reply>;
    try {
      result = this.executor.execute(args, this.state);
    } catch (e) {
      result = { t: 'error', s: `ERR internal error: ${(e as Error).message}` };
    }
    if (this.state.closeAfterReply) this.closing = true;
    if (result instanceof Promise) {
      result.then(
        (reply) => this.fill(slot, reply),
        (e: unknown) => this.fill(slot, { t: 'error', s: `ERR ${(e as Error).message}` }),
      );
    } else {
      this.slots[slot] = result;
    }
  }

  private fill(slot: number, reply: Reply): void {
    this.slots[slot] = reply;
    // Replies of one Raft entry resolve one microtask at a time: flush once after all of them
    // (one write syscall per connection per batch, not one per reply).
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Writes every reply that is ready, in order, in one socket write. */
  private flush(): void {
    let i = this.slotBase;
    while (i < this.slots.length && this.slots[i] !== undefined) {
      writeReply(this.writer, this.slots[i]!);
      this.slots[i] = undefined;
      i++;
    }
    this.slotBase = i;
    if (this.slotBase === this.slots.length) {
      // Everything answered: reset the slot array so it does not grow without bound.
      this.slots.length = 0;
      this.slotBase = 0;
    }
    const allAnswered = this.slots.length === 0;
    if (allAnswered && this.closing && this.protocolError) {
      this.writer.error(this.protocolError);
      this.protocolError = undefined;
    }
    if (this.writer.byteLength > 0 && !this.socket.destroyed) this.socket.write(this.writer.take());
    if (allAnswered && this.closing) {
      this.socket.end();
      return;
    }
    if (this.paused && this.slots.length - this.slotBase < this.opts.maxPendingReplies / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }
}

export function createRespServer(executor: RespExecutor, opts: RespServerOptions): net.Server {
  let open = 0;
  const server = net.createServer((socket) => {
    if (open >= opts.maxClients) {
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    open++;
    opts.onConnectionsChanged?.(open);
    socket.once('close', () => {
      open--;
      opts.onConnectionsChanged?.(open);
    });
    new Connection(socket, executor, opts);
  });
  return server;
}

export { RespProtocolError };
