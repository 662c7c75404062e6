/**
 * Streaming RESP2 request parser (server side): multibulk (`*N\r\n$len\r\n...`) and inline commands.
 *
 * Usage per socket read: `parser.feed(chunk)`, then call `parser.next()` until it returns null.
 * Each command is an array of Buffer arguments. Arguments are views (subarray) of the fed chunks
 * whenever the bytes arrived in one chunk; bytes are copied only when a frame spans chunks.
 * Contract for callers: never mutate a chunk after feeding it (Node's socket chunks are fresh
 * buffers, so passing them straight through is fine), and copy an argument before keeping it for
 * long (a view keeps its whole chunk alive).
 *
 * Malformed input: `next()` first returns every command that precedes the bad bytes, then throws
 * a RespProtocolError whose message is Redis's reply text (`ERR Protocol error: ...`); the
 * connection is then to be closed. The error is sticky: later calls throw it again.
 *
 * Memory: nothing is allocated from a declared length before the bytes arrive; bytes held for an
 * incomplete command are bounded by maxFrameBytes (plus the one chunk fed since the last next()).
 */

export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
}

export interface RespParserOptions {
  /** Largest bulk argument accepted (Redis proto-max-bulk-len). The node passes --max-value-bytes. */
  readonly maxBulkBytes?: number;
  /** Largest argument count of one multibulk command. */
  readonly maxArgs?: number;
  /** Longest inline command line, and longest `*N` / `$N` header line. */
  readonly maxInlineBytes?: number;
  /**
   * Bound on the memory of one command in progress: its bytes plus ARG_OVERHEAD_BYTES per argument.
   * Default: max(128 MiB, maxBulkBytes + 1 MiB).
   */
  readonly maxFrameBytes?: number;
}

export const DEFAULT_MAX_BULK_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_ARGS = 1024 * 1024;
export const DEFAULT_MAX_INLINE_BYTES = 64 * 1024;
/** Approximate heap cost of one argument view (Buffer object + array slot), counted against maxFrameBytes. */
export const ARG_OVERHEAD_BYTES = 64;

const CR = 0x0d;
const LF = 0x0a;
const STAR = 0x2a;
const DOLLAR = 0x24;
const EMPTY = Buffer.alloc(0);

/** Sentinel for "not a valid integer" from parseLongLong. */
const INVALID = Number.NaN;

export class RespParser {
  readonly maxBulkBytes: number;
  readonly maxArgs: number;
  readonly maxInlineBytes: number;
  readonly maxFrameBytes: number;

  /** Current buffer and read position in it: bytes before `pos` are consumed. */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /**
   * Chunks fed while the command at `pos` is incomplete. They are joined with the rest of `buf`
   * only once enough bytes arrived to make progress, so a large bulk arriving in many small
   * chunks is copied once, not once per chunk.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingHasLf = false;
  /** What the parser waits for: a full line (header or inline) or `needBytes` bytes from `pos`. */
  private waitingForLine = true;
  private needBytes = 0;

  /** The multibulk command in progress (null between commands). */
  private args: Buffer[] | null = null;
  private argsRemaining = 0;
  /** Length of the bulk whose `$len` header was consumed; -1 while expecting a header. */
  private bulkLen = -1;
  private frameBytes = 0;

  private failure: RespProtocolError | null = null;

  constructor(options: RespParserOptions = {}) {
    this.maxBulkBytes = options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    this.maxArgs = options.maxArgs ?? DEFAULT_MAX_ARGS;
    this.maxInlineBytes = options.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES;
    this.maxFrameBytes =
      options.maxFrameBytes ?? Math.max(128 * 1024 * 1024, this.maxBulkBytes + 1024 * 1024);
    for (const [name, v] of [
      ['maxBulkBytes', this.maxBulkBytes],
      ['maxArgs', this.maxArgs],
      ['maxInlineBytes', this.maxInlineBytes],
      ['maxFrameBytes', this.maxFrameBytes],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1)
        throw new Error(`invariant: RespParser ${name} must be a positive integer`);
    }
  }

