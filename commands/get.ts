import { Args, Command } from '@oclif/core';

import { dirFlag } from '../src/cluster/cli-flags.js';
import { oneShot } from '../src/client/for-cluster.js';

export interface GetResult {
  key: string;
  value: string | null;
  node: string;
  latencyMs: number;
}

export default class Get extends Command {
  static override description =
    'Read a key through the leader (linearizable); prints (nil) when it does not exist (--json: value null).';
  static override examples = ['<%= config.bin %> get greeting'];
  static override enableJsonFlag = true;
  static override args = { key: Args.string({ required: true }) };
  static override flags = { dir: dirFlag };

  async run(): Promise<GetResult> {
    const { args, flags } = await this.parse(Get);
    let result: GetResult;
    try {
      const reply = await oneShot(flags.dir, (client) => client.command(['GET', args.key]));
      result = {
        key: args.key,
        value: reply.value as string | null,
        node: reply.address,
        latencyMs: Math.round(reply.latencyMs * 100) / 100,
      };
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    }
    this.log(result.value ?? '(nil)');
    return result;
  }
}
