/**
 * A latency histogram with logarithmic buckets, each split linearly (the HdrHistogram layout):
 * values below 2^subBucketBits are exact; above, each power-of-two range [2^e, 2^(e+1)) has
 * 2^subBucketBits equal buckets, so a reported percentile is within 1/2^subBucketBits (about
 * 3% with the default 5 bits) of the true value. Memory is fixed: one counter per bucket.
 *
 * Values are integers in microseconds (record() rounds); percentiles come back in microseconds.
 */

/** Largest recordable value: 2^32 - 1 µs (about 71 minutes); larger values are clamped. */
export const MAX_TRACKABLE_US = 2 ** 32 - 1;
const DEFAULT_SUB_BUCKET_BITS = 5;

export class LatencyHistogram {
  private readonly subBucketCount: number;
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;
  private minUs = Infinity;
  private maxUs = 0;

  constructor(readonly subBucketBits: number = DEFAULT_SUB_BUCKET_BITS) {
    if (!Number.isInteger(subBucketBits) || subBucketBits < 1 || subBucketBits > 10) {
      throw new Error(`invariant: subBucketBits ${subBucketBits} must be in 1..10`);
    }
    this.subBucketCount = 2 ** subBucketBits;
    // Exact range [0, S) plus S buckets for each exponent from subBucketBits to 31.
    this.counts = new Float64Array(this.subBucketCount * (32 - subBucketBits + 1));
  }

  get count(): number {
    return this.total;
  }
  get min(): number {
    return this.total === 0 ? 0 : this.minUs;
  }
  get max(): number {
    return this.maxUs;
  }
  get mean(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  record(valueUs: number): void {
    if (!(valueUs >= 0)) throw new Error(`invariant: latency ${valueUs} must be a number >= 0`);
    const value = Math.min(MAX_TRACKABLE_US, Math.round(valueUs));
    const index = this.indexOf(value);
    this.counts[index] = this.counts[index]! + 1;
    this.total++;
    this.sum += value;
    if (value < this.minUs) this.minUs = value;
    if (value > this.maxUs) this.maxUs = value;
  }

  /** Adds another histogram's counts (same layout) to this one. */
  merge(other: LatencyHistogram): void {
    if (other.subBucketBits !== this.subBucketBits) throw new Error('invariant: merging different layouts');
    for (let i = 0; i < this.counts.length; i++) this.counts[i] = this.counts[i]! + other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /**
   * The value at percentile p (0 < p ≤ 100): the highest value of the bucket holding the
   * ceil(p% · count)-th smallest sample, clamped to [min, max]. 0 when empty.
   */
  percentile(p: number): number {
    if (!(p > 0 && p <= 100)) throw new Error(`invariant: percentile ${p} must be in (0, 100]`);
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, this.highestIn(index)));
    }
    throw new Error('invariant: percentile rank beyond the recorded count');
  }

  private indexOf(value: number): number {
    const s = this.subBucketCount;
    if (value < s) return value;
    const exponent = 31 - Math.clz32(value);
    const shift = exponent - this.subBucketBits;
    const sub = Math.floor(value / 2 ** shift) - s;
    return s + shift * s + sub;
  }

  private highestIn(index: number): number {
    const s = this.subBucketCount;
    if (index < s) return index;
    const shift = Math.floor((index - s) / s);
    const sub = (index - s) % s;
    return (s + sub + 1) * 2 ** shift - 1;
  }
}

export interface LatencySummaryMs {
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** The usual percentiles, in milliseconds rounded to microseconds. */
export function summarizeMs(histogram: LatencyHistogram): LatencySummaryMs {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    min: ms(histogram.min),
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p95: ms(histogram.percentile(95)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}
