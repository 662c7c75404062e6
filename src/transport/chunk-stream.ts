/**
 * The receiving end of a snapshot stream: frames push chunks in, the host pulls them out with
 * `for await`. Bounded: above `highWaterBytes` of unread chunks it asks the connection to stop
 * reading (TCP then pushes back on the sender), and resumes below half of it.
 */
export interface ChunkStreamOptions {
  readonly highWaterBytes: number;
  /** true: stop reading the socket; false: resume. Called only on transitions. */
  readonly onPressure: (paused: boolean) => void;
}

export class ChunkStream implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ended = false;
  private error: Error | undefined;
  private cancelled = false;
  private paused = false;
  private iterated = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: ChunkStreamOptions) {
    if (!(options.highWaterBytes > 0)) throw new Error('invariant: highWaterBytes must be > 0');
  }

  /** Adds a chunk; ignored once the stream ended, failed or the consumer stopped reading. */
  push(chunk: Uint8Array): void {
    if (this.ended || this.error !== undefined || this.cancelled) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.byteLength;
    if (!this.paused && this.queuedBytes > this.options.highWaterBytes) {
      this.paused = true;
      this.options.onPressure(true);
    }
    this.notify();
  }

  /** No more chunks: the consumer sees the end after the queued chunks. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The stream broke (sender aborted, connection lost): the consumer's next read throws. */
  fail(err: Error): void {
    if (this.ended || this.cancelled) return;
    this.error = err;
    this.dropQueue();
    this.notify();
  }

  /** The consumer is done (or gone): drop queued chunks, discard further ones, release pressure. */
  cancel(): void {
    this.cancelled = true;
    this.dropQueue();
    this.notify();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw new Error('invariant: a snapshot chunk stream can be read only once');
    this.iterated = true;
    return {
      next: () => this.next(),
      return: () => {
        this.cancel();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      if (this.cancelled) return { done: true, value: undefined };
      if (this.head < this.queue.length) {
        const chunk = this.queue[this.head]!;
        this.queue[this.head] = EMPTY;
        this.head++;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        }
        this.queuedBytes -= chunk.byteLength;
        this.releasePressureIfLow();
        return { done: false, value: chunk };
      }
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private dropQueue(): void {
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.releasePressureIfLow();
  }

  private releasePressureIfLow(): void {
    if (this.paused && this.queuedBytes <= this.options.highWaterBytes / 2) {
      this.paused = false;
      this.options.onPressure(false);
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

const EMPTY = new Uint8Array(0);
