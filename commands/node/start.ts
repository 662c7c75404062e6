import { Command, Flags } from '@oclif/core';

import { dirFlag, nodeIdArg } from '../../src/cluster/cli-flags.js';
import { type NodeActionResult, startOne } from '../../src/cluster/lifecycle.js';

export default class NodeStart extends Command {
  static override description = 'Start one node with its existing data and wait until it is ready.';
  static override examples = ['<%= config.bin %> node start 2'];
  static override enableJsonFlag = true;
  static override args = { id: nodeIdArg };
  static override flags = {
    dir: dirFlag,
    'no-wait': Flags.boolean({ description: 'return right after spawning', default: false }),
  };

  async run(): Promise<NodeActionResult> {
    const { args, flags } = await this.parse(NodeStart);
    try {
      const result = await startOne(flags.dir, args.id, { wait: !flags['no-wait'] });
      this.log(`node ${result.id}: ${result.action} (pid ${result.pid})`);
      return result;
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
