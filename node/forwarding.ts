/**
 * Follower → leader forwarding of client writes over the authenticated peer transport.
 * Every command a follower forwards in one turn travels in ONE request (a run of RESP arrays);
 * the leader executes them all (its write batcher makes them one Raft entry) and answers with
 * each reply length-prefixed, in order. Bounded per request in commands and bytes.
 */
import { RespParser, RespWriter } from '../src/resp/index.js';
import type { Reply } from './reply.js';

export interface RequestTransport {
  request(to: number, payload: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
}

interface Pending {
  readonly args: Buffer[];
  readonly resolve: (r: Reply) => void;
}

const MAX_COMMANDS_PER_REQUEST = 4096;
const MAX_BYTES_PER_REQUEST = 8 * 1024 * 1024;
const MAX_QUEUED = 100_000;

export function encodeCommands(commands: readonly Buffer[][]): Buffer {
  const w = new RespWriter();
  for (const args of commands) {
    w.arrayHeader(args.length);
    for (const a of args) w.bulk(a);
  }
  return w.take();
}

export function encodeReplies(replies: readonly Buffer[]): Buffer {
  let size = 0;
  for (const r of replies) size += 4 + r.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const r of replies) {
    out.writeUInt32LE(r.length, pos);
    r.copy(out, pos + 4);
    pos += 4 + r.length;
  }
  return out;
}

export function decodeReplies(buf: Buffer, expected: number): Buffer[] {
  const replies: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new Error('truncated forwarded reply');
    const len = buf.readUInt32LE(pos);
    if (pos + 4 + len > buf.length) throw new Error('truncated forwarded reply');
    replies.push(buf.subarray(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  if (replies.length !== expected)
    throw new Error(`leader answered ${replies.length} of ${expected} commands`);
  return replies;
}

/** Parses every command of a forwarded request; throws on malformed input. */
export function decodeCommands(payload: Uint8Array, maxBulkBytes: number): Buffer[][] {
  const parser = new RespParser({ maxBulkBytes });
  parser.feed(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  const out: Buffer[][] = [];
  const failure = parser.drain(out);
  if (failure || parser.inFrame)
    throw new Error(`malformed forwarded request: ${failure?.message ?? 'truncated'}`);
  return out;
}

/**
 * A forwarded write's reply as a Reply for HTTP (RESP clients get the raw bytes). Write replies
 * are scalar: +simple, -error, :integer, $bulk or $-1.
 */
export function scalarReplyOf(raw: Buffer): Reply {
  const text = raw.toString('latin1');
  const eol = text.indexOf('\r\n');
  const head = text.slice(1, eol);
  switch (text[0]) {
    case '+':
      return { t: 'simple', s: head };
    case '-':
      return { t: 'error', s: head };
    case ':':
      return { t: 'int', n: Number(head) };
    case '$': {
      const len = Number(head);
      return { t: 'bulk', b: len < 0 ? null : raw.subarray(eol + 2, eol + 2 + len) };
    }
    default:
      return { t: 'raw', buf: raw };
  }
}

export class ForwardBatcher {
  private readonly queues = new Map<number, Pending[]>();
  private queued = 0;
  private scheduled = false;

  constructor(
    private readonly transport: RequestTransport,
    private readonly timeoutMs: number,
  ) {}

  forward(leader: number, args: Buffer[]): Promise<Reply> {
    if (this.queued >= MAX_QUEUED) {
      return Promise.resolve({ t: 'error', s: 'TRYAGAIN too many writes being forwarded; slow down' });
    }
    return new Promise((resolve) => {
      const q = this.queues.get(leader);
      if (q) q.push({ args, resolve });
      else this.queues.set(leader, [{ args, resolve }]);
      this.queued++;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    for (const [leader, all] of this.queues) {
      this.queues.delete(leader);
      this.queued -= all.length;
      let start = 0;
      while (start < all.length) {
        let end = start;
        let bytes = 0;
        while (end < all.length && end - start < MAX_COMMANDS_PER_REQUEST) {
          const size = all[end]!.args.reduce((n, a) => n + a.length + 16, 16);
          if (end > start && bytes + size > MAX_BYTES_PER_REQUEST) break;
          bytes += size;
          end++;
        }
        void this.send(leader, all.slice(start, end));
        start = end;
      }
    }
  }

  private async send(leader: number, batch: Pending[]): Promise<void> {
    try {
      const raw = await this.transport.request(
        leader,
        encodeCommands(batch.map((p) => p.args)),
        this.timeoutMs,
      );
      const replies = decodeReplies(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), batch.length);
      batch.forEach((p, i) => p.resolve({ t: 'raw', buf: replies[i]! }));
    } catch (e) {
      // The leader may or may not have applied them: say so rather than guess.
      const reply: Reply = {
        t: 'error',
        s: `TIMEOUT forwarding to leader ${leader} failed, outcome unknown: ${(e as Error).message}`,
      };
      for (const p of batch) p.resolve(reply);
    }
  }
}
