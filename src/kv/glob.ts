/**
 * Redis glob matching (stringmatchlen) over bytes, for KEYS and SCAN MATCH:
 *   *        any run of bytes (also empty)
 *   ?        one byte
 *   [abc]    one of; [^abc] none of; [a-z] a range (reversed ranges are swapped, as in Redis)
 *   \x       x literally (also inside brackets)
 * An unclosed '[' class runs to the end of the pattern, as in Redis.
 *
 * Iterative with single-star backtracking: when a later byte fails to match, the most recent '*'
 * absorbs one more byte. That is complete for globs (a later '*' subsumes earlier choices) and
 * bounded by O(pattern × subject), with no recursion to exhaust the stack on hostile patterns.
 */

export function compileGlob(
  pattern: Uint8Array,
): (subject: Uint8Array, start: number, end: number) => boolean {
  // "*" alone is common (SCAN without MATCH is handled by the caller): a fast path.
  if (pattern.length === 1 && pattern[0] === 0x2a) return () => true;
  return (subject, start, end) => globMatch(pattern, subject, start, end);
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

export function globMatch(p: Uint8Array, s: Uint8Array, start: number, end: number): boolean {
  let pi = 0;
  let si = start;
  let starP = -1;
  let starS = 0;
  while (si < end) {
    if (pi < p.length) {
      const c = p[pi]!;
      if (c === STAR) {
        // Collapse runs of stars; remember where to resume.
        while (pi < p.length && p[pi] === STAR) pi++;
        if (pi === p.length) return true;
        starP = pi;
        starS = si;
        continue;
      }
      const next = matchOne(p, pi, s[si]!);
      if (next >= 0) {
        pi = next;
        si++;
        continue;
      }
    }
    if (starP < 0) return false;
    pi = starP;
    si = ++starS;
  }
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length;
}

/** Matches one subject byte against the pattern item at pi: the index after the item, or -1. */
function matchOne(p: Uint8Array, pi: number, b: number): number {
  const c = p[pi]!;
  if (c === QUESTION) return pi + 1;
  if (c === BACKSLASH && pi + 1 < p.length) return p[pi + 1] === b ? pi + 2 : -1;
  if (c !== OPEN) return c === b ? pi + 1 : -1;
  let i = pi + 1;
  const negate = i < p.length && p[i] === CARET;
  if (negate) i++;
  let matched = false;
  while (i < p.length && p[i] !== CLOSE) {
    if (p[i] === BACKSLASH && i + 1 < p.length) {
      if (p[i + 1] === b) matched = true;
      i += 2;
    } else if (i + 2 < p.length && p[i + 1] === DASH && p[i + 2] !== CLOSE) {
      let lo = p[i]!;
      let hi = p[i + 2]!;
      if (lo > hi) [lo, hi] = [hi, lo];
      if (b >= lo && b <= hi) matched = true;
      i += 3;
    } else {
      if (p[i] === b) matched = true;
      i++;
    }
  }
  // i is at ']' or the end of the pattern (unclosed class).
  const after = i < p.length ? i + 1 : i;
  return matched !== negate ? after : -1;
}
