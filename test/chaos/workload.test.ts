import { describe, expect, it } from 'vitest';

import {
  type KvClient,
  OutcomeUnknownError,
  ReplyError,
  UnavailableError,
} from '../../src/client/kv-client.js';
import { parseDurationMs } from '../../src/chaos/duration.js';
import { HistoryRecorder, summarize } from '../../src/chaos/history.js';
import { checkHistory } from '../../src/chaos/linearizability.js';
import { newWorkloadState, runClient, workloadKeys } from '../../src/chaos/workload.js';

/** A fake leader: one in-memory map, with scripted failures for some commands. */
function fakeClient(failEvery: number, failure: () => Error, applyBeforeFailing: boolean): KvClient {
  const store = new Map<string, string>();
  let calls = 0;
  const command = async (argv: readonly string[]) => {
    await new Promise((resolve) => setImmediate(resolve));
    const [name, key, value, cond, expected] = argv as [string, string, string?, string?, string?];
    const fail = ++calls % failEvery === 0;
    if (fail && !applyBeforeFailing) throw failure();
    let reply: string | number | null = 'OK';
    if (name === 'GET') reply = store.get(key) ?? null;
    else if (name === 'SET') store.set(key, value!);
    else if (name === 'CAS') {
      const current = store.get(key) ?? null;
      const ok = cond === 'IFABSENT' ? current === null : current === expected;
      if (ok) store.set(key, value!);
      reply = ok ? 1 : 0;
    } else throw new Error(`fake: ${name}`);
    if (fail) throw failure();
    return { value: reply, address: 'fake:1', latencyMs: 0, attempts: 1 };
  };
  return { command } as unknown as KvClient;
}

async function runFor(client: KvClient, ops: number) {
  const recorder = new HistoryRecorder();
  const state = newWorkloadState(recorder, workloadKeys('t', 2));
  let seed = 1;
  const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const worker = runClient(1, client, state, random);
  while (state.stats.ops < ops) await new Promise((resolve) => setImmediate(resolve));
  state.stopping = true;
  await worker;
  return { state, history: recorder.history() };
}

describe('drill workload', () => {
  it('records a linearizable history; unknown outcomes (applied) stay in it as unknown', async () => {
    const { state, history } = await runFor(
      fakeClient(7, () => new OutcomeUnknownError('conn lost'), true),
      500,
    );
    const summary = summarize(history);
    expect(summary.reads).toBeGreaterThan(50);
    expect(summary.cas).toBeGreaterThan(50);
    expect(summary.unknownOutcomes).toBeGreaterThan(10);
    expect(state.ledger.length).toBeGreaterThan(10);
    expect(state.ledgerUnknown.length).toBeGreaterThan(0);
    // The reads that failed were dropped, not left as unknowns.
    expect(history.some((op) => op.input.kind === 'read' && op.completeMs === null)).toBe(false);
    expect(checkHistory(history).verdict).toBe('ok');
  });

  it('drops operations the client gave up on (not applied) and counts error replies', async () => {
    const unavailable = await runFor(
      fakeClient(5, () => new UnavailableError('gave up'), false),
      300,
    );
    expect(unavailable.state.stats.unavailable).toBeGreaterThan(30);
    expect(summarize(unavailable.history).unknownOutcomes).toBe(0);
    expect(checkHistory(unavailable.history).verdict).toBe('ok');
    const replies = await runFor(
      fakeClient(5, () => new ReplyError('TIMEOUT outcome unknown', 'x'), true),
      300,
    );
    expect(replies.state.stats.errorReplies).toBeGreaterThan(30);
    expect(summarize(replies.history).unknownOutcomes).toBeGreaterThan(0);
    expect(checkHistory(replies.history).verdict).toBe('ok');
  });

  it('a lying server (a SET acknowledged but not applied) is caught', async () => {
    let calls = 0;
    const honest = fakeClient(1_000_000, () => new Error('never'), true);
    const liar = {
      command: async (argv: readonly string[]) => {
        if (argv[0] === 'SET' && ++calls % 3 === 0)
          return { value: 'OK', address: 'x', latencyMs: 0, attempts: 1 };
        return honest.command(argv);
      },
    } as unknown as KvClient;
    const { history } = await runFor(liar, 500);
    expect(checkHistory(history).verdict).toBe('violation');
  });

  it('rethrows errors that are not client outcomes (bugs must not become "unknown")', async () => {
    const recorder = new HistoryRecorder();
    const state = newWorkloadState(recorder, workloadKeys('t', 1));
    await expect(
      runClient(
        1,
        fakeClient(1, () => new TypeError('boom'), false),
        state,
      ),
    ).rejects.toThrow('boom');
  });
});

describe('parseDurationMs', () => {
  it('parses units and rejects garbage', () => {
    expect(parseDurationMs('3s')).toBe(3000);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('4')).toBe(4000);
    expect(() => parseDurationMs('3 hours')).toThrow(/bad duration/);
    expect(() => parseDurationMs('-1s')).toThrow(/bad duration/);
  });
});
