import { Redis } from 'ioredis';

/** Parses `host:port` (the last colon splits, so bracket-less IPv6 hosts work too). */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`bad address "${address}" (expected host:port)`);
  }
  return { host: address.slice(0, colon), port };
}

export interface FailFastRedisOptions {
  readonly address: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly password?: string;
}

/**
 * An ioredis client (not yet connected: call connect()) that fails fast and never retries,
 * reconnects or resends on its own: no offline queue, no reconnect, no per-command retries.
 * Callers decide about retries, because ioredis would re-send writes whose outcome is unknown.
 * Errors surface through the command promises (and connect()), not as 'error' events.
 */
export function failFastRedis(options: FailFastRedisOptions): Redis {
  const { host, port } = parseAddress(options.address);
  const redis = new Redis({
    host,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: null,
    enableReadyCheck: false,
    disableClientInfo: true,
    autoResubscribe: false,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    ...(options.password !== undefined ? { password: options.password } : {}),
  });
  redis.on('error', () => undefined);
  return redis;
}
