import { describe, expect, it } from 'vitest';

import { LatencyHistogram, MAX_TRACKABLE_US, summarizeMs } from '../../src/bench/histogram.js';

function exactPercentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

describe('LatencyHistogram', () => {
  it('is empty at first', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.min, h.max, h.mean, h.percentile(99)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('is exact below 2^subBucketBits', () => {
    const h = new LatencyHistogram(5);
    for (let v = 0; v < 32; v++) h.record(v);
    expect(h.percentile(50)).toBe(15);
    expect(h.percentile(100)).toBe(31);
    expect(h.min).toBe(0);
  });

  it('keeps percentiles within the bucket error of the exact ones, over a wide range', () => {
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const h = new LatencyHistogram(5);
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Log-uniform from 1 µs to ~10 s, like latencies with a long tail.
      const v = Math.round(Math.exp(random() * Math.log(10_000_000)));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) {
      const exact = exactPercentile(values, p);
      const approx = h.percentile(p);
      expect(approx).toBeGreaterThanOrEqual(exact);
      expect(approx).toBeLessThanOrEqual(exact * (1 + 1 / 32) + 1);
    }
    expect(h.max).toBe(values[values.length - 1]);
    expect(h.min).toBe(values[0]);
    expect(h.count).toBe(50_000);
  });

  it('merges and clamps', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    a.record(100);
    b.record(1_000_000);
    b.record(MAX_TRACKABLE_US * 10);
    a.merge(b);
    expect(a.count).toBe(3);
    expect(a.max).toBe(MAX_TRACKABLE_US);
    expect(a.percentile(34)).toBeGreaterThanOrEqual(1_000_000);
    expect(() => a.merge(new LatencyHistogram(4))).toThrow(/invariant/);
    expect(() => a.record(-1)).toThrow(/invariant/);
    expect(() => a.percentile(0)).toThrow(/invariant/);
  });

  it('summarizes in milliseconds with p50 ≤ p95 ≤ p99 ≤ max', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i * 10);
    const s = summarizeMs(h);
    expect(s.min).toBe(0.01);
    expect(s.max).toBe(10);
    expect(s.p50).toBeGreaterThanOrEqual(5);
    expect(s.p50).toBeLessThan(5.2);
    expect(s.p50).toBeLessThanOrEqual(s.p95);
    expect(s.p95).toBeLessThanOrEqual(s.p99);
    expect(s.p99).toBeLessThanOrEqual(s.max);
    expect(s.mean).toBeCloseTo(5.005, 3);
  });
});
