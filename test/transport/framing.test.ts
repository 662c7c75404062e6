import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';

import { FrameError } from '../../src/transport/frame-error.js';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameKind,
  encodeFrame,
  frameHeader,
} from '../../src/transport/framing.js';
import { Prng } from './prng.js';

interface Frame {
  kind: number;
  payload: Buffer;
}

function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (kind, payload) => frames.push({ kind, payload: Buffer.from(payload) }));
  }
  return frames;
}

/** Cuts `bytes` at random points (including 1-byte pieces and empty-remainder edges). */
function randomSplit(rng: Prng, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = rng.int(4) === 0 ? 1 : 1 + rng.int(Math.min(300, bytes.length - offset));
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

describe('framing', () => {
  it('writes length u32 LE (payload bytes) | kind u8 | payload', () => {
    const frame = encodeFrame(FrameKind.Message, Buffer.from([9, 8, 7]));
    expect(Array.from(frame)).toEqual([3, 0, 0, 0, FrameKind.Message, 9, 8, 7]);
    expect(
      frameHeader(FrameKind.Request, 0x01020304).equals(Buffer.from([4, 3, 2, 1, FrameKind.Request])),
    ).toBe(true);
  });

  it('yields the same frames for any split of the byte stream (seeded)', () => {
    for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
      const rng = new Prng(seed);
      const sent: Frame[] = [];
      for (let i = 0; i < 200; i++) {
        const size = rng.int(5) === 0 ? 0 : rng.int(rng.int(10) === 0 ? 5000 : 60);
        sent.push({ kind: 1 + rng.int(40), payload: Buffer.from(rng.bytes(size)) });
      }
      const stream = Buffer.concat(sent.map((f) => encodeFrame(f.kind as FrameKind, f.payload)));
      const decoder = new FrameDecoder(10_000);
      const received = decodeAll(decoder, randomSplit(rng, stream));
      const describe = (frames: Frame[]): string[] =>
        frames.map((f) => `${f.kind}:${f.payload.toString('hex')}`);
      expect(describe(received), `seed ${seed}`).toEqual(describe(sent));
      expect(decoder.buffered).toBe(0);
    }
  });

  it('decodes many frames from one chunk', () => {
    const stream = Buffer.concat([1, 2, 3].map((n) => encodeFrame(FrameKind.Message, Buffer.alloc(n, n))));
    const frames = decodeAll(new FrameDecoder(100), [stream]);
    expect(frames.map((f) => f.payload.length)).toEqual([1, 2, 3]);
  });

  it('rejects a declared length above the limit as soon as the header arrives', () => {
    const decoder = new FrameDecoder(1000);
    expect(() => decodeAll(decoder, [frameHeader(FrameKind.Message, 1001)])).toThrow(FrameError);
    // After the error the decoder ignores input: the connection is being closed.
    expect(decodeAll(decoder, [encodeFrame(FrameKind.Message, Buffer.from([1]))])).toEqual([]);
  });

  it('allocates nothing for a declared length until the bytes arrive', () => {
    const decoder = new FrameDecoder();
    const frames = decodeAll(decoder, [frameHeader(FrameKind.Message, 60 * 1024 * 1024), Buffer.alloc(10)]);
    expect(frames).toEqual([]);
    // Only what was received is held.
    expect(decoder.buffered).toBe(10);
  });

  it('accepts a limit change between frames (raised after authentication)', () => {
    const decoder = new FrameDecoder(4);
    const big = encodeFrame(FrameKind.Message, Buffer.alloc(100, 1));
    const small = encodeFrame(FrameKind.Hello, Buffer.alloc(3, 2));
    const frames: number[] = [];
    decoder.push(Buffer.concat([small, big]), (_kind, payload) => {
      frames.push(payload.length);
      decoder.maxPayloadBytes = 1000;
    });
    expect(frames).toEqual([3, 100]);
    expect(FRAME_HEADER_BYTES).toBe(5);
  });
});
