import { describe, expect, it } from 'vitest';
import { RespWriter, RespParser } from '../../src/resp/index.js';

describe('RespWriter', () => {
  it('serializes every reply type', () => {
    const w = new RespWriter();
    w.simpleString('OK')
      .error('ERR bad\r\nthing')
      .integer(42)
      .integer(-9223372036854775808n)
      .bulk(Buffer.from('hi'))
      .bulk('é')
      .bulk(null)
      .arrayHeader(2)
      .bulk('')
      .nullBulk()
      .nullArray();
    expect(w.take().toString('latin1')).toBe(
      '+OK\r\n-ERR bad  thing\r\n:42\r\n:-9223372036854775808\r\n$2\r\nhi\r\n$2\r\n\xc3\xa9\r\n$-1\r\n*2\r\n$0\r\n\r\n$-1\r\n*-1\r\n',
    );
    expect(w.byteLength).toBe(0);
    expect(w.take().length).toBe(0);
  });

  it('rejects integers that are not safe', () => {
    const w = new RespWriter();
    expect(() => w.integer(1.5)).toThrow(/invariant/);
    expect(() => w.integer(2 ** 60)).toThrow(/invariant/);
  });

  it('grows past its initial size and keeps taken buffers intact', () => {
    const w = new RespWriter(16);
    const big = Buffer.alloc(200_000, 0x61);
    w.bulk(big);
    const first = w.take();
    w.bulk('small');
    const second = w.take();
    w.bulk('other');
    expect(first.length).toBe(200_000 + '$200000\r\n'.length + 2);
    expect(first.subarray(-3).toString()).toBe('a\r\n');
    expect(second.toString()).toBe('$5\r\nsmall\r\n');
  });

  it('produces bytes the parser reads back (many pipelined replies in one buffer)', () => {
    const w = new RespWriter(32);
    for (let i = 0; i < 1000; i++)
      w.arrayHeader(2)
        .bulk(`k${i}`)
        .bulk(Buffer.from([i & 255, 13, 10]));
    const p = new RespParser();
    p.feed(w.take());
    for (let i = 0; i < 1000; i++) {
      const cmd = p.next()!;
      expect(cmd[0]!.toString()).toBe(`k${i}`);
      expect([...cmd[1]!]).toEqual([i & 255, 13, 10]);
    }
    expect(p.next()).toBeNull();
  });
});
