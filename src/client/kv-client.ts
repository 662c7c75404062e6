/**
 * Leader-aware KV client on ioredis (RESP parsing is the library's). It finds the leader with
 * RAFT.LEADER, follows -MOVED, and retries across a failover with bounded backoff — but only
 * what retry-policy.ts says is safe. One connection per node address, created lazily.
 */
import type { Redis } from 'ioredis';
import { failFastRedis, parseAddress } from './fail-fast-redis.js';

export { parseAddress } from './fail-fast-redis.js';

import {
  type BackoffPolicy,
  type FailureKind,
  DEFAULT_BACKOFF,
  backoffDelayMs,
  classifyReplyError,
  isReadOnlyCommand,
  mayRetry,
} from './retry-policy.js';

/** A RESP reply as ioredis returns it from `call` (bulk/status → string). */
export type RespValue = string | number | null | RespValue[];

export interface KvClientOptions {
  /** RESP addresses ("host:port") of the nodes; any reachable one can name the leader. */
  readonly seeds: readonly string[];
  readonly password?: string;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  /** Give up retrying after this long (the whole call, all attempts). */
  readonly retryDeadlineMs?: number;
  /** Hard cap on attempts per call, whatever the deadline. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  /** Called before each retry (for verbose output and tests). */
  readonly onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  readonly attempt: number;
  readonly address: string | undefined;
  readonly failure: FailureKind['kind'];
  readonly message: string;
  readonly delayMs: number;
}

export interface Reply {
  readonly value: RespValue;
  /** The node that answered ("host:port"). */
  readonly address: string;
  /** Round trip of the successful attempt. */
  readonly latencyMs: number;
  readonly attempts: number;
}

/** The server answered with an error that is final (not MOVED/TRYAGAIN). */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
  constructor(
    message: string,
    readonly address: string,
  ) {
    super(message);
  }
}

/** A write was sent and then the connection failed: it may or may not have been applied. */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError';
}

