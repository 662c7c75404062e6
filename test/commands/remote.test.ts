import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCommand } from '@oclif/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type UpResult } from '../../src/cluster/lifecycle.js';
import { packageRoot } from '../../src/cluster/process.js';
import { type ClusterStatus } from '../../src/cluster/status.js';
import { type LoopbackSshd, SSHD_BINARY, startLoopbackSshd } from '../cluster/loopback-sshd.js';
import { isProcessAlive, makeTempDir, teardownCluster, useCapturableConsole, waitUntil } from './helpers.js';

// Ports of this file: 24200-24222 for the nodes, 26001 for sshd.
const BASE_PORT = 24200;
const SSHD_PORT = 26001;

if (SSHD_BINARY === undefined) {
  console.warn('SKIPPED remote-node tests: no sshd binary (install openssh-server to run them)');
}

describe.skipIf(SSHD_BINARY === undefined)('a node placed on user@host, controlled over real ssh', () => {
  let sshd: LoopbackSshd | undefined;
  let dir: string | undefined;
  let remoteDir: string | undefined;
  let restoreConsole: (() => void) | undefined;
  beforeAll(async () => {
    restoreConsole = useCapturableConsole();
    sshd = await startLoopbackSshd(SSHD_PORT);
    dir = await makeTempDir('remote-local');
    remoteDir = await makeTempDir('remote-far');
  });
  afterAll(async () => {
    restoreConsole?.();
    await teardownCluster(dir); // stops the remote node over ssh too
    if (remoteDir !== undefined) await fs.rm(remoteDir, { recursive: true, force: true });
    await sshd?.stop();
  });

  const status = async () => {
    const { result, error } = await runCommand<ClusterStatus>(['cluster', 'status', '--dir', dir!, '--json']);
    if (error) throw error;
    return result!;
  };
  const remotePid = async () =>
    Number((await fs.readFile(path.join(remoteDir!, 'nodes', '3', 'kvnode.pid'), 'utf8')).trim());

  it('cluster up --remote starts node 3 through ssh, files under the remote dir', async () => {
    const { result, error } = await runCommand<UpResult>([
      'cluster',
      'up',
      '--dir',
      dir!,
      '--base-port',
      String(BASE_PORT),
      '--remote',
      `3=${sshd!.user}@127.0.0.1:${sshd!.port}`,
      '--remote-dir',
      remoteDir!,
      '--remote-kvctl',
      packageRoot(),
      '--remote-node',
      process.execPath,
      '--ssh-identity',
      sshd!.identityFile,
      ...sshd!.sshOptions.flatMap((option) => ['--ssh-option', option]),
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(result?.started).toEqual([1, 2, 3]);
    const node3 = result!.status.nodes.find((n) => n.id === 3)!;
    expect(node3).toMatchObject({ alive: true, location: `${sshd!.user}@127.0.0.1` });
    expect(node3.pid).toBe(await remotePid());
    expect((await fs.stat(path.join(remoteDir!, 'nodes', '3', 'data'))).isDirectory()).toBe(true);
    expect((await fs.stat(path.join(remoteDir!, 'nodes', '3', 'cluster.secret'))).mode & 0o077).toBe(0);
    await expect(fs.access(path.join(dir!, 'nodes', '3'))).rejects.toThrow();
  });

  it('node logs reads the remote log over ssh', async () => {
    const { stdout, error } = await runCommand(['node', 'logs', '3', '--dir', dir!, '-n', '1000']);
    expect(error).toBeUndefined();
    expect(stdout).toContain('kvnode ready id=3');
  });

  it('node kill / start act on the remote process', async () => {
    const pid = await remotePid();
    const killed = await runCommand<{ pid: number }>(['node', 'kill', '3', '--dir', dir!, '--json']);
    expect(killed.result?.pid).toBe(pid);
    await waitUntil('the remote node to die', async () => (isProcessAlive(pid) ? undefined : true));
    expect((await status()).nodes.find((n) => n.id === 3)).toMatchObject({ alive: false, role: 'down' });

    const started = await runCommand<{ pid: number; action: string }>([
      'node',
      'start',
      '3',
      '--dir',
      dir!,
      '--json',
    ]);
    expect(started.result?.action).toBe('started');
    expect(started.result?.pid).toBe(await remotePid());
    expect((await runCommand(['set', 'remote-key', 'v', '--dir', dir!])).stdout).toBe('OK\n');
    expect((await runCommand(['get', 'remote-key', '--dir', dir!])).stdout).toBe('v\n');
  });

  it('cluster down stops the remote node over ssh; destroy removes its remote dir', async () => {
    const pid = await remotePid();
    const down = await runCommand<{ nodes: { id: number; outcome: string }[] }>([
      'cluster',
      'down',
      '--dir',
      dir!,
      '--json',
    ]);
    expect(down.result?.nodes.find((n) => n.id === 3)?.outcome).toBe('stopped');
    expect(isProcessAlive(pid)).toBe(false);
    const { error } = await runCommand(['cluster', 'destroy', '--dir', dir!, '--yes']);
    expect(error).toBeUndefined();
    await expect(fs.access(path.join(remoteDir!, 'nodes', '3'))).rejects.toThrow();
    await expect(fs.access(dir!)).rejects.toThrow();
  });
});
