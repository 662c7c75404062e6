/**
 * kvctl chaos kill-leader and kvctl bench against a real local 3-node cluster (kvnode processes
 * from dist/, or $KVCTL_KVNODE). Ports of this file: 26200-26222 (base 26200).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCommand } from '@oclif/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type LoadResult } from '../../src/bench/load.js';
import { type DrillReport } from '../../src/chaos/drill.js';
import { type History, type Operation } from '../../src/chaos/history.js';
import { checkHistory } from '../../src/chaos/linearizability.js';
import { clusterUp } from '../../src/cluster/lifecycle.js';
import { makeTempDir, teardownCluster, useCapturableConsole } from '../commands/helpers.js';

const BASE_PORT = 26200;

describe('crash drill and bench on a real cluster', () => {
  let dir: string | undefined;
  let restoreConsole: (() => void) | undefined;
  let recorded: { report: DrillReport; history: History } | undefined;

  beforeAll(async () => {
    restoreConsole = useCapturableConsole();
    dir = await makeTempDir('chaos');
    await clusterUp({ dir, basePort: BASE_PORT, nodeCount: 3 });
  });
  afterAll(async () => {
    restoreConsole?.();
    await teardownCluster(dir);
  });

  it('chaos kill-leader --rounds 2 passes on a healthy cluster', async () => {
    const historyFile = path.join(dir!, 'history.json');
    const { result, error } = await runCommand<DrillReport>([
      'chaos',
      'kill-leader',
      '--dir',
      dir!,
      '--rounds',
      '2',
      '--duration-per-round',
      '2s',
      '--history',
      historyFile,
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(result?.failures).toEqual([]);
    expect(result?.verdict).toBe('pass');
    expect(result?.rounds).toHaveLength(2);
    for (const round of result!.rounds) {
      expect(round.killed).toEqual([round.leaderBefore]);
      expect(round.leaderAfter).not.toBeNull();
      expect(round.leaderAfter).not.toBe(round.leaderBefore);
    }
    expect(result?.leaderChanges).toBe(2);
    expect(result?.history.ackedWrites).toBeGreaterThan(0);
    expect(result?.history.reads).toBeGreaterThan(0);
    expect(result?.linearizability.verdict).toBe('ok');
    expect(result?.durability?.missingCount).toBe(0);
    expect(result?.durability?.checked).toBeGreaterThan(0);
    recorded = JSON.parse(await fs.readFile(historyFile, 'utf8'));
    expect(recorded?.history.length).toBe(result?.history.ops);
  });

  it('the checker flags a stale read injected into the recorded real history', () => {
    const history = recorded!.history;
    expect(checkHistory(history).verdict).toBe('ok');
    // Two acknowledged writes w1, w2 of one key, w2 invoked after w1 completed; a read that
    // starts after w2 completed and returns w1's (unique) value is stale.
    const acked = history.filter((op) => op.input.kind === 'write' && op.completeMs !== null);
    let pair: [Operation, Operation] | undefined;
    for (const w1 of acked) {
      const w2 = acked.find(
        (op) => op.input.key === w1.input.key && op.invokeMs > w1.completeMs! && op.input.kind === 'write',
      );
      if (w2 !== undefined) {
        pair = [w1, w2];
        break;
      }
    }
    expect(pair).toBeDefined();
    const [w1, w2] = pair!;
    if (w1.input.kind !== 'write') throw new Error('unreachable');
    const stale: Operation = {
      id: history.length,
      clientId: 999,
      input: { kind: 'read', key: w1.input.key },
      invokeMs: w2.completeMs! + 0.001,
      completeMs: w2.completeMs! + 0.002,
      output: { kind: 'read', value: w1.input.value },
    };
    const result = checkHistory([...history, stale]);
    expect(result.verdict).toBe('violation');
    expect(result.keys.filter((k) => k.verdict === 'violation').map((k) => k.key)).toEqual([w1.input.key]);
  });

  it('bench --requests 2000 --json reports sane numbers', async () => {
    const { result, error } = await runCommand<LoadResult & { nodeId: number }>([
      'bench',
      '--dir',
      dir!,
      '--requests',
      '2000',
      '--clients',
      '20',
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ op: 'set', requests: 2000, succeeded: 2000, errors: 0, clients: 20 });
    expect(result!.requestsPerSec).toBeGreaterThan(0);
    expect(result!.latencyMs.p50).toBeGreaterThan(0);
    expect(result!.latencyMs.p99).toBeGreaterThanOrEqual(result!.latencyMs.p50);
    expect(result!.latencyMs.max).toBeGreaterThanOrEqual(result!.latencyMs.p99);
  });

  it('bench renders a table (GET, pipelined, on a named node)', async () => {
    const { stdout, error } = await runCommand([
      'bench',
      '--dir',
      dir!,
      '--op',
      'get',
      '--node',
      '1',
      '--requests',
      '500',
      '--clients',
      '5',
      '--pipeline',
      '4',
    ]);
    expect(error).toBeUndefined();
    expect(stdout).toMatch(/│ op\s+│ node\s+│ clients/);
    expect(stdout).toMatch(/│ get\s+│ 1 \(127\.0\.0\.1:26210\)/);
  });
});
