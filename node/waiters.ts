/**
 * Clients waiting on the Raft log: writes wait for their entry to be applied, reads wait for a
 * ReadIndex confirmation and then for the state machine to catch up to that index.
 * Every wait is bounded in count and in time.
 */

export class RequestError extends Error {
  /** RESP error prefix, e.g. TRYAGAIN (safe to retry), TIMEOUT (outcome unknown), NOSPACE (disk full, not proposed). */
  constructor(
    readonly code: 'TRYAGAIN' | 'TIMEOUT' | 'ERR' | 'NOSPACE',
    message: string,
  ) {
    super(message);
  }
}

interface Deferred<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

/** A promise settled at most once: by resolve, reject, or the timeout; onSettle runs exactly once. */
function deferred<T>(
  timeoutMs: number,
  onTimeout: () => RequestError,
  onSettle: () => void,
): { promise: Promise<T>; d: Deferred<T> } {
  let resolveFn!: (value: T) => void;
  let rejectFn!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    clearTimeout(timer);
    onSettle();
    return true;
  };
  const timer = setTimeout(() => {
    if (settle()) rejectFn(onTimeout());
  }, timeoutMs);
  const d: Deferred<T> = {
    resolve: (value) => {
      if (settle()) resolveFn(value);
    },
    reject: (err) => {
      if (settle()) rejectFn(err);
    },
  };
  return { promise, d };
}

/** A proposed entry (index, term) whose appliers wait for the apply result. */
export class ProposalWaiters<R> {
  private readonly byIndex = new Map<number, { term: number; d: Deferred<R> }>();

  constructor(
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.byIndex.size;
  }

  hasRoom(): boolean {
    return this.byIndex.size < this.maxPending;
  }

  wait(index: number, term: number): Promise<R> {
    if (this.byIndex.has(index)) throw new Error(`invariant: two proposals wait on index ${index}`);
    const { promise, d } = deferred<R>(
      this.timeoutMs,
      () => new RequestError('TIMEOUT', 'write not confirmed in time; its outcome is unknown'),
      () => {
        if (this.byIndex.get(index)?.d === d) this.byIndex.delete(index);
      },
    );
    this.byIndex.set(index, { term, d });
    return promise;
  }

  /**
   * The entry at `index` was applied with `term`. If it is the one we proposed, its result goes
   * to the waiter; if another leader's entry took the index, ours was never applied.
   */
  applied(index: number, term: number, result: () => R): void {
    const w = this.byIndex.get(index);
    if (!w) return;
    this.byIndex.delete(index);
    if (w.term === term) w.d.resolve(result());
    else
      w.d.reject(
        new RequestError('TRYAGAIN', 'leadership changed before the write committed; it was not applied'),
      );
  }

  /** A snapshot replaced the log through `index`: the fate of waiters at or below it is unknown. */
  snapshotInstalled(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i <= index) {
        this.byIndex.delete(i);
        w.d.reject(new RequestError('TIMEOUT', 'a snapshot replaced the log; the write outcome is unknown'));
      }
    }
  }

  failAll(err: RequestError): void {
    for (const w of this.byIndex.values()) w.d.reject(err);
    this.byIndex.clear();
  }
}

/**
 * Linearizable read barriers. Reads that arrive in the same turn share one ReadIndex context, so
 * one heartbeat round confirms them all; after confirmation they wait for applied ≥ readIndex.
 */
export class ReadWaiters {
  private readonly byContext = new Map<number, Deferred<void>[]>();
  /** Confirmed reads waiting for the state machine, in increasing index order. */
  private readonly confirmed: { index: number; waiters: Deferred<void>[] }[] = [];
  private pendingCount = 0;

  constructor(
    private readonly maxPending: number,
    private readonly timeoutMs: number,
  ) {}

  hasRoom(): boolean {
    return this.pendingCount < this.maxPending;
  }

  wait(context: number): Promise<void> {
    const { promise, d } = deferred<void>(
      this.timeoutMs,
      () => new RequestError('TRYAGAIN', 'read not confirmed by a quorum in time'),
      () => this.pendingCount--,
    );
    this.pendingCount++;
    const list = this.byContext.get(context);
    if (list) list.push(d);
    else this.byContext.set(context, [d]);
    return promise;
  }

  /** A quorum confirmed leadership for `context` at `index`. */
  confirm(context: number, index: number, appliedIndex: number): void {
    const waiters = this.byContext.get(context);
    if (!waiters) return;
    this.byContext.delete(context);
    if (index <= appliedIndex) {
      this.release(waiters);
      return;
    }
    const last = this.confirmed[this.confirmed.length - 1];
    if (last && last.index > index) {
      // ReadIndex results arrive in increasing order from one leader; after a leader change
      // they may not, so keep the queue sorted.
      const at = this.confirmed.findIndex((c) => c.index > index);
      this.confirmed.splice(at, 0, { index, waiters });
    } else {
      this.confirmed.push({ index, waiters });
    }
  }

  appliedTo(appliedIndex: number): void {
    while (this.confirmed.length > 0 && this.confirmed[0]!.index <= appliedIndex) {
      this.release(this.confirmed.shift()!.waiters);
    }
  }

  failContext(context: number, err: RequestError): void {
    const waiters = this.byContext.get(context);
    if (!waiters) return;
    this.byContext.delete(context);
    for (const d of waiters) d.reject(err);
  }

  /** Leadership changed: reads not yet confirmed will never be; clients may retry them safely. */
  failUnconfirmed(err: RequestError): void {
    for (const context of [...this.byContext.keys()]) this.failContext(context, err);
  }

  private release(waiters: Deferred<void>[]): void {
    for (const d of waiters) d.resolve();
  }
}
