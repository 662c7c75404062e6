import { constants, promises as fs, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A data dir problem the operator must fix: main prints it on one line and exits 1. */
export class DataDirError extends Error {}

/**
 * Creates the data dir if its parent exists, proves it is writable, and takes the LOCK file so
 * two nodes never share one WAL. A lock left by a kill -9'd process (its pid is gone) is taken over.
 */
export async function prepareDataDir(dir: string): Promise<{ release(): Promise<void> }> {
  try {
    await fs.access(dirname(dir), constants.W_OK);
  } catch {
    throw new DataDirError(`data dir ${dir}: parent directory ${dirname(dir)} is missing or not writable`);
  }
  try {
    await fs.mkdir(dir, { recursive: true });
    const probe = join(dir, `.probe-${process.pid}`);
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe);
  } catch (err) {
    throw new DataDirError(`data dir ${dir} is not writable: ${(err as Error).message}`);
  }
  const lockPath = join(dir, 'LOCK');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return { release: () => fs.rm(lockPath, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await fs.readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && !(await exits(holder))) {
        throw new DataDirError(`data dir ${dir} is in use by another kvnode (pid ${holder})`);
      }
      await fs.rm(lockPath, { force: true });
    }
  }
  throw new DataDirError(`data dir ${dir}: could not take ${lockPath}`);
}

/** A node restarted right after kill -9 may race its dying predecessor: give it a moment. */
const PREDECESSOR_EXIT_WAIT_MS = 3000;

async function exits(pid: number): Promise<boolean> {
  const deadline = Date.now() + PREDECESSOR_EXIT_WAIT_MS;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Whether `pid` is a live kvnode. A killed node whose parent has not reaped it is a zombie (it
 * still answers kill(pid, 0)); after a reboot the pid may belong to another program. Neither
 * holds the lock.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces or ')').
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /kvnode|node\/main\.js/.test(cmdline);
  } catch {
    // No /proc (not Linux) or the process just exited: trust kill(pid, 0).
    return true;
  }
}
