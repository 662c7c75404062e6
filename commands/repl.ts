import { Command, Flags } from '@oclif/core';

import { dirFlag } from '../src/cluster/cli-flags.js';
import { signalOne, startOne, statusOf } from '../src/cluster/lifecycle.js';
import { statusTable } from '../src/cluster/render.js';
import { clientForCluster } from '../src/client/for-cluster.js';
import { historyPath } from '../src/client/repl-history.js';
import { runPlainLoop, runTtyLoop } from '../src/client/repl-loop.js';
import { type ReplClusterOps, ReplSession } from '../src/client/repl.js';

export default class Repl extends Command {
  static override description =
    'Interactive shell: Redis commands against the leader (answering node and latency shown), ' +
    'Tab completion, history across sessions, meta commands (.status .leader .kill ID .start ID .help .exit). ' +
    'With stdin not a terminal it runs one command per line and prints plain results; exit code 1 if any failed.';

  static override examples = [
    '<%= config.bin %> repl',
    "printf 'SET a 1\\nGET a\\n' | <%= config.bin %> repl",
  ];

  static override flags = {
    dir: dirFlag,
    plain: Flags.boolean({
      description: 'plain output even on a terminal (no prompt, no colors)',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Repl);
    const dir = flags.dir;
    let client;
    try {
      client = await clientForCluster(dir);
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
    const interactive = process.stdin.isTTY === true && !flags.plain;
    const color = interactive && process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
    const ops: ReplClusterOps = {
      statusText: async () => statusTable(await statusOf(dir), { color }),
      kill: async (id) => {
        const result = await signalOne(dir, id, 'KILL');
        return `node ${id} killed (pid ${result.pid})`;
      },
      start: async (id) => {
        const result = await startOne(dir, id);
        return `node ${id} ${result.action} (pid ${result.pid})`;
      },
    };
    const session = new ReplSession(client, ops, !interactive);
    try {
      if (interactive) {
        await runTtyLoop(session, process.stdin, process.stdout, {
          historyFile: historyPath(dir),
          color,
          banner: `kvctl repl on ${dir} — .help for help, Tab completes, Ctrl-D leaves`,
          prompt: () => `${client.knownLeader ?? 'kv'}> `,
        });
      } else {
        const result = await runPlainLoop(session, process.stdin, (text) => process.stdout.write(text));
        if (result.errors > 0) process.exitCode = 1;
      }
    } finally {
      await client.close();
    }
  }
}
