/**
 * A min-heap of timed events. Ties on time are broken by insertion order (seq), so the order of
 * events never depends on anything but the sequence of pushes: the simulator stays deterministic.
 */
export class EventQueue<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  push(timeMs: number, item: T): void {
    const seq = this.nextSeq++;
    let i = this.items.length;
    this.times.push(timeMs);
    this.seqs.push(seq);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(timeMs, seq, parent)) break;
      this.move(parent, i);
      i = parent;
    }
    this.set(i, timeMs, seq, item);
  }

  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Removes and returns the earliest event, with its time. */
  pop(): { timeMs: number; item: T } | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const timeMs = this.times[0]!;
    const item = this.items[0]!;
    const lastTime = this.times.pop()!;
    const lastSeq = this.seqs.pop()!;
    const lastItem = this.items.pop()!;
    if (n > 1) {
      let i = 0;
      const size = n - 1;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && this.lessIdx(right, left) ? right : left;
        if (!this.less(this.times[child]!, this.seqs[child]!, i, lastTime, lastSeq)) break;
        this.move(child, i);
        i = child;
      }
      this.set(i, lastTime, lastSeq, lastItem);
    }
    return { timeMs, item };
  }

  /** Is (time, seq) before the element at idx (or before (otherTime, otherSeq) when given)? */
  private less(time: number, seq: number, idx: number, otherTime?: number, otherSeq?: number): boolean {
    if (otherTime !== undefined && otherSeq !== undefined) {
      return time < otherTime || (time === otherTime && seq < otherSeq);
    }
    const t = this.times[idx]!;
    return time < t || (time === t && seq < this.seqs[idx]!);
  }

  private lessIdx(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.seqs[a]! < this.seqs[b]!);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.items[to] = this.items[from]!;
  }

  private set(i: number, timeMs: number, seq: number, item: T): void {
    this.times[i] = timeMs;
    this.seqs[i] = seq;
    this.items[i] = item;
  }
}
