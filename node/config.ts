import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MAX_KEY_BYTES } from '../src/kv/arena.js';
import { defaultMaxMemoryBytes } from './memory-guard.js';

/** A bad flag or config value: main prints the message on one line and exits 2. */
export class ConfigError extends Error {}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type ReadMode = 'linearizable' | 'lease' | 'stale';
export type FollowerMode = 'forward' | 'redirect';

export interface NodeConfig {
  readonly id: number;
  readonly dataDir: string;
  /** Peer (Raft transport) address of every initial member, this node included. */
  readonly peers: ReadonlyMap<number, HostPort>;
  readonly peerResp: ReadonlyMap<number, HostPort>;
  readonly peerHttp: ReadonlyMap<number, HostPort>;
  readonly listenPeer: HostPort;
  readonly listenResp: HostPort;
  readonly listenHttp: HostPort;
  readonly clusterSecret: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEntries: number;
  readonly snapshotWalBytes: number;
  /** Bound on the Raft log held in memory; a snapshot is taken at half of it (see Host). */
  readonly maxLogBytes: number;
  readonly groupCommitWindowMs: number;
  readonly walSegmentBytes: number;
  readonly readMode: ReadMode;
  readonly followerMode: FollowerMode;
  readonly requirepass?: string;
  readonly maxValueBytes: number;
  /** Memory quota for writes (--max-memory; default from the cgroup limit, see memory-guard.ts). */
  readonly maxMemoryBytes: number;
  readonly maxClients: number;
  readonly requestTimeoutMs: number;
  readonly logLevel: 'info' | 'debug';
}

const flagSpec = {
  config: { type: 'string' },
  id: { type: 'string' },
  'data-dir': { type: 'string' },
  peers: { type: 'string' },
  'peer-resp': { type: 'string' },
  'peer-http': { type: 'string' },
  'listen-peer': { type: 'string' },
  'listen-resp': { type: 'string' },
  'listen-http': { type: 'string' },
  'cluster-secret': { type: 'string' },
  'cluster-secret-file': { type: 'string' },
  'tick-ms': { type: 'string' },
  'election-ticks': { type: 'string' },
  'heartbeat-ticks': { type: 'string' },
  'snapshot-entries': { type: 'string' },
  'snapshot-wal-bytes': { type: 'string' },
  'max-log-bytes': { type: 'string' },
  'group-commit-window-ms': { type: 'string' },
  'wal-segment-bytes': { type: 'string' },
  'read-mode': { type: 'string' },
  'follower-mode': { type: 'string' },
  requirepass: { type: 'string' },
  'max-value-bytes': { type: 'string' },
  'max-memory': { type: 'string' },
  'max-clients': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean' },
} as const;

type FlagName = Exclude<keyof typeof flagSpec, 'help' | 'config'>;

export const usage = `usage: kvnode --id N --data-dir DIR --peers 1=h:p,2=h:p,3=h:p --listen-peer h:p
              --listen-resp h:p --listen-http h:p (--cluster-secret S | --cluster-secret-file F)
              [--peer-resp 1=h:p,...] [--peer-http 1=h:p,...] [--tick-ms 20] [--election-ticks 15]
              [--heartbeat-ticks 3] [--snapshot-entries 100000] [--snapshot-wal-bytes 268435456]
              [--max-log-bytes 67108864] [--group-commit-window-ms 0] [--wal-segment-bytes 67108864] [--read-mode linearizable|lease|stale]
              [--follower-mode forward|redirect] [--requirepass P] [--max-value-bytes 16777216]
              [--max-memory BYTES|512mb|1gb (default: 60% of the cgroup limit or RAM)]
              [--max-clients 10000] [--request-timeout-ms 10000] [--log-level info|debug]
       kvnode --config FILE.json   (same settings, camelCase keys; flags override the file)`;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new ConfigError(`${what}: expected host:port, got '${text}'`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new ConfigError(`${what}: port out of range in '${text}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** Parses `1=h:p,2=h:p`: every id a positive integer, no id twice. */
export function parseMemberList(text: string, what: string): Map<number, HostPort> {
  const members = new Map<number, HostPort>();
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new ConfigError(`${what}: expected id=host:port, got '${part}'`);
    const id = parseId(part.slice(0, eq), what);
    if (members.has(id)) throw new ConfigError(`${what}: node ${id} listed twice`);
    members.set(id, parseHostPort(part.slice(eq + 1), `${what} (node ${id})`));
  }
  return members;
}

function parseId(text: string, what: string): number {
  const id = Number(text.trim());
  if (!Number.isSafeInteger(id) || id < 1 || String(id) !== text.trim()) {
    throw new ConfigError(`${what}: node id must be a positive integer, got '${text}'`);
  }
  return id;
}

function parseIntFlag(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${flag}: expected an integer in [${min}, ${max}], got '${text}'`);
  }
  return n;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};
