/**
 * The drill workload: concurrent clients doing GET / SET / CAS on a few register keys (checked
 * for linearizability) plus SETs of write-once "ledger" keys (checked for durability: every
 * acknowledged one must be present at the end). Every operation is recorded in a
 * HistoryRecorder with what the client learned about its outcome.
 *
 * Values are unique per write (`c<client>-<seq>`), which is what lets the checker tell a stale
 * read or a lost write from a legitimate one.
 */
import { type KvClient, OutcomeUnknownError, ReplyError, UnavailableError } from '../client/kv-client.js';
import { type HistoryRecorder, type OpInput, type OpOutput, type RegisterValue } from './history.js';

export interface WorkloadKeys {
  /** Register keys: read, written and CAS'd by every client. */
  readonly registers: readonly string[];
  /** Prefix of write-once ledger keys: `<prefix><client>:<seq>`. */
  readonly ledgerPrefix: string;
}

export function workloadKeys(runId: string, registerCount: number): WorkloadKeys {
  if (!Number.isInteger(registerCount) || registerCount < 1) {
    throw new Error(`register key count must be >= 1, got ${registerCount}`);
  }
  return {
    registers: Array.from({ length: registerCount }, (_, i) => `chaos:${runId}:r${i}`),
    ledgerPrefix: `chaos:${runId}:w`,
  };
}

/** One acknowledged ledger write: it must be readable, with this value, from every node. */
export interface LedgerEntry {
  readonly key: string;
  readonly value: string;
}

export interface ClientStats {
  ops: number;
  /** Error replies other than the retryable ones (they do not make an op unknown for reads). */
  errorReplies: number;
  /** Operations given up as unavailable (proved not applied; not in the history). */
  unavailable: number;
  /** Ledger writes by outcome. */
  ledgerAcked: number;
  ledgerUnknown: number;
}

export interface WorkloadState {
  readonly recorder: HistoryRecorder;
  readonly keys: WorkloadKeys;
  /** Acknowledged ledger writes (appended as they are acked). */
  readonly ledger: LedgerEntry[];
  /** Ledger keys whose write had an unknown outcome (absent or present are both fine). */
  readonly ledgerUnknown: LedgerEntry[];
  readonly stats: ClientStats;
  stopping: boolean;
  /** Bound on ledger entries kept (each is checked on every node at the end). */
  readonly maxLedgerEntries: number;
}

export function newWorkloadState(recorder: HistoryRecorder, keys: WorkloadKeys, maxLedgerEntries = 50_000) {
  const state: WorkloadState = {
    recorder,
    keys,
    ledger: [],
    ledgerUnknown: [],
    stats: { ops: 0, errorReplies: 0, unavailable: 0, ledgerAcked: 0, ledgerUnknown: 0 },
    stopping: false,
    maxLedgerEntries,
  };
  return state;
}

/** Probabilities of the operation mix, out of 100. */
const READ_PERCENT = 40;
const WRITE_PERCENT = 25;
const CAS_PERCENT = 20;
// the rest (15%): ledger writes

function asString(value: unknown): RegisterValue {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  throw new Error(`invariant: GET answered ${JSON.stringify(value)}, expected a bulk string or nil`);
}

/**
 * Runs one client until state.stopping (or the recorder is full). The client's own KvClient
 * does leader discovery and the retries that are safe; what reaches us is the truth about an
 * operation's outcome: a reply, OutcomeUnknownError, or UnavailableError (not applied).
 */
