import { Command, Flags } from '@oclif/core';

import { dirFlag, nodeIdArg } from '../../src/cluster/cli-flags.js';
import { type NodeActionResult, signalOne } from '../../src/cluster/lifecycle.js';

export default class NodeKill extends Command {
  static override description =
    'Crash a node: SIGKILL by default. --signal STOP pauses it (a hung node), CONT resumes, TERM stops it cleanly.';

  static override examples = ['<%= config.bin %> node kill 1', '<%= config.bin %> node kill 2 --signal STOP'];
  static override enableJsonFlag = true;
  static override args = { id: nodeIdArg };
  static override flags = {
    dir: dirFlag,
    signal: Flags.string({ char: 's', options: ['KILL', 'STOP', 'CONT', 'TERM'], default: 'KILL' }),
  };

  async run(): Promise<NodeActionResult> {
    const { args, flags } = await this.parse(NodeKill);
    const signal = flags.signal as 'KILL' | 'STOP' | 'CONT' | 'TERM';
    try {
      const result = await signalOne(flags.dir, args.id, signal);
      this.log(`node ${result.id}: ${result.action} (pid ${result.pid})`);
      return result;
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
