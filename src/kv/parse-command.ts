/**
 * Maps a Redis command (RESP argument array) to what the node does with it: a replicated write,
 * a local read of the map, a node-local command, or an error with Redis's own error text.
 * Command names are case-insensitive. Arity and syntax follow Redis 7.
 */

import type { KvCommand } from './commands.js';
import { INT64_MIN } from './commands.js';
import type { KvRead, KvResult } from './store.js';
import { ERR_NOT_INTEGER, parseInt64, SCAN_RANGES } from './store.js';

/**
 * How to turn the write's KvResult into the client's reply:
 * 'as-is'   — send it unchanged;
 * 'ok-as-1' — ok → integer 1, nil → integer 0 (SETNX, which Redis answers with an integer).
 */
export type WriteReplyStyle = 'as-is' | 'ok-as-1';

export type ParsedCommand =
  | { readonly kind: 'write'; readonly cmd: KvCommand; readonly reply: WriteReplyStyle }
  | { readonly kind: 'read'; readonly read: KvRead }
  /** Handled by the node itself. `name` is upper case (e.g. 'RAFT.STATUS'); `args` exclude the name. */
  | { readonly kind: 'local'; readonly name: string; readonly args: readonly Buffer[] }
  | { readonly kind: 'error'; readonly message: string };

export interface ParseCommandOptions {
  /** Largest value accepted by SET/MSET/CAS/...; larger → error. Default 64 MiB. */
  readonly maxValueBytes?: number;
}

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024 * 1024;
export const ERR_SYNTAX = 'ERR syntax error';
export const ERR_TTL_UNSUPPORTED =
  'ERR TTLs are not supported: kvctl keys never expire (EX/PX/EXAT/PXAT, SETEX, EXPIRE)';
export const ERR_DB_INDEX = 'ERR DB index is out of range';
export const ERR_VALUE_TOO_BIG = 'ERR string exceeds maximum allowed size (max-value-bytes)';

/** Applies a write's reply style to the result the store returned. */
export function adaptWriteResult(result: KvResult, reply: WriteReplyStyle): KvResult {
  if (reply === 'as-is') return result;
  if (result.type === 'ok') return { type: 'integer', value: 1 };
  if (result.type === 'nil') return { type: 'integer', value: 0 };
  return result;
}

const error = (message: string): ParsedCommand => ({ kind: 'error', message });
const write = (cmd: KvCommand, reply: WriteReplyStyle = 'as-is'): ParsedCommand => ({
  kind: 'write',
  cmd,
  reply,
});
const read = (r: KvRead): ParsedCommand => ({ kind: 'read', read: r });

export function arityError(name: string): string {
  return `ERR wrong number of arguments for '${name.toLowerCase()}' command`;
}

/** Redis's unknown-command text: the name as sent, then up to ~128 characters of quoted args. */
export function unknownCommandError(args: readonly Buffer[]): string {
  const name = (args[0] ?? Buffer.alloc(0)).toString('latin1').slice(0, 128);
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) {
    rest += `'${args[i]!.toString('latin1').slice(0, 128 - rest.length)}' `;
  }
  return `ERR unknown command '${name}', with args beginning with: ${rest}`.replace(/[\r\n]/g, ' ');
}

/**
 * Arity like Redis's command table: n > 0 means exactly n arguments (name included), n < 0 means
 * at least -n.
 */
const ARITY: ReadonlyMap<string, number> = new Map(
  Object.entries({
    GET: 2,
    MGET: -2,
    EXISTS: -2,
    STRLEN: 2,
    TTL: 2,
    PTTL: 2,
    DBSIZE: 1,
    SCAN: -2,
    KEYS: 2,
    SET: -3,
    SETNX: 3,
    GETSET: 3,
    DEL: -2,
    UNLINK: -2,
    INCR: 2,
    DECR: 2,
    INCRBY: 3,
    DECRBY: 3,
    MSET: -3,
    CAS: -4,
    SETEX: 4,
    PSETEX: 4,
    EXPIRE: -3,
    PEXPIRE: -3,
    EXPIREAT: -3,
    PEXPIREAT: -3,
    PING: -1,
    ECHO: 2,
    INFO: -1,
    AUTH: -2,
    QUIT: -1,
    SELECT: 2,
    COMMAND: -1,
    CONFIG: -2,
    CLIENT: -2,
    'RAFT.STATUS': 1,
    'RAFT.LEADER': 1,
  }),
);

