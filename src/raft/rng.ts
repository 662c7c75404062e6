import type { Rng } from './types.js';

/**
 * A small seeded PRNG (sfc32, seeded through splitmix32 so that nearby seeds give unrelated
 * streams). Deterministic across runs and platforms: only 32-bit integer arithmetic.
 */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const splitmix32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();

  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Warm up: the first outputs of sfc32 are correlated with the seed words.
  for (let i = 0; i < 12; i++) nextUint32();

  return {
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0 || n > 0x1_0000_0000) {
        throw new Error(`invariant: rng.int(n) needs an integer n in [1, 2^32], got ${n}`);
      }
      // Multiply-shift maps [0, 2^32) onto [0, n); the bias is < n / 2^32, irrelevant for jitter.
      return Math.floor((nextUint32() / 0x1_0000_0000) * n);
    },
  };
}
