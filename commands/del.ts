import { Args, Command } from '@oclif/core';

import { dirFlag } from '../src/cluster/cli-flags.js';
import { oneShot } from '../src/client/for-cluster.js';

export interface DelResult {
  keys: string[];
  deleted: number;
  node: string;
  latencyMs: number;
}

export default class Del extends Command {
  static override description = 'Delete keys through the leader; prints how many existed.';
  static override examples = ['<%= config.bin %> del greeting'];
  static override enableJsonFlag = true;
  static override strict = false;
  static override args = { key: Args.string({ required: true, description: 'key (more may follow)' }) };
  static override flags = { dir: dirFlag };

  async run(): Promise<DelResult> {
    const { argv, flags } = await this.parse(Del);
    const keys = argv as string[];
    try {
      const reply = await oneShot(flags.dir, (client) => client.command(['DEL', ...keys]));
      this.log(String(reply.value));
      return {
        keys,
        deleted: Number(reply.value),
        node: reply.address,
        latencyMs: Math.round(reply.latencyMs * 100) / 100,
      };
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
  }
}
