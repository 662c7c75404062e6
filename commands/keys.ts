import { Args, Command, Flags } from '@oclif/core';

import { dirFlag } from '../src/cluster/cli-flags.js';
import { readManifest, respAddress } from '../src/cluster/manifest.js';
import {
  type JsonKey,
  DEFAULT_SCAN_COUNT,
  MAX_SCAN_COUNT,
  StreamSink,
  keyLines,
  keyToJson,
  scanKeys,
} from '../src/client/scan-keys.js';

export default class Keys extends Command {
  static override description =
    'List the keys matching a glob pattern (SCAN on any reachable node), one per line as they arrive. ' +
    'Keys are printed as raw bytes, like redis-cli --scan; --json writes an array where a key that is ' +
    'not valid UTF-8 appears as {"base64": "..."}.';

  static override examples = [
    "<%= config.bin %> keys 'user:*'",
    "<%= config.bin %> keys 'session:[0-9]*' --limit 10",
    '<%= config.bin %> keys --json',
  ];

  static override enableJsonFlag = true;
  static override args = {
    pattern: Args.string({ description: 'Redis glob: * ? [a-z] [^x] and \\ escapes', default: '*' }),
  };

  static override flags = {
    dir: dirFlag,
    limit: Flags.integer({ description: 'stop after this many keys', min: 0 }),
    count: Flags.integer({
      description: 'SCAN COUNT hint: keys examined per round trip',
      default: DEFAULT_SCAN_COUNT,
      min: 1,
      max: MAX_SCAN_COUNT,
    }),
  };

  async run(): Promise<JsonKey[]> {
    const { args, flags } = await this.parse(Keys);
    const json = this.jsonEnabled();
    // Only --json gathers the keys: the default output streams, whatever their number.
    const collected: JsonKey[] = [];
    const sink = new StreamSink(process.stdout);
    try {
      const manifest = await readManifest(flags.dir);
      const batches = scanKeys({
        seeds: manifest.nodes.map(respAddress),
        match: args.pattern,
        count: flags.count,
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      });
      for await (const keys of batches) {
        if (json) for (const key of keys) collected.push(keyToJson(key));
        else if (!(await sink.write(keyLines(keys)))) break; // the reader is gone (| head)
      }
    } catch (error) {
      this.error((error as Error).message, { exit: 2 });
    } finally {
      sink.close();
    }
    return collected;
  }
}
