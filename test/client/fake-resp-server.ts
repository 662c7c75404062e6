/**
 * A tiny scripted RESP server for client tests: each node answers from a handler, so a test can
 * play a follower (MOVED), a node without leader (TRYAGAIN), or a node that dies mid-command.
 * Parses only what ioredis sends (arrays of bulk strings).
 */
import net from 'node:net';

export type Handler = (argv: string[], socket: net.Socket) => string | null;

export const ok = '+OK\r\n';
export const bulk = (value: string | null) =>
  value === null ? '$-1\r\n' : `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
export const integer = (value: number) => `:${value}\r\n`;
export const error = (message: string) => `-${message}\r\n`;
export const array = (...items: string[]) => `*${items.length}\r\n${items.join('')}`;

function parseCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let offset = 0;
  for (;;) {
    const start = offset;
    if (buffer[offset] !== 0x2a) break; // '*'
    const lineEnd = buffer.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const count = Number(buffer.subarray(offset + 1, lineEnd).toString());
    offset = lineEnd + 2;
    const argv: string[] = [];
    let complete = true;
    for (let i = 0; i < count; i++) {
      const headerEnd = buffer.indexOf('\r\n', offset);
      if (headerEnd < 0) {
        complete = false;
        break;
      }
      const length = Number(buffer.subarray(offset + 1, headerEnd).toString());
      if (buffer.length < headerEnd + 2 + length + 2) {
        complete = false;
        break;
      }
      argv.push(buffer.subarray(headerEnd + 2, headerEnd + 2 + length).toString());
      offset = headerEnd + 2 + length + 2;
    }
    if (!complete) {
      offset = start;
      break;
    }
    commands.push(argv);
  }
  return { commands, rest: buffer.subarray(offset) };
}

export class FakeRespServer {
  readonly received: string[][] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly port: number,
    public handler: Handler,
  ) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let pending: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        const parsed = parseCommands(Buffer.concat([pending, chunk]));
        pending = parsed.rest;
        for (const argv of parsed.commands) {
          this.received.push(argv);
          const reply = this.handler(argv, socket);
          if (reply !== null) socket.write(reply);
        }
      });
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Commands received other than RAFT.LEADER lookups. */
  get commands(): string[][] {
    return this.received.filter((argv) => argv[0]?.toUpperCase() !== 'RAFT.LEADER');
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Scripted servers for one describe block: `start` listens and remembers the server,
 * `closeAll` (for afterEach) stops every server started since.
 */
export function fakeServerPool(): {
  start(port: number, handler: Handler): Promise<FakeRespServer>;
  closeAll(): Promise<void>;
} {
  const servers: FakeRespServer[] = [];
  return {
    async start(port, handler) {
      const server = new FakeRespServer(port, handler);
      await server.listen();
      servers.push(server);
      return server;
    },
    async closeAll() {
      await Promise.all(servers.splice(0).map((s) => s.close()));
    },
  };
}
