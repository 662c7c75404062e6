import { Command } from '@oclif/core';

import { dirFlag } from '../../src/cluster/cli-flags.js';
import { statusOf } from '../../src/cluster/lifecycle.js';
import { statusTable } from '../../src/cluster/render.js';
import { type ClusterStatus } from '../../src/cluster/status.js';

export default class ClusterStatusCommand extends Command {
  static override description =
    'Show every node: role, term, commit and applied index, addresses, pid. ' +
    'role "down" = no process; "unreachable" = a process that does not answer HTTP (paused, starting).';

  static override examples = ['<%= config.bin %> cluster status', '<%= config.bin %> cluster status --json'];

  static override enableJsonFlag = true;

  static override flags = { dir: dirFlag };

  async run(): Promise<ClusterStatus> {
    const { flags } = await this.parse(ClusterStatusCommand);
    let status: ClusterStatus;
    try {
      status = await statusOf(flags.dir);
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
    this.log(statusTable(status));
    return status;
  }
}
