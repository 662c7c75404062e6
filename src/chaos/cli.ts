/**
 * Flags and the run-render-exit flow shared by the `kvctl chaos ...` commands, so that each
 * command stays a thin file.
 */
import { promises as fs } from 'node:fs';
import { Flags } from '@oclif/core';

import { dirFlag } from '../cluster/cli-flags.js';
import { type DrillOptions, type DrillOutcome, type DrillReport, MAX_CLIENTS, MAX_ROUNDS } from './drill.js';
import { parseDurationMs } from './duration.js';
import { drillTables } from './render.js';
import ora from 'ora';

export const drillFlags = {
  dir: dirFlag,
  rounds: Flags.integer({ char: 'r', description: 'fault rounds', default: 5, min: 1, max: MAX_ROUNDS }),
  clients: Flags.integer({
    char: 'c',
    description: 'concurrent clients',
    default: 8,
    min: 1,
    max: MAX_CLIENTS,
  }),
  'duration-per-round': Flags.string({
    description: 'load per round, fault in the middle (e.g. 3s, 500ms)',
    default: '3s',
  }),
  keys: Flags.integer({ description: 'register keys shared by the clients', default: 5, min: 1, max: 1_000 }),
  'command-timeout': Flags.string({
    description: 'per-command client timeout; a write past it has an unknown outcome',
    default: '2s',
  }),
  'recovery-timeout': Flags.string({
    description: 'wait this long for a leader after a fault',
    default: '20s',
  }),
  'check-budget': Flags.string({ description: 'time budget of the linearizability check', default: '30s' }),
  history: Flags.string({ description: 'write the recorded history (JSON) to this file' }),
};

export interface DrillFlagValues {
  readonly dir: string;
  readonly rounds: number;
  readonly clients: number;
  readonly 'duration-per-round': string;
  readonly keys: number;
  readonly 'command-timeout': string;
  readonly 'recovery-timeout': string;
  readonly 'check-budget': string;
  readonly history?: string;
}

export function drillOptions(flags: DrillFlagValues, onProgress?: (message: string) => void): DrillOptions {
  return {
    dir: flags.dir,
    rounds: flags.rounds,
    clients: flags.clients,
    roundDurationMs: parseDurationMs(flags['duration-per-round']),
    registerKeys: flags.keys,
    commandTimeoutMs: parseDurationMs(flags['command-timeout']),
    recoveryTimeoutMs: parseDurationMs(flags['recovery-timeout']),
    checkBudgetMs: parseDurationMs(flags['check-budget']),
    ...(onProgress !== undefined ? { onProgress } : {}),
  };
}

export async function saveHistory(file: string | undefined, outcome: DrillOutcome): Promise<void> {
  if (file === undefined) return;
  await fs.writeFile(file, `${JSON.stringify({ report: outcome.report, history: outcome.history })}\n`);
}

/** Exit status of a drill: 0 pass, 1 fail (violation, lost write, no recovery), 2 inconclusive. */
export function exitCodeOf(report: DrillReport): number {
  return report.verdict === 'pass' ? 0 : report.verdict === 'fail' ? 1 : 2;
}

/** What a drill command needs of its oclif Command: logging, errors, and whether --json is on. */
export interface DrillCommandHost {
  jsonEnabled(): boolean;
  log(message: string): void;
  error(message: string, options: { exit: number }): never;
}

/**
 * The run → spinner → tables → exit-status flow of every `kvctl chaos` command. With --json the
 * report is the output; the exit status still tells pass from fail.
 */
export async function runDrillCommand(
  cmd: DrillCommandHost,
  flags: DrillFlagValues,
  run: (opts: DrillOptions) => Promise<DrillOutcome>,
): Promise<DrillReport> {
  const spinner = cmd.jsonEnabled() ? undefined : ora({ text: 'starting', stream: process.stderr }).start();
  let report: DrillReport;
  try {
    const outcome = await run(drillOptions(flags, (message) => spinner && (spinner.text = message)));
    await saveHistory(flags.history, outcome);
    report = outcome.report;
  } catch (error) {
    spinner?.fail('drill failed to run');
    cmd.error((error as Error).message, { exit: 1 });
  }
  if (report.verdict === 'pass') spinner?.succeed('linearizable, no acknowledged write lost');
  else spinner?.fail(report.verdict === 'fail' ? 'VIOLATION' : 'inconclusive');
  cmd.log(drillTables(report));
  if (exitCodeOf(report) !== 0) process.exitCode = exitCodeOf(report);
  return report;
}
