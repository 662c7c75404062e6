import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCommand } from '@oclif/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type UpResult } from '../../src/cluster/lifecycle.js';
import { type StopResult } from '../../src/cluster/process.js';
import { type ClusterStatus } from '../../src/cluster/status.js';
import { isProcessAlive, makeTempDir, teardownCluster, useCapturableConsole, waitUntil } from './helpers.js';

// runCommand re-splits its arguments on spaces, so values here have none (the REPL test quotes).
// Ports of this file: 24000-24022 (3 nodes from base 24000). Real kvnode processes (dist/).
const BASE_PORT = 24000;

describe('kvctl against a real local cluster', () => {
  let dir: string;
  let otherDir: string;
  let restoreConsole: (() => void) | undefined;
  beforeAll(async () => {
    restoreConsole = useCapturableConsole();
    dir = await makeTempDir('cluster');
    otherDir = await makeTempDir('cluster-conflict');
  });
  afterAll(async () => {
    restoreConsole?.();
    await teardownCluster(dir);
    await teardownCluster(otherDir);
  });

  const status = async () => {
    const { result, error } = await runCommand<ClusterStatus>(['cluster', 'status', '--dir', dir, '--json']);
    if (error) throw error;
    return result!;
  };

  it('cluster up creates the manifest, starts 3 nodes and waits for a leader', async () => {
    const { result, error } = await runCommand<UpResult>([
      'cluster',
      'up',
      '--dir',
      dir,
      '--base-port',
      String(BASE_PORT),
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(result?.created).toBe(true);
    expect(result?.started).toEqual([1, 2, 3]);
    expect(result?.status.leader).not.toBeNull();
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'cluster.json'), 'utf8'));
    expect(manifest.clusterSecret).toMatch(/^[0-9a-f]{64}$/);
    expect((await fs.stat(path.join(dir, 'nodes', '1', 'kvnode.log'))).isFile()).toBe(true);
  });

  it('cluster status --json has leader and nodes with raft fields, pids and addresses', async () => {
    const current = await status();
    expect(current.leader).not.toBeNull();
    expect(current.nodes.map((n) => n.id)).toEqual([1, 2, 3]);
    for (const node of current.nodes) {
      expect(node).toMatchObject({
        alive: true,
        resp: `127.0.0.1:${BASE_PORT + 10 + node.id - 1}`,
        http: `127.0.0.1:${BASE_PORT + 20 + node.id - 1}`,
        peer: `127.0.0.1:${BASE_PORT + node.id - 1}`,
      });
      expect(['leader', 'follower']).toContain(node.role);
      expect(node.term).toBeGreaterThan(0);
      expect(typeof node.commitIndex).toBe('number');
      expect(typeof node.appliedIndex).toBe('number');
      expect(isProcessAlive(node.pid!)).toBe(true);
    }
    expect(current.nodes.filter((n) => n.role === 'leader').map((n) => n.id)).toEqual([current.leader]);
    const { stdout } = await runCommand(['cluster', 'status', '--dir', dir]);
    expect(stdout).toMatch(/│ id │ role\s+│ term/);
    expect(stdout).toContain(`leader: node ${current.leader}`);
  });

  it('cluster up on a running cluster reports it and spawns nothing', async () => {
    const { result, error } = await runCommand<UpResult>(['cluster', 'up', '--dir', dir, '--json']);
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ created: false, started: [], alreadyRunning: [1, 2, 3] });
  });

  it('a port in use is one clear error naming it, and nothing is created', async () => {
    const { error } = await runCommand([
      'cluster',
      'up',
      '--dir',
      otherDir,
      '--base-port',
      String(BASE_PORT),
    ]);
    expect(error?.message).toContain(`127.0.0.1:${BASE_PORT} (node 1 peer)`);
    expect(error?.message).toMatch(/already in use/);
    await expect(fs.access(path.join(otherDir, 'cluster.json'))).rejects.toThrow();
  });

  it('set, get and del go through the leader', async () => {
    expect((await runCommand(['set', 'greeting', 'hello-world', '--dir', dir])).stdout).toBe('OK\n');
    expect((await runCommand(['get', 'greeting', '--dir', dir])).stdout).toBe('hello-world\n');
    const { result } = await runCommand<{ value: string; node: string }>([
      'get',
      'greeting',
      '--dir',
      dir,
      '--json',
    ]);
    const leader = (await status()).leader;
    expect(result).toMatchObject({ value: 'hello-world', node: `127.0.0.1:${BASE_PORT + 10 + leader! - 1}` });
    expect((await runCommand(['del', 'greeting', '--dir', dir])).stdout).toBe('1\n');
    expect((await runCommand(['get', 'greeting', '--dir', dir])).stdout).toBe('(nil)\n');
  });

  it('node kill of the leader: a new leader is elected and writes keep working', async () => {
    const before = await status();
    const oldLeader = before.leader!;
    const oldTerm = before.nodes.find((n) => n.id === oldLeader)!.term!;
    const killed = await runCommand<{ pid: number }>([
      'node',
      'kill',
      String(oldLeader),
      '--dir',
      dir,
      '--json',
    ]);
    expect(killed.error).toBeUndefined();
    const after = await waitUntil('a new leader', async () => {
      const current = await status();
      return current.leader !== null && current.leader !== oldLeader ? current : undefined;
    });
    // Only after the election: a write that a follower forwarded to the leader at the moment it
    // died has an unknown outcome (kvctl says so and does not resend), so writing right after the
    // kill made this test racy. The client still skips the dead node (connection refused) and
    // retries TRYAGAIN from a follower that has not heard from the new leader yet.
    expect((await runCommand(['set', 'after-failover', 'yes', '--dir', dir])).stdout).toBe('OK\n');
    const dead = after.nodes.find((n) => n.id === oldLeader)!;
    expect(dead).toMatchObject({ alive: false, role: 'down', pid: null });
    expect(after.nodes.find((n) => n.id === after.leader)!.term).toBeGreaterThan(oldTerm);
    expect((await runCommand(['get', 'after-failover', '--dir', dir])).stdout).toBe('yes\n');

    const started = await runCommand<{ action: string }>([
      'node',
      'start',
      String(oldLeader),
      '--dir',
      dir,
      '--json',
    ]);
    expect(started.result?.action).toBe('started');
    const back = await status();
    expect(back.nodes.find((n) => n.id === oldLeader)).toMatchObject({ alive: true });
  });

  it('node kill --signal STOP pauses a node and CONT resumes it', async () => {
    const follower = (await status()).nodes.find((n) => n.role === 'follower')!;
    await runCommand(['node', 'kill', String(follower.id), '--signal', 'STOP', '--dir', dir]);
    try {
      const paused = (await status()).nodes.find((n) => n.id === follower.id)!;
      expect(paused).toMatchObject({ alive: true, role: 'unreachable', pid: follower.pid });
    } finally {
      await runCommand(['node', 'kill', String(follower.id), '--signal', 'CONT', '--dir', dir]);
    }
    await waitUntil('the node to answer again', async () => {
      const node = (await status()).nodes.find((n) => n.id === follower.id)!;
      return node.role === 'follower' || node.role === 'leader' ? node : undefined;
    });
  });

  it('node stop is graceful, node restart brings the node back', async () => {
    const follower = (await status()).nodes.find((n) => n.role === 'follower')!;
    const stopped = await runCommand<{ action: string; pid: number }>([
      'node',
      'stop',
      String(follower.id),
      '--dir',
      dir,
      '--json',
    ]);
    expect(stopped.result).toMatchObject({ action: 'stopped', pid: follower.pid });
    expect((await status()).nodes.find((n) => n.id === follower.id)).toMatchObject({
      alive: false,
      role: 'down',
    });
    const restarted = await runCommand<{ action: string; pid: number }>([
      'node',
      'restart',
      String(follower.id),
      '--dir',
      dir,
      '--json',
    ]);
    expect(restarted.result?.action).toBe('restarted');
    expect(isProcessAlive(restarted.result!.pid)).toBe(true);
    expect((await status()).nodes.find((n) => n.id === follower.id)?.alive).toBe(true);
  });

  it('node logs prints the log of a node', async () => {
    const { stdout, error } = await runCommand(['node', 'logs', '2', '--dir', dir, '-n', '1000']);
    expect(error).toBeUndefined();
    expect(stdout).toContain('kvnode ready id=2');
  });

  it('cluster down stops everything; cluster up restarts it with its data', async () => {
    const down = await runCommand<{ nodes: StopResult[] }>(['cluster', 'down', '--dir', dir, '--json']);
    expect(down.result?.nodes.map((n) => n.outcome)).toEqual(['stopped', 'stopped', 'stopped']);
    const stopped = await status();
    expect(stopped.leader).toBeNull();
    expect(stopped.nodes.every((n) => !n.alive && n.role === 'down')).toBe(true);

    const up = await runCommand<UpResult>(['cluster', 'up', '--dir', dir, '--json']);
    expect(up.error).toBeUndefined();
    expect(up.result).toMatchObject({ created: false, started: [1, 2, 3] });
    expect((await runCommand(['get', 'after-failover', '--dir', dir])).stdout).toBe('yes\n');
  });

  it('cluster destroy --yes stops the nodes and removes the directory', async () => {
    const pids = (await status()).nodes.map((n) => n.pid!);
    const { error } = await runCommand(['cluster', 'destroy', '--dir', dir, '--yes']);
    expect(error).toBeUndefined();
    await expect(fs.access(dir)).rejects.toThrow();
    expect(pids.filter(isProcessAlive)).toEqual([]);
  });
});
