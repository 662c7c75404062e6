import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { nodePaths } from '../../src/cluster/manifest.js';
import {
  remoteLogsScript,
  remotePidScript,
  remoteSignalScript,
  remoteStartScript,
  remoteStopScript,
  shQuote,
  sshArgv,
} from '../../src/cluster/ssh.js';

describe('shQuote', () => {
  it('leaves plain words alone and single-quotes the rest, surviving sh', async () => {
    expect(shQuote('/opt/kvctl/bin/kvnode.js')).toBe('/opt/kvctl/bin/kvnode.js');
    for (const nasty of ["it's", 'a b', '$(touch /tmp/x)', '`id`', 'x;y', '"q"', '', 'ü\n2']) {
      const { stdout } = await execa('sh', ['-c', `printf %s ${shQuote(nasty)}`]);
      expect(stdout).toBe(nasty.replace(/\n$/, ''));
    }
  });
});

describe('sshArgv', () => {
  it('never prompts, honours port, identity and extra options, and ends options before the host', () => {
    const argv = sshArgv(
      {
        ssh: 'kv@10.0.0.3',
        sshPort: 2222,
        identityFile: '/k/id',
        sshOptions: ['UserKnownHostsFile=/k/known'],
        remoteDir: '/r',
        kvctlPath: '/opt',
      },
      'echo hi',
    );
    expect(argv).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'ConnectTimeout=10',
      '-p',
      '2222',
      '-i',
      '/k/id',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'UserKnownHostsFile=/k/known',
      '--',
      'kv@10.0.0.3',
      'echo hi',
    ]);
    expect(sshArgv({ ssh: 'h', remoteDir: '/r', kvctlPath: '/k' }, 'true')).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'ConnectTimeout=10',
      '--',
      'h',
      'true',
    ]);
  });
});

// The remote scripts are plain POSIX sh; run them here with sh to check their logic without ssh
// (the ssh transport itself is covered by the loopback-sshd integration test).
describe('remote scripts under sh', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-ssh-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const sh = (script: string, input?: string) =>
    execa('sh', ['-c', script], { reject: false, ...(input !== undefined ? { input } : {}) });

  it('start writes the secret from stdin, spawns once, and pid/signal/stop/logs see it', async () => {
    const paths = nodePaths(dir, 3);
    // A stand-in "kvnode": logs a line, ignores nothing, lives until signalled.
    const fake = path.join(dir, 'fake-kvnode.js');
    await fs.writeFile(
      fake,
      "console.log('kvnode ready id=3', process.argv.slice(2).join(' '));\nsetInterval(() => {}, 1000);\n",
    );
    const plan = {
      ...paths,
      nodePath: process.execPath,
      kvnodeScript: fake,
      args: ['--id', '3', '--data-dir', paths.dataDir],
    };
    const first = await sh(remoteStartScript(plan), 's3cret');
    expect(first.exitCode).toBe(0);
    const pid = Number(/^started (\d+)$/m.exec(first.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    try {
      expect(await fs.readFile(paths.secretFile, 'utf8')).toBe('s3cret');
      expect((await fs.stat(paths.secretFile)).mode & 0o077).toBe(0);
      const again = await sh(remoteStartScript(plan), 's3cret');
      expect(again.stdout.trim()).toBe(`running ${pid}`);
      expect((await sh(remotePidScript(paths.pidFile, paths.dataDir))).stdout.trim()).toBe(String(pid));
      // A different data dir is a different node: its pid check must not match our process.
      expect((await sh(remotePidScript(paths.pidFile, '/other/data'))).stdout.trim()).toBe('');
      for (let i = 0; i < 50 && !(await fs.readFile(paths.logFile, 'utf8')).includes('ready'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await sh(remoteLogsScript(paths.logFile, 5, false))).stdout).toContain('kvnode ready id=3');
      expect((await sh(remoteSignalScript(paths.pidFile, paths.dataDir, 'STOP'))).stdout.trim()).toBe(
        String(pid),
      );
      // Stopping a paused node works: the script sends CONT after TERM.
      const stop = await sh(remoteStopScript(paths.pidFile, paths.dataDir, 5_000));
      expect(stop.stdout.trim()).toBe(`stopped ${pid}`);
      expect(
        await fs.access(paths.pidFile).then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      expect((await sh(remoteStopScript(paths.pidFile, paths.dataDir, 5_000))).stdout.trim()).toBe('');
    } finally {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('stop escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const paths = nodePaths(dir, 1);
    await fs.mkdir(paths.dataDir, { recursive: true });
    const stubborn = spawn(
      process.execPath,
      ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);", paths.dataDir],
      { stdio: 'ignore', detached: true },
    );
    try {
      await fs.writeFile(paths.pidFile, `${stubborn.pid}\n`);
      await new Promise((resolve) => setTimeout(resolve, 300)); // let it install its handler
      const stop = await sh(remoteStopScript(paths.pidFile, paths.dataDir, 300));
      expect(stop.stdout.trim()).toBe(`killed ${stubborn.pid}`);
    } finally {
      stubborn.kill('SIGKILL');
    }
  });

  it('refuses bad signal names and line counts', () => {
    expect(() => remoteSignalScript('/p', '/d', 'KILL; rm -rf /')).toThrow(/invariant/);
    expect(() => remoteLogsScript('/l', -1, false)).toThrow(/invariant/);
    expect(remoteLogsScript('/a b/kvnode.log', 20, true)).toBe("tail -n 20 -F '/a b/kvnode.log'");
  });
});
