/**
 * Linearizability checker for histories of per-key registers (read / write / compare-and-set),
 * in the style of Wing & Gong as improved by Lowe and used by Porcupine:
 *
 * - Registers are independent, so the history is partitioned by key and each key is checked
 *   on its own (a history is linearizable iff every key's sub-history is).
 * - For one key, a depth-first search picks the next linearization point among the operations
 *   that may go next (those invoked before every not-yet-linearized operation returned), steps
 *   the register model, and backtracks when no operation fits. Visited (linearized set, register
 *   value) configurations are memoized, which turns the exponential search into one that is
 *   roughly linear for histories with bounded concurrency.
 * - An operation with an unknown outcome (timeout, connection lost) may have taken effect at
 *   any time after its invocation, or never: it has no return time and it is optional (the
 *   search may leave it out). An unknown-outcome read is no event at all and is dropped.
 * - Unknown-outcome writes would make the search exponential (each may be slotted in anywhere,
 *   forever after its invocation), so a reduction limits where they go: one that sets value u
 *   is linearized only while some pending operation still mentions u (a read returning u, a
 *   CAS expecting u), or immediately before a failed CAS that needs the register to differ
 *   from its current value. Any linearization can be rewritten into one of that shape: between
 *   such a write and the next change of the register, only failed CASes can see it, so it can
 *   be dropped, or moved to right before the first failed CAS that needs it. And two such
 *   unread SETs are interchangeable, so only one of those available is ever tried at a point.
 *
 * The search is bounded (operations per key, visited configurations per key, a time budget for
 * the whole history): when a bound is hit the answer is "unknown", never a hang.
 */
import { type History, type Operation, type RegisterValue, describeOp, partitionByKey } from './history.js';

export type Verdict = 'ok' | 'violation' | 'unknown';

export interface CheckOptions {
  /** Keys with more operations (after dropping unknown reads) are not searched: "unknown". */
  readonly maxOpsPerKey?: number;
  /** Memoized configurations per key; beyond this the key is "unknown" (bounds memory). */
  readonly maxVisitedPerKey?: number;
  /** Wall-clock budget for the whole history; keys not finished in time are "unknown". */
  readonly timeBudgetMs?: number;
  /** The register's value before the history (default: null, the key does not exist). */
  readonly initialValue?: (key: string) => RegisterValue;
  /** Clock for the time budget (injectable for tests). */
  readonly now?: () => number;
}

export const DEFAULT_MAX_OPS_PER_KEY = 50_000;
export const DEFAULT_MAX_VISITED_PER_KEY = 2_000_000;
export const DEFAULT_TIME_BUDGET_MS = 20_000;
/** How many operations a violation report shows around the point where the search got stuck. */
const REPORT_OPS = 8;

export interface KeyResult {
  readonly key: string;
  readonly verdict: Verdict;
  /** Operations searched (unknown-outcome reads excluded). */
  readonly ops: number;
  /** Configurations visited by the search. */
  readonly visited: number;
  /** Why the verdict is "unknown", or what was violated (human-readable). */
  readonly reason?: string;
  /**
   * For a violation: the operations that could go next at the deepest point the search
   * reached (no order of them fits the register from there), as describeOp lines.
   */
  readonly stuckAt?: readonly string[];
}

export interface CheckResult {
  /** violation if any key has one; else unknown if any key is unknown; else ok. */
  readonly verdict: Verdict;
  readonly keys: readonly KeyResult[];
  readonly elapsedMs: number;
}

/** Checks a whole history: each key separately, until the time budget runs out. */
export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const deadline = started + (options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS);
  const keys: KeyResult[] = [];
  for (const [key, ops] of partitionByKey(history)) {
    keys.push(checkKey(key, ops, { ...options, now }, deadline));
  }
  const verdict: Verdict = keys.some((k) => k.verdict === 'violation')
    ? 'violation'
    : keys.some((k) => k.verdict === 'unknown')
      ? 'unknown'
      : 'ok';
  return { verdict, keys, elapsedMs: now() - started };
}

/** The register model: the value after `op` is linearized at `value`, or undefined if it cannot be. */
function step(op: Operation, value: RegisterValue): RegisterValue | undefined {
  const input = op.input;
  const output = op.output;
  switch (input.kind) {
    case 'write':
      return input.value;
    case 'read':
      if (output === null || output.kind !== 'read')
        throw new Error('invariant: a searched read has an output');
      return output.value === value ? value : undefined;
    case 'cas': {
      const matches = value === input.expected;
      // Unknown outcome: linearizing it only makes sense where it applies; "did not apply" is
      // the same as leaving it out.
      if (output === null) return matches ? input.value : undefined;
      if (output.kind !== 'cas') throw new Error('invariant: a cas has a cas output');
      if (output.ok) return matches ? input.value : undefined;
      return matches ? undefined : value;
    }
  }
}

