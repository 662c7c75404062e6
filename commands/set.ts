import { Args, Command } from '@oclif/core';

import { dirFlag } from '../src/cluster/cli-flags.js';
import { oneShot } from '../src/client/for-cluster.js';

export interface SetResult {
  key: string;
  reply: string;
  node: string;
  latencyMs: number;
}

export default class SetCommand extends Command {
  static override description =
    'Write a key through the leader. Retried across a failover only while the error proves it was not applied.';

  static override examples = ['<%= config.bin %> set greeting hello'];
  static override enableJsonFlag = true;
  static override args = { key: Args.string({ required: true }), value: Args.string({ required: true }) };
  static override flags = { dir: dirFlag };

  async run(): Promise<SetResult> {
    const { args, flags } = await this.parse(SetCommand);
    try {
      const reply = await oneShot(flags.dir, (client) => client.command(['SET', args.key, args.value]));
      this.log(String(reply.value));
      return {
        key: args.key,
        reply: String(reply.value),
        node: reply.address,
        latencyMs: Math.round(reply.latencyMs * 100) / 100,
      };
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
  }
}
