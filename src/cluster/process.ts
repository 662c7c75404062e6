/**
 * Starting, signalling and stopping one kvnode process, on this machine (execa, detached, output
 * to a log file, pid file) or on a remote one (the scripts of ssh.ts). Callers see one API and
 * never branch on where a node runs.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { KVNODE_NODE_FLAGS } from './runtime-flags.js';

import { type ClusterManifest, type NodeEntry, kvnodeArgs, pathsOf } from './manifest.js';
import {
  remoteLogsScript,
  remotePidScript,
  remoteSignalScript,
  remoteStartScript,
  remoteStopScript,
  runSsh,
  sshArgv,
} from './ssh.js';

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const STOP_POLL_MS = 50;

/** The kvctl package root: the nearest ancestor of this file holding bin/kvnode.js. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(path.join(dir, 'bin', 'kvnode.js')) && existsSync(path.join(dir, 'package.json'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error('invariant: kvctl package root (with bin/kvnode.js) not found above this module');
}

/** The kvnode entry script for local nodes: $KVCTL_KVNODE (another build), else ours. */
export function localKvnodeScript(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.KVCTL_KVNODE;
  if (override !== undefined && override !== '') return path.resolve(override);
  return path.join(packageRoot(), 'bin', 'kvnode.js');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True if the pid runs, is not a zombie, and (where /proc exists) has our data dir in its argv. */
export async function isOurProcess(pid: number, dataDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: it belongs to someone else, so it is not a node we started.
    return false;
  }
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return argv.includes(dataDir);
  } catch {
    // No /proc (macOS) or the process just exited: trust kill(0) above only if it still answers.
    try {
      process.kill(pid, 0);
      return !existsSync('/proc/self');
    } catch {
      return false;
    }
  }
}

