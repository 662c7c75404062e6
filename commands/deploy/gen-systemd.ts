import path from 'node:path';
import { Command, Flags } from '@oclif/core';

import { sizeNode, type NodeSizing } from '../../src/deploy/sizing.js';
import {
  DEFAULT_GEN_SYSTEMD,
  DEFAULT_SIZING_KEY_BYTES,
  DEFAULT_SIZING_VALUE_BYTES,
  DEFAULT_VM_MEMORY_MB,
  NODE_MAX_LOG_BYTES,
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
    'vm-memory-mb': Flags.integer({
      description: "each VM's memory: sets the unit's MemoryMax, kvnode --max-memory and the key capacity",
      default: DEFAULT_VM_MEMORY_MB,
      min: 512,
    }),
    'key-bytes': Flags.integer({
      description: 'typical key size, for the capacity estimate',
      default: DEFAULT_SIZING_KEY_BYTES,
      min: 1,
    }),
    'value-bytes': Flags.integer({
      description: 'typical value size, for the capacity estimate',
      default: DEFAULT_SIZING_VALUE_BYTES,
      min: 0,
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

  async run(): Promise<{ files: string[]; sizing: NodeSizing }> {
    const { flags } = await this.parse(DeployGenSystemd);
    try {
      const sizing = sizeNode({
        vmMemoryMb: flags['vm-memory-mb'],
        keyBytes: flags['key-bytes'],
        valueBytes: flags['value-bytes'],
        maxLogBytes: NODE_MAX_LOG_BYTES,
      });
      const files = await renderDeployFiles({
        ...DEFAULT_GEN_SYSTEMD,
        nodes: parseDeployNodes(flags.nodes),
        basePort: flags['base-port'],
        installDir: flags['install-dir'],
        nodePath: flags['node-path'],
        user: flags.user,
        sizing,
        nginxListenPort: flags['listen-port'],
        serverName: flags['server-name'],
      });
      const written = await writeDeployFiles(path.resolve(flags.out), files);
      for (const file of written) this.log(file);
      this.log(
        `copy cluster.secret to ${DEFAULT_GEN_SYSTEMD.secretFile} (mode 0600, owner ${flags.user}) on every VM`,
      );
      const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;
      this.log(
        `sizing for ${flags['vm-memory-mb']} MB VMs: MemoryMax=${sizing.memoryMaxMb}M, kvnode --max-memory ${mb(sizing.maxMemoryBytes)}; ` +
          `each node holds about ${(sizing.keysCapacity / 1e6).toFixed(1)} M keys of ${flags['key-bytes']} + ${flags['value-bytes']} bytes ` +
          `(${sizing.bytesPerKey.toFixed(0)} bytes a key), then refuses writes with -OOM`,
      );
      return { files: written, sizing };
    } catch (error) {
      this.error((error as Error).message, { exit: 1 });
    }
  }
}
