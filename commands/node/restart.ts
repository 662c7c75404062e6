import { Command } from '@oclif/core';

import { dirFlag, nodeIdArg } from '../../src/cluster/cli-flags.js';
import { type NodeActionResult, restartOne } from '../../src/cluster/lifecycle.js';

export default class NodeRestart extends Command {
  static override description = 'Stop one node gracefully, start it again, wait until it is ready.';
  static override examples = ['<%= config.bin %> node restart 2'];
  static override enableJsonFlag = true;
  static override args = { id: nodeIdArg };
  static override flags = { dir: dirFlag };

  async run(): Promise<NodeActionResult> {
    const { args, flags } = await this.parse(NodeRestart);
    try {
      const result = await restartOne(flags.dir, args.id);
      this.log(`node ${result.id}: ${result.action} (pid ${result.pid})`);
      return result;
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
