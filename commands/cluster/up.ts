import { Command, Flags } from '@oclif/core';
import ora from 'ora';

import { dirFlag } from '../../src/cluster/cli-flags.js';
import { type UpResult, clusterUp } from '../../src/cluster/lifecycle.js';
import { buildRemotes } from '../../src/cluster/manifest.js';
import { statusTable } from '../../src/cluster/render.js';

export default class ClusterUp extends Command {
  static override description =
    'Start a local cluster: create it (manifest, secret, data dirs) if the directory has none, ' +
    'else start its stopped nodes with their data; wait until a leader is elected and all nodes are ready.\n' +
    'Ports for base B and node i: peer B+i-1, RESP B+10+i-1, HTTP B+20+i-1.';

  static override examples = [
    '<%= config.bin %> cluster up',
    '<%= config.bin %> cluster up --nodes 5 --base-port 7100 --dir /tmp/kv5',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    dir: dirFlag,
    nodes: Flags.integer({
      char: 'n',
      description: 'number of nodes (new cluster only) [default: 3]',
      min: 1,
      max: 9,
    }),
    'base-port': Flags.integer({
      description: 'first port (new cluster only) [default: 7000]',
      min: 1024,
      max: 65500,
    }),
    'timeout-ms': Flags.integer({ description: 'how long to wait for readiness', default: 30_000, min: 1 }),
    remote: Flags.string({
      description:
        'place node ID on another machine, over ssh: ID=[user@]host[:sshPort] (new cluster only; repeatable)',
      multiple: true,
    }),
    'remote-dir': Flags.string({
      description: 'absolute dir on remote machines for node data, logs, pid files',
    }),
    'remote-kvctl': Flags.string({ description: 'absolute path of the kvctl package on remote machines' }),
    'remote-node': Flags.string({ description: 'Node.js 20+ executable on remote machines [default: node]' }),
    'ssh-identity': Flags.string({ description: 'ssh private key for remote machines' }),
    'ssh-option': Flags.string({
      description: 'extra ssh -o option, e.g. UserKnownHostsFile=/path (repeatable)',
      multiple: true,
    }),
    'node-arg': Flags.string({
      description: 'extra kvnode flags for every node, e.g. "--tick-ms 10" (new cluster only; repeatable)',
      multiple: true,
    }),
  };

  async run(): Promise<UpResult> {
    const { flags } = await this.parse(ClusterUp);
    const spinner = this.jsonEnabled()
      ? undefined
      : ora({ text: 'starting cluster', stream: process.stderr }).start();
    let result: UpResult;
    try {
      const { remotes, hosts } = buildRemotes(flags.remote ?? [], {
        remoteDir: flags['remote-dir'],
        kvctlPath: flags['remote-kvctl'],
        nodePath: flags['remote-node'],
        identityFile: flags['ssh-identity'],
        sshOptions: flags['ssh-option'],
      });
      result = await clusterUp({
        ...(remotes.size > 0 ? { remotes, hosts } : {}),
        dir: flags.dir,
        ...(flags.nodes !== undefined ? { nodeCount: flags.nodes } : {}),
        ...(flags['base-port'] !== undefined ? { basePort: flags['base-port'] } : {}),
        ...(flags['node-arg'] !== undefined
          ? { nodeArgs: flags['node-arg'].flatMap((arg) => arg.split(/\s+/)) }
          : {}),
        readyTimeoutMs: flags['timeout-ms'],
        onProgress: (message) => {
          if (spinner) spinner.text = message;
        },
      });
    } catch (error) {
      spinner?.fail('cluster up failed');
      this.error((error as Error).message, { exit: 1 });
    }
    const what = result.created
      ? `created cluster in ${flags.dir}`
      : result.started.length === 0
        ? `cluster in ${flags.dir} is already running`
        : `restarted node${result.started.length > 1 ? 's' : ''} ${result.started.join(', ')} in ${flags.dir}`;
    spinner?.succeed(what);
    this.log(statusTable(result.status));
    return result;
  }
}
