/**
 * Which failures may be retried, and when. The rule that keeps writes exactly-once-or-reported:
 * a write is retried only when the failure PROVES it was not applied — the node answered
 * MOVED (it is not the leader and did not propose it) or TRYAGAIN (no leader: not proposed), or
 * the connection failed before the command was written. A timeout or a connection lost after
 * sending leaves the outcome unknown; that is reported, never silently retried.
 */

/** Commands that never change state: safe to send again after any failure. */
const READ_ONLY_COMMANDS = new Set([
  'GET',
  'MGET',
  'EXISTS',
  'STRLEN',
  'GETRANGE',
  'TTL',
  'PTTL',
  'TYPE',
  'KEYS',
  'SCAN',
  'DBSIZE',
  'PING',
  'ECHO',
  'INFO',
  'TIME',
  'COMMAND',
  'RAFT.LEADER',
  'RAFT.STATUS',
]);

export function isReadOnlyCommand(name: string): boolean {
  return READ_ONLY_COMMANDS.has(name.toUpperCase());
}

/** What one failed attempt tells us. */
export type FailureKind =
  /** -MOVED 0 h:p: go to h:p now; the command was not applied. */
  | { readonly kind: 'moved'; readonly address: string }
  /** -TRYAGAIN: no leader; wait and retry; not applied. */
  | { readonly kind: 'tryagain' }
  /** Could not connect, nothing was sent: not applied. */
  | { readonly kind: 'not-sent' }
  /** Sent, then the connection broke or timed out: may or may not have been applied. */
  | { readonly kind: 'unknown-outcome' }
  /** The server answered with an error (WRONGTYPE, syntax, ...): final. */
  | { readonly kind: 'reply-error' };

const MOVED_PATTERN = /^MOVED\s+\d+\s+(\S+:\d+)\s*$/;

/** Classifies a server error reply by its message (ioredis ReplyError.message). */
export function classifyReplyError(message: string): FailureKind {
  const moved = MOVED_PATTERN.exec(message);
  if (moved?.[1] !== undefined) return { kind: 'moved', address: moved[1] };
  if (/^TRYAGAIN\b/.test(message)) return { kind: 'tryagain' };
  // The node could not learn the fate of the command (leader lost mid-request, commit not
  // confirmed in time): like a connection lost after sending, never a final "not applied".
  if (/^TIMEOUT\b/.test(message)) return { kind: 'unknown-outcome' };
  return { kind: 'reply-error' };
}

/** May the command be sent again after this failure? */
export function mayRetry(failure: FailureKind, readOnly: boolean): boolean {
  switch (failure.kind) {
    case 'moved':
    case 'tryagain':
    case 'not-sent':
      return true;
    case 'unknown-outcome':
      return readOnly;
    case 'reply-error':
      return false;
  }
}

export interface BackoffPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 50, maxDelayMs: 1_000 };

/**
 * Exponential backoff with "equal jitter": half fixed, half random, so clients that failed
 * together (a leader crash) do not retry in lockstep. `random` is injectable for tests.
 */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  if (!Number.isInteger(retry) || retry < 0) throw new Error(`invariant: retry ${retry} must be >= 0`);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
