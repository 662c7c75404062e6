/**
 * A bounded FIFO of the last indexes of App messages sent to one follower in replicate state
 * and not yet acknowledged (the pipelining window). A ring buffer: no allocation per message.
 */
export class Inflights {
  private readonly buffer: Float64Array;
  private start = 0;
  private countMsgs = 0;

  constructor(readonly capacityMsgs: number) {
    if (!Number.isInteger(capacityMsgs) || capacityMsgs < 1) {
      throw new Error(`invariant: maxInflightMsgs must be an integer >= 1, got ${capacityMsgs}`);
    }
    this.buffer = new Float64Array(capacityMsgs);
  }

  get count(): number {
    return this.countMsgs;
  }

  full(): boolean {
    return this.countMsgs === this.capacityMsgs;
  }

  /** Records an App whose last entry has index `lastIndex`; indexes must be non-decreasing. */
  add(lastIndex: number): void {
    if (this.full()) throw new Error('invariant: inflights add on a full window');
    if (this.countMsgs > 0) {
      const prev = this.buffer[(this.start + this.countMsgs - 1) % this.capacityMsgs]!;
      if (lastIndex < prev) throw new Error(`invariant: inflights out of order (${lastIndex} after ${prev})`);
    }
    this.buffer[(this.start + this.countMsgs) % this.capacityMsgs] = lastIndex;
    this.countMsgs++;
  }

  /** Frees every message whose last index is ≤ `index` (acknowledged by a response up to it). */
  freeLE(index: number): void {
    while (this.countMsgs > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacityMsgs;
      this.countMsgs--;
    }
  }

  freeFirstOne(): void {
    if (this.countMsgs === 0) return;
    this.start = (this.start + 1) % this.capacityMsgs;
    this.countMsgs--;
  }

  reset(): void {
    this.start = 0;
    this.countMsgs = 0;
  }
}
