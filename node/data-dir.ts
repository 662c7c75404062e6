import { constants, promises as fs } from 'node:fs';
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
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new DataDirError(`data dir ${dir} is in use by another kvnode (pid ${holder})`);
      }
      await fs.rm(lockPath, { force: true });
    }
  }
  throw new DataDirError(`data dir ${dir}: could not take ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
