import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';
import { runCommand } from '@oclif/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type JsonKey } from '../../src/client/scan-keys.js';
import { clusterDown, clusterUp } from '../../src/cluster/lifecycle.js';
import { packageRoot } from '../../src/cluster/process.js';
import { makeTempDir, teardownCluster, useCapturableConsole } from './helpers.js';

// Ports of this file: 24400-24422 (3 nodes from base 24400). Real kvnode processes (dist/) and
// the built CLI (runCommand loads dist/commands; bin/kvctl.js for byte-exact output and pipes).
const BASE_PORT = 24400;
const RESP_PORT = BASE_PORT + 10;
const KVCTL = path.join(packageRoot(), 'bin', 'kvctl.js');

const USERS = Array.from({ length: 1_000 }, (_, i) => `user:${i}`);
const SESSIONS = Array.from({ length: 1_000 }, (_, i) => `session:${i}`);
const ORDERS = Array.from({ length: 497 }, (_, i) => `order:${i}`);
// Glob-special characters, a space, and bytes that are not UTF-8.
const ODD_KEYS = [
  Buffer.from('odd:a*b'),
  Buffer.from('odd:with space'),
  Buffer.from([0x6f, 0x64, 0x64, 0x3a, 0xff]),
];
const KEY_COUNT = USERS.length + SESSIONS.length + ORDERS.length + ODD_KEYS.length; // 2,500

const lines = (stdout: string): string[] => stdout.split('\n').filter((line) => line !== '');
const sorted = (keys: readonly string[]): string[] => [...keys].sort();

/** Splits raw output (execa strips the final newline) on newline bytes: each key's bytes, in hex. */
function byteLines(stdout: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= stdout.length; i++) {
    if (i < stdout.length && stdout[i] !== 0x0a) continue;
    if (i > start) out.push(Buffer.from(stdout.subarray(start, i)).toString('hex'));
    start = i + 1;
  }
  return out.sort();
}

describe('kvctl keys against a real local cluster', () => {
  let dir: string;
  let restoreConsole: (() => void) | undefined;
  beforeAll(async () => {
    restoreConsole = useCapturableConsole();
    dir = await makeTempDir('keys');
    await clusterUp({ dir, basePort: BASE_PORT, nodeCount: 3 });
    const redis = new Redis({ port: RESP_PORT, lazyConnect: true });
    await redis.connect();
    try {
      const all = [...USERS, ...SESSIONS, ...ORDERS];
      for (let i = 0; i < all.length; i += 250) {
        const chunk = all.slice(i, i + 250);
        expect(await redis.mset(...chunk.flatMap((key) => [key, `v-${key}`]))).toBe('OK');
      }
      for (const key of ODD_KEYS) await redis.set(key, 'odd');
      expect(await redis.dbsize()).toBe(KEY_COUNT);
    } finally {
      redis.disconnect();
    }
  });
  afterAll(async () => {
    restoreConsole?.();
    await teardownCluster(dir);
  });

  it("keys 'user:*' prints exactly the matching keys, one per line", async () => {
    const { stdout, error } = await runCommand(['keys', 'user:*', '--dir', dir]);
    expect(error).toBeUndefined();
    expect(sorted(lines(stdout))).toEqual(sorted(USERS));
  });

  it('the default pattern * lists every key, the same bytes as redis-cli --scan', async () => {
    const kvctl = await execa('node', [KVCTL, 'keys', '--dir', dir], { encoding: 'buffer' });
    const redisCli = await execa('redis-cli', ['-p', String(RESP_PORT + 1), '--scan', '--pattern', '*'], {
      encoding: 'buffer',
    });
    expect(kvctl.exitCode).toBe(0);
    const listed = byteLines(kvctl.stdout);
    expect(listed).toHaveLength(KEY_COUNT);
    expect(listed).toEqual(byteLines(redisCli.stdout));
    expect(listed).toContain(ODD_KEYS[2]!.toString('hex'));
  });

  it('patterns agree with redis-cli --scan --pattern, whatever the COUNT hint', async () => {
    for (const pattern of ['session:1*', 'order:?', '*:4[0-2]', 'odd:a\\*b', 'nothing:*']) {
      const expected = await execa('redis-cli', [
        '-p',
        String(RESP_PORT + 2),
        '--scan',
        '--pattern',
        pattern,
      ]);
      for (const count of ['10', '1000']) {
        const { stdout, error } = await runCommand(['keys', pattern, '--count', count, '--dir', dir]);
        expect(error).toBeUndefined();
        expect(sorted(lines(stdout))).toEqual(sorted(lines(expected.stdout)));
      }
    }
    expect(lines((await runCommand(['keys', 'odd:a\\*b', '--dir', dir])).stdout)).toEqual(['odd:a*b']);
  });

  it('--limit stops after N keys', async () => {
    const { stdout, error } = await runCommand([
      'keys',
      'session:*',
      '--limit',
      '7',
      '--count',
      '3',
      '--dir',
      dir,
    ]);
    expect(error).toBeUndefined();
    const listed = lines(stdout);
    expect(listed).toHaveLength(7);
    expect(new Set(listed).size).toBe(7);
    for (const key of listed) expect(SESSIONS).toContain(key);
    expect((await runCommand(['keys', '--limit', '0', '--dir', dir])).stdout).toBe('');
  });

  it('--json: an array of keys, {base64} for a key that is not UTF-8', async () => {
    const users = await runCommand<JsonKey[]>(['keys', 'user:*', '--json', '--dir', dir]);
    expect(users.error).toBeUndefined();
    expect(sorted(users.result as string[])).toEqual(sorted(USERS));
    expect(JSON.parse(users.stdout)).toEqual(users.result);
    const odd = await runCommand<JsonKey[]>(['keys', 'odd:*', '--json', '--dir', dir]);
    expect(odd.result).toHaveLength(3);
    expect(odd.result).toEqual(
      expect.arrayContaining(['odd:a*b', 'odd:with space', { base64: ODD_KEYS[2]!.toString('base64') }]),
    );
    const limited = await runCommand<JsonKey[]>(['keys', '--json', '--limit', '5', '--dir', dir]);
    expect(limited.result).toHaveLength(5);
  });

  it('a reader that goes away (| head -1) ends kvctl keys quietly with exit 0', async () => {
    const piped = await execa(
      'bash',
      ['-o', 'pipefail', '-c', `node ${KVCTL} keys --count 10 --dir ${dir} | head -1`],
      {
        reject: false,
      },
    );
    expect(piped.exitCode).toBe(0);
    expect(lines(piped.stdout)).toHaveLength(1);
    expect(piped.stderr).toBe('');
  });

  it('with the first node of the manifest down, the scan runs on another node', async () => {
    expect((await runCommand(['node', 'kill', '1', '--dir', dir])).error).toBeUndefined();
    const { stdout, error } = await runCommand(['keys', 'user:*', '--dir', dir]);
    expect(error).toBeUndefined();
    expect(sorted(lines(stdout))).toEqual(sorted(USERS));
  });

  it('with no node reachable: a clear error naming each node, exit 2', async () => {
    await clusterDown(dir, 5_000);
    const result = await execa('node', [KVCTL, 'keys', '--dir', dir], { reject: false });
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    const message = result.stderr.replace(/\s*›\s*/g, ' ');
    expect(message).toMatch(/no node reachable/);
    for (let i = 0; i < 3; i++) expect(message).toContain(`127.0.0.1:${RESP_PORT + i} (cannot connect`);
  });
});
