import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';

import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/types.js';
import {
  CODEC_VERSION,
  decodeMessage,
  encodeEntriesBlock,
  encodeMessage,
  encodeMessageParts,
  entriesBlockCacheStats,
} from '../../src/transport/codec.js';
import { FrameError } from '../../src/transport/frame-error.js';
import { Prng, message, randomMessage } from './prng.js';

/** The message with entry data as hex: a cheap deep comparison (toEqual on bytes is slow). */
function comparable(msg: Message): unknown {
  return { ...msg, entries: msg.entries.map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') })) };
}

/** Decodes and expects a FrameError (and nothing else); returns its code. */
function frameErrorCode(bytes: Uint8Array): string {
  try {
    decodeMessage(bytes);
  } catch (err) {
    if (err instanceof FrameError) return err.code;
    throw err;
  }
  throw new Error('expected a FrameError, decode succeeded');
}

describe('codec round trip', () => {
  it('decodes what it encodes for 2000 random messages (seeded)', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rng = new Prng(seed);
      for (let i = 0; i < 500; i++) {
        const msg = randomMessage(rng);
        const decoded = decodeMessage(encodeMessage(msg));
        expect(comparable(decoded), `seed ${seed} message ${i}`).toEqual(comparable(msg));
        expect('snapshot' in decoded).toBe(msg.snapshot !== undefined);
      }
    }
  });

  it('carries the snapshot meta with its confState', () => {
    const msg = message({
      type: MessageType.Snapshot,
      snapshot: { index: 2 ** 40, term: 7, confState: { voters: [1, 2, 3], learners: [9] } },
    });
    expect(decodeMessage(encodeMessage(msg)).snapshot).toEqual(msg.snapshot);
  });

  it('carries the extremes of every number field', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const msg = message({
      from: max,
      to: max,
      term: max,
      logTerm: 0xffff_ffff,
      index: 0x1_0000_0000,
      commit: max,
      rejectHint: max,
      rejectTerm: max,
      context: max,
      reject: true,
      entries: [{ term: max, index: max, type: EntryType.ConfChange, data: new Uint8Array(0) }],
    });
    expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
  });

  it('decoded entry data is a copy that does not alias the frame', () => {
    const data = new Uint8Array([1, 2, 3]);
    const msg = message({ type: MessageType.App, entries: [{ term: 1, index: 1, type: 0, data }] });
    const bytes = encodeMessage(msg);
    const decoded = decodeMessage(bytes);
    bytes.fill(0);
    expect(Array.from(decoded.entries[0]!.data)).toEqual([1, 2, 3]);
  });

  it('reserves a zeroed prefix for the caller (a frame header) without changing the encoding', () => {
    const msg = randomMessage(new Prng(77));
    const parts = encodeMessageParts(msg, 9);
    const whole = Buffer.concat(parts);
    expect(Array.from(whole.subarray(0, 9))).toEqual(new Array<number>(9).fill(0));
    expect(whole.subarray(9).equals(encodeMessage(msg))).toBe(true);
  });

  it('refuses to encode what it cannot represent', () => {
    expect(() => encodeMessage(message({ term: -1 }))).toThrow(/invariant/);
    expect(() => encodeMessage(message({ term: 2 ** 53 }))).toThrow(/invariant/);
    expect(() => encodeMessage(message({ index: 1.5 }))).toThrow(/invariant/);
    expect(() => encodeMessage(message({ from: 0 }))).toThrow(/invariant/);
    expect(() => encodeMessage(message({ type: 99 as MessageType }))).toThrow(/invariant/);
    const badEntry = { term: 1, index: 1, type: 7 as EntryType, data: new Uint8Array(0) };
    expect(() => encodeMessage(message({ entries: [badEntry] }))).toThrow(/invariant/);
  });
});

describe('entries block is serialized once per broadcast', () => {
  const entries = (): Entry[] =>
    Array.from({ length: 16 }, (_, i) => ({
      term: 3,
      index: 100 + i,
      type: EntryType.Normal,
      data: new Uint8Array(1024).fill(i),
    }));

  it('reuses the block when the same entries array goes to several followers', () => {
    const shared = entries();
    const before = entriesBlockCacheStats();
    const blocks = [2, 3, 4].map(
      (to) => encodeMessageParts(message({ type: MessageType.App, to, entries: shared }))[1],
    );
    const after = entriesBlockCacheStats();
    expect(blocks[0]).toBeDefined();
    expect(blocks[1]).toBe(blocks[0]);
    expect(blocks[2]).toBe(blocks[0]);
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(2);
  });

  it('reuses the block for different arrays holding the same entry objects (per-follower slices)', () => {
    const log = entries();
    const a = encodeEntriesBlock(log.slice(4, 10));
    const b = encodeEntriesBlock(log.slice(4, 10));
    expect(b).toBe(a);
    // A different run of entries is a different block, and it is still correct.
    const c = encodeEntriesBlock(log.slice(4, 9));
    expect(c).not.toBe(a);
    const decoded = decodeMessage(
      encodeMessage(message({ type: MessageType.App, entries: log.slice(4, 9) })),
    );
    expect(decoded.entries).toEqual(log.slice(4, 9));
  });

  it('keeps a bounded number of blocks alive, not one per run of entries the log still holds', () => {
    // The leader's log holds its entries until the next snapshot: a cache keyed by entry would
    // keep a serialized copy of everything sent until then.
    const log = Array.from({ length: 200 }, (_, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.Normal,
      data: new Uint8Array(64 * 1024),
    }));
    for (let i = 0; i < log.length; i++) encodeEntriesBlock(log.slice(i, i + 1));
    const small = entriesBlockCacheStats();
    expect(small.retainedBlocks).toBeLessThanOrEqual(16);
    // Large blocks: the byte bound applies (the newest block is always kept).
    for (let i = 0; i < 10; i++) encodeEntriesBlock(log.slice(i * 20, i * 20 + 20));
    const large = entriesBlockCacheStats();
    expect(large.retainedBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(large.retainedBlocks).toBeGreaterThanOrEqual(1);
    // A broadcast still hits: the same run for a second follower right after the first.
    const before = entriesBlockCacheStats();
    const a = encodeEntriesBlock(log.slice(5, 25));
    const b = encodeEntriesBlock(log.slice(5, 25));
    expect(b).toBe(a);
    expect(entriesBlockCacheStats().hits - before.hits).toBe(1);
  });

  it('does not serve a stale block when an array is reused with other entries', () => {
    const log = entries();
    const reused: Entry[] = log.slice(0, 3);
    encodeEntriesBlock(reused);
    reused[1] = log[10]!;
    const decoded = decodeMessage(encodeMessage(message({ type: MessageType.App, entries: reused })));
    expect(decoded.entries).toEqual(reused);
  });
});

