/**
 * A real sshd on 127.0.0.1 for the remote-node tests: generated host and user keys in a temp
 * dir, running as the current user, accepting only that key. `startLoopbackSshd` returns
 * undefined (with the reason) when no sshd binary is installed, so the test can skip clearly.
 */
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';

export const SSHD_BINARY = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((file) => existsSync(file));

export interface LoopbackSshd {
  readonly port: number;
  readonly user: string;
  readonly identityFile: string;
  readonly sshOptions: string[];
  readonly dir: string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

export async function startLoopbackSshd(port: number): Promise<LoopbackSshd> {
  if (SSHD_BINARY === undefined) throw new Error('invariant: check SSHD_BINARY before starting sshd');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-sshd-'));
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', userKey]);
  await fs.copyFile(`${userKey}.pub`, path.join(dir, 'authorized_keys'));
  const config = path.join(dir, 'sshd_config');
  await fs.writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'LogLevel ERROR',
      'UseDNS no',
      '',
    ].join('\n'),
  );
  // Privilege separation dir, needed when sshd runs as root (the CI container's case).
  if (process.getuid?.() === 0) await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const sshd: ResultPromise = execa(SSHD_BINARY, ['-D', '-e', '-f', config, '-p', String(port)], {
    reject: false,
    stdin: 'ignore',
  });
  if (!(await waitForPort(port, 10_000))) {
    sshd.kill('SIGKILL');
    const result = await sshd;
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`sshd did not start on 127.0.0.1:${port}: ${String(result.stderr)}`);
  }
  return {
    port,
    user: os.userInfo().username,
    identityFile: userKey,
    sshOptions: [`UserKnownHostsFile=${path.join(dir, 'known_hosts')}`, 'LogLevel=ERROR'],
    dir,
    async stop() {
      sshd.kill('SIGTERM');
      await sshd;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
