/**
 * 32-bit hashing for the simulator's bookkeeping: prefix hashes of logs, state-machine hashes
 * and the run's trace hash. Not cryptographic; a collision can only hide a violation, never
 * invent one (equal histories always hash equal).
 */

const FNV_OFFSET = 0x811c9dc5;

/** Mixes one 32-bit word into `h` (murmur3-style finalised step). */
export function mix(h: number, word: number): number {
  let k = Math.imul(word | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let x = (h ^ k) | 0;
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

/** Final avalanche so nearby inputs spread. */
export function finish(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export function hashBytes(h: number, bytes: Uint8Array): number {
  let x = mix(h, bytes.length);
  for (let i = 0; i < bytes.length; i++) x = Math.imul(x ^ (bytes[i] ?? 0), 0x01000193);
  return x | 0;
}

/** The hash (unsigned 32-bit) of a log prefix ending in an entry, chained from the prefix hash before it. */
export function chainEntry(
  prevPrefixHash: number,
  index: number,
  term: number,
  type: number,
  data: Uint8Array,
): number {
  let h = mix(prevPrefixHash, index);
  h = mix(h, term);
  h = mix(h, type);
  h = hashBytes(h, data);
  return finish(h);
}

/** Prefix hash of the empty log (index 0). */
export const EMPTY_PREFIX_HASH = FNV_OFFSET >>> 0;
