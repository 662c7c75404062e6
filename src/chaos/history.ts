/**
 * A history of operations on per-key registers, recorded from concurrent clients: what each
 * client asked (the input), when it asked (invoke), when it heard back (complete) and what it
 * heard (the output) — or that it never learned the outcome (timeout, connection lost). This is
 * the input of the linearizability checker (linearizability.ts).
 *
 * Times are milliseconds on one monotonic clock (performance.now() of the recording process),
 * so that real-time order between operations of different clients is meaningful.
 */

/** A register's content: a string, or null when the key does not exist. */
export type RegisterValue = string | null;

export type OpInput =
  /** SET key value (value null: DEL key). */
  | { readonly kind: 'write'; readonly key: string; readonly value: RegisterValue }
  /** GET key. */
  | { readonly kind: 'read'; readonly key: string }
  /** CAS key value IFEQ expected (expected null: IFABSENT). */
  | { readonly kind: 'cas'; readonly key: string; readonly expected: RegisterValue; readonly value: string };

export type OpOutput =
  | { readonly kind: 'write' }
  | { readonly kind: 'read'; readonly value: RegisterValue }
  | { readonly kind: 'cas'; readonly ok: boolean };

export interface Operation {
  /** Unique within the history; the order of invocation. */
  readonly id: number;
  readonly clientId: number;
  readonly input: OpInput;
  readonly invokeMs: number;
  /**
   * When the client heard the outcome; null when it never did (unknown outcome: the operation
   * may have taken effect at any time after invokeMs, or never).
   */
  readonly completeMs: number | null;
  /** Null exactly when completeMs is null. */
  readonly output: OpOutput | null;
}

export type History = readonly Operation[];

export function isUnknownOutcome(op: Operation): boolean {
  return op.completeMs === null;
}

/** Checks the shape invariants of one operation; throws `invariant: ...` on a malformed one. */
export function assertWellFormed(op: Operation): void {
  if ((op.completeMs === null) !== (op.output === null)) {
    throw new Error(`invariant: op ${op.id} must have both completeMs and output, or neither`);
  }
  if (!Number.isFinite(op.invokeMs)) throw new Error(`invariant: op ${op.id} invokeMs is not finite`);
  if (op.completeMs !== null && !(op.completeMs >= op.invokeMs)) {
    throw new Error(
      `invariant: op ${op.id} completes (${op.completeMs}) before it is invoked (${op.invokeMs})`,
    );
  }
  if (op.output !== null && op.output.kind !== op.input.kind) {
    throw new Error(`invariant: op ${op.id} is a ${op.input.kind} with a ${op.output.kind} output`);
  }
}

export const DEFAULT_MAX_RECORDED_OPS = 1_000_000;

/** A pending operation, as returned by HistoryRecorder.invoke. */
export interface PendingOp {
  readonly id: number;
  readonly clientId: number;
  readonly input: OpInput;
  readonly invokeMs: number;
}

/**
 * Records operations as clients run them. Call invoke() right before sending, then exactly one
 * of complete() (an answer), unknown() (sent, no answer) or discard() (proved not applied: the
 * command never reached a leader, so it is no event at all). Bounded: once maxOps are recorded,
 * `full` is true and invoke() throws, so a runaway workload cannot exhaust memory.
 */
export class HistoryRecorder {
  private readonly ops = new Map<number, Operation>();
  private readonly pending = new Map<number, PendingOp>();
  private nextId = 0;

  constructor(
    private readonly now: () => number = () => performance.now(),
    readonly maxOps: number = DEFAULT_MAX_RECORDED_OPS,
  ) {
    if (!Number.isInteger(maxOps) || maxOps < 1) throw new Error(`invariant: maxOps ${maxOps} must be >= 1`);
  }

  get full(): boolean {
    return this.nextId >= this.maxOps;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  invoke(clientId: number, input: OpInput): PendingOp {
    if (this.full) throw new Error(`history is full (${this.maxOps} operations)`);
    const op: PendingOp = { id: this.nextId++, clientId, input, invokeMs: this.now() };
    this.pending.set(op.id, op);
    return op;
  }

  complete(op: PendingOp, output: OpOutput): Operation {
    const done: Operation = { ...this.take(op), completeMs: this.now(), output };
    assertWellFormed(done);
    this.ops.set(done.id, done);
    return done;
  }

  unknown(op: PendingOp): Operation {
    const done: Operation = { ...this.take(op), completeMs: null, output: null };
    this.ops.set(done.id, done);
    return done;
  }

  discard(op: PendingOp): void {
    this.take(op);
  }

  /**
   * The recorded operations in invocation order. Operations still pending count as unknown
   * outcome (the recording stopped before they finished).
   */
  history(): Operation[] {
    const all = [...this.ops.values()];
    for (const op of this.pending.values()) all.push({ ...op, completeMs: null, output: null });
    return all.sort((a, b) => a.id - b.id);
  }

  private take(op: PendingOp): PendingOp {
    const pending = this.pending.get(op.id);
    if (pending === undefined) throw new Error(`invariant: op ${op.id} is not pending (finished twice?)`);
    this.pending.delete(op.id);
    return pending;
  }
}

/** Operations grouped by key, each group in invocation order. */
export function partitionByKey(history: History): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    const group = byKey.get(op.input.key);
    if (group === undefined) byKey.set(op.input.key, [op]);
    else group.push(op);
  }
  return byKey;
}

export interface HistorySummary {
  readonly ops: number;
  readonly reads: number;
  readonly writes: number;
  readonly cas: number;
  /** Writes and CAS that got an answer (for CAS: either ok or not). */
  readonly ackedWrites: number;
  readonly unknownOutcomes: number;
}

export function summarize(history: History): HistorySummary {
  let reads = 0;
  let writes = 0;
  let cas = 0;
  let ackedWrites = 0;
  let unknownOutcomes = 0;
  for (const op of history) {
    if (op.input.kind === 'read') reads++;
    else if (op.input.kind === 'write') writes++;
    else cas++;
    if (op.completeMs === null) unknownOutcomes++;
    else if (op.input.kind !== 'read') ackedWrites++;
  }
  return { ops: history.length, reads, writes, cas, ackedWrites, unknownOutcomes };
}

/** One line per operation, for failure reports: `#12 c3 [10.0, 12.5] cas(k, 'a'→'b') -> ok`. */
export function describeOp(op: Operation): string {
  const show = (value: RegisterValue): string => (value === null ? 'nil' : JSON.stringify(value));
  const input = op.input;
  const what =
    input.kind === 'read'
      ? `get(${input.key})`
      : input.kind === 'write'
        ? `set(${input.key}, ${show(input.value)})`
        : `cas(${input.key}, ${show(input.expected)}→${show(input.value)})`;
  const output = op.output;
  const result =
    output === null
      ? '?'
      : output.kind === 'read'
        ? show(output.value)
        : output.kind === 'cas'
          ? output.ok
            ? 'ok'
            : 'fail'
          : 'ok';
  const end = op.completeMs === null ? '∞' : op.completeMs.toFixed(1);
  return `#${op.id} c${op.clientId} [${op.invokeMs.toFixed(1)}, ${end}] ${what} -> ${result}`;
}
