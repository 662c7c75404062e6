import { describe, expect, it } from 'vitest';
import { adaptWriteResult, parseRedisCommand, type ParsedCommand } from '../../src/kv/parse-command.js';
import { INT64_MAX, INT64_MIN } from '../../src/kv/commands.js';

const p = (...words: string[]): ParsedCommand =>
  parseRedisCommand(words.map((w) => Buffer.from(w, 'latin1')));
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const errorOf = (parsed: ParsedCommand): string | undefined =>
  parsed.kind === 'error' ? parsed.message : undefined;
const arity = (name: string): string => `ERR wrong number of arguments for '${name}' command`;
const TTL_ERR = /^ERR TTLs are not supported/;

describe('parseRedisCommand: reads', () => {
  it('SCAN cursor [MATCH p] [COUNT n] [TYPE t] and KEYS pattern', () => {
    expect(p('SCAN', '0')).toEqual({ kind: 'read', read: { type: 'scan', cursor: 0, count: 10 } });
    expect(p('scan', '65535', 'match', 'a*', 'COUNT', '500')).toEqual({
      kind: 'read',
      read: { type: 'scan', cursor: 65535, count: 500, match: b('a*') },
    });
    expect(p('SCAN', '7', 'TYPE', 'string')).toEqual({
      kind: 'read',
      read: { type: 'scan', cursor: 7, count: 10 },
    });
    expect(p('SCAN', '7', 'TYPE', 'hash')).toEqual({
      kind: 'read',
      read: { type: 'scan', cursor: 7, count: 10, match: b('[]') },
    });
    expect(errorOf(p('SCAN', 'x'))).toBe('ERR invalid cursor');
    expect(errorOf(p('SCAN', '-1'))).toBe('ERR invalid cursor');
    expect(errorOf(p('SCAN', '65536'))).toBe('ERR invalid cursor');
    expect(errorOf(p('SCAN', '0', 'COUNT'))).toBe('ERR syntax error');
    expect(errorOf(p('SCAN', '0', 'COUNT', '0'))).toBe('ERR syntax error');
    expect(errorOf(p('SCAN', '0', 'COUNT', 'x'))).toBe('ERR value is not an integer or out of range');
    expect(errorOf(p('SCAN', '0', 'BOGUS', '1'))).toBe('ERR syntax error');
    expect(errorOf(p('SCAN'))).toBe(arity('scan'));
    expect(p('KEYS', 'user:*')).toEqual({ kind: 'read', read: { type: 'keys', pattern: b('user:*') } });
    expect(errorOf(p('KEYS'))).toBe(arity('keys'));
  });

  it('GET / MGET / EXISTS / STRLEN / TTL / PTTL / DBSIZE', () => {
    expect(p('GET', 'k')).toEqual({ kind: 'read', read: { type: 'get', key: b('k') } });
    expect(p('mget', 'a', 'b')).toEqual({ kind: 'read', read: { type: 'mget', keys: [b('a'), b('b')] } });
    expect(p('Exists', 'a', 'a')).toEqual({ kind: 'read', read: { type: 'exists', keys: [b('a'), b('a')] } });
    expect(p('strlen', 'a')).toEqual({ kind: 'read', read: { type: 'strlen', key: b('a') } });
    expect(p('ttl', 'a')).toEqual({ kind: 'read', read: { type: 'ttl', key: b('a') } });
    expect(p('PTTL', 'a')).toEqual({ kind: 'read', read: { type: 'ttl', key: b('a') } });
    expect(p('dbsize')).toEqual({ kind: 'read', read: { type: 'dbsize' } });
  });

  it('arity errors name the command in lower case', () => {
    expect(errorOf(p('GET'))).toBe(arity('get'));
    expect(errorOf(p('get', 'a', 'b'))).toBe(arity('get'));
    expect(errorOf(p('MGET'))).toBe(arity('mget'));
    expect(errorOf(p('EXISTS'))).toBe(arity('exists'));
    expect(errorOf(p('DBSIZE', 'x'))).toBe(arity('dbsize'));
    expect(errorOf(p('STRLEN'))).toBe(arity('strlen'));
  });
});

