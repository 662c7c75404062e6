/**
 * The kill-leader drill: each round, find the leader, SIGKILL it (a crash: no clean shutdown,
 * unsynced page cache is the kernel's, in-flight requests are cut), wait for the others to
 * elect a new leader, restart the killed node with its data and wait until it is ready again.
 * And the kill-all drill: SIGKILL every node at once, restart them all, wait for a leader.
 */
import { findNode } from '../cluster/manifest.js';
import { signalOne, startOne, waitForCluster } from '../cluster/lifecycle.js';
import { startNode, waitForExit } from '../cluster/process.js';
import { clusterStatus } from '../cluster/status.js';
import {
  type DrillOptions,
  type DrillOutcome,
  type FaultContext,
  type RoundFault,
  runDrill,
} from './drill.js';

const LEADER_POLL_MS = 50;
const EXIT_TIMEOUT_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls /v1/status until some node leads (other than `not`); null on timeout. */
async function waitForLeader(context: FaultContext, not: number | null): Promise<number | null> {
  const deadline = performance.now() + context.recoveryTimeoutMs;
  while (performance.now() < deadline) {
    const { leader } = await clusterStatus(context.dir, context.manifest);
    if (leader !== null && leader !== not) return leader;
    await sleep(LEADER_POLL_MS);
  }
  return null;
}

export const killLeaderFault: RoundFault = async (context) => {
  const leaderBefore = await waitForLeader(context, null);
  if (leaderBefore === null) throw new Error('no leader to kill');
  context.progress(`killing leader node ${leaderBefore}`);
  await signalOne(context.dir, leaderBefore, 'KILL');
  const killedAt = performance.now();
  context.markFault();
  if (!(await waitForExit(context.dir, findNode(context.manifest, leaderBefore), EXIT_TIMEOUT_MS))) {
    throw new Error(`node ${leaderBefore} still runs ${EXIT_TIMEOUT_MS} ms after SIGKILL`);
  }
  context.progress('waiting for a new leader');
  const leaderAfter = await waitForLeader(context, leaderBefore);
  const electionMs = leaderAfter === null ? null : Math.round(performance.now() - killedAt);
  context.progress(`restarting node ${leaderBefore}`);
  let recoveredMs: number | null = null;
  try {
    await startOne(context.dir, leaderBefore, { wait: true, timeoutMs: context.recoveryTimeoutMs });
    recoveredMs = Math.round(performance.now() - killedAt);
  } catch (error) {
    context.progress(`node ${leaderBefore} did not come back: ${(error as Error).message}`);
  }
  return {
    round: context.round,
    leaderBefore,
    killed: [leaderBefore],
    leaderAfter,
    electionMs,
    recoveredMs,
  };
};

export const killAllFault: RoundFault = async (context) => {
  const leaderBefore = (await clusterStatus(context.dir, context.manifest)).leader;
  const ids = context.manifest.nodes.map((node) => node.id);
  context.progress(`killing nodes ${ids.join(', ')}`);
  await Promise.all(ids.map((id) => signalOne(context.dir, id, 'KILL').catch(() => undefined)));
  const killedAt = performance.now();
  context.markFault();
  for (const node of context.manifest.nodes) {
    if (!(await waitForExit(context.dir, node, EXIT_TIMEOUT_MS))) {
      throw new Error(`node ${node.id} still runs ${EXIT_TIMEOUT_MS} ms after SIGKILL`);
    }
  }
  context.progress('restarting all nodes');
  for (const node of context.manifest.nodes) await startNode(context.dir, context.manifest, node);
  let leaderAfter: number | null = null;
  let recoveredMs: number | null = null;
  try {
    leaderAfter = (
      await waitForCluster(context.dir, context.manifest, { timeoutMs: context.recoveryTimeoutMs })
    ).leader;
    recoveredMs = Math.round(performance.now() - killedAt);
  } catch (error) {
    context.progress(`cluster did not come back: ${(error as Error).message}`);
  }
  return {
    round: context.round,
    leaderBefore,
    killed: ids,
    leaderAfter,
    electionMs: recoveredMs,
    recoveredMs,
  };
};

export function runKillLeader(options: DrillOptions): Promise<DrillOutcome> {
  return runDrill('kill-leader', options, killLeaderFault);
}

export function runKillAll(options: DrillOptions): Promise<DrillOutcome> {
  return runDrill('kill-all', options, killAllFault);
}
