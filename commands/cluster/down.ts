import { Command, Flags } from '@oclif/core';

import { dirFlag } from '../../src/cluster/cli-flags.js';
import { clusterDown } from '../../src/cluster/lifecycle.js';
import { type StopResult } from '../../src/cluster/process.js';

export default class ClusterDown extends Command {
  static override description =
    'Stop every node (SIGTERM; SIGKILL after --timeout-ms). Data is kept: `cluster up` resumes.';

  static override enableJsonFlag = true;

  static override flags = {
    dir: dirFlag,
    'timeout-ms': Flags.integer({ description: 'grace period before SIGKILL', default: 10_000, min: 0 }),
  };

  async run(): Promise<{ nodes: StopResult[] }> {
    const { flags } = await this.parse(ClusterDown);
    let nodes: StopResult[];
    try {
      nodes = await clusterDown(flags.dir, flags['timeout-ms']);
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
    for (const node of nodes) {
      this.log(`node ${node.id}: ${node.outcome}${node.pid === undefined ? '' : ` (pid ${node.pid})`}`);
    }
    return { nodes };
  }
}
