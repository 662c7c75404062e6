import { describe, expect, it } from 'vitest';
import { globMatch } from '../../src/kv/glob.js';

const m = (pattern: string, subject: string): boolean => {
  const s = Buffer.from(subject, 'latin1');
  return globMatch(Buffer.from(pattern, 'latin1'), s, 0, s.length);
};

describe('globMatch (Redis stringmatchlen rules)', () => {
  it('* ? and literals', () => {
    expect(m('*', '')).toBe(true);
    expect(m('*', 'anything')).toBe(true);
    expect(m('a*b', 'ab')).toBe(true);
    expect(m('a*b', 'axxb')).toBe(true);
    expect(m('a*b', 'axxbc')).toBe(false);
    expect(m('a*b*c', 'abxbxc')).toBe(true);
    expect(m('?', '')).toBe(false);
    expect(m('h?llo', 'hello')).toBe(true);
    expect(m('hello', 'hell')).toBe(false);
    expect(m('**a**', 'xxaxx')).toBe(true);
  });

  it('classes, negation, ranges (reversed too), escapes', () => {
    expect(m('h[ae]llo', 'hallo')).toBe(true);
    expect(m('h[ae]llo', 'hillo')).toBe(false);
    expect(m('h[^e]llo', 'hello')).toBe(false);
    expect(m('h[^e]llo', 'hallo')).toBe(true);
    expect(m('[a-c]', 'b')).toBe(true);
    expect(m('[c-a]', 'b')).toBe(true);
    expect(m('[a-c]', 'd')).toBe(false);
    expect(m('[a-]', '-')).toBe(true);
    expect(m('\\*', '*')).toBe(true);
    expect(m('\\*', 'x')).toBe(false);
    expect(m('[\\]]', ']')).toBe(true);
    expect(m('[abc', 'b')).toBe(true); // unclosed class runs to the end
  });

  it('binary bytes, and a hostile pattern without exponential backtracking', () => {
    const s = Buffer.from([0, 255, 10, 13]);
    expect(globMatch(Buffer.from([0x2a, 255, 0x3f, 0x2a]), s, 0, s.length)).toBe(true);
    const subject = 'a'.repeat(5000);
    // Exponential backtracking would never finish (the test's timeout); single-star backtracking
    // is O(pattern × subject).
    expect(m(`${'*a'.repeat(50)}b`, subject)).toBe(false);
  });
});
