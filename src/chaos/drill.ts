/**
 * A crash drill on a running cluster: concurrent clients run the workload (workload.ts) while
 * a fault is injected once per round (kill-leader.ts, kill-all.ts); then every node is read
 * (verify.ts) and the recorded history is checked for linearizability. The report says what
 * happened (ops, outcomes, leader changes, how long writes were unavailable after each fault)
 * and the verdict:
 *   pass         linearizable, every acknowledged write present on every node
 *   fail         a violation, a lost write, or the cluster did not recover
 *   inconclusive the checker ran out of its bounds (no violation found, none ruled out)
 */
import { randomBytes } from 'node:crypto';

import { type KvClient, KvClient as Client } from '../client/kv-client.js';
import { type ClusterManifest, readManifest, respAddress } from '../cluster/manifest.js';
import { startNode, nodePid } from '../cluster/process.js';
import { waitForCluster } from '../cluster/lifecycle.js';
import { type History, type HistorySummary, HistoryRecorder, summarize } from './history.js';
import { type KeyResult, type Verdict, checkHistory } from './linearizability.js';
import { type DurabilityReport, type NodeEndpoint, checkLedger, finalRegisterReads } from './verify.js';
import { type WorkloadState, newWorkloadState, runClient, workloadKeys } from './workload.js';

export interface DrillOptions {
  readonly dir: string;
  readonly rounds: number;
  readonly clients: number;
  readonly roundDurationMs: number;
  /** Register keys shared by all clients (few keys = much contention = a sharp check). */
  readonly registerKeys?: number;
  /** Per-command timeout of the workload clients; a write past it has an unknown outcome. */
  readonly commandTimeoutMs?: number;
  /** How long to wait for a leader / a ready cluster after a fault. */
  readonly recoveryTimeoutMs?: number;
  /** Time budget of the linearizability check. */
  readonly checkBudgetMs?: number;
  readonly onProgress?: (message: string) => void;
}

/** What one round's fault did and how the cluster took it. */
export interface RoundReport {
  readonly round: number;
  readonly leaderBefore: number | null;
  readonly killed: readonly number[];
  /** The leader elected after the fault (null: none within recoveryTimeoutMs). */
  readonly leaderAfter: number | null;
  /** From the kill to a leader reported by /v1/status. */
  readonly electionMs: number | null;
  /** From the kill to the first acknowledged write invoked after it (null: none). */
  readonly unavailableMs: number | null;
  /** From the kill until the killed nodes were restarted and ready again. */
  readonly recoveredMs: number | null;
}

/** A fault for one round; it must leave every node running (restarted) when it returns. */
export type RoundFault = (context: FaultContext) => Promise<Omit<RoundReport, 'unavailableMs'>>;

export interface FaultContext {
  readonly dir: string;
  readonly manifest: ClusterManifest;
  readonly round: number;
  readonly recoveryTimeoutMs: number;
  /** Call right when the fault lands (the kill): unavailability is measured from here. */
  markFault(): void;
  readonly progress: (message: string) => void;
}

export type DrillVerdict = 'pass' | 'fail' | 'inconclusive';

export interface DrillReport {
  readonly drill: string;
  readonly dir: string;
  readonly runId: string;
  readonly clients: number;
  readonly durationMs: number;
  readonly rounds: readonly RoundReport[];
  readonly history: HistorySummary;
  /** Operations the client gave up on as unavailable (proved not applied; not in the history). */
  readonly unavailableOps: number;
  readonly errorReplies: number;
  readonly ledger: { readonly acked: number; readonly unknown: number };
  /** Rounds after which a leader was elected (in a new term: the old leader was killed). */
  readonly leaderChanges: number;
  readonly maxUnavailabilityMs: number | null;
  readonly linearizability: {
    readonly verdict: Verdict;
    readonly elapsedMs: number;
    readonly keys: number;
    /** Keys whose verdict is not ok. */
    readonly problems: readonly KeyResult[];
  };
  readonly durability: DurabilityReport | null;
  readonly verdict: DrillVerdict;
  /** Human-readable reasons for fail / inconclusive. */
  readonly failures: readonly string[];
}