export async function runClient(
  clientId: number,
  client: KvClient,
  state: WorkloadState,
  random: () => number = Math.random,
): Promise<void> {
  let seq = 0;
  /** Last value this client saw per register key: CAS from it, so that CAS often succeeds. */
  const lastSeen = new Map<string, RegisterValue>();
  while (!state.stopping && !state.recorder.full) {
    const dice = random() * 100;
    const key = state.keys.registers[Math.floor(random() * state.keys.registers.length)]!;
    const value = `c${clientId}-${seq++}`;
    if (dice >= READ_PERCENT + WRITE_PERCENT + CAS_PERCENT) {
      if (state.ledger.length + state.ledgerUnknown.length >= state.maxLedgerEntries) continue;
      await ledgerWrite(state, client, `${state.keys.ledgerPrefix}${clientId}:${seq}`, value);
      continue;
    }
    const input: OpInput =
      dice < READ_PERCENT
        ? { kind: 'read', key }
        : dice < READ_PERCENT + WRITE_PERCENT
          ? { kind: 'write', key, value }
          : { kind: 'cas', key, expected: lastSeen.get(key) ?? null, value };
    const output = await recordOne(state, clientId, client, input);
    if (output?.kind === 'read') lastSeen.set(key, output.value);
    else if (output?.kind === 'write' && input.kind === 'write') lastSeen.set(key, input.value);
    else if (output?.kind === 'cas' && output.ok) lastSeen.set(key, value);
  }
}

function argvOf(input: OpInput): string[] {
  switch (input.kind) {
    case 'read':
      return ['GET', input.key];
    case 'write':
      if (input.value === null) return ['DEL', input.key];
      return ['SET', input.key, input.value];
    case 'cas':
      return input.expected === null
        ? ['CAS', input.key, input.value, 'IFABSENT']
        : ['CAS', input.key, input.value, 'IFEQ', input.expected];
  }
}

/** Sends one register op, records it; returns the output, or undefined if none was learned. */
async function recordOne(
  state: WorkloadState,
  clientId: number,
  client: KvClient,
  input: OpInput,
): Promise<OpOutput | undefined> {
  const pending = state.recorder.invoke(clientId, input);
  state.stats.ops++;
  try {
    const reply = await client.command(argvOf(input));
    if (input.kind === 'cas' && reply.value !== 0 && reply.value !== 1) {
      throw new Error(`invariant: CAS answered ${JSON.stringify(reply.value)}, expected 0 or 1`);
    }
    const output: OpOutput =
      input.kind === 'read'
        ? { kind: 'read', value: asString(reply.value) }
        : input.kind === 'write'
          ? { kind: 'write' }
          : { kind: 'cas', ok: reply.value === 1 };
    state.recorder.complete(pending, output);
    return output;
  } catch (error) {
    settleFailed(state, pending, input.kind === 'read', error);
    return undefined;
  }
}

/**
 * What a failure means for the history. A read that failed observed nothing (drop it). A write
 * the client gave up on as unavailable was never applied (the client retries only on failures
 * that prove that), so it is no event (drop it). Anything else may have been applied: unknown.
 * That includes error replies to writes (a node answers TIMEOUT when it proposed the write but
 * did not see it commit in time).
 */
function settleFailed(
  state: WorkloadState,
  pending: ReturnType<HistoryRecorder['invoke']>,
  isRead: boolean,
  error: unknown,
): void {
  const fromClient =
    error instanceof ReplyError || error instanceof OutcomeUnknownError || error instanceof UnavailableError;
  if (error instanceof ReplyError) state.stats.errorReplies++;
  if (error instanceof UnavailableError) state.stats.unavailable++;
  if (isRead || error instanceof UnavailableError) state.recorder.discard(pending);
  else state.recorder.unknown(pending);
  // A bug of ours (invariant) or of the client: never turn it into a quiet "unknown".
  if (!fromClient) throw error;
}

async function ledgerWrite(
  state: WorkloadState,
  client: KvClient,
  key: string,
  value: string,
): Promise<void> {
  state.stats.ops++;
  try {
    await client.command(['SET', key, value]);
    state.ledger.push({ key, value });
    state.stats.ledgerAcked++;
  } catch (error) {
    if (error instanceof UnavailableError) {
      state.stats.unavailable++;
      return;
    }
    if (!(error instanceof OutcomeUnknownError || error instanceof ReplyError)) throw error;
    if (error instanceof ReplyError) state.stats.errorReplies++;
    state.ledgerUnknown.push({ key, value });
    state.stats.ledgerUnknown++;
  }
}
