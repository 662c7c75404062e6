/**
 * Remote node control over the system `ssh` (so the user's agent, config and known_hosts work
 * as usual). Every remote action is one POSIX sh script passed as ssh's command; values are
 * single-quoted with `shQuote`, so paths and secrets cannot break out of the script.
 */
import { execa } from 'execa';

import { type RemotePlacement } from './manifest.js';

/** POSIX single-quote: the only character needing care inside '...' is ' itself. */
export function shQuote(value: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export const SSH_CONNECT_TIMEOUT_S = 10;

/**
 * argv for `ssh` (without the program name). BatchMode: never prompt (a prompt would hang a
 * detached command). accept-new: trust a host on first contact but refuse a changed key.
 */
export function sshArgv(remote: RemotePlacement, remoteScript: string): string[] {
  const argv = [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`,
  ];
  if (remote.sshPort !== undefined) argv.push('-p', String(remote.sshPort));
  if (remote.identityFile !== undefined) argv.push('-i', remote.identityFile, '-o', 'IdentitiesOnly=yes');
  for (const option of remote.sshOptions ?? []) argv.push('-o', option);
  // `--` ends ssh's options; the destination was validated not to start with '-'.
  argv.push('--', remote.ssh, remoteScript);
  return argv;
}

export interface SshResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export const SSH_COMMAND_TIMEOUT_MS = 60_000;

/** Runs a script on the remote; rejects with ssh's stderr when ssh itself fails (exit 255). */
export async function runSsh(remote: RemotePlacement, script: string, input?: string): Promise<SshResult> {
  const result = await execa('ssh', sshArgv(remote, script), {
    reject: false,
    timeout: SSH_COMMAND_TIMEOUT_MS,
    ...(input !== undefined ? { input } : { stdin: 'ignore' }),
  });
  const exitCode = result.exitCode ?? -1;
  if (exitCode === 255 || result.timedOut) {
    throw new Error(
      `ssh ${remote.ssh}: ${result.timedOut ? 'timed out' : result.stderr.trim() || 'connection failed'}`,
    );
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode };
}

/**
 * Shell function `alive PID`: the pid runs AND is our kvnode (its argv holds our data dir), so
 * a pid recycled by an unrelated process after a crash is never signalled.
 */
export function aliveFunction(dataDir: string): string {
  return [
    'alive() {',
    '  kill -0 "$1" 2>/dev/null || return 1',
    '  [ -r "/proc/$1/cmdline" ] || return 0',
    `  tr '\\000' '\\n' < "/proc/$1/cmdline" | grep -qxF -- ${shQuote(dataDir)}`,
    '}',
  ].join('\n');
}

export interface RemoteStartPlan {
  readonly nodeDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly secretFile: string;
  readonly nodePath: string;
  /** Node.js flags before the script (KVNODE_NODE_FLAGS). */
  readonly nodeFlags?: readonly string[];
  readonly kvnodeScript: string;
  readonly args: readonly string[];
}

/**
 * Starts kvnode on the remote unless it runs already; prints `started PID` or `running PID`.
 * The secret arrives on stdin (never in argv). setsid puts the node in its own session so the
 * end of the ssh session does not take it down; output goes to the log file.
 */
export function remoteStartScript(plan: RemoteStartPlan): string {
  const command = [plan.nodePath, ...(plan.nodeFlags ?? []), plan.kvnodeScript, ...plan.args]
    .map(shQuote)
    .join(' ');
  return [
    'set -e',
    aliveFunction(plan.dataDir),
    `umask 077`,
    `mkdir -p ${shQuote(plan.dataDir)}`,
    `cat > ${shQuote(plan.secretFile)}`,
    `if [ -f ${shQuote(plan.pidFile)} ]; then p=$(cat ${shQuote(plan.pidFile)}); if alive "$p"; then echo "running $p"; exit 0; fi; fi`,
    `cd ${shQuote(plan.nodeDir)}`,
    'launcher=""; if command -v setsid >/dev/null 2>&1; then launcher=setsid; fi',
    `$launcher ${command} >> ${shQuote(plan.logFile)} 2>&1 < /dev/null &`,
    `echo $! > ${shQuote(plan.pidFile)}`,
    'echo "started $!"',
  ].join('\n');
}

/** Prints the pid when the node runs, nothing otherwise. */
export function remotePidScript(pidFile: string, dataDir: string): string {
  return [
    aliveFunction(dataDir),
    `p=$(cat ${shQuote(pidFile)} 2>/dev/null) || exit 0`,
    'if alive "$p"; then echo "$p"; fi',
  ].join('\n');
}

/** Sends a signal if the node runs; prints the pid it signalled (nothing if not running). */
export function remoteSignalScript(pidFile: string, dataDir: string, signal: string): string {
  if (!/^[A-Z]+[0-9]*$/.test(signal)) throw new Error(`invariant: bad signal name ${signal}`);
  return [
    aliveFunction(dataDir),
    `p=$(cat ${shQuote(pidFile)} 2>/dev/null) || exit 0`,
    `if alive "$p"; then kill -${signal} "$p" && echo "$p"; fi`,
  ].join('\n');
}

/**
 * SIGTERM (plus CONT, so a SIGSTOPped node can act on it), wait up to timeoutMs, then SIGKILL.
 * Prints `stopped PID`, `killed PID` or nothing (was not running).
 */
export function remoteStopScript(pidFile: string, dataDir: string, timeoutMs: number): string {
  const polls = Math.max(1, Math.ceil(timeoutMs / 100));
  return [
    aliveFunction(dataDir),
    `p=$(cat ${shQuote(pidFile)} 2>/dev/null) || exit 0`,
    `if ! alive "$p"; then rm -f ${shQuote(pidFile)}; exit 0; fi`,
    'kill -TERM "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null',
    'i=0; how=stopped',
    'while alive "$p"; do',
    `  i=$((i+1)); if [ $i -gt ${polls} ]; then kill -KILL "$p" 2>/dev/null; how=killed; fi`,
    '  sleep 0.1',
    'done',
    `rm -f ${shQuote(pidFile)}`,
    'echo "$how $p"',
  ].join('\n');
}

export function remoteLogsScript(logFile: string, lines: number, follow: boolean): string {
  if (!Number.isInteger(lines) || lines < 0) throw new Error(`invariant: bad line count ${lines}`);
  return `tail -n ${lines}${follow ? ' -F' : ''} ${shQuote(logFile)}`;
}

export function remoteRemoveScript(nodeDir: string): string {
  if (nodeDir === '/' || nodeDir === '') throw new Error(`invariant: refusing to remove ${nodeDir}`);
  return `rm -rf -- ${shQuote(nodeDir)}`;
}