/** Retries ran out (deadline or attempts) on failures that proved nothing was applied. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRY_DEADLINE_MS = 15_000;
export const DEFAULT_MAX_ATTEMPTS = 50;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class NotSentError extends Error {}

export class KvClient {
  private readonly connections = new Map<string, Redis>();
  private leaderAddress: string | undefined;
  private readonly options: Required<Omit<KvClientOptions, 'password' | 'onRetry'>> &
    Pick<KvClientOptions, 'password' | 'onRetry'>;

  constructor(options: KvClientOptions) {
    if (options.seeds.length === 0) throw new Error('invariant: KvClient needs at least one seed address');
    options.seeds.forEach(parseAddress);
    this.options = {
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
      retryDeadlineMs: DEFAULT_RETRY_DEADLINE_MS,
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      backoff: DEFAULT_BACKOFF,
      ...options,
    };
  }

  /** The leader as last learned (undefined until a command or findLeader ran). */
  get knownLeader(): string | undefined {
    return this.leaderAddress;
  }

  /** Asks the nodes, in order, who leads. Returns the leader's RESP address, or undefined. */
  async findLeader(): Promise<{ id: number; address: string } | undefined> {
    for (const seed of this.options.seeds) {
      try {
        const redis = await this.connection(seed);
        const reply = (await redis.call('RAFT.LEADER')) as unknown;
        if (
          Array.isArray(reply) &&
          typeof reply[0] === 'number' &&
          reply[0] > 0 &&
          typeof reply[1] === 'string'
        ) {
          this.leaderAddress = reply[1];
          return { id: reply[0], address: reply[1] };
        }
      } catch {
        this.drop(seed);
      }
    }
    return undefined;
  }

  /**
   * Sends one command to the leader. Follows MOVED; retries TRYAGAIN and connection failures
   * with backoff while that is safe (see retry-policy.ts); throws ReplyError for a final
   * server error, OutcomeUnknownError for a write whose fate is unknown, UnavailableError when
   * the deadline or the attempt cap ran out.
   */
  async command(argv: readonly string[]): Promise<Reply> {
    const [name, ...args] = argv;
    if (name === undefined) throw new Error('invariant: empty command');
    const readOnly = isReadOnlyCommand(name);
    const deadline = Date.now() + this.options.retryDeadlineMs;
    let retries = 0;
    let target: string | undefined = this.leaderAddress;
    let lastProblem = 'no node reachable';
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      if (target === undefined) {
        target = (await this.findLeader())?.address ?? this.nextSeed(attempt);
      }
      const address = target;
      const started = performance.now();
      let failure: FailureKind;
      let message: string;
      try {
        const value = await this.send(address, name, args);
        this.leaderAddress = address;
        return { value, address, latencyMs: performance.now() - started, attempts: attempt };
      } catch (error) {
        message = (error as Error).message;
        if (error instanceof NotSentError) failure = { kind: 'not-sent' };
        else if ((error as Error).name === 'ReplyError') failure = classifyReplyError(message);
        else failure = { kind: 'unknown-outcome' };
      }
      lastProblem = `${address}: ${message}`;
      if (!mayRetry(failure, readOnly)) {
        if (failure.kind === 'reply-error') throw new ReplyError(message, address);
        throw new OutcomeUnknownError(
          `${name} sent to ${address} but no answer (${message}): it may or may not have been applied`,
        );
      }
      if (failure.kind === 'moved') {
        // The node told us who leads: go there at once, no sleep (bounded by maxAttempts).
        target = failure.address;
        this.leaderAddress = failure.address;
        continue;
      }
      if (failure.kind === 'not-sent' || failure.kind === 'unknown-outcome') this.drop(address);
      this.leaderAddress = undefined;
      target = undefined;
      const delayMs = backoffDelayMs(retries++, this.options.backoff);
      if (Date.now() + delayMs > deadline) break;
      this.options.onRetry?.({ attempt, address, failure: failure.kind, message, delayMs });
      await sleep(delayMs);
    }
    throw new UnavailableError(`${name}: cluster unavailable, gave up retrying (last: ${lastProblem})`);
  }

  async get(key: string): Promise<string | null> {
    return (await this.command(['GET', key])).value as string | null;
  }

  async set(key: string, value: string): Promise<void> {
    await this.command(['SET', key, value]);
  }

  /** Returns the number of keys removed. */
  async del(...keys: string[]): Promise<number> {
    return (await this.command(['DEL', ...keys])).value as number;
  }

  async close(): Promise<void> {
    for (const redis of this.connections.values()) redis.disconnect();
    this.connections.clear();
  }

  private nextSeed(attempt: number): string {
    const seed = this.options.seeds[(attempt - 1) % this.options.seeds.length];
    if (seed === undefined) throw new Error('invariant: seed index out of range');
    return seed;
  }

  private drop(address: string): void {
    this.connections.get(address)?.disconnect();
    this.connections.delete(address);
  }

  /** A connected client for the address; NotSentError if we cannot connect. */
  private async connection(address: string): Promise<Redis> {
    const existing = this.connections.get(address);
    if (existing !== undefined && existing.status === 'ready') return existing;
    if (existing !== undefined) this.drop(address);
    const redis = failFastRedis({
      address,
      connectTimeoutMs: this.options.connectTimeoutMs,
      commandTimeoutMs: this.options.commandTimeoutMs,
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    });
    this.connections.set(address, redis);
    try {
      await redis.connect();
    } catch (error) {
      this.drop(address);
      throw new NotSentError(`cannot connect: ${(error as Error).message}`);
    }
    return redis;
  }

  private async send(address: string, name: string, args: readonly string[]): Promise<RespValue> {
    const redis = await this.connection(address);
    if (redis.status !== 'ready') throw new NotSentError(`connection to ${address} not ready`);
    return (await redis.call(name, ...args)) as RespValue;
  }
}
