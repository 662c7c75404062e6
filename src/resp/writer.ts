/**
 * RESP2 reply serializer into one growable buffer. Append every reply produced for one socket
 * read, then `take()` once and write the result: pipelined replies leave in one write.
 */

const CRLF = '\r\n';
const EMPTY = Buffer.alloc(0);
/** take() copies out replies up to this size and keeps the scratch buffer; larger ones hand it over. */
const COPY_OUT_MAX_BYTES = 64 * 1024;

export class RespWriter {
  private buf: Buffer;
  private len = 0;
  private readonly initialBytes: number;

  constructor(initialBytes = 16 * 1024) {
    if (!Number.isSafeInteger(initialBytes) || initialBytes < 16) {
      throw new Error('invariant: RespWriter initialBytes must be an integer >= 16');
    }
    this.initialBytes = initialBytes;
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes appended since the last take(). */
  get byteLength(): number {
    return this.len;
  }

  /** `+s\r\n`. CR/LF inside `s` become spaces so the reply stays one line. */
  simpleString(s: string): this {
    return this.line('+', s);
  }

  /** `-message\r\n`; `message` carries its own prefix (`ERR ...`, `MOVED ...`). */
  error(message: string): this {
    return this.line('-', message);
  }

  integer(n: number | bigint): this {
    if (typeof n === 'number' && !Number.isSafeInteger(n)) {
      throw new Error(`invariant: RESP integer must be a safe integer, got ${n}`);
    }
    return this.ascii(`:${n}${CRLF}`);
  }

  /** `$len\r\nbytes\r\n`; null is the nil bulk `$-1\r\n`. Strings are written as UTF-8. */
  bulk(value: Uint8Array | string | null): this {
    if (value === null) return this.ascii('$-1\r\n');
    if (typeof value === 'string') {
      const n = Buffer.byteLength(value, 'utf8');
      this.ascii(`$${n}${CRLF}`);
      this.ensure(n + 2);
      this.len += this.buf.write(value, this.len, n, 'utf8');
      return this.ascii(CRLF);
    }
    const n = value.length;
    this.ascii(`$${n}${CRLF}`);
    this.ensure(n + 2);
    this.buf.set(value, this.len);
    this.len += n;
    return this.ascii(CRLF);
  }

  nullBulk(): this {
    return this.ascii('$-1\r\n');
  }

  /** `*n\r\n`; the caller then appends n replies. */
  arrayHeader(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new Error(`invariant: RESP array length must be >= 0, got ${n}`);
    return this.ascii(`*${n}${CRLF}`);
  }

  /** `*-1\r\n` */
  nullArray(): this {
    return this.ascii('*-1\r\n');
  }

  /** Appends bytes that are already RESP (e.g. a reply forwarded from the leader). */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** Everything appended since the last take(), as one buffer the caller may keep. */
  take(): Buffer {
    const n = this.len;
    if (n === 0) return EMPTY;
    this.len = 0;
    if (n <= COPY_OUT_MAX_BYTES) {
      const out = Buffer.allocUnsafe(n);
      this.buf.copy(out, 0, 0, n);
      return out;
    }
    const out = this.buf.subarray(0, n);
    this.buf = Buffer.allocUnsafe(this.initialBytes);
    return out;
  }

  private line(prefix: string, s: string): this {
    const clean = s.includes('\r') || s.includes('\n') ? s.replace(/[\r\n]/g, ' ') : s;
    const n = Buffer.byteLength(clean, 'utf8');
    this.ensure(n + 3);
    this.buf[this.len++] = prefix.charCodeAt(0);
    this.len += this.buf.write(clean, this.len, n, 'utf8');
    this.buf[this.len++] = 0x0d;
    this.buf[this.len++] = 0x0a;
    return this;
  }

  private ascii(s: string): this {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, s.length, 'latin1');
    return this;
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
