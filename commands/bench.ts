import { Command, Flags } from '@oclif/core';
import ora from 'ora';

import {
  type BenchOp,
  BENCH_OPS,
  MAX_CLIENTS,
  MAX_PIPELINE,
  MAX_VALUE_BYTES,
  runLoad,
  type LoadResult,
} from '../src/bench/load.js';
import { benchTable } from '../src/bench/render.js';
import { resolveBenchTarget } from '../src/bench/target.js';
import { dirFlag } from '../src/cluster/cli-flags.js';

type BenchResult = LoadResult & { readonly nodeId: number };

export default class Bench extends Command {
  static override description =
    'Load the cluster leader (or --node ID) with SET/GET from many connections and report ' +
    'requests per second and latency percentiles. Nothing is retried: error replies are counted.';

  static override examples = [
    '<%= config.bin %> bench',
    '<%= config.bin %> bench --op get --clients 100 --requests 1000000 --pipeline 16',
    '<%= config.bin %> bench --node 2 --op mixed --json',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    dir: dirFlag,
    op: Flags.string({ description: 'what to send', options: [...BENCH_OPS], default: 'set' }),
    clients: Flags.integer({ char: 'c', description: 'connections', default: 50, min: 1, max: MAX_CLIENTS }),
    requests: Flags.integer({ char: 'n', description: 'total requests', default: 100_000, min: 1 }),
    'value-bytes': Flags.integer({
      description: 'SET value size',
      default: 100,
      min: 0,
      max: MAX_VALUE_BYTES,
    }),
    pipeline: Flags.integer({
      char: 'P',
      description: 'requests in flight per connection',
      default: 1,
      min: 1,
      max: MAX_PIPELINE,
    }),
    'key-space': Flags.integer({ description: 'distinct keys (random uniform)', default: 1_000, min: 1 }),
    node: Flags.integer({ description: 'load this node instead of the leader', min: 1 }),
  };

  async run(): Promise<BenchResult> {
    const { flags } = await this.parse(Bench);
    const spinner = this.jsonEnabled()
      ? undefined
      : ora({ text: 'finding the leader', stream: process.stderr }).start();
    let result: BenchResult;
    try {
      const target = await resolveBenchTarget(flags.dir, flags.node);
      if (spinner) spinner.text = `${flags.op} on node ${target.nodeId} (${target.address})`;
      const load = await runLoad({
        address: target.address,
        op: flags.op as BenchOp,
        clients: flags.clients,
        requests: flags.requests,
        valueBytes: flags['value-bytes'],
        pipeline: flags.pipeline,
        keySpace: flags['key-space'],
        onProgress: (done, total) => {
          if (spinner) spinner.text = `${flags.op} on node ${target.nodeId}: ${done}/${total}`;
        },
      });
      result = { ...load, nodeId: target.nodeId };
    } catch (error) {
      spinner?.fail('bench failed');
      this.error((error as Error).message, { exit: 1 });
    }
    spinner?.succeed(`${result.requests} ${result.op} requests in ${result.elapsedMs} ms`);
    this.log(benchTable(result));
    return result;
  }
}