/**
 * Checks one key's operations. `deadline` is on options.now's clock. Exported for tests and for
 * callers that want per-key control; most callers use checkHistory.
 */
export function checkKey(
  key: string,
  keyOps: readonly Operation[],
  options: CheckOptions & { now: () => number },
  deadline: number,
): KeyResult {
  for (const op of keyOps) {
    if (op.input.key !== key) throw new Error(`invariant: op ${op.id} is on ${op.input.key}, not ${key}`);
  }
  // Unknown-outcome reads observed nothing: drop them. Order by invocation (ties: id).
  const ops = keyOps
    .filter((op) => !(op.input.kind === 'read' && op.completeMs === null))
    .sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  const n = ops.length;
  const maxOps = options.maxOpsPerKey ?? DEFAULT_MAX_OPS_PER_KEY;
  if (n > maxOps) {
    return { key, verdict: 'unknown', ops: n, visited: 0, reason: `${n} operations > limit ${maxOps}` };
  }
  const maxVisited = options.maxVisitedPerKey ?? DEFAULT_MAX_VISITED_PER_KEY;
  const invoke = ops.map((op) => op.invokeMs);
  const ret = ops.map((op) => op.completeMs ?? Infinity);
  // Required ops (known outcome) in invocation order; optional ones (unknown outcome) apart,
  // so that an optional op left out forever does not pin the search window open.
  const required: number[] = [];
  const optional: number[] = [];
  ops.forEach((op, index) => (op.completeMs === null ? optional : required).push(index));

  const linearized = new Uint8Array(n);
  let value: RegisterValue = options.initialValue?.(key) ?? null;
  /** Position in `required` of the first required op not linearized (all before it are). */
  let lo = 0;
  /** Highest position in `required` that is linearized (-1: none). */
  let hiLinearized = -1;
  let requiredDone = 0;

  /** Ops that may be linearized next: invoked no later than the earliest pending return. */
  const candidates = (): number[] => {
    let minReturn = Infinity;
    let end = lo;
    for (; end < required.length; end++) {
      const index = required[end]!;
      if (invoke[index]! > minReturn) break;
      if (linearized[index] === 0) minReturn = Math.min(minReturn, ret[index]!);
    }
    const next: number[] = [];
    for (let p = lo; p < end; p++) {
      const index = required[p]!;
      if (linearized[index] === 0 && invoke[index]! <= minReturn) next.push(index);
    }
    for (const index of optional) {
      if (linearized[index] === 0 && invoke[index]! <= minReturn) next.push(index);
    }
    return next;
  };

  const stateKey = (): string => {
    const parts: number[] = [lo];
    for (let p = lo + 1; p <= hiLinearized; p++) if (linearized[required[p]!] === 1) parts.push(p);
    parts.push(-1);
    for (const index of optional) if (linearized[index] === 1) parts.push(index);
    return `${parts.join(',')}|${value === null ? 'N' : `S${value}`}`;
  };

  const positionInRequired = new Int32Array(n).fill(-1);
  required.forEach((index, position) => (positionInRequired[index] = position));

  // How many not-yet-linearized operations mention each value (read output, CAS expectation).
  const mentionOf = (op: Operation): string | null => {
    if (op.input.kind === 'cas') return op.input.expected;
    if (op.output?.kind === 'read') return op.output.value;
    return null;
  };
  const pendingMentions = new Map<string, number>();
  const mention = (index: number, delta: number): void => {
    const mentioned = mentionOf(ops[index]!);
    if (mentioned !== null) pendingMentions.set(mentioned, (pendingMentions.get(mentioned) ?? 0) + delta);
  };
  ops.forEach((_, index) => mention(index, 1));
  /** The value an unknown-outcome op sets, if the reduction applies to it (else undefined). */
  const optionalValue = (index: number): string | undefined => {
    const op = ops[index]!;
    if (op.completeMs !== null || op.input.kind === 'read' || op.input.value === null) return undefined;
    return op.input.value;
  };
  const isFailedCasExpecting = (index: number, expected: RegisterValue): boolean => {
    const op = ops[index]!;
    return (
      op.input.kind === 'cas' && op.output?.kind === 'cas' && !op.output.ok && op.input.expected === expected
    );
  };

  interface Frame {
    readonly options: number[];
    nextOption: number;
    /** The op linearized to reach this frame (-1 for the root) and what to restore on undo. */
    readonly op: number;
    readonly previousValue: RegisterValue;
    readonly previousLo: number;
    readonly previousHi: number;
    /** Set when `op` was an unknown write placed only to make a failed CAS fail: what it expects. */
    readonly onlyFailedCasExpecting?: { readonly value: RegisterValue };
    /** An unread unknown SET was tried from here: the others are interchangeable with it. */
    triedUnreadWrite?: boolean;
  }
  const visited = new Set<string>();
  const stack: Frame[] = [
    { options: candidates(), nextOption: 0, op: -1, previousValue: value, previousLo: lo, previousHi: -1 },
  ];
  let deepest = { done: -1, value: value as RegisterValue, options: [] as number[] };
  let iterations = 0;

  while (stack.length > 0) {
    if (requiredDone === required.length) {
      return { key, verdict: 'ok', ops: n, visited: visited.size };
    }
    if ((++iterations & 1023) === 0 && options.now() > deadline) {
      return { key, verdict: 'unknown', ops: n, visited: visited.size, reason: 'time budget exhausted' };
    }
    const frame = stack[stack.length - 1]!;
    if (frame.nextOption === 0 && requiredDone > deepest.done) {
      deepest = { done: requiredDone, value, options: frame.options };
    }
    if (frame.nextOption >= frame.options.length) {
      stack.pop();
      if (frame.op >= 0) {
        linearized[frame.op] = 0;
        mention(frame.op, 1);
        if (positionInRequired[frame.op]! >= 0) requiredDone--;
        value = frame.previousValue;
        lo = frame.previousLo;
        hiLinearized = frame.previousHi;
      }
      continue;
    }
    const index = frame.options[frame.nextOption++]!;
    const restriction = frame.onlyFailedCasExpecting;
    if (restriction !== undefined && !isFailedCasExpecting(index, restriction.value)) continue;
    const after = step(ops[index]!, value);
    if (after === undefined) continue;
    const setsValue = optionalValue(index);
    // Unknown write whose value nobody pending mentions: only right before a failed CAS.
    const restrictNext =
      setsValue !== undefined && (pendingMentions.get(setsValue) ?? 0) === 0 ? { value } : undefined;
    if (restrictNext !== undefined && ops[index]!.input.kind === 'write') {
      // Two unread unknown SETs, both available here, can trade places in any linearization
      // (availability only grows, nobody pending reads either value): try only the first.
      if (frame.triedUnreadWrite === true) continue;
      frame.triedUnreadWrite = true;
    }

    const previous = { value, lo, hi: hiLinearized };
    linearized[index] = 1;
    mention(index, -1);
    value = after;
    const position = positionInRequired[index]!;
    if (position >= 0) {
      requiredDone++;
      hiLinearized = Math.max(hiLinearized, position);
      while (lo < required.length && linearized[required[lo]!] === 1) lo++;
    }
    // A restricted configuration allows fewer continuations: memoize it apart.
    const configuration =
      restrictNext === undefined
        ? stateKey()
        : `${stateKey()}|R${restrictNext.value === null ? 'N' : `S${restrictNext.value}`}`;
    if (visited.has(configuration)) {
      linearized[index] = 0;
      mention(index, 1);
      if (position >= 0) requiredDone--;
      value = previous.value;
      lo = previous.lo;
      hiLinearized = previous.hi;
      continue;
    }
    if (visited.size >= maxVisited) {
      return {
        key,
        verdict: 'unknown',
        ops: n,
        visited: visited.size,
        reason: `more than ${maxVisited} configurations`,
      };
    }
    visited.add(configuration);
    stack.push({
      options: candidates(),
      nextOption: 0,
      op: index,
      previousValue: previous.value,
      previousLo: previous.lo,
      previousHi: previous.hi,
      ...(restrictNext !== undefined ? { onlyFailedCasExpecting: restrictNext } : {}),
    });
  }

  const shown = deepest.options.slice(0, REPORT_OPS).map((index) => describeOp(ops[index]!));
  const held = deepest.value === null ? 'nil' : JSON.stringify(deepest.value);
  return {
    key,
    verdict: 'violation',
    ops: n,
    visited: visited.size,
    reason:
      `not linearizable: the search got at most ${deepest.done} of ${required.length} completed operations ` +
      `in; there the register held ${held} and no order of the operations that could go next works`,
    stuckAt: shown,
  };
}