/** Smallest accepted --max-memory: below it the runtime alone would refuse every write. */
const MIN_MAX_MEMORY_BYTES = 16 * 1024 * 1024;

/** A byte count with an optional unit (k/kb, m/mb, g/gb: powers of 1024), as Redis's maxmemory. */
export function parseBytesFlag(text: string, flag: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_MAX_MEMORY_BYTES) {
    throw new ConfigError(
      `--${flag}: expected a size of at least 16mb (e.g. 536870912, 512mb, 1gb), got '${text}'`,
    );
  }
  return n;
}

function readConfigFile(path: string): Record<string, string> {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--config: cannot read ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`--config: ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config: ${path} must hold a JSON object`);
  }
  const known = new Map(Object.keys(flagSpec).map((f) => [camel(f), f]));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    const flag = known.get(key);
    if (!flag || flag === 'config' || flag === 'help') {
      throw new ConfigError(`--config: unknown setting '${key}' in ${path}`);
    }
    if (key === 'peers' || key === 'peerResp' || key === 'peerHttp') {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        out[flag] = Object.entries(value as Record<string, unknown>)
          .map(([id, addr]) => `${id}=${String(addr)}`)
          .join(',');
        continue;
      }
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ConfigError(`--config: setting '${key}' in ${path} must be a string or number`);
    }
    out[flag] = String(value);
  }
  return out;
}

