import { afterEach, describe, expect, it } from 'vitest';

import {
  NoNodeReachableError,
  ScanReplyError,
  type ScanKeysOptions,
  StreamSink,
  keyLines,
  keyToJson,
  scanKeys,
} from '../../src/client/scan-keys.js';
import { fakeServerPool, array, bulk, error } from './fake-resp-server.js';

// Port range of this file: 24990-24999.
const PORT = 24990;
const FAST = { baseDelayMs: 5, maxDelayMs: 20 };

/** A node holding keys k0..k(n-1); the cursor is the index of the next key to return. */
function scanningNode(keys: string[]): (argv: string[]) => string {
  return (argv) => {
    if (argv[0] !== 'SCAN') return error('ERR unknown');
    const cursor = Number(argv[1]);
    const count = Number(argv[argv.indexOf('COUNT') + 1]);
    const batch = keys.slice(cursor, cursor + count);
    const next = cursor + count >= keys.length ? 0 : cursor + count;
    return array(bulk(String(next)), array(...batch.map(bulk)));
  };
}

describe('scanKeys against scripted nodes', () => {
  const pool = fakeServerPool();
  afterEach(async () => {
    await pool.closeAll();
  });

  const start = pool.start;

  async function collect(options: ScanKeysOptions): Promise<string[]> {
    const out: string[] = [];
    for await (const batch of scanKeys({ backoff: FAST, retryDeadlineMs: 2_000, ...options }))
      out.push(...batch.map((key) => key.toString()));
    return out;
  }

  const keys = Array.from({ length: 25 }, (_, i) => `k${i}`);

  it('walks the cursor to 0 with MATCH and COUNT, batch by batch', async () => {
    const node = await start(PORT, scanningNode(keys));
    expect(await collect({ seeds: [node.address], match: 'k*', count: 10 })).toEqual(keys);
    expect(node.commands).toEqual([
      ['SCAN', '0', 'MATCH', 'k*', 'COUNT', '10'],
      ['SCAN', '10', 'MATCH', 'k*', 'COUNT', '10'],
      ['SCAN', '20', 'MATCH', 'k*', 'COUNT', '10'],
    ]);
  });

  it('limit stops sending SCAN once enough keys arrived', async () => {
    const node = await start(PORT, scanningNode(keys));
    expect(await collect({ seeds: [node.address], count: 10, limit: 12 })).toEqual(keys.slice(0, 12));
    expect(node.commands).toHaveLength(2);
    expect(await collect({ seeds: [node.address], limit: 0 })).toEqual([]);
    expect(node.commands).toHaveLength(2);
  });

  it('skips a dead node and a node without leader, and resumes a scan from its cursor elsewhere', async () => {
    let calls = 0;
    // First node: serves one batch, then drops the connection mid-command.
    const flaky = await start(PORT + 1, (argv, socket) => {
      if (++calls === 1) return scanningNode(keys)(argv);
      socket.destroy();
      return null;
    });
    const noLeader = await start(PORT + 2, () => error('TRYAGAIN no leader'));
    const healthy = await start(PORT + 3, scanningNode(keys));
    const refused = `127.0.0.1:${PORT + 4}`;
    const retries: string[] = [];
    const out: string[] = [];
    for await (const batch of scanKeys({
      seeds: [flaky.address, refused, noLeader.address, healthy.address],
      count: 10,
      backoff: FAST,
      onRetry: (info) => retries.push(info.address),
    }))
      out.push(...batch.map((key) => key.toString()));
    expect(out).toEqual(keys);
    expect(retries).toEqual([flaky.address, refused, noLeader.address]);
    expect(healthy.commands[0]).toEqual(['SCAN', '10', 'MATCH', '*', 'COUNT', '10']);
  });

  it('no node reachable: one error naming every node, at once', async () => {
    const seeds = [`127.0.0.1:${PORT + 5}`, `127.0.0.1:${PORT + 6}`];
    const started = Date.now();
    const failure = collect({ seeds });
    await expect(failure).rejects.toBeInstanceOf(NoNodeReachableError);
    await expect(failure).rejects.toThrow(
      /^no node reachable: 127\.0\.0\.1:24995 \(cannot connect: .*ECONNREFUSED.*\), 127\.0\.0\.1:24996/,
    );
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a final server error is reported, not retried', async () => {
    const node = await start(PORT, () => error("ERR unknown command 'SCAN'"));
    const other = await start(PORT + 1, scanningNode(keys));
    await expect(collect({ seeds: [node.address, other.address] })).rejects.toThrow(
      new ScanReplyError(`${node.address}: ERR unknown command 'SCAN'`),
    );
    expect(other.commands).toEqual([]);
  });
});

describe('key output', () => {
  it('--json: UTF-8 keys as strings, other bytes as {base64}', () => {
    expect(keyToJson(Buffer.from('user:Zoë'))).toBe('user:Zoë');
    expect(keyToJson(Buffer.from([0xff, 0x00, 0x41]))).toEqual({ base64: '/wBB' });
    expect(keyToJson(Buffer.alloc(0))).toBe('');
  });

  it('lines are the raw key bytes, one per line', () => {
    expect(keyLines([Buffer.from('a'), Buffer.from([0xff]), Buffer.from('b c')])).toEqual(
      Buffer.from([0x61, 0x0a, 0xff, 0x0a, 0x62, 0x20, 0x63, 0x0a]),
    );
    expect(keyLines([])).toEqual(Buffer.alloc(0));
  });

  it('StreamSink reports a reader that went away (EPIPE) instead of throwing', async () => {
    const { PassThrough } = await import('node:stream');
    const stream = new PassThrough({ highWaterMark: 4 });
    const sink = new StreamSink(stream);
    const pending = sink.write(Buffer.from('0123456789'));
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    stream.destroy(epipe);
    expect(await pending).toBe(false);
    expect(await sink.write(Buffer.from('x'))).toBe(false);
    sink.close();
  });
});