describe('parseRedisCommand: writes', () => {
  const set = (key: string, value: string, mode: 'none' | 'NX' | 'XX' = 'none', get = false) => ({
    kind: 'write',
    cmd: { type: 'set', key: b(key), value: b(value), mode, get },
    reply: 'as-is',
  });

  it('SET with NX / XX / GET / KEEPTTL, options case-insensitive and repeatable', () => {
    expect(p('SET', 'k', 'v')).toEqual(set('k', 'v'));
    expect(p('set', 'k', 'v', 'nx')).toEqual(set('k', 'v', 'NX'));
    expect(p('SET', 'k', 'v', 'XX', 'get')).toEqual(set('k', 'v', 'XX', true));
    expect(p('SET', 'k', 'v', 'NX', 'NX')).toEqual(set('k', 'v', 'NX'));
    expect(p('SET', 'k', 'v', 'KEEPTTL')).toEqual(set('k', 'v'));
  });

  it('SET syntax errors', () => {
    for (const opts of [
      ['NX', 'XX'],
      ['XX', 'NX'],
      ['FOO'],
      ['EX'],
      ['KEEPTTL', 'EX', '10'],
      ['EX', '1', 'PX', '1'],
      ['NXX'],
    ]) {
      expect(errorOf(p('SET', 'k', 'v', ...opts)), opts.join(' ')).toBe('ERR syntax error');
    }
    expect(errorOf(p('SET', 'k'))).toBe(arity('set'));
  });

  it('SET EX / PX / EXAT / PXAT and SETEX / PSETEX / EXPIRE*: TTLs are not supported', () => {
    for (const opt of ['EX', 'px', 'EXAT', 'PXAT'])
      expect(errorOf(p('SET', 'k', 'v', opt, '10'))).toMatch(TTL_ERR);
    expect(errorOf(p('SETEX', 'k', '10', 'v'))).toMatch(TTL_ERR);
    expect(errorOf(p('PSETEX', 'k', '10', 'v'))).toMatch(TTL_ERR);
    for (const c of ['EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT'])
      expect(errorOf(p(c, 'k', '10'))).toMatch(TTL_ERR);
    expect(errorOf(p('SETEX', 'k', '10'))).toBe(arity('setex'));
  });

  it('SETNX replies with an integer, GETSET with the old value', () => {
    expect(p('SETNX', 'k', 'v')).toEqual({ ...set('k', 'v', 'NX'), reply: 'ok-as-1' });
    expect(p('GETSET', 'k', 'v')).toEqual(set('k', 'v', 'none', true));
    expect(adaptWriteResult({ type: 'ok' }, 'ok-as-1')).toEqual({ type: 'integer', value: 1 });
    expect(adaptWriteResult({ type: 'nil' }, 'ok-as-1')).toEqual({ type: 'integer', value: 0 });
    expect(adaptWriteResult({ type: 'nil' }, 'as-is')).toEqual({ type: 'nil' });
  });

  it('DEL / UNLINK', () => {
    const del = { kind: 'write', cmd: { type: 'del', keys: [b('a'), b('b')] }, reply: 'as-is' };
    expect(p('DEL', 'a', 'b')).toEqual(del);
    expect(p('unlink', 'a', 'b')).toEqual(del);
    expect(errorOf(p('DEL'))).toBe(arity('del'));
  });

  it('INCR / DECR / INCRBY / DECRBY map to INCRBY with a 64-bit delta', () => {
    const incr = (delta: bigint) => ({
      kind: 'write',
      cmd: { type: 'incrby', key: b('n'), delta },
      reply: 'as-is',
    });
    expect(p('INCR', 'n')).toEqual(incr(1n));
    expect(p('decr', 'n')).toEqual(incr(-1n));
    expect(p('INCRBY', 'n', '-5')).toEqual(incr(-5n));
    expect(p('DECRBY', 'n', '5')).toEqual(incr(-5n));
    expect(p('INCRBY', 'n', '9223372036854775807')).toEqual(incr(INT64_MAX));
    expect(p('DECRBY', 'n', '9223372036854775807')).toEqual(incr(-INT64_MAX));
    expect(p('INCRBY', 'n', '-9223372036854775808')).toEqual(incr(INT64_MIN));
    expect(errorOf(p('DECRBY', 'n', '-9223372036854775808'))).toBe('ERR decrement would overflow');
    for (const bad of ['x', '1.0', '9223372036854775808', ' 1', '']) {
      expect(errorOf(p('INCRBY', 'n', bad)), bad).toBe('ERR value is not an integer or out of range');
    }
    expect(errorOf(p('INCR'))).toBe(arity('incr'));
    expect(errorOf(p('INCRBY', 'n'))).toBe(arity('incrby'));
  });

  it('MSET needs key/value pairs', () => {
    expect(p('MSET', 'a', '1', 'b', '2')).toEqual({
      kind: 'write',
      cmd: { type: 'mset', keys: [b('a'), b('b')], values: [b('1'), b('2')] },
      reply: 'as-is',
    });
    expect(errorOf(p('MSET', 'a', '1', 'b'))).toBe(arity('mset'));
    expect(errorOf(p('MSET', 'a'))).toBe(arity('mset'));
  });

  it('CAS key new IFEQ expected | IFABSENT', () => {
    expect(p('CAS', 'k', 'new', 'IFEQ', 'old')).toEqual({
      kind: 'write',
      cmd: { type: 'cas', key: b('k'), expected: b('old'), value: b('new') },
      reply: 'as-is',
    });
    expect(p('cas', 'k', 'new', 'ifabsent')).toEqual({
      kind: 'write',
      cmd: { type: 'cas', key: b('k'), expected: null, value: b('new') },
      reply: 'as-is',
    });
    expect(errorOf(p('CAS', 'k', 'new', 'IFEQ'))).toBe('ERR syntax error');
    expect(errorOf(p('CAS', 'k', 'new', 'IFABSENT', 'x'))).toBe('ERR syntax error');
    expect(errorOf(p('CAS', 'k', 'new', 'WHAT'))).toBe('ERR syntax error');
    expect(errorOf(p('CAS', 'k', 'new'))).toBe(arity('cas'));
  });

  it('values above maxValueBytes are refused', () => {
    const opts = { maxValueBytes: 3 };
    const q = (...w: string[]) => parseRedisCommand(w.map(b), opts);
    const TOO_BIG = 'ERR string exceeds maximum allowed size (max-value-bytes)';
    expect(q('SET', 'k', 'abc').kind).toBe('write');
    expect(errorOf(q('SET', 'k', 'abcd'))).toBe(TOO_BIG);
    expect(errorOf(q('SETNX', 'k', 'abcd'))).toBe(TOO_BIG);
    expect(errorOf(q('GETSET', 'k', 'abcd'))).toBe(TOO_BIG);
    expect(errorOf(q('MSET', 'a', '1', 'k', 'abcd'))).toBe(TOO_BIG);
    expect(errorOf(q('CAS', 'k', 'abcd', 'IFABSENT'))).toBe(TOO_BIG);
  });
});

