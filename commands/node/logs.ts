import { Command, Flags } from '@oclif/core';

import { dirFlag, nodeIdArg } from '../../src/cluster/cli-flags.js';
import { findNode, readManifest } from '../../src/cluster/manifest.js';
import { tailLogs } from '../../src/cluster/process.js';

export default class NodeLogs extends Command {
  static override description = "Print a node's log (over ssh for remote nodes); --follow keeps printing.";
  static override examples = [
    '<%= config.bin %> node logs 1 -n 20',
    '<%= config.bin %> node logs 2 --follow',
  ];
  static override args = { id: nodeIdArg };
  static override flags = {
    dir: dirFlag,
    lines: Flags.integer({ char: 'n', description: 'lines from the end', default: 100, min: 0 }),
    follow: Flags.boolean({
      char: 'f',
      description: 'keep printing new lines (Ctrl-C to stop)',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeLogs);
    let node;
    try {
      node = findNode(await readManifest(flags.dir), args.id);
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
    const tail = tailLogs(flags.dir, node, { lines: flags.lines, follow: flags.follow });
    tail.stdout.pipe(process.stdout);
    tail.stderr.pipe(process.stderr);
    const result = await tail;
    if (result.exitCode !== 0 && !flags.follow)
      this.error(`could not read the log of node ${args.id}`, { exit: 1 });
  }
}
