import path from 'node:path';
import { Command, Flags } from '@oclif/core';

import {
  DEFAULT_GEN_SYSTEMD,
  parseDeployNodes,
  renderDeployFiles,
  writeDeployFiles,
} from '../../src/deploy/systemd.js';

export default class DeployGenSystemd extends Command {
  static override description =
    'Write one systemd unit per node (kvnode-ID.service), an Nginx config exposing the HTTP API (/v1/) ' +
    'over an upstream of the nodes, and a fresh cluster.secret, sized for 1 GB VMs (one node per VM).';

  static override examples = [
    '<%= config.bin %> deploy gen-systemd --nodes 1=10.0.0.1,2=10.0.0.2,3=10.0.0.3 --out ./deploy',
  ];

  static override enableJsonFlag = true;

  static override flags = {
    nodes: Flags.string({ description: 'ID=HOST,... (or HOST,HOST,... numbered from 1)', required: true }),
    out: Flags.string({ char: 'o', description: 'output directory', required: true }),
    'base-port': Flags.integer({
      description: 'port scheme base (peer B+i-1, resp B+10+i-1, http B+20+i-1)',
      default: DEFAULT_GEN_SYSTEMD.basePort,
    }),
    'install-dir': Flags.string({
      description: 'kvctl package on the VMs',
      default: DEFAULT_GEN_SYSTEMD.installDir,
    }),
    'node-path': Flags.string({
      description: 'node executable on the VMs',
      default: DEFAULT_GEN_SYSTEMD.nodePath,
    }),
    user: Flags.string({ description: 'system user running kvnode', default: DEFAULT_GEN_SYSTEMD.user }),
    'max-old-space-mb': Flags.integer({
      description: 'V8 heap cap (the key space lives there)',
      default: DEFAULT_GEN_SYSTEMD.maxOldSpaceMb,
    }),
    'memory-max-mb': Flags.integer({
      description: 'systemd MemoryMax of the unit',
      default: DEFAULT_GEN_SYSTEMD.memoryMaxMb,
    }),
    'listen-port': Flags.integer({
      description: 'Nginx listen port',
      default: DEFAULT_GEN_SYSTEMD.nginxListenPort,
    }),
    'server-name': Flags.string({
      description: 'Nginx server_name',
      default: DEFAULT_GEN_SYSTEMD.serverName,
    }),
  };

  async run(): Promise<{ files: string[] }> {
    const { flags } = await this.parse(DeployGenSystemd);
    try {
      const files = await renderDeployFiles({
        ...DEFAULT_GEN_SYSTEMD,
        nodes: parseDeployNodes(flags.nodes),
        basePort: flags['base-port'],
        installDir: flags['install-dir'],
        nodePath: flags['node-path'],
        user: flags.user,
        maxOldSpaceMb: flags['max-old-space-mb'],
        memoryMaxMb: flags['memory-max-mb'],
        nginxListenPort: flags['listen-port'],
        serverName: flags['server-name'],
      });
      const written = await writeDeployFiles(path.resolve(flags.out), files);
      for (const file of written) this.log(file);
      this.log(
        `copy cluster.secret to ${DEFAULT_GEN_SYSTEMD.secretFile} (mode 0600, owner ${flags.user}) on every VM`,
      );
      return { files: written };
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
