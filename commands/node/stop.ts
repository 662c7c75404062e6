import { Command, Flags } from '@oclif/core';

import { dirFlag, nodeIdArg } from '../../src/cluster/cli-flags.js';
import { type NodeActionResult, stopOne } from '../../src/cluster/lifecycle.js';

export default class NodeStop extends Command {
  static override description = 'Stop one node gracefully (SIGTERM; SIGKILL after --timeout-ms).';
  static override examples = ['<%= config.bin %> node stop 2'];
  static override enableJsonFlag = true;
  static override args = { id: nodeIdArg };
  static override flags = {
    dir: dirFlag,
    'timeout-ms': Flags.integer({ description: 'grace period before SIGKILL', default: 10_000, min: 0 }),
  };

  async run(): Promise<NodeActionResult> {
    const { args, flags } = await this.parse(NodeStop);
    try {
      const result = await stopOne(flags.dir, args.id, flags['timeout-ms']);
      this.log(`node ${result.id}: ${result.action}${result.pid === null ? '' : ` (pid ${result.pid})`}`);
      return result;
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
