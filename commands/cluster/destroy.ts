import { confirm } from '@inquirer/prompts';
import { Command, Flags } from '@oclif/core';

import { dirFlag } from '../../src/cluster/cli-flags.js';
import { type DestroyResult, clusterDestroy } from '../../src/cluster/lifecycle.js';

export default class ClusterDestroy extends Command {
  static override description = 'Stop every node and delete the cluster directory (all data!).';

  static override enableJsonFlag = true;

  static override flags = {
    dir: dirFlag,
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation', default: false }),
  };

  async run(): Promise<DestroyResult | { destroyed: false }> {
    const { flags } = await this.parse(ClusterDestroy);
    if (!flags.yes) {
      if (!process.stdin.isTTY)
        this.error('refusing to destroy without --yes (stdin is not a terminal)', { exit: 1 });
      const sure = await confirm({ message: `Delete ${flags.dir} and all its data?`, default: false });
      if (!sure) {
        this.log('nothing removed');
        return { destroyed: false };
      }
    }
    let result: DestroyResult;
    try {
      result = await clusterDestroy(flags.dir);
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
    this.log(
      `stopped ${result.stopped.filter((s) => s.outcome !== 'not-running').length} node(s), removed ${result.removed}`,
    );
    return result;
  }
}
