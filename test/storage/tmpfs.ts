/**
 * A small tmpfs for out-of-space tests: a real file system that says ENOSPC. Mounting needs root
 * (CI runs as root); without it the tests that need one skip and say why.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  readonly dir: string;
  /** Unmounts and removes the mount point; safe to call twice. */
  unmount(): void;
}

/** Mounts a tmpfs of `sizeBytes`; returns the reason instead when that is not possible here. */
export function mountTmpfs(sizeBytes: number, prefix: string): Tmpfs | string {
  if (process.platform !== 'linux') return `needs Linux to mount a tmpfs (platform ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs (CI runs as root)';
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return `cannot mount a tmpfs: ${stderr || (err as Error).message}`;
  }
  let mounted = true;
  return {
    dir,
    unmount(): void {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // busy (a process still has a file open)
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes `path` until the file system says ENOSPC (or EDQUOT); returns the bytes written. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  let written = 0;
  try {
    for (;;) {
      const n = writeSync(fd, chunk, 0, chunk.length, written);
      if (n <= 0) return written;
      written += n;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    return written;
  } finally {
    closeSync(fd);
  }
}

export function removeFiller(path: string): void {
  unlinkSync(path);
}