/** Upper bounds where Redis has them (beyond the arity table). */
const MAX_ARGS: ReadonlyMap<string, number> = new Map([
  ['PING', 2],
  ['AUTH', 3],
]);

const LOCAL_COMMANDS = new Set([
  'PING',
  'ECHO',
  'INFO',
  'AUTH',
  'QUIT',
  'COMMAND',
  'CONFIG',
  'CLIENT',
  'RAFT.STATUS',
  'RAFT.LEADER',
]);

export function parseRedisCommand(args: readonly Buffer[], options: ParseCommandOptions = {}): ParsedCommand {
  const maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  if (args.length === 0) return error(unknownCommandError([Buffer.alloc(0)]));
  const name = args[0]!.length <= 16 ? args[0]!.toString('latin1').toUpperCase() : '';
  const arity = ARITY.get(name);
  if (arity === undefined) return error(unknownCommandError(args));
  if ((arity > 0 && args.length !== arity) || (arity < 0 && args.length < -arity))
    return error(arityError(name));
  const maxArgs = MAX_ARGS.get(name);
  if (maxArgs !== undefined && args.length > maxArgs) return error(arityError(name));
  const tooBig = (v: Buffer): boolean => v.length > maxValueBytes;

  switch (name) {
    case 'GET':
      return read({ type: 'get', key: args[1]! });
    case 'MGET':
      return read({ type: 'mget', keys: args.slice(1) });
    case 'EXISTS':
      return read({ type: 'exists', keys: args.slice(1) });
    case 'STRLEN':
      return read({ type: 'strlen', key: args[1]! });
    case 'TTL':
    case 'PTTL':
      return read({ type: 'ttl', key: args[1]! });
    case 'DBSIZE':
      return read({ type: 'dbsize' });
    case 'SCAN':
      return parseScan(args);
    case 'KEYS':
      return read({ type: 'keys', pattern: args[1]! });
    case 'SET':
      return parseSet(args, tooBig);
    case 'SETNX':
      if (tooBig(args[2]!)) return error(ERR_VALUE_TOO_BIG);
      return write({ type: 'set', key: args[1]!, value: args[2]!, mode: 'NX', get: false }, 'ok-as-1');
    case 'GETSET':
      if (tooBig(args[2]!)) return error(ERR_VALUE_TOO_BIG);
      return write({ type: 'set', key: args[1]!, value: args[2]!, mode: 'none', get: true });
    case 'DEL':
    case 'UNLINK':
      return write({ type: 'del', keys: args.slice(1) });
    case 'INCR':
      return write({ type: 'incrby', key: args[1]!, delta: 1n });
    case 'DECR':
      return write({ type: 'incrby', key: args[1]!, delta: -1n });
    case 'INCRBY':
    case 'DECRBY': {
      const n = parseInt64(args[2]!);
      if (n === null) return error(ERR_NOT_INTEGER);
      if (name === 'INCRBY') return write({ type: 'incrby', key: args[1]!, delta: n });
      // Redis refuses to negate LLONG_MIN rather than overflow.
      if (n === INT64_MIN) return error('ERR decrement would overflow');
      return write({ type: 'incrby', key: args[1]!, delta: -n });
    }
    case 'MSET': {
      if (args.length % 2 === 0) return error(arityError(name));
      const keys: Buffer[] = [];
      const values: Buffer[] = [];
      for (let i = 1; i < args.length; i += 2) {
        if (tooBig(args[i + 1]!)) return error(ERR_VALUE_TOO_BIG);
        keys.push(args[i]!);
        values.push(args[i + 1]!);
      }
      return write({ type: 'mset', keys, values });
    }
    case 'CAS':
      return parseCas(args, tooBig);
    case 'SETEX':
    case 'PSETEX':
    case 'EXPIRE':
    case 'PEXPIRE':
    case 'EXPIREAT':
    case 'PEXPIREAT':
      return error(ERR_TTL_UNSUPPORTED);
    case 'SELECT': {
      const index = parseInt64(args[1]!);
      if (index === null) return error(ERR_NOT_INTEGER);
      if (index !== 0n) return error(ERR_DB_INDEX);
      return { kind: 'local', name, args: args.slice(1) };
    }
    default:
      if (!LOCAL_COMMANDS.has(name))
        throw new Error(`invariant: command ${name} has an arity but no handler`);
      return { kind: 'local', name, args: args.slice(1) };
  }
}

