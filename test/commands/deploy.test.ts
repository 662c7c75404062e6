import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '@oclif/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useCapturableConsole } from './helpers.js';

// Runs the built command (dist/commands): `npm test` builds first.
describe('kvctl deploy gen-systemd', () => {
  let dir: string;
  let restoreConsole: () => void;
  beforeAll(async () => {
    restoreConsole = useCapturableConsole();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kvctl-gen-'));
  });
  afterAll(async () => {
    restoreConsole();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes units, nginx.conf and a secret sized for the VM, and lists them in --json', async () => {
    const { result, error } = await runCommand<{ files: string[]; sizing: { keysCapacity: number } }>([
      'deploy',
      'gen-systemd',
      '--nodes',
      '1=10.0.0.1,2=10.0.0.2,3=10.0.0.3',
      '--out',
      dir,
      '--vm-memory-mb',
      '2048',
      '--json',
    ]);
    expect(error).toBeUndefined();
    expect(result?.files.map((f) => path.basename(f))).toEqual([
      'kvnode-1.service',
      'kvnode-2.service',
      'kvnode-3.service',
      'nginx.conf',
      'cluster.secret',
    ]);
    // 2 GB: MemoryMax 1700 MB, 1500 MB for data, ~9.9 M keys of 16 + 100 bytes at 148 bytes a key.
    const unit = await fs.readFile(path.join(dir, 'kvnode-3.service'), 'utf8');
    expect(unit).toMatch(/^MemoryMax=1700M$/m);
    expect(unit).toContain(`--max-memory ${1500 * 1024 * 1024}`);
    expect(result?.sizing.keysCapacity).toBeGreaterThan(9_500_000);
    expect(result?.sizing.keysCapacity).toBeLessThan(11_000_000);
  });

  it('rejects a malformed --nodes list with a clear error', async () => {
    const { error } = await runCommand(['deploy', 'gen-systemd', '--nodes', '1=a;b', '--out', dir]);
    expect(error?.message).toMatch(/bad entry "1=a;b"/);
  });
});
