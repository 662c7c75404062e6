import { Command } from '@oclif/core';

import { drillFlags, runDrillCommand } from '../../src/chaos/cli.js';
import { type DrillReport } from '../../src/chaos/drill.js';
import { runKillAll } from '../../src/chaos/kill-leader.js';

export default class ChaosKillAll extends Command {
  static override description =
    'Crash drill: concurrent clients run GET/SET/CAS while, each round, EVERY node is killed with SIGKILL ' +
    '(nothing survives but what is on disk) and all are restarted. Then the recorded history is checked for ' +
    'linearizability and every acknowledged write is read back through every node.\n' +
    'Exit status: 0 pass, 1 violation / lost write / no recovery, 2 inconclusive (checker bounds).';

  static override examples = [
    '<%= config.bin %> chaos kill-all',
    '<%= config.bin %> chaos kill-all --rounds 10 --clients 16 --duration-per-round 5s --json',
  ];

  static override enableJsonFlag = true;
  static override flags = drillFlags;

  async run(): Promise<DrillReport> {
    const { flags } = await this.parse(ChaosKillAll);
    return runDrillCommand(this, flags, runKillAll);
  }
}
