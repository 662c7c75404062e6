/**
 * Exponential backoff with jitter for reconnects: attempt n waits a uniform time in
 * [cap/2, cap] where cap = min(maxMs, baseMs · 2^n). The jitter keeps a cluster that lost a node
 * from redialing it in lockstep; the floor of cap/2 keeps a flapping peer from being hammered.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
      throw new Error(`invariant: backoff needs 0 < baseMs ≤ maxMs (got ${baseMs}, ${maxMs})`);
    }
  }

  /** Delay before the next attempt, in ms; each call doubles the cap until maxMs. */
  nextDelayMs(): number {
    // Cap the exponent so 2^attempt never overflows into Infinity on a long outage.
    const capMs = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(capMs / 2 + (this.random() * capMs) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
