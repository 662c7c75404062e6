import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/storage/crc32c.js';
import { rng } from './helpers.js';

/** Bit-at-a-time reference, the definition itself. */
function crc32cReference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the standard check values', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43); // RFC 3720 B.4: 32 bytes of 0xff
  });

  it('matches the bit-at-a-time definition for every length 0..100 and random data', () => {
    const rand = rng(3);
    for (let len = 0; len <= 100; len++) {
      const data = Uint8Array.from({ length: len }, () => rand(256));
      expect(crc32c(data)).toBe(crc32cReference(data));
    }
  });

  it('chains: crc(b, crc(a)) = crc(a + b), and honours a sub-range', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog');
    for (let cut = 0; cut <= data.length; cut++) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(crc32c(data));
    }
    expect(crc32c(data, 0, 4, 9)).toBe(crc32c(data.subarray(4, 9)));
    expect(() => crc32c(data, 0, 5, 100)).toThrow(/invariant/);
  });
});