async function readPidFile(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await fs.readFile(pidFile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the running node, or undefined when it is not running. */
export async function nodePid(clusterDir: string, node: NodeEntry): Promise<number | undefined> {
  const paths = pathsOf(clusterDir, node);
  if (node.remote !== undefined) {
    const result = await runSsh(node.remote, remotePidScript(paths.pidFile, paths.dataDir));
    const pid = Number.parseInt(result.stdout.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }
  const pid = await readPidFile(paths.pidFile);
  if (pid === undefined) return undefined;
  return (await isOurProcess(pid, paths.dataDir)) ? pid : undefined;
}

export interface StartResult {
  readonly id: number;
  readonly pid: number;
  /** False when the node was running already and nothing was spawned. */
  readonly started: boolean;
}

/** Starts the node unless it runs already. Ports are the caller's business (see ports.ts). */
export async function startNode(
  clusterDir: string,
  manifest: ClusterManifest,
  node: NodeEntry,
): Promise<StartResult> {
  const paths = pathsOf(clusterDir, node);
  const args = kvnodeArgs(manifest, node, paths);
  if (node.remote !== undefined) {
    const remote = node.remote;
    const script = remoteStartScript({
      ...paths,
      nodePath: remote.nodePath ?? 'node',
      nodeFlags: KVNODE_NODE_FLAGS,
      kvnodeScript: path.posix.join(remote.kvctlPath, 'bin', 'kvnode.js'),
      args,
    });
    const result = await runSsh(remote, script, manifest.clusterSecret);
    const match = /^(started|running) (\d+)$/m.exec(result.stdout);
    if (result.exitCode !== 0 || match === null) {
      throw new Error(
        `node ${node.id}: remote start on ${remote.ssh} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return { id: node.id, pid: Number(match[2]), started: match[1] === 'started' };
  }

  const running = await nodePid(clusterDir, node);
  if (running !== undefined) return { id: node.id, pid: running, started: false };
  await fs.mkdir(paths.dataDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(paths.secretFile, manifest.clusterSecret, { mode: 0o600 });
  await fs.appendFile(paths.logFile, '', { mode: 0o600 });
  // execa would pipe a log file through this process; the node must outlive us, so a shell
  // opens the log and execs node (same pid, and argv is node's own, which isOurProcess checks).
  const subprocess = execa(
    '/bin/sh',
    [
      '-c',
      'exec "$@" >> "$KVCTL_NODE_LOG" 2>&1',
      'kvnode',
      process.execPath,
      ...KVNODE_NODE_FLAGS,
      localKvnodeScript(),
      ...args,
    ],
    {
      cwd: paths.nodeDir,
      env: { KVCTL_NODE_LOG: paths.logFile },
      detached: true,
      stdio: 'ignore',
      reject: false,
    },
  );
  // The node outlives us: do not keep our event loop alive, and never let its exit (a later
  // kill) surface as an unhandled rejection in a long-lived caller such as a test runner.
  subprocess.unref();
  subprocess.catch(() => undefined);
  const pid = subprocess.pid;
  if (pid === undefined) throw new Error(`node ${node.id}: spawn failed (see ${paths.logFile})`);
  await fs.writeFile(paths.pidFile, `${pid}\n`, { mode: 0o600 });
  return { id: node.id, pid, started: true };
}

export type NodeSignal = 'TERM' | 'KILL' | 'STOP' | 'CONT' | 'INT';
export const NODE_SIGNALS: readonly NodeSignal[] = ['TERM', 'KILL', 'STOP', 'CONT', 'INT'];

/** Sends a signal to the running node; returns its pid, or undefined if it was not running. */
export async function signalNode(
  clusterDir: string,
  node: NodeEntry,
  signal: NodeSignal,
): Promise<number | undefined> {
  const paths = pathsOf(clusterDir, node);
  if (node.remote !== undefined) {
    const result = await runSsh(node.remote, remoteSignalScript(paths.pidFile, paths.dataDir, signal));
    const pid = Number.parseInt(result.stdout.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }
  const pid = await nodePid(clusterDir, node);
  if (pid === undefined) return undefined;
  process.kill(pid, `SIG${signal}`);
  return pid;
}

export interface StopResult {
  readonly id: number;
  /** Undefined when the node was not running. */
  readonly pid?: number;
  /** stopped: exited after SIGTERM; killed: needed SIGKILL after the timeout; not-running. */
  readonly outcome: 'stopped' | 'killed' | 'not-running';
}

/** SIGTERM (+CONT for a paused node), wait up to timeoutMs, then SIGKILL. Removes the pid file. */
export async function stopNode(
  clusterDir: string,
  node: NodeEntry,
  timeoutMs: number = DEFAULT_STOP_TIMEOUT_MS,
): Promise<StopResult> {
  const paths = pathsOf(clusterDir, node);
  if (node.remote !== undefined) {
    const result = await runSsh(node.remote, remoteStopScript(paths.pidFile, paths.dataDir, timeoutMs));
    const match = /^(stopped|killed) (\d+)$/m.exec(result.stdout);
    if (match === null) return { id: node.id, outcome: 'not-running' };
    return { id: node.id, pid: Number(match[2]), outcome: match[1] === 'killed' ? 'killed' : 'stopped' };
  }
  const pid = await nodePid(clusterDir, node);
  if (pid === undefined) {
    await fs.rm(paths.pidFile, { force: true });
    return { id: node.id, outcome: 'not-running' };
  }
  process.kill(pid, 'SIGTERM');
  process.kill(pid, 'SIGCONT');
  const deadline = Date.now() + timeoutMs;
  let outcome: StopResult['outcome'] = 'stopped';
  while (await isOurProcess(pid, paths.dataDir)) {
    if (Date.now() > deadline && outcome === 'stopped') {
      process.kill(pid, 'SIGKILL');
      outcome = 'killed';
    }
    await sleep(STOP_POLL_MS);
  }
  await fs.rm(paths.pidFile, { force: true });
  return { id: node.id, pid, outcome };
}

/** Waits until the node process is gone (after a KILL); bounded by timeoutMs. */
export async function waitForExit(clusterDir: string, node: NodeEntry, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await nodePid(clusterDir, node)) === undefined) return true;
    await sleep(STOP_POLL_MS);
  }
  return false;
}

const LOG_OPTIONS = { reject: false, stdin: 'ignore' } as const;

/** `tail` of the node's log (over ssh for remote nodes). The caller pipes or awaits it. */
export function tailLogs(clusterDir: string, node: NodeEntry, options: { lines: number; follow: boolean }) {
  const paths = pathsOf(clusterDir, node);
  if (node.remote !== undefined) {
    const script = remoteLogsScript(paths.logFile, options.lines, options.follow);
    return execa('ssh', sshArgv(node.remote, script), LOG_OPTIONS);
  }
  const args = ['-n', String(options.lines), ...(options.follow ? ['-F'] : []), paths.logFile];
  return execa('tail', args, LOG_OPTIONS);
}

/** The last lines of a local node's log, for error messages when a node died on start. */
export async function lastLogLines(clusterDir: string, node: NodeEntry, lines: number): Promise<string> {
  const result = await tailLogs(clusterDir, node, { lines, follow: false });
  return String(result.stdout ?? '').trim();
}
