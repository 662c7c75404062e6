/**
 * The built-in load generator behind `kvctl bench`: N connections to one node, each keeping
 * `pipeline` requests in flight (like redis-benchmark -P), until `requests` replies arrived.
 * Latency of a request = from writing its batch to reading its reply; recorded in a
 * LatencyHistogram per run.
 *
 * It talks RESP through ioredis directly rather than through KvClient: a benchmark must not
 * hide retries, redirects or failovers; every error reply is counted, nothing is retried.
 */
import { failFastRedis } from '../client/fail-fast-redis.js';
import type { Redis } from 'ioredis';

import { LatencyHistogram, type LatencySummaryMs, summarizeMs } from './histogram.js';

export type BenchOp = 'set' | 'get' | 'mixed';
export const BENCH_OPS: readonly BenchOp[] = ['set', 'get', 'mixed'];

export interface LoadOptions {
  /** RESP address "host:port" of the node under load. */
  readonly address: string;
  readonly op: BenchOp;
  readonly clients: number;
  readonly requests: number;
  readonly valueBytes: number;
  readonly pipeline: number;
  /** Distinct keys used (random uniform). */
  readonly keySpace?: number;
  /** Share of GETs in `mixed` (0..1). */
  readonly readRatio?: number;
  readonly password?: string;
  /** A request with no reply after this long fails the run. */
  readonly commandTimeoutMs?: number;
  readonly keyPrefix?: string;
  /** Called about every progressIntervalMs with replies so far. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly progressIntervalMs?: number;
}

export interface LoadResult {
  readonly address: string;
  readonly op: BenchOp;
  readonly clients: number;
  readonly pipeline: number;
  readonly valueBytes: number;
  readonly requests: number;
  /** Replies that were not errors. */
  readonly succeeded: number;
  /** Error replies (e.g. TRYAGAIN while no leader); they count in `requests`. */
  readonly errors: number;
  /** The first few distinct error messages. */
  readonly errorSamples: readonly string[];
  readonly elapsedMs: number;
  readonly requestsPerSec: number;
  readonly latencyMs: LatencySummaryMs;
}

export const MAX_CLIENTS = 1_000;
export const MAX_PIPELINE = 1_000;
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_KEY_SPACE = 1_000;
const MAX_ERROR_SAMPLES = 5;
/** GET benchmarks preload this many keys (at most) so that reads hit real values. */
const PRELOAD_BATCH = 200;

function checkOptions(options: LoadOptions): void {
  const positive = (name: string, value: number, max: number): void => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new Error(`${name} must be an integer in 1..${max}, got ${value}`);
    }
  };
  positive('clients', options.clients, MAX_CLIENTS);
  positive('pipeline', options.pipeline, MAX_PIPELINE);
  positive('requests', options.requests, Number.MAX_SAFE_INTEGER);
  if (
    !Number.isInteger(options.valueBytes) ||
    options.valueBytes < 0 ||
    options.valueBytes > MAX_VALUE_BYTES
  ) {
    throw new Error(`value bytes must be an integer in 0..${MAX_VALUE_BYTES}, got ${options.valueBytes}`);
  }
  if (!BENCH_OPS.includes(options.op)) throw new Error(`op must be one of ${BENCH_OPS.join(', ')}`);
}

async function connect(options: LoadOptions): Promise<Redis> {
  const redis = failFastRedis({
    address: options.address,
    connectTimeoutMs: 2_000,
    commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  await redis.connect();
  return redis;
}

/** Runs the load and returns the numbers. Connections are always closed. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  checkOptions(options);
  const keySpace = options.keySpace ?? DEFAULT_KEY_SPACE;
  const readRatio = options.op === 'get' ? 1 : options.op === 'set' ? 0 : (options.readRatio ?? 0.5);
  const prefix = options.keyPrefix ?? 'bench:key:';
  const value = 'x'.repeat(options.valueBytes);
  const histogram = new LatencyHistogram();
  const errorSamples = new Set<string>();
  let issued = 0;
  let done = 0;
  let errors = 0;

  const connections: Redis[] = [];
  try {
    for (let i = 0; i < options.clients; i++) connections.push(await connect(options));
    if (readRatio > 0) await preload(connections[0]!, prefix, Math.min(keySpace, 10 * PRELOAD_BATCH), value);

    const worker = async (redis: Redis): Promise<void> => {
      while (issued < options.requests) {
        const batchSize = Math.min(options.pipeline, options.requests - issued);
        issued += batchSize;
        const batch = redis.pipeline();
        for (let i = 0; i < batchSize; i++) {
          const key = `${prefix}${Math.floor(Math.random() * keySpace)}`;
          if (Math.random() < readRatio) batch.get(key);
          else batch.set(key, value);
        }
        const started = performance.now();
        const replies = await batch.exec();
        const latencyUs = (performance.now() - started) * 1000;
        if (replies === null) throw new Error('invariant: pipeline exec returned null outside MULTI');
        for (const [error] of replies) {
          histogram.record(latencyUs);
          done++;
          if (error !== null) {
            // A dead connection is not a reply: stop the run instead of counting it as one.
            if (error.name !== 'ReplyError') throw error;
            errors++;
            if (errorSamples.size < MAX_ERROR_SAMPLES) errorSamples.add(error.message);
          }
        }
      }
    };

    const timer =
      options.onProgress === undefined
        ? undefined
        : setInterval(() => options.onProgress?.(done, options.requests), options.progressIntervalMs ?? 250);
    const started = performance.now();
    try {
      await Promise.all(connections.map(worker));
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
    const elapsedMs = performance.now() - started;
    if (done !== options.requests)
      throw new Error(`invariant: ${done} replies for ${options.requests} requests`);
    return {
      address: options.address,
      op: options.op,
      clients: options.clients,
      pipeline: options.pipeline,
      valueBytes: options.valueBytes,
      requests: options.requests,
      succeeded: done - errors,
      errors,
      errorSamples: [...errorSamples],
      elapsedMs: Math.round(elapsedMs),
      requestsPerSec: Math.round((done / elapsedMs) * 1000),
      latencyMs: summarizeMs(histogram),
    };
  } finally {
    for (const redis of connections) redis.disconnect();
  }
}

async function preload(redis: Redis, prefix: string, keys: number, value: string): Promise<void> {
  for (let start = 0; start < keys; start += PRELOAD_BATCH) {
    const batch = redis.pipeline();
    for (let key = start; key < Math.min(keys, start + PRELOAD_BATCH); key++)
      batch.set(`${prefix}${key}`, value);
    const replies = await batch.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (failed?.[0]) throw new Error(`preloading keys failed: ${failed[0].message}`);
  }
}
