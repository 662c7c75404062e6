import { Command } from '@oclif/core';
import ora from 'ora';

import { drillFlags, drillOptions, exitCodeOf, saveHistory } from '../../src/chaos/cli.js';
import { type DrillReport } from '../../src/chaos/drill.js';
import { runKillLeader } from '../../src/chaos/kill-leader.js';
import { drillTables } from '../../src/chaos/render.js';

export default class ChaosKillLeader extends Command {
  static override description =
    'Crash drill: concurrent clients run GET/SET/CAS while, each round, the leader is killed with SIGKILL, ' +
    'a new leader is awaited and the killed node restarted. Then the recorded history is checked for ' +
    'linearizability and every acknowledged write is read back through every node.\n' +
    'Exit status: 0 pass, 1 violation / lost write / no recovery, 2 inconclusive (checker bounds).';

  static override examples = [
    '<%= config.bin %> chaos kill-leader',
    '<%= config.bin %> chaos kill-leader --rounds 10 --clients 16 --duration-per-round 5s --json',
  ];

  static override enableJsonFlag = true;
  static override flags = drillFlags;

  async run(): Promise<DrillReport> {
    const { flags } = await this.parse(ChaosKillLeader);
    const spinner = this.jsonEnabled()
      ? undefined
      : ora({ text: 'starting', stream: process.stderr }).start();
    let report: DrillReport;
    try {
      const outcome = await runKillLeader(
        drillOptions(flags, (message) => spinner && (spinner.text = message)),
      );
      await saveHistory(flags.history, outcome);
      report = outcome.report;
    } catch (error) {
      spinner?.fail('drill failed to run');
      this.error((error as Error).message, { exit: 1 });
    }
    if (report.verdict === 'pass') spinner?.succeed('linearizable, no acknowledged write lost');
    else spinner?.fail(report.verdict === 'fail' ? 'VIOLATION' : 'inconclusive');
    this.log(drillTables(report));
    // With --json the report is the output; the exit status still tells pass from fail.
    if (exitCodeOf(report) !== 0) process.exitCode = exitCodeOf(report);
    return report;
  }
}
