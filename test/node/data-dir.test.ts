/**
 * The data dir lock: a node restarted after kill -9 must not be locked out by its predecessor's
 * LOCK file, whether that process is gone, a zombie nobody reaped, or its pid now belongs to
 * another program; a live kvnode still holds it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirError, prepareDataDir } from '../../node/data-dir.js';

const procs: ChildProcess[] = [];
const dirs: string[] = [];

function tempDataDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'kvnode-lock-'));
  dirs.push(root);
  return join(root, 'data');
}

afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('data dir lock', () => {
  it('creates the dir, takes LOCK with our pid, and releases it', async () => {
    const dir = tempDataDir();
    const lock = await prepareDataDir(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8').trim()).toBe(String(process.pid));
    await lock.release();
    await (await prepareDataDir(dir)).release();
  });

  it('takes over a LOCK whose process is gone', async () => {
    const dir = tempDataDir();
    await (await prepareDataDir(dir)).release();
    writeFileSync(join(dir, 'LOCK'), '2147483646\n');
    await (await prepareDataDir(dir)).release();
  });

  it('takes over a LOCK held by a zombie (killed, never reaped)', async () => {
    const dir = tempDataDir();
    await (await prepareDataDir(dir)).release();
    // `sleep 0` exits at once and becomes a zombie: its parent exec'd `sleep 5`, which never reaps.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    procs.push(parent);
    const zombie = await new Promise<number>((resolve) =>
      parent.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(readFileSync(`/proc/${zombie}/stat`, 'utf8')).toMatch(/\) Z /);
    writeFileSync(join(dir, 'LOCK'), `${zombie}\n`);
    await (await prepareDataDir(dir)).release();
  });

  it('takes over a LOCK whose pid now belongs to another program', async () => {
    const dir = tempDataDir();
    await (await prepareDataDir(dir)).release();
    const other = spawn('sleep', ['5'], { stdio: 'ignore' });
    procs.push(other);
    writeFileSync(join(dir, 'LOCK'), `${other.pid}\n`);
    await (await prepareDataDir(dir)).release();
  });

  it('refuses a LOCK held by a live kvnode, naming its pid', async () => {
    const dir = tempDataDir();
    await (await prepareDataDir(dir)).release();
    // A live process whose command line says kvnode (exec -a sets argv[0]).
    const holder = spawn('bash', ['-c', 'exec -a kvnode sleep 10'], { stdio: 'ignore' });
    procs.push(holder);
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(join(dir, 'LOCK'), `${holder.pid}\n`);
    await expect(prepareDataDir(dir)).rejects.toThrow(DataDirError);
    await expect(prepareDataDir(dir)).rejects.toThrow(`in use by another kvnode (pid ${holder.pid})`);
  }, 20_000);
});
