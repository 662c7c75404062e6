import { describe, expect, it } from 'vitest';
import { RespParser, RespProtocolError, splitInlineArgs, parseLongLong } from '../../src/resp/index.js';
import type { RespParserOptions } from '../../src/resp/index.js';
import { Prng } from './prng.js';

interface Decoded {
  commands: string[][];
  error: string | null;
}

const asStrings = (cmd: Buffer[]): string[] => cmd.map((a) => a.toString('latin1'));

/** Feeds `input` in the given chunk sizes, draining after every chunk, and checks the memory bound. */
function decodeStreaming(input: Buffer, cuts: number[], options: RespParserOptions = {}): Decoded {
  const parser = new RespParser(options);
  const commands: string[][] = [];
  let at = 0;
  const bounds = [...cuts.filter((c) => c > 0 && c < input.length).sort((a, b) => a - b), input.length];
  for (const end of bounds) {
    if (end <= at) continue;
    parser.feed(input.subarray(at, end));
    at = end;
    const out: Buffer[][] = [];
    const err = parser.drain(out);
    for (const c of out) commands.push(asStrings(c));
    if (err !== null) return { commands, error: err.message };
    // Everything still buffered belongs to the one incomplete command element.
    const bound = Math.max(parser.maxInlineBytes + 1, parser.maxBulkBytes + 2);
    expect(parser.bufferedBytes).toBeLessThanOrEqual(bound);
  }
  return { commands, error: null };
}

/**
 * Reference decoder: whole input at once, written independently of the streaming parser
 * (string and regex based). Returns the commands of the valid prefix and the error, if any.
 */
function decodeReference(input: Buffer, options: RespParserOptions = {}): Decoded {
  const maxBulk = options.maxBulkBytes ?? 64 * 1024 * 1024;
  const maxArgs = options.maxArgs ?? 1024 * 1024;
  const maxInline = options.maxInlineBytes ?? 64 * 1024;
  const maxFrame = options.maxFrameBytes ?? Math.max(128 * 1024 * 1024, maxBulk + 1024 * 1024);
  const s = input.toString('latin1');
  const commands: string[][] = [];
  const done = (error: string | null): Decoded => ({
    commands,
    error: error && `ERR Protocol error: ${error}`,
  });
  const number = (text: string): number | null => {
    if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text)) return null;
    const big = BigInt(text);
    if (big > 2n ** 63n - 1n || big < -(2n ** 63n)) return null;
    return Number(big);
  };
  // Returns the index of LF ending the line at p, 'incomplete', or throws the too-big error.
  const lineEnd = (p: number, tooBig: string): number | 'incomplete' | { error: string } => {
    const lf = s.indexOf('\n', p);
    const raw = lf === -1 ? s.slice(p) : s.slice(p, lf);
    const content = raw.endsWith('\r') ? raw.length - 1 : raw.length;
    if (content > maxInline) return { error: tooBig };
    return lf === -1 ? 'incomplete' : lf;
  };
  let pos = 0;
  while (pos < s.length) {
    if (s[pos] !== '*') {
      const lf = lineEnd(pos, 'too big inline request');
      if (lf === 'incomplete') return done(null);
      if (typeof lf === 'object') return done(lf.error);
      const end = lf > pos && s[lf - 1] === '\r' ? lf - 1 : lf;
      const args = splitInlineArgs(input, pos, end);
      if (args === null) return done('unbalanced quotes in request');
      if (args.length > maxArgs) return done('invalid multibulk length');
      pos = lf + 1;
      if (args.length > 0) commands.push(asStrings(args));
      continue;
    }
    const lf = lineEnd(pos, 'too big mbulk count string');
    if (lf === 'incomplete') return done(null);
    if (typeof lf === 'object') return done(lf.error);
    const header = s.slice(pos + 1, lf);
    const n = header.endsWith('\r') ? number(header.slice(0, -1)) : null;
    if (n === null || n > maxArgs) return done('invalid multibulk length');
    let frame = lf + 1 - pos;
    pos = lf + 1;
    const args: string[] = [];
    for (let i = 0; i < n; i++) {
      if (pos >= s.length) return done(null);
      if (s[pos] !== '$') return done(`expected '$', got '${s[pos]}'`);
      const blf = lineEnd(pos, 'too big bulk count string');
      if (blf === 'incomplete') return done(null);
      if (typeof blf === 'object') return done(blf.error);
      const bh = s.slice(pos + 1, blf);
      const len = bh.endsWith('\r') ? number(bh.slice(0, -1)) : null;
      if (len === null || len < 0 || len > maxBulk) return done('invalid bulk length');
      frame += blf + 1 - pos + len + 2 + 64;
      if (frame > maxFrame) return done(`request exceeds ${maxFrame} bytes`);
      pos = blf + 1;
      if (s.length - pos < len + 2) return done(null);
      if (s.slice(pos + len, pos + len + 2) !== '\r\n') return done('expected CRLF after bulk data');
      args.push(s.slice(pos, pos + len));
      pos += len + 2;
    }
    if (n > 0) commands.push(args);
  }
  return done(null);
}