export interface DrillOutcome {
  readonly report: DrillReport;
  /** The full recorded history (final reads included), e.g. to save or re-check. */
  readonly history: History;
}

export const DEFAULT_REGISTER_KEYS = 5;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;
export const DEFAULT_RECOVERY_TIMEOUT_MS = 20_000;
export const MAX_ROUNDS = 1_000;
export const MAX_CLIENTS = 256;
/** Client retry deadline: long enough to ride out an election, short enough to stop promptly. */
const CLIENT_RETRY_DEADLINE_MS = 10_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function checkOptions(options: DrillOptions): void {
  const bounded = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be an integer in ${min}..${max}, got ${value}`);
    }
  };
  bounded('rounds', options.rounds, 1, MAX_ROUNDS);
  bounded('clients', options.clients, 1, MAX_CLIENTS);
  bounded('round duration (ms)', options.roundDurationMs, 100, 3_600_000);
}

/** Runs the workload, calls `fault` once per round in the middle of it, verifies and checks. */
export async function runDrill(
  drill: string,
  options: DrillOptions,
  fault: RoundFault,
): Promise<DrillOutcome> {
  checkOptions(options);
  const progress = options.onProgress ?? (() => undefined);
  const recoveryTimeoutMs = options.recoveryTimeoutMs ?? DEFAULT_RECOVERY_TIMEOUT_MS;
  const manifest = await readManifest(options.dir);
  const endpoints: NodeEndpoint[] = manifest.nodes.map((node) => ({
    id: node.id,
    address: respAddress(node),
  }));
  progress('waiting for a healthy cluster');
  await waitForCluster(options.dir, manifest, { timeoutMs: recoveryTimeoutMs });

  const runId = randomBytes(4).toString('hex');
  const recorder = new HistoryRecorder();
  const state = newWorkloadState(
    recorder,
    workloadKeys(runId, options.registerKeys ?? DEFAULT_REGISTER_KEYS),
  );
  const clients: KvClient[] = Array.from(
    { length: options.clients },
    () =>
      new Client({
        seeds: endpoints.map((e) => e.address),
        commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
        retryDeadlineMs: CLIENT_RETRY_DEADLINE_MS,
      }),
  );
  const failures: string[] = [];
  const rounds: Omit<RoundReport, 'unavailableMs'>[] = [];
  const faultTimesMs: number[] = [];
  const started = performance.now();
  let workerError: Error | undefined;
  const workers = clients.map((client, index) =>
    runClient(index + 1, client, state).catch((error: unknown) => {
      workerError ??= error as Error;
      state.stopping = true;
    }),
  );

  try {
    for (let round = 1; round <= options.rounds && workerError === undefined; round++) {
      const roundStarted = performance.now();
      progress(`round ${round}/${options.rounds}: load`);
      await sleep(options.roundDurationMs / 2);
      let markedAt: number | undefined;
      const report = await fault({
        dir: options.dir,
        manifest,
        round,
        recoveryTimeoutMs,
        markFault: () => (markedAt = performance.now()),
        progress: (message) => progress(`round ${round}/${options.rounds}: ${message}`),
      });
      if (markedAt === undefined) throw new Error('invariant: the fault did not call markFault()');
      faultTimesMs.push(markedAt);
      rounds.push(report);
      if (report.leaderAfter === null || report.recoveredMs === null) {
        failures.push(`round ${round}: the cluster did not recover within ${recoveryTimeoutMs} ms`);
        break;
      }
      await sleep(options.roundDurationMs - (performance.now() - roundStarted));
    }
  } catch (error) {
    failures.push(`drill aborted: ${(error as Error).message}`);
  } finally {
    progress('stopping clients');
    state.stopping = true;
    await Promise.all(workers);
    await Promise.all(clients.map((client) => client.close()));
    await restartDownNodes(options.dir, manifest);
  }
  if (workerError !== undefined) failures.push(`client error: ${workerError.message}`);
  const durationMs = Math.round(performance.now() - started);

  let durability: DurabilityReport | null = null;
  if (failures.length === 0) {
    try {
      progress('reading every key through every node');
      await waitForCluster(options.dir, manifest, { timeoutMs: recoveryTimeoutMs });
      const readTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      await finalRegisterReads(recorder, endpoints, state.keys.registers, readTimeoutMs);
      durability = await checkLedger(endpoints, state.ledger, readTimeoutMs);
      if (durability.missingCount > 0) {
        const first = durability.missing[0];
        failures.push(
          `${durability.missingCount} acknowledged write(s) missing, e.g. ${first?.key} on node ${first?.node}: ` +
            `expected ${JSON.stringify(first?.expected)}, found ${JSON.stringify(first?.found)}`,
        );
      }
    } catch (error) {
      failures.push(`verification failed: ${(error as Error).message}`);
    }
  }

  const history = recorder.history();
  progress(`checking ${history.length} operations for linearizability`);
  const check = checkHistory(history, { timeBudgetMs: options.checkBudgetMs ?? 30_000 });
  const problems = check.keys.filter((key) => key.verdict !== 'ok');
  for (const problem of problems.filter((p) => p.verdict === 'violation')) {
    failures.push(
      `key ${problem.key}: ${problem.reason ?? 'violation'}\n  ${(problem.stuckAt ?? []).join('\n  ')}`,
    );
  }
  const inconclusive = problems.filter((p) => p.verdict === 'unknown');
  const verdict: DrillVerdict =
    failures.length > 0 ? 'fail' : inconclusive.length > 0 ? 'inconclusive' : 'pass';
  if (verdict === 'inconclusive') {
    failures.push(...inconclusive.map((p) => `key ${p.key}: checker gave up (${p.reason ?? 'bounds'})`));
  }

  const fullRounds = rounds.map((round, index) => ({
    ...round,
    unavailableMs: firstAckAfter(state, faultTimesMs[index]!),
  }));
  const unavailability = fullRounds.map((r) => r.unavailableMs).filter((ms): ms is number => ms !== null);
  // Every recovered round elected a leader in a new term (the old one was killed).
  const leaderChanges = fullRounds.filter((r) => r.leaderAfter !== null).length;
  const report: DrillReport = {
    drill,
    dir: options.dir,
    runId,
    clients: options.clients,
    durationMs,
    rounds: fullRounds,
    history: summarize(history),
    unavailableOps: state.stats.unavailable,
    errorReplies: state.stats.errorReplies,
    ledger: { acked: state.ledger.length, unknown: state.ledgerUnknown.length },
    leaderChanges,
    maxUnavailabilityMs: unavailability.length === 0 ? null : Math.max(...unavailability),
    linearizability: {
      verdict: check.verdict,
      elapsedMs: Math.round(check.elapsedMs),
      keys: check.keys.length,
      problems,
    },
    durability,
    verdict,
    failures,
  };
  return { report, history };
}

/** Milliseconds from the fault to the first acknowledged write invoked after it. */
function firstAckAfter(state: WorkloadState, faultAtMs: number): number | null {
  let first = Infinity;
  for (const op of state.recorder.history()) {
    if (op.input.kind === 'read' || op.completeMs === null || op.invokeMs < faultAtMs) continue;
    first = Math.min(first, op.completeMs);
  }
  return first === Infinity ? null : Math.round(first - faultAtMs);
}

/** Best effort: a drill must not leave the cluster with nodes down, whatever went wrong. */
async function restartDownNodes(dir: string, manifest: ClusterManifest): Promise<void> {
  for (const node of manifest.nodes) {
    try {
      if ((await nodePid(dir, node)) === undefined) await startNode(dir, manifest, node);
    } catch {
      // Reported by the verification that follows (the node will not answer).
    }
  }
}