  /** Bytes held by the parser that are not yet returned as commands (for metrics and tests). */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.pendingBytes;
  }

  /** True when a command has been partly received (useful to tell a clean close from a torn one). */
  get inFrame(): boolean {
    return this.args !== null || this.bufferedBytes > 0;
  }

  /** Appends bytes read from the socket. After a protocol error, input is ignored. */
  feed(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    if (this.pos >= this.buf.length && this.pendingBytes === 0) {
      this.buf = chunk;
      this.pos = 0;
      return;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.waitingForLine && !this.pendingHasLf && chunk.indexOf(LF) !== -1) this.pendingHasLf = true;
  }

  /**
   * The next complete command, or null when more bytes are needed.
   * Throws RespProtocolError (only that) once the input is malformed.
   */
  next(): Buffer[] | null {
    if (this.failure !== null) throw this.failure;
    for (;;) {
      if (this.pendingBytes > 0 && this.canProgress()) this.join();
      const cmd = this.parse();
      if (cmd !== null) return cmd;
      // parse() may have learned a new wait condition that the pending bytes already satisfy;
      // after a join pendingBytes is 0, so this loops at most twice.
      if (this.pendingBytes === 0 || !this.canProgress()) return null;
    }
  }

  /** Drains every complete command into `out`; returns the protocol error instead of throwing it. */
  drain(out: Buffer[][]): RespProtocolError | null {
    for (;;) {
      let cmd: Buffer[] | null;
      try {
        cmd = this.next();
      } catch (e) {
        if (e instanceof RespProtocolError) return e;
        throw e;
      }
      if (cmd === null) return null;
      out.push(cmd);
    }
  }

  private canProgress(): boolean {
    const available = this.buf.length - this.pos + this.pendingBytes;
    if (this.waitingForLine) return this.pendingHasLf || available > this.maxInlineBytes;
    return available >= this.needBytes;
  }

  private join(): void {
    const rest = this.buf.subarray(this.pos);
    const parts = rest.length > 0 ? [rest, ...this.pending] : this.pending;
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, rest.length + this.pendingBytes);
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingHasLf = false;
  }

  private fail(what: string): never {
    this.failure = new RespProtocolError(`ERR Protocol error: ${what}`);
    // Drop buffered bytes: the connection is closing and nothing after the error is parsed.
    this.buf = EMPTY;
    this.pos = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.args = null;
    throw this.failure;
  }

  private waitLine(): null {
    this.waitingForLine = true;
    // Chunks fed while waiting for bulk bytes were not scanned for LF; scan them now (rare, small).
    this.pendingHasLf = this.pending.some((c) => c.indexOf(LF) !== -1);
    return null;
  }

  private parse(): Buffer[] | null {
    for (;;) {
      if (this.args === null) {
        if (this.pos >= this.buf.length) return this.waitLine();
        if (this.buf[this.pos] !== STAR) {
          const inline = this.parseInline();
          if (inline === null) return null;
          if (inline.length === 0) continue; // blank line: Redis ignores it
          return inline;
        }
        if (!this.parseMultibulkHeader()) return null;
        if (this.args === null) continue; // `*0` / `*-1`: empty command, ignored like Redis
      }
      return this.parseBulks();
    }
  }

  /** Finds the end of the line at `pos`; -1 when incomplete. Fails with `tooBig` past maxInlineBytes. */
  private findLineEnd(tooBig: string): number {
    const buf = this.buf;
    const lf = buf.indexOf(LF, this.pos);
    if (lf === -1) {
      const available = buf.length - this.pos;
      const content = available - (available > 0 && buf[buf.length - 1] === CR ? 1 : 0);
      if (content > this.maxInlineBytes) this.fail(tooBig);
      return -1;
    }
    const content = lf - this.pos - (lf > this.pos && buf[lf - 1] === CR ? 1 : 0);
    if (content > this.maxInlineBytes) this.fail(tooBig);
    return lf;
  }

  /** Consumes `*N\r\n`. Returns false when incomplete. Leaves args null for N <= 0. */
  private parseMultibulkHeader(): boolean {
    const start = this.pos;
    const lf = this.findLineEnd('too big mbulk count string');
    if (lf === -1) {
      this.waitLine();
      return false;
    }
    if (lf - 1 <= start || this.buf[lf - 1] !== CR) this.fail('invalid multibulk length');
    const n = parseLongLong(this.buf, start + 1, lf - 1);
    if (Number.isNaN(n) || n > this.maxArgs) this.fail('invalid multibulk length');
    this.pos = lf + 1;
    if (n <= 0) return true;
    this.args = [];
    this.argsRemaining = n;
    this.bulkLen = -1;
    this.frameBytes = lf + 1 - start;
    return true;
  }

  private parseBulks(): Buffer[] | null {
    const args = this.args;
    if (args === null) throw new Error('invariant: parseBulks without a multibulk in progress');
    while (this.argsRemaining > 0) {
      const buf = this.buf;
      if (this.bulkLen < 0) {
        const start = this.pos;
        if (start >= buf.length) return this.waitLine();
        if (buf[start] !== DOLLAR) this.fail(`expected '$', got '${String.fromCharCode(buf[start]!)}'`);
        const lf = this.findLineEnd('too big bulk count string');
        if (lf === -1) return this.waitLine();
        if (lf - 1 <= start || buf[lf - 1] !== CR) this.fail('invalid bulk length');
        const len = parseLongLong(buf, start + 1, lf - 1);
        if (Number.isNaN(len) || len < 0 || len > this.maxBulkBytes) this.fail('invalid bulk length');
        this.frameBytes += lf + 1 - start + len + 2 + ARG_OVERHEAD_BYTES;
        if (this.frameBytes > this.maxFrameBytes) this.fail(`request exceeds ${this.maxFrameBytes} bytes`);
        this.bulkLen = len;
        this.pos = lf + 1;
      }
      const at = this.pos;
      const len = this.bulkLen;
      if (buf.length - at < len + 2) {
        this.waitingForLine = false;
        this.needBytes = len + 2;
        return null;
      }
      if (buf[at + len] !== CR || buf[at + len + 1] !== LF) this.fail('expected CRLF after bulk data');
      args.push(buf.subarray(at, at + len));
      this.pos = at + len + 2;
      this.bulkLen = -1;
      this.argsRemaining--;
    }
    this.args = null;
    this.frameBytes = 0;
    return args;
  }

  /** Consumes one inline line. Returns null when incomplete, [] for a blank line. */
  private parseInline(): Buffer[] | null {
    const start = this.pos;
    const lf = this.findLineEnd('too big inline request');
    if (lf === -1) return this.waitLine();
    const end = lf > start && this.buf[lf - 1] === CR ? lf - 1 : lf;
    this.pos = lf + 1;
    const args = splitInlineArgs(this.buf, start, end);
    if (args === null) this.fail('unbalanced quotes in request');
    if (args.length > this.maxArgs) this.fail('invalid multibulk length');
    return args;
  }
}