const enc = (...args: (string | Buffer)[]): Buffer => {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
};

const whole = (input: string | Buffer, options: RespParserOptions = {}): Decoded =>
  decodeStreaming(typeof input === 'string' ? Buffer.from(input, 'latin1') : input, [], options);

describe('RespParser golden cases', () => {
  it('parses a multibulk command', () => {
    expect(whole('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n')).toEqual({
      commands: [['SET', 'k', 'hello']],
      error: null,
    });
  });

  it('parses binary-safe bulks containing CR LF and NUL', () => {
    const value = Buffer.from([0, 13, 10, 255, 42]);
    const parser = new RespParser();
    parser.feed(enc('SET', 'k', value));
    const cmd = parser.next()!;
    expect(cmd[2]).toEqual(value);
    expect(parser.next()).toBeNull();
  });

  it('returns views of the fed chunk when a command arrives in one chunk', () => {
    const chunk = enc('GET', 'key');
    const parser = new RespParser();
    parser.feed(chunk);
    const cmd = parser.next()!;
    expect(cmd[1]!.buffer).toBe(chunk.buffer);
  });

  it('parses empty bulks and ignores *0 and *-1', () => {
    expect(whole('*0\r\n*-1\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n')).toEqual({
      commands: [['ECHO', '']],
      error: null,
    });
  });

  it('parses inline commands, with CRLF or bare LF, ignoring blank lines', () => {
    expect(whole('PING\r\n\r\n  \nset  a   b\nGET a\r\n')).toEqual({
      commands: [['PING'], ['set', 'a', 'b'], ['GET', 'a']],
      error: null,
    });
  });

  it('parses quoted inline arguments like sdssplitargs', () => {
    expect(whole('SET "a b" \'c d\' "x\\x41\\n" \'it\\\'s\' ""\r\n')).toEqual({
      commands: [['SET', 'a b', 'c d', 'xA\n', "it's", '']],
      error: null,
    });
    expect(whole('SET foo"bar"\r\n').commands).toEqual([['SET', 'foobar']]);
  });

  it('rejects unbalanced quotes', () => {
    expect(whole('PING\r\nSET "abc\r\n')).toEqual({
      commands: [['PING']],
      error: 'ERR Protocol error: unbalanced quotes in request',
    });
    expect(whole('SET "abc"x\r\n').error).toBe('ERR Protocol error: unbalanced quotes in request');
    expect(whole("SET 'abc\r\n").error).toBe('ERR Protocol error: unbalanced quotes in request');
  });

  it('rejects bad multibulk lengths', () => {
    for (const bad of [
      '*x\r\n',
      '*\r\n',
      '*01\r\n',
      '*+1\r\n',
      '*-0\r\n',
      '*1 \r\n',
      '*3\n',
      '*99999999999999999999\r\n',
    ]) {
      expect(whole(bad).error, bad).toBe('ERR Protocol error: invalid multibulk length');
    }
    expect(whole('*3\r\n', { maxArgs: 2 }).error).toBe('ERR Protocol error: invalid multibulk length');
  });

  it('rejects bad bulk lengths', () => {
    for (const bad of ['*1\r\n$x\r\n', '*1\r\n$-1\r\n', '*1\r\n$\r\n', '*1\r\n$01\r\n', '*1\r\n$3\n']) {
      expect(whole(bad).error, bad).toBe('ERR Protocol error: invalid bulk length');
    }
    expect(whole('*1\r\n$65\r\n', { maxBulkBytes: 64 }).error).toBe(
      'ERR Protocol error: invalid bulk length',
    );
    expect(whole('*1\r\n$999999999\r\n').error).toBe('ERR Protocol error: invalid bulk length');
  });

  it("rejects a bulk that does not start with '$'", () => {
    expect(whole('*2\r\n$1\r\na\r\n:1\r\n')).toEqual({
      commands: [],
      error: "ERR Protocol error: expected '$', got ':'",
    });
  });

  it('rejects bulk data not followed by CRLF', () => {
    expect(whole('*1\r\n$1\r\nab\r\n').error).toBe('ERR Protocol error: expected CRLF after bulk data');
  });

  it('rejects too long inline and header lines, even before the newline arrives', () => {
    const opts = { maxInlineBytes: 16 };
    expect(whole('x'.repeat(17), opts).error).toBe('ERR Protocol error: too big inline request');
    expect(whole('x'.repeat(16) + '\r', opts)).toEqual({ commands: [], error: null });
    expect(whole('x'.repeat(16) + '\r\n', opts).commands).toEqual([['x'.repeat(16)]]);
    expect(whole('*' + '1'.repeat(20), opts).error).toBe('ERR Protocol error: too big mbulk count string');
    expect(whole('*1\r\n$' + '1'.repeat(20), opts).error).toBe(
      'ERR Protocol error: too big bulk count string',
    );
  });

  it('bounds the bytes of one command', () => {
    const r = whole(enc('MSET', 'a', 'x'.repeat(100), 'b', 'y'.repeat(100)), { maxFrameBytes: 300 });
    expect(r.error).toBe('ERR Protocol error: request exceeds 300 bytes');
  });

  it('returns commands before the error, then throws the same error again', () => {
    const parser = new RespParser();
    parser.feed(Buffer.from('PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n%'));
    expect(parser.next()).toEqual([Buffer.from('PING')]);
    expect(parser.next()).toEqual([Buffer.from('PING')]);
    expect(() => parser.next()).toThrow(RespProtocolError);
    expect(() => parser.next()).toThrow("ERR Protocol error: expected '$', got '%'");
    parser.feed(Buffer.from('PING\r\n'));
    expect(() => parser.next()).toThrow(RespProtocolError);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('does not allocate from a declared length before the bytes arrive', () => {
    const parser = new RespParser({ maxBulkBytes: 2 ** 31, maxFrameBytes: 2 ** 32 });
    parser.feed(Buffer.from('*2\r\n$3\r\nSET\r\n$2000000000\r\n'));
    expect(parser.next()).toBeNull();
    for (let i = 0; i < 100; i++) {
      parser.feed(Buffer.alloc(1000, 0x61));
      expect(parser.next()).toBeNull();
    }
    expect(parser.bufferedBytes).toBe(100_000);
  });

  it('assembles a large bulk fed in many small chunks', () => {
    const value = Buffer.alloc(1_000_000, 0x62);
    const input = Buffer.concat([enc('SET', 'big', value), enc('GET', 'big')]);
    const parser = new RespParser();
    const out: Buffer[][] = [];
    for (let at = 0; at < input.length; at += 4096) {
      parser.feed(input.subarray(at, Math.min(at + 4096, input.length)));
      expect(parser.drain(out)).toBeNull();
    }
    expect(out.length).toBe(2);
    expect(out[0]![2]!.equals(value)).toBe(true);
    expect(asStrings(out[1]!)).toEqual(['GET', 'big']);
    expect(parser.bufferedBytes).toBe(0);
    expect(parser.inFrame).toBe(false);
  });
});

describe('RespParser split points', () => {
  const input = Buffer.concat([
    enc('SET', 'key:1', 'v'.repeat(30)),
    Buffer.from('PING\r\n'),
    enc('MSET', 'a', '1', 'b', Buffer.from([13, 10, 0])),
    Buffer.from('*0\r\n\r\nECHO "hi there"\n'),
    enc('GET', ''),
  ]);
  const expected = decodeReference(input);

  it('the reference decodes every command', () => {
    expect(expected.error).toBeNull();
    expect(expected.commands.length).toBe(5);
  });

  it('gives the same commands for every single split point', () => {
    for (let cut = 0; cut <= input.length; cut++) {
      expect(decodeStreaming(input, [cut]), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('gives the same commands fed byte by byte', () => {
    const cuts = Array.from({ length: input.length }, (_, i) => i);
    expect(decodeStreaming(input, cuts)).toEqual(expected);
  });

  it('gives the same commands for every pair of split points', () => {
    for (let a = 1; a < input.length; a += 3) {
      for (let b = a + 1; b < input.length; b += 5) {
        expect(decodeStreaming(input, [a, b]), `cuts ${a},${b}`).toEqual(expected);
      }
    }
  });
});

describe('RespParser fuzz', () => {
  const smallLimits: RespParserOptions = {
    maxBulkBytes: 40,
    maxArgs: 6,
    maxInlineBytes: 24,
    maxFrameBytes: 400,
  };

  function randomArg(rng: Prng): Buffer {
    const r = rng.int(10);
    if (r === 0) return Buffer.alloc(0);
    if (r === 1) return rng.bytes(rng.int(120));
    if (r === 2) return Buffer.from('\r\n$*');
    return Buffer.from(`k${rng.int(1000)}`);
  }

  function randomFrame(rng: Prng): Buffer {
    switch (rng.int(8)) {
      case 0: {
        const words = Array.from({ length: rng.int(5) }, () =>
          rng.pick(['PING', 'get', 'a', '"q w"', "'x'", '"\\x4a"', 'k'.repeat(rng.int(30))]),
        );
        return Buffer.from(words.join(rng.pick([' ', '  ', '\t'])) + rng.pick(['\r\n', '\n']));
      }
      case 1:
        return Buffer.from(rng.pick(['*0\r\n', '*-1\r\n', '\r\n']));
      default:
        return enc(...Array.from({ length: 1 + rng.int(7) }, () => randomArg(rng)));
    }
  }

  function mutate(rng: Prng, input: Buffer): Buffer {
    const bytes = [...input];
    const edits = 1 + rng.int(3);
    for (let e = 0; e < edits && bytes.length > 0; e++) {
      const at = rng.int(bytes.length);
      switch (rng.int(5)) {
        case 0:
          bytes[at] = rng.int(256);
          break;
        case 1:
          bytes.splice(at, 1);
          break;
        case 2:
          bytes.splice(at, 0, rng.pick([13, 10, 0x24, 0x2a, 0x2d, 0x22, 0x27, 0x30, 0x39]));
          break;
        case 3:
          bytes.length = at;
          break;
        default:
          bytes.splice(
            at,
            0,
            ...Buffer.from(rng.pick(['$99999\r\n', '*2147483648\r\n', '$-5\r\n', '*1\r\n'])),
          );
      }
    }
    return Buffer.from(bytes);
  }

  function randomCuts(rng: Prng, length: number): number[] {
    if (rng.bool(0.1)) return Array.from({ length }, (_, i) => i); // byte by byte
    return Array.from({ length: rng.int(6) }, () => rng.int(length + 1));
  }

  it('matches the reference decode on 12,000 random, mutated and garbage inputs', () => {
    const rng = new Prng(20240611);
    const counts = { valid: 0, errors: 0, commands: 0 };
    for (let i = 0; i < 12_000; i++) {
      const frames = Array.from({ length: 1 + rng.int(5) }, () => randomFrame(rng));
      let input: Buffer = Buffer.concat(frames);
      const kind = rng.int(10);
      if (kind < 4) input = mutate(rng, input);
      else if (kind === 4) input = rng.bytes(rng.int(200));
      const options = rng.bool(0.4) ? smallLimits : {};
      const expected = decodeReference(input, options);
      const actual = decodeStreaming(input, randomCuts(rng, input.length), options);
      expect(actual, `case ${i}: ${JSON.stringify(input.toString('latin1'))}`).toEqual(expected);
      if (expected.error === null) counts.valid++;
      else counts.errors++;
      counts.commands += expected.commands.length;
    }
    // The generator must exercise both sides.
    expect(counts.valid).toBeGreaterThan(5000);
    expect(counts.errors).toBeGreaterThan(4000);
    expect(counts.commands).toBeGreaterThan(12000);
  });
});

describe('parseLongLong', () => {
  const p = (s: string): number => parseLongLong(Buffer.from(s), 0, s.length);
  it('follows string2ll', () => {
    expect(p('0')).toBe(0);
    expect(p('123')).toBe(123);
    expect(p('-42')).toBe(-42);
    expect(p('9223372036854775807')).toBe(2 ** 63);
    for (const bad of [
      '',
      '-',
      '-0',
      '01',
      '+1',
      ' 1',
      '1 ',
      '1a',
      '9223372036854775808',
      '99999999999999999999',
    ]) {
      expect(p(bad), bad).toBeNaN();
    }
    expect(p('-9223372036854775808')).toBe(-9223372036854775808);
  });
});
