/**
 * Shared pieces of the CLI integration tests: temp cluster dirs that are always torn down, and
 * polling with a bound (no timing assertions: a deadline only turns a hang into a failure).
 */
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import { Console } from 'node:console';
import path from 'node:path';

import { clusterDown } from '../../src/cluster/lifecycle.js';
import { manifestExists } from '../../src/cluster/manifest.js';

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `kvctl-${prefix}-`));
}

/** Stops every node of the cluster in dir (if any) and removes dir; never throws. */
export async function teardownCluster(dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  try {
    if (await manifestExists(dir)) await clusterDown(dir, 2_000);
  } catch (error) {
    console.error(`teardown of ${dir}: ${(error as Error).message}`);
  }
  await fs.rm(dir, { recursive: true, force: true });
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
  );
}

/** Alive = exists and is not a zombie (an orphan may wait for a slow reaper in containers). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * oclif writes through console.log, which vitest intercepts, so @oclif/test's runCommand would
 * capture nothing. A plain Console on process.stdout writes through process.stdout.write, which
 * runCommand does capture. Call in beforeAll; the returned function restores the original.
 */
export function useCapturableConsole(): () => void {
  const original = globalThis.console;
  globalThis.console = new Console({ stdout: process.stdout, stderr: process.stderr });
  return () => {
    globalThis.console = original;
  };
}