describe('parseRedisCommand: local commands and errors', () => {
  it('maps node-local commands with upper-case names and the arguments after the name', () => {
    const local = (name: string, ...args: string[]) => ({ kind: 'local', name, args: args.map(b) });
    expect(p('ping')).toEqual(local('PING'));
    expect(p('PING', 'hi')).toEqual(local('PING', 'hi'));
    expect(p('echo', 'x')).toEqual(local('ECHO', 'x'));
    expect(p('INFO')).toEqual(local('INFO'));
    expect(p('info', 'replication', 'server')).toEqual(local('INFO', 'replication', 'server'));
    expect(p('AUTH', 'pw')).toEqual(local('AUTH', 'pw'));
    expect(p('AUTH', 'default', 'pw')).toEqual(local('AUTH', 'default', 'pw'));
    expect(p('QUIT')).toEqual(local('QUIT'));
    expect(p('SELECT', '0')).toEqual(local('SELECT', '0'));
    expect(p('COMMAND')).toEqual(local('COMMAND'));
    expect(p('COMMAND', 'DOCS')).toEqual(local('COMMAND', 'DOCS'));
    expect(p('config', 'get', 'save')).toEqual(local('CONFIG', 'get', 'save'));
    expect(p('CLIENT', 'SETNAME', 'x')).toEqual(local('CLIENT', 'SETNAME', 'x'));
    expect(p('raft.status')).toEqual(local('RAFT.STATUS'));
    expect(p('RAFT.LEADER')).toEqual(local('RAFT.LEADER'));
  });

  it('local arity errors', () => {
    expect(errorOf(p('PING', 'a', 'b'))).toBe(arity('ping'));
    expect(errorOf(p('ECHO'))).toBe(arity('echo'));
    expect(errorOf(p('AUTH'))).toBe(arity('auth'));
    expect(errorOf(p('AUTH', 'a', 'b', 'c'))).toBe(arity('auth'));
    expect(errorOf(p('SELECT'))).toBe(arity('select'));
    expect(errorOf(p('CONFIG'))).toBe(arity('config'));
    expect(errorOf(p('CLIENT'))).toBe(arity('client'));
    expect(errorOf(p('RAFT.STATUS', 'x'))).toBe(arity('raft.status'));
  });

  it('SELECT only database 0', () => {
    expect(errorOf(p('SELECT', '1'))).toBe('ERR DB index is out of range');
    expect(errorOf(p('SELECT', '-1'))).toBe('ERR DB index is out of range');
    expect(errorOf(p('SELECT', 'x'))).toBe('ERR value is not an integer or out of range');
  });

  it("unknown commands (and HELLO: RESP2 only) use Redis's text", () => {
    expect(errorOf(p('FOO'))).toBe("ERR unknown command 'FOO', with args beginning with: ");
    expect(errorOf(p('foo', 'a', 'b c'))).toBe(
      "ERR unknown command 'foo', with args beginning with: 'a' 'b c' ",
    );
    expect(errorOf(p('HELLO', '3'))).toBe("ERR unknown command 'HELLO', with args beginning with: '3' ");
    expect(errorOf(p('MULTI'))).toMatch(/^ERR unknown command 'MULTI'/);
    expect(errorOf(p('__proto__'))).toMatch(/^ERR unknown command '__proto__'/);
    expect(errorOf(p('constructor'))).toMatch(/^ERR unknown command/);
    const long = errorOf(p('X', 'a'.repeat(500), 'b'))!;
    expect(long.length).toBeLessThan(200);
    expect(errorOf(p('X\r\nY'))).not.toMatch(/[\r\n]/);
    expect(errorOf(parseRedisCommand([]))).toMatch(/^ERR unknown command ''/);
  });
});