/** Parses argv (without node and script). Throws ConfigError with a one-line message. */
export function parseNodeConfig(argv: readonly string[]): NodeConfig | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: flagSpec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message.split('\n')[0] ?? 'bad flags');
  }
  if (values.help) return 'help';
  const fromFile = typeof values.config === 'string' ? readConfigFile(values.config) : {};
  const get = (flag: FlagName): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : fromFile[flag];
  };
  const required = (flag: FlagName): string => {
    const v = get(flag);
    if (v === undefined || v === '') throw new ConfigError(`--${flag} is required (see --help)`);
    return v;
  };
  const intFlag = (flag: FlagName, def: number, min: number, max: number): number => {
    const v = get(flag);
    return v === undefined ? def : parseIntFlag(v, flag, min, max);
  };
  const oneOf = <T extends string>(flag: FlagName, allowed: readonly T[], def: T): T => {
    const v = get(flag) ?? def;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new ConfigError(`--${flag}: expected one of ${allowed.join('|')}, got '${v}'`);
    }
    return v as T;
  };

  const id = parseId(required('id'), '--id');
  const peers = parseMemberList(required('peers'), '--peers');
  if (!peers.has(id)) throw new ConfigError(`--peers must include this node (id ${id})`);
  const listenPeer = parseHostPort(required('listen-peer'), '--listen-peer');
  const ownPeer = peers.get(id)!;
  if (ownPeer.port !== listenPeer.port) {
    throw new ConfigError(
      `--listen-peer ${formatHostPort(listenPeer)} does not match this node's entry in --peers (${formatHostPort(ownPeer)})`,
    );
  }
  const secretInline = get('cluster-secret');
  const secretFile = get('cluster-secret-file');
  if (secretInline !== undefined && secretFile !== undefined) {
    throw new ConfigError('give --cluster-secret or --cluster-secret-file, not both');
  }
  let clusterSecret: string;
  if (secretFile !== undefined) {
    try {
      clusterSecret = readFileSync(secretFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`--cluster-secret-file: cannot read ${secretFile}: ${(err as Error).message}`);
    }
  } else {
    clusterSecret = secretInline ?? '';
  }
  if (clusterSecret.length < 8) {
    throw new ConfigError(
      'a cluster secret of at least 8 characters is required (--cluster-secret or --cluster-secret-file)',
    );
  }
  const electionTicks = intFlag('election-ticks', 15, 2, 10_000);
  const heartbeatTicks = intFlag('heartbeat-ticks', 3, 1, 10_000);
  if (heartbeatTicks >= electionTicks) {
    throw new ConfigError(
      `--heartbeat-ticks (${heartbeatTicks}) must be less than --election-ticks (${electionTicks})`,
    );
  }
  const requirepass = get('requirepass');
  const maxMemory = get('max-memory');
  const logLevel = oneOf('log-level', ['info', 'debug'] as const, 'info');
  return {
    id,
    dataDir: required('data-dir'),
    peers,
    peerResp: parseMemberList(get('peer-resp') ?? '', '--peer-resp'),
    peerHttp: parseMemberList(get('peer-http') ?? '', '--peer-http'),
    listenPeer,
    listenResp: parseHostPort(required('listen-resp'), '--listen-resp'),
    listenHttp: parseHostPort(required('listen-http'), '--listen-http'),
    clusterSecret,
    tickMs: intFlag('tick-ms', 20, 1, 10_000),
    electionTicks,
    heartbeatTicks,
    snapshotEntries: intFlag('snapshot-entries', 100_000, 10, 1e9),
    snapshotWalBytes: intFlag('snapshot-wal-bytes', 256 * 1024 * 1024, 1024 * 1024, 2 ** 48),
    // Below 1 MiB a single large write (up to --max-value-bytes) would keep the log over the bound.
    maxLogBytes: intFlag('max-log-bytes', 64 * 1024 * 1024, 1024 * 1024, 2 ** 40),
    groupCommitWindowMs: intFlag('group-commit-window-ms', 0, 0, 1000),
    // Segments are zero-filled before use (fdatasync then never updates metadata): a node's first
    // start writes one segment, so small VMs and tests may want smaller ones.
    walSegmentBytes: intFlag('wal-segment-bytes', 64 * 1024 * 1024, 1024 * 1024, 2 ** 32),
    readMode: oneOf('read-mode', ['linearizable', 'lease', 'stale'] as const, 'linearizable'),
    followerMode: oneOf('follower-mode', ['forward', 'redirect'] as const, 'forward'),
    ...(requirepass !== undefined ? { requirepass } : {}),
    // 16 MiB: what a node takes without disturbing leadership with margin (issue 9; checked by
    // test/node/large-value.test.ts). A value is copied and checksummed whole on every node (RESP
    // read, entry encode, peer frame, WAL record, apply), in loop turns of up to ~3 ms per MiB:
    // at 64 MiB turns reached ~200 ms of the default 300 ms election timeout (and the entry alone
    // fills the default --max-log-bytes); 32 MiB passed on an idle 2-core VM but lost its leader
    // with other CPU-heavy work on the machine; 16 MiB passed both. Raise it on faster machines
    // or together with --election-ticks.
    // At most 256 MiB − 1: a key (a bulk argument too) must fit the store's 28-bit key length.
    maxValueBytes: intFlag('max-value-bytes', 16 * 1024 * 1024, 1, MAX_KEY_BYTES),
    maxMemoryBytes:
      maxMemory === undefined ? defaultMaxMemoryBytes() : parseBytesFlag(maxMemory, 'max-memory'),
    maxClients: intFlag('max-clients', 10_000, 1, 1_000_000),
    requestTimeoutMs: intFlag('request-timeout-ms', 10_000, 10, 600_000),
    logLevel,
  };
}
