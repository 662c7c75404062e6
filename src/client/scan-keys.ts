/**
 * Streams the keys matching a glob pattern from a cluster with SCAN, one batch at a time, from
 * any one reachable node (no KEYS: nothing holds every key at once, on the node or here).
 *
 * Why not ioredis scanStream: a SCAN cursor is a position in the keys' 32-bit hash space, the
 * same on every node, so when the node we scan dies mid-way we go on from the same cursor on
 * another node — which needs the cursor, which scanStream keeps to itself. Keys come back as
 * Buffers (keys are binary; see keyToJson for how `--json` writes them).
 *
 * Each SCAN is a read: the node answers it after a ReadIndex round (linearizable by default), so
 * a node without a leader says TRYAGAIN and we ask another one. A key present for the whole scan
 * is listed exactly once; a key added or deleted meanwhile may or may not be.
 */
import { isUtf8 } from 'node:buffer';
import type { Redis } from 'ioredis';

import { failFastRedis } from './fail-fast-redis.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_RETRY_DEADLINE_MS,
} from './kv-client.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelayMs, classifyReplyError } from './retry-policy.js';

export const DEFAULT_SCAN_COUNT = 1_000;
/** The node clamps COUNT to this; asking for more only makes one reply bigger. */
export const MAX_SCAN_COUNT = 1_000_000;

export interface ScanKeysOptions {
  /** RESP addresses ("host:port"); the scan starts on the first that answers. */
  readonly seeds: readonly string[];
  /** Redis glob (`*`, `?`, `[a-z]`, `\` escapes); default `*`. */
  readonly match?: string;
  /** SCAN COUNT hint: about how many keys each round trip examines (before MATCH filters). */
  readonly count?: number;
  /** Stop after this many keys (no further SCAN is sent). */
  readonly limit?: number;
  readonly password?: string;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  /** How long to keep retrying (other nodes, TRYAGAIN) since the last batch that arrived. */
  readonly retryDeadlineMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Called before moving to another node (for verbose output and tests). */
  readonly onRetry?: (info: { address: string; message: string; delayMs: number }) => void;
}

/** Nothing answered: every node refused or timed out the connection. */
export class NoNodeReachableError extends Error {
  override readonly name = 'NoNodeReachableError';
}

/** A node answered SCAN with a final error (bad pattern, SCAN unsupported, ...). */
export class ScanReplyError extends Error {
  override readonly name = 'ScanReplyError';
}

/** Retries ran out (no leader for too long, nodes failing one after the other). */
export class ScanUnavailableError extends Error {
  override readonly name = 'ScanUnavailableError';
}

class ConnectError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A SCAN reply is [cursor, [key, ...]]; anything else is a protocol violation. */
function parseScanReply(reply: unknown, address: string): { cursor: string; keys: Buffer[] } {
  if (
    Array.isArray(reply) &&
    reply.length === 2 &&
    Buffer.isBuffer(reply[0]) &&
    Array.isArray(reply[1]) &&
    reply[1].every((key) => Buffer.isBuffer(key))
  ) {
    const cursor = reply[0].toString('latin1');
    if (!/^\d+$/.test(cursor)) throw new ScanReplyError(`${address}: SCAN returned a bad cursor "${cursor}"`);
    return { cursor, keys: reply[1] as Buffer[] };
  }
  throw new ScanReplyError(`${address}: SCAN reply is not [cursor, keys]`);
}

/**
 * Yields the matching keys batch by batch (a batch may be empty: MATCH filters after COUNT).
 * Holds one connection at a time and closes it when the scan ends, fails, or the consumer
 * stops early (`break` / `limit`). Throws NoNodeReachableError when no node accepted a
 * connection before the first batch, ScanReplyError for a final server error, and
 * ScanUnavailableError when retrying ran past the deadline.
 */
