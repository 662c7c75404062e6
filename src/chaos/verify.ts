/**
 * End-of-drill verification through every node: the final value of each register key (recorded
 * into the history as ordinary reads, so the linearizability check covers them: a lost last
 * write shows up as a read of an older value), and every acknowledged ledger write (must be
 * there, with its value, on every node).
 *
 * Reads go to each node's own RESP port, not to the leader: a follower answers from its own
 * state machine after a ReadIndex barrier, so this reads every replica's copy.
 */
import type { Redis } from 'ioredis';
import { failFastRedis } from '../client/fail-fast-redis.js';

import { type HistoryRecorder, type RegisterValue } from './history.js';
import { type LedgerEntry } from './workload.js';

export interface NodeEndpoint {
  readonly id: number;
  /** RESP "host:port". */
  readonly address: string;
}

export interface MissingWrite {
  readonly node: number;
  readonly key: string;
  readonly expected: string;
  readonly found: RegisterValue;
}

export interface DurabilityReport {
  /** Acknowledged ledger writes checked on each node. */
  readonly checked: number;
  readonly nodes: number;
  /** Acknowledged writes absent (or different) on some node; bounded to the first few. */
  readonly missing: readonly MissingWrite[];
  readonly missingCount: number;
}

const MGET_BATCH = 500;
const MAX_REPORTED_MISSING = 20;
/** Retries of a read that got TRYAGAIN (no leader yet, barrier not confirmed). */
const READ_ATTEMPTS = 40;
const READ_RETRY_DELAY_MS = 250;
/** Client ids of the final reads: distinct from workload clients (1-based, small). */
export const VERIFY_CLIENT_BASE = 1_000_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function connect(address: string, timeoutMs: number): Promise<Redis> {
  const redis = failFastRedis({ address, connectTimeoutMs: timeoutMs, commandTimeoutMs: timeoutMs });
  await redis.connect();
  return redis;
}

/** Runs a read on one node, retrying TRYAGAIN and reconnecting after connection errors. */
async function readWithRetry<T>(
  endpoint: NodeEndpoint,
  timeoutMs: number,
  read: (redis: Redis) => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    let redis: Redis | undefined;
    try {
      redis = await connect(endpoint.address, timeoutMs);
      return await read(redis);
    } catch (error) {
      lastError = error;
      await sleep(READ_RETRY_DELAY_MS);
    } finally {
      redis?.disconnect();
    }
  }
  throw new Error(
    `node ${endpoint.id} (${endpoint.address}): final read failed: ${(lastError as Error).message}`,
  );
}

/**
 * Reads every register key once through every node and records the reads in the history
 * (a read is recorded only when it got an answer; its interval spans its retries).
 */
export async function finalRegisterReads(
  recorder: HistoryRecorder,
  endpoints: readonly NodeEndpoint[],
  keys: readonly string[],
  timeoutMs: number,
): Promise<void> {
  for (const endpoint of endpoints) {
    for (const key of keys) {
      const pending = recorder.invoke(VERIFY_CLIENT_BASE + endpoint.id, { kind: 'read', key });
      try {
        const value = await readWithRetry(endpoint, timeoutMs, (redis) => redis.get(key));
        recorder.complete(pending, { kind: 'read', value });
      } catch (error) {
        recorder.discard(pending);
        throw error;
      }
    }
  }
}

/** Checks every acknowledged ledger write on every node. */
export async function checkLedger(
  endpoints: readonly NodeEndpoint[],
  ledger: readonly LedgerEntry[],
  timeoutMs: number,
): Promise<DurabilityReport> {
  const missing: MissingWrite[] = [];
  let missingCount = 0;
  for (const endpoint of endpoints) {
    for (let start = 0; start < ledger.length; start += MGET_BATCH) {
      const batch = ledger.slice(start, start + MGET_BATCH);
      const values = await readWithRetry(endpoint, timeoutMs, (redis) =>
        redis.mget(...batch.map((entry) => entry.key)),
      );
      if (values.length !== batch.length) throw new Error('invariant: MGET answered a different count');
      batch.forEach((entry, index) => {
        const found = values[index] ?? null;
        if (found === entry.value) return;
        missingCount++;
        if (missing.length < MAX_REPORTED_MISSING) {
          missing.push({ node: endpoint.id, key: entry.key, expected: entry.value, found });
        }
      });
    }
  }
  return { checked: ledger.length, nodes: endpoints.length, missing, missingCount };
}