export const ERR_INVALID_CURSOR = 'ERR invalid cursor';
/** Largest SCAN cursor: the store's cursors are positions in a sequence of hash ranges. */
const MAX_SCAN_CURSOR = BigInt(SCAN_RANGES - 1);
const DEFAULT_SCAN_COUNT = 10;

/**
 * SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. Every key is a string, so TYPE string
 * scans as usual and any other TYPE returns no keys (but still walks, as Redis does).
 */
function parseScan(args: readonly Buffer[]): ParsedCommand {
  const cursor = parseInt64(args[1]!);
  if (cursor === null || cursor < 0n || cursor > MAX_SCAN_CURSOR) return error(ERR_INVALID_CURSOR);
  let count = DEFAULT_SCAN_COUNT;
  let match: Buffer | undefined;
  let noKeys = false;
  for (let i = 2; i < args.length; i += 2) {
    const opt = args[i]!.length <= 8 ? args[i]!.toString('latin1').toUpperCase() : '';
    if (i + 1 >= args.length) return error(ERR_SYNTAX);
    const arg = args[i + 1]!;
    if (opt === 'MATCH') match = arg;
    else if (opt === 'COUNT') {
      const n = parseInt64(arg);
      if (n === null) return error(ERR_NOT_INTEGER);
      if (n < 1n) return error(ERR_SYNTAX);
      count = n > 1_000_000n ? 1_000_000 : Number(n);
    } else if (opt === 'TYPE') noKeys = arg.toString('latin1').toLowerCase() !== 'string';
    else return error(ERR_SYNTAX);
  }
  // A pattern no key can match is cheaper than a TYPE filter in the store.
  if (noKeys) match = Buffer.from('[]');
  return read({ type: 'scan', cursor: Number(cursor), count, ...(match ? { match } : {}) });
}

/** SET key value [NX | XX] [GET] [EX s | PX ms | EXAT t | PXAT t | KEEPTTL] */
function parseSet(args: readonly Buffer[], tooBig: (v: Buffer) => boolean): ParsedCommand {
  let nx = false;
  let xx = false;
  let get = false;
  let ttl = false;
  let keepTtl = false;
  for (let i = 3; i < args.length; i++) {
    const opt = args[i]!.length <= 8 ? args[i]!.toString('latin1').toUpperCase() : '';
    if (opt === 'NX' && !xx) nx = true;
    else if (opt === 'XX' && !nx) xx = true;
    else if (opt === 'GET') get = true;
    else if (opt === 'KEEPTTL' && !ttl) keepTtl = true;
    else if (
      (opt === 'EX' || opt === 'PX' || opt === 'EXAT' || opt === 'PXAT') &&
      !ttl &&
      !keepTtl &&
      i + 1 < args.length
    ) {
      ttl = true;
      i++;
    } else return error(ERR_SYNTAX);
  }
  if (ttl) return error(ERR_TTL_UNSUPPORTED);
  if (tooBig(args[2]!)) return error(ERR_VALUE_TOO_BIG);
  return write({ type: 'set', key: args[1]!, value: args[2]!, mode: nx ? 'NX' : xx ? 'XX' : 'none', get });
}

/**
 * CAS key new-value IFEQ expected-value → 1 if the key held expected-value and was set, else 0.
 * CAS key new-value IFABSENT          → 1 if the key did not exist and was set, else 0.
 */
function parseCas(args: readonly Buffer[], tooBig: (v: Buffer) => boolean): ParsedCommand {
  const cond = args[3]!.length <= 8 ? args[3]!.toString('latin1').toUpperCase() : '';
  let expected: Buffer | null;
  if (cond === 'IFEQ' && args.length === 5) expected = args[4]!;
  else if (cond === 'IFABSENT' && args.length === 4) expected = null;
  else return error(ERR_SYNTAX);
  if (tooBig(args[2]!)) return error(ERR_VALUE_TOO_BIG);
  return write({ type: 'cas', key: args[1]!, expected, value: args[2]! });
}