/**
 * Redis's string2ll over buf[start, end): optional '-', no '+', no leading zeros, no spaces.
 * Returns NaN when invalid or outside the signed 64-bit range. Values beyond 2^53 come back
 * imprecise, which is fine: every caller compares them against limits far below that.
 */
export function parseLongLong(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len >= 21) return INVALID;
  if (len === 1 && buf[start] === 0x30) return 0;
  let p = start;
  let negative = false;
  if (buf[p] === 0x2d) {
    negative = true;
    p++;
    if (p === end) return INVALID;
  }
  const first = buf[p]!;
  if (first < 0x31 || first > 0x39) return INVALID;
  const digits = end - p;
  if (digits > 19) return INVALID;
  if (digits === 19) {
    // Exact 64-bit range check only where it can matter (rare; off the hot path).
    for (let i = p; i < end; i++) if (buf[i]! < 0x30 || buf[i]! > 0x39) return INVALID;
    const big = BigInt(Buffer.from(buf.subarray(start, end)).toString('latin1'));
    if (big > 9223372036854775807n || big < -9223372036854775808n) return INVALID;
    return Number(big);
  }
  let v = 0;
  for (let i = p; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return INVALID;
    v = v * 10 + (c - 0x30);
  }
  return negative ? -v : v;
}

function isSpace(c: number): boolean {
  // C isspace(): space, \t, \n, \v, \f, \r
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c >= 0x61) return c - 0x61 + 10;
  return c - 0x41 + 10;
}

/**
 * Redis's sdssplitargs over buf[start, end): whitespace-separated words, "double quotes" with
 * \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \' only. A closing quote must be
 * followed by a space or the end. Returns null on unbalanced quotes.
 * Unquoted words are views of `buf`; quoted words are fresh buffers.
 */
export function splitInlineArgs(buf: Buffer, start: number, end: number): Buffer[] | null {
  const out: Buffer[] = [];
  let p = start;
  for (;;) {
    while (p < end && isSpace(buf[p]!)) p++;
    if (p >= end) return out;
    const wordStart = p;
    let plain = true;
    while (p < end && !isSpace(buf[p]!)) {
      const c = buf[p]!;
      if (c === 0x22 || c === 0x27) {
        plain = false;
        break;
      }
      p++;
    }
    if (plain) {
      out.push(buf.subarray(wordStart, p));
      continue;
    }
    // Slow path for a word with quotes: decode it byte by byte from its start.
    const bytes: number[] = [];
    p = wordStart;
    let inDouble = false;
    let inSingle = false;
    for (;;) {
      if (inDouble) {
        if (p >= end) return null;
        const c = buf[p]!;
        if (c === 0x5c && p + 3 < end && buf[p + 1] === 0x78 && isHex(buf[p + 2]!) && isHex(buf[p + 3]!)) {
          bytes.push(hexValue(buf[p + 2]!) * 16 + hexValue(buf[p + 3]!));
          p += 4;
        } else if (c === 0x5c && p + 1 < end) {
          const e = buf[p + 1]!;
          bytes.push(
            e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e,
          );
          p += 2;
        } else if (c === 0x22) {
          if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
          p++;
          break;
        } else {
          bytes.push(c);
          p++;
        }
      } else if (inSingle) {
        if (p >= end) return null;
        const c = buf[p]!;
        if (c === 0x5c && p + 1 < end && buf[p + 1] === 0x27) {
          bytes.push(0x27);
          p += 2;
        } else if (c === 0x27) {
          if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
          p++;
          break;
        } else {
          bytes.push(c);
          p++;
        }
      } else {
        if (p >= end) break;
        const c = buf[p]!;
        if (isSpace(c)) break;
        if (c === 0x22) inDouble = true;
        else if (c === 0x27) inSingle = true;
        else bytes.push(c);
        p++;
      }
    }
    out.push(Buffer.from(bytes));
  }
}