export async function* scanKeys(options: ScanKeysOptions): AsyncGenerator<Buffer[], void, undefined> {
  const seeds = options.seeds;
  if (seeds.length === 0) throw new Error('invariant: scanKeys needs at least one seed address');
  const count = options.count ?? DEFAULT_SCAN_COUNT;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SCAN_COUNT)
    throw new Error(`invariant: SCAN COUNT ${count} must be 1..${MAX_SCAN_COUNT}`);
  const limit = options.limit ?? Infinity;
  if (!(limit >= 0)) throw new Error(`invariant: limit ${limit} must be >= 0`);
  const match = options.match ?? '*';
  const retryDeadlineMs = options.retryDeadlineMs ?? DEFAULT_RETRY_DEADLINE_MS;

  let redis: Redis | undefined;
  let address: string = seeds[0]!;
  let seedIndex = 0;
  let cursor = '0';
  let yielded = 0;
  let everConnected = false;
  /** Failures since the last batch or the last backoff sleep. */
  let failuresInRound = 0;
  let retries = 0;
  let deadline = Date.now() + retryDeadlineMs;
  /** Per address, the last problem: the error message names every node that failed. */
  const problems = new Map<string, string>();

  const disconnect = (): void => {
    redis?.disconnect();
    redis = undefined;
  };
  const connect = async (): Promise<Redis> => {
    if (redis !== undefined) return redis;
    const client = failFastRedis({
      address,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      ...(options.password !== undefined ? { password: options.password } : {}),
    });
    // connect() only rejects with "Connection is closed."; the socket error says why.
    let cause: Error | undefined;
    const recordCause = (error: Error): void => {
      cause = error;
    };
    client.on('error', recordCause);
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw new ConnectError((cause ?? (error as Error)).message || 'connection failed');
    } finally {
      client.removeListener('error', recordCause);
    }
    everConnected = true;
    redis = client;
    return client;
  };

  try {
    if (limit === 0) return;
    for (;;) {
      let failure: string;
      let redirect: string | undefined;
      try {
        const client = await connect();
        const reply: unknown = await client.callBuffer(
          'SCAN',
          cursor,
          'MATCH',
          match,
          'COUNT',
          String(count),
        );
        const batch = parseScanReply(reply, address);
        cursor = batch.cursor;
        failuresInRound = 0;
        retries = 0;
        deadline = Date.now() + retryDeadlineMs;
        const keys = yielded + batch.keys.length > limit ? batch.keys.slice(0, limit - yielded) : batch.keys;
        yielded += keys.length;
        yield keys;
        if (cursor === '0' || yielded >= limit) return;
        continue;
      } catch (error) {
        if (error instanceof ScanReplyError) throw error;
        const message = (error as Error).message;
        if (error instanceof ConnectError) {
          failure = `cannot connect: ${message}`;
        } else if ((error as Error).name === 'ReplyError') {
          const kind = classifyReplyError(message);
          if (kind.kind === 'reply-error') throw new ScanReplyError(`${address}: ${message}`);
          if (kind.kind === 'moved') redirect = kind.address;
          failure = message;
        } else {
          // Connection lost or timed out after sending: SCAN changes nothing, so ask again.
          failure = message;
        }
      }
      disconnect();
      problems.set(address, failure);
      failuresInRound++;
      if (!everConnected && failuresInRound >= seeds.length) {
        throw new NoNodeReachableError(`no node reachable: ${describe(problems)}`);
      }
      // Next: the node a MOVED named, else the next seed at once; after as many failures as
      // there are nodes, wait (backoff) before another round.
      let delayMs = 0;
      if (failuresInRound >= seeds.length) {
        delayMs = backoffDelayMs(retries++, options.backoff ?? DEFAULT_BACKOFF);
        failuresInRound = 0;
      }
      if (Date.now() + delayMs > deadline) {
        throw new ScanUnavailableError(
          `scan gave up after ${yielded} keys (retried for ${retryDeadlineMs} ms): ${describe(problems)}`,
        );
      }
      options.onRetry?.({ address, message: failure, delayMs });
      if (redirect !== undefined) {
        address = redirect;
      } else {
        seedIndex = (seedIndex + 1) % seeds.length;
        address = seeds[seedIndex]!;
      }
      if (delayMs > 0) await sleep(delayMs);
    }
  } finally {
    disconnect();
  }
}

function describe(problems: ReadonlyMap<string, string>): string {
  return [...problems].map(([address, problem]) => `${address} (${problem})`).join(', ');
}

/** How `kvctl keys --json` writes a key: the string if the bytes are UTF-8, else base64. */
export type JsonKey = string | { readonly base64: string };

/**
 * Valid UTF-8 round-trips exactly through a JSON string; other bytes would be replaced by
 * U+FFFD and lost, so they are written as `{ "base64": "..." }` instead.
 */
export function keyToJson(key: Buffer): JsonKey {
  return isUtf8(key) ? key.toString('utf8') : { base64: key.toString('base64') };
}

/** One key per line, as raw bytes (like `redis-cli --scan`): one write per batch. */
export function keyLines(keys: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const key of keys) parts.push(key, NEWLINE);
  return Buffer.concat(parts);
}

const NEWLINE = Buffer.from('\n');

/**
 * Writes to a stream, honouring backpressure (waits for 'drain' before the next batch, so a
 * slow reader slows the scan instead of filling memory). Resolves false once the reader is gone
 * (EPIPE: `kvctl keys | head`), which is the signal to stop scanning, not an error.
 */
export class StreamSink {
  private gone = false;
  private readonly onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') this.gone = true;
    this.wake?.();
  };
  private wake: (() => void) | undefined;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
  }

  async write(chunk: Buffer): Promise<boolean> {
    if (this.gone) return false;
    if (chunk.length === 0) return true;
    if (this.stream.write(chunk)) return !this.gone;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.stream.once('drain', resolve);
      this.stream.once('close', resolve);
    });
    this.wake = undefined;
    return !this.gone;
  }

  close(): void {
    this.stream.removeListener('error', this.onError);
  }
}