describe('codec validation', () => {
  const valid = encodeMessage(
    message({
      type: MessageType.App,
      entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([7, 7]) }],
      snapshot: { index: 1, term: 1, confState: { voters: [1], learners: [] } },
    }),
  );

  it('rejects every truncation of a valid message with "truncated" or "too-large"', () => {
    for (let length = 0; length < valid.length; length++) {
      expect(['truncated', 'too-large']).toContain(frameErrorCode(valid.subarray(0, length)));
    }
  });

  it('rejects trailing bytes', () => {
    expect(frameErrorCode(Buffer.concat([valid, Buffer.from([0])]))).toBe('trailing-bytes');
  });

  it('rejects an unknown version, type, flag, entry type and id 0', () => {
    const mutate = (offset: number, value: number): Buffer => {
      const copy = Buffer.from(valid);
      copy[offset] = value;
      return copy;
    };
    expect(frameErrorCode(mutate(0, CODEC_VERSION + 1))).toBe('bad-version');
    expect(frameErrorCode(mutate(1, 0))).toBe('bad-value');
    expect(frameErrorCode(mutate(1, 200))).toBe('bad-value');
    expect(frameErrorCode(mutate(2, 0b100))).toBe('bad-value');
    const zeroFrom = Buffer.from(valid);
    zeroFrom.fill(0, 3, 11);
    expect(frameErrorCode(zeroFrom)).toBe('bad-value');
    // A number beyond 2^53 - 1: the high word of `term` (offset 3 + 16 + 4).
    expect(frameErrorCode(mutate(3 + 16 + 7, 0xff))).toBe('bad-value');
    // Entry type: after head (75) + snapshot (16 + 4 + 8 + 4) + count (4) + term/index (16).
    expect(frameErrorCode(mutate(75 + 32 + 4 + 16, 9))).toBe('bad-value');
  });

  it('rejects a huge declared entry count without allocating for it', () => {
    const head = encodeMessage(message());
    const hostile = Buffer.from(head);
    hostile.writeUInt32LE(0xffff_ffff, hostile.length - 4);
    expect(frameErrorCode(hostile)).toBe('too-large');
  });

  it('rejects a huge declared entry data length', () => {
    const copy = Buffer.from(valid);
    copy.writeUInt32LE(0xffff_fff0, 75 + 32 + 4 + 17);
    expect(frameErrorCode(copy)).toBe('truncated');
  });

  it('rejects a huge declared member count', () => {
    const copy = Buffer.from(valid);
    copy.writeUInt32LE(0x7fff_ffff, 75 + 16);
    expect(frameErrorCode(copy)).toBe('too-large');
  });
});

describe('codec fuzz', () => {
  it('random bytes and mutated frames decode to a valid message or throw FrameError, never crash', () => {
    const rng = new Prng(0xfeed);
    let decodedCount = 0;
    let rejectedCount = 0;
    for (let i = 0; i < 20_000; i++) {
      let bytes: Uint8Array;
      if (i % 4 === 0) {
        bytes = rng.bytes(rng.int(200));
      } else {
        bytes = new Uint8Array(encodeMessage(randomMessage(rng)));
        const mutations = 1 + rng.int(4);
        for (let m = 0; m < mutations; m++) {
          const choice = rng.int(4);
          if (choice === 0 && bytes.length > 0) bytes[rng.int(bytes.length)] = rng.u32() & 0xff;
          else if (choice === 1) bytes = bytes.subarray(0, rng.int(bytes.length + 1));
          else if (choice === 2) bytes = Buffer.concat([bytes, rng.bytes(1 + rng.int(16))]);
          else if (bytes.length >= 4) {
            // Overwrite a random aligned u32 with an extreme value (a hostile length or count).
            const at = rng.int(bytes.length - 3);
            Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).writeUInt32LE(
              rng.pick([0, 1, 0x7fff_ffff, 0xffff_ffff]),
              at,
            );
          }
        }
      }
      let decoded;
      try {
        decoded = decodeMessage(bytes);
      } catch (err) {
        if (!(err instanceof FrameError)) throw new Error(`iteration ${i}: non-FrameError ${String(err)}`);
        rejectedCount++;
        continue;
      }
      decodedCount++;
      // Whatever decodes is a well-formed message that re-encodes to exactly the same bytes.
      expect(Buffer.from(encodeMessage(decoded)).equals(Buffer.from(bytes))).toBe(true);
    }
    expect(rejectedCount).toBeGreaterThan(1000);
    expect(decodedCount).toBeGreaterThan(100);
  });
});
