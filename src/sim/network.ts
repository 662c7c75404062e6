import type { NodeId, Rng } from '../raft/types.js';

/** Fault rates of the packet simulator; probabilities are per message. */
export interface NetworkFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** A message takes a long detour with this probability (this is what reorders messages). */
  readonly longDelayRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly longDelayMaxMs: number;
}

export const HEALTHY_NETWORK: NetworkFaults = {
  dropRate: 0,
  duplicateRate: 0,
  longDelayRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  longDelayMaxMs: 5,
};

/** Probability p as an integer draw, so the sequence of draws is the only source of randomness. */
export function chance(rng: Rng, p: number): boolean {
  return p > 0 && rng.int(1_000_000) < p * 1_000_000;
}

export function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

const LINK_SPAN = 1 << 16;

/**
 * Decides, per message, whether and when it arrives. Links are directed, so an asymmetric
 * partition is just some blocked directions. A message is checked against the partition both
 * when sent and when it would arrive (a partition that starts mid-flight loses it).
 */
export class SimNetwork {
  faults: NetworkFaults = HEALTHY_NETWORK;
  private readonly blocked = new Set<number>();

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(from * LINK_SPAN + to);
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(from * LINK_SPAN + to);
  }

  get blockedLinks(): number {
    return this.blocked.size;
  }

  healPartitions(): void {
    this.blocked.clear();
  }

  /** Delivery delays (ms) for one message: none when dropped, two when duplicated. */
  route(from: NodeId, to: NodeId, rng: Rng): number[] {
    if (this.isBlocked(from, to)) return [];
    const f = this.faults;
    if (chance(rng, f.dropRate)) return [];
    const delays = [this.delay(rng)];
    if (chance(rng, f.duplicateRate)) delays.push(this.delay(rng));
    return delays;
  }

  private delay(rng: Rng): number {
    const f = this.faults;
    if (chance(rng, f.longDelayRate)) return between(rng, f.maxDelayMs, f.longDelayMaxMs);
    return between(rng, f.minDelayMs, f.maxDelayMs);
  }
}
