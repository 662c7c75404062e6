import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KvClient } from '../../src/client/kv-client.js';
import { loadHistory, MAX_HISTORY_LINES, saveHistory } from '../../src/client/repl-history.js';
import { runPlainLoop } from '../../src/client/repl-loop.js';
import {
  type ReplClusterOps,
  ReplSession,
  completeReplLine,
  formatReply,
  parseReplLine,
  splitWords,
} from '../../src/client/repl.js';
import { FakeRespServer, array, bulk, error, integer, ok } from './fake-resp-server.js';

// Port range of this file: 24980-24989.
const PORT = 24980;

describe('line parsing', () => {
  it('splits like redis-cli, with quotes and escapes', () => {
    expect(splitWords('  SET  a   1 ')).toEqual(['SET', 'a', '1']);
    expect(splitWords('SET greeting "hello world"')).toEqual(['SET', 'greeting', 'hello world']);
    expect(splitWords('SET k "a\\nb\\t\\"c\\" \\x41"')).toEqual(['SET', 'k', 'a\nb\t"c" A']);
    expect(splitWords("SET k 'it\\'s \\n raw'")).toEqual(['SET', 'k', "it's \\n raw"]);
    expect(splitWords('SET k ""')).toEqual(['SET', 'k', '']);
    expect(() => splitWords('SET k "open')).toThrow(/unbalanced/);
    expect(() => splitWords('SET k "a"b')).toThrow(/followed by a space/);
  });

  it('tells commands, meta commands, empty lines and errors apart', () => {
    expect(parseReplLine('set a 1')).toEqual({ kind: 'command', argv: ['SET', 'a', '1'] });
    expect(parseReplLine('   ')).toEqual({ kind: 'empty' });
    expect(parseReplLine('.kill 2')).toEqual({ kind: 'meta', name: '.kill', args: ['2'] });
    expect(parseReplLine('.EXIT')).toEqual({ kind: 'meta', name: '.exit', args: [] });
    expect(parseReplLine('GET "x')).toEqual({ kind: 'error', message: 'unbalanced quotes' });
  });
});

describe('completion', () => {
  it('completes the command word, keeping the case the user typed', () => {
    expect(completeReplLine('IN')).toEqual([['INCR', 'INCRBY', 'INFO'], 'IN']);
    expect(completeReplLine('mg')).toEqual([['mget'], 'mg']);
    expect(completeReplLine('.k')).toEqual([['.kill'], '.k']);
    expect(completeReplLine('.')[0]).toContain('.status');
    expect(completeReplLine('GET ke')).toEqual([[], 'GET ke']);
    expect(completeReplLine('ZZ')).toEqual([[], 'ZZ']);
  });
});

describe('formatReply', () => {
  it('is raw for pipes and redis-cli-like for humans', () => {
    expect(formatReply('OK', true)).toBe('OK');
    expect(formatReply('1', true)).toBe('1');
    expect(formatReply('1', false)).toBe('"1"');
    expect(formatReply(3, true)).toBe('3');
    expect(formatReply(3, false)).toBe('(integer) 3');
    expect(formatReply(null, true)).toBe('(nil)');
    expect(formatReply(['a', null, 2], true)).toBe('a\n(nil)\n2');
    expect(formatReply(['a', null], false)).toBe('1) "a"\n2) (nil)');
    expect(formatReply([], false)).toBe('(empty array)');
  });
});

describe('ReplSession + plain loop against a scripted node', () => {
  let server: FakeRespServer;
  let client: KvClient;
  const store = new Map<string, string>();
  const actions: string[] = [];
  const ops: ReplClusterOps = {
    statusText: async () => 'STATUS TABLE',
    kill: async (id) => {
      actions.push(`kill ${id}`);
      return `node ${id} killed`;
    },
    start: async (id) => {
      actions.push(`start ${id}`);
      return `node ${id} started`;
    },
  };
  beforeAll(async () => {
    server = new FakeRespServer(PORT, (argv) => {
      switch (argv[0]) {
        case 'RAFT.LEADER':
          return array(integer(1), bulk(`127.0.0.1:${PORT}`));
        case 'SET':
          store.set(argv[1]!, argv[2]!);
          return ok;
        case 'GET':
          return bulk(store.get(argv[1]!) ?? null);
        case 'MGET':
          return array(...argv.slice(1).map((k) => bulk(store.get(k) ?? null)));
        default:
          return error(`ERR unknown command '${argv[0]}'`);
      }
    });
    await server.listen();
    client = new KvClient({ seeds: [server.address] });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('prints OK then 1 for "SET a 1 / GET a" and reports errors readably', async () => {
    const out: string[] = [];
    const session = new ReplSession(client, ops, true);
    const input = Readable.from([
      'SET a 1\nGET a\n',
      '\nMGET a nope\nBOGUS\n.kill 2\n.start 2\n.status\n.exit\nGET a\n',
    ]);
    const result = await runPlainLoop(session, input, (text) => out.push(text));
    expect(out.join('')).toBe(
      [
        'OK',
        '1',
        '1',
        '(nil)',
        "(error) ERR unknown command 'BOGUS'",
        'node 2 killed',
        'node 2 started',
        'STATUS TABLE',
        '',
      ].join('\n'),
    );
    expect(result).toEqual({ commands: 8, errors: 1 });
    expect(actions).toEqual(['kill 2', 'start 2']);
  });

  it('shows the answering node and latency, and explains bad meta commands', async () => {
    const session = new ReplSession(client, ops, false);
    const reply = await session.execute('GET a');
    expect(reply?.text).toBe('"1"');
    expect(reply?.meta).toMatch(new RegExp(`^127\\.0\\.0\\.1:${PORT}, \\d+(\\.\\d\\d)? ms$`));
    expect((await session.execute('.leader'))?.text).toBe(`node 1 at 127.0.0.1:${PORT}`);
    expect((await session.execute('.kill two'))?.text).toBe('(error) expected one node id, e.g. .kill 2');
    expect((await session.execute('.nope'))?.isError).toBe(true);
    expect((await session.execute('.help'))?.text).toContain('.kill ID');
  });
});

describe('history file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-history-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('round-trips newest-first history through an oldest-first file, bounded', async () => {
    const file = path.join(dir, 'repl_history');
    expect(await loadHistory(file)).toEqual([]);
    await saveHistory(file, ['GET a', 'SET a 1']);
    expect(await fs.readFile(file, 'utf8')).toBe('SET a 1\nGET a\n');
    expect(await loadHistory(file)).toEqual(['GET a', 'SET a 1']);
    const many = Array.from({ length: MAX_HISTORY_LINES + 5 }, (_, i) => `GET k${i}`);
    await saveHistory(file, many);
    const loaded = await loadHistory(file);
    expect(loaded).toHaveLength(MAX_HISTORY_LINES);
    expect(loaded[0]).toBe('GET k0');
  });
});
