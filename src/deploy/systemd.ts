/**
 * Renders templates/kvnode.service (one unit per node) and templates/nginx.conf (the HTTP API
 * behind Nginx) for a cluster of small VMs, one node per VM.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

import { allocatePorts, generateClusterSecret } from '../cluster/manifest.js';
import { packageRoot } from '../cluster/process.js';
import { KVNODE_NODE_FLAGS } from '../cluster/runtime-flags.js';
import { sizeNode, type NodeSizing } from './sizing.js';

/** Replaces every {{name}}; a placeholder without a value is an error, not an empty string. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  const missing = new Set<string>();
  const rendered = template.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) throw new Error(`template: no value for ${[...missing].join(', ')}`);
  return rendered;
}

export interface DeployHost {
  readonly id: number;
  readonly host: string;
}

/** Parses `1=10.0.0.1,2=10.0.0.2,3=10.0.0.3` (or bare `10.0.0.1,10.0.0.2`, numbered from 1). */
export function parseDeployNodes(spec: string): DeployHost[] {
  const items = spec
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new Error('--nodes: expected e.g. 1=10.0.0.1,2=10.0.0.2,3=10.0.0.3');
  const hosts = items.map((item, index): DeployHost => {
    const match = /^(?:(\d+)=)?([A-Za-z0-9.:_-]+)$/.exec(item);
    if (match === null || match[2] === undefined) throw new Error(`--nodes: bad entry "${item}"`);
    const id = match[1] === undefined ? index + 1 : Number(match[1]);
    if (id < 1) throw new Error(`--nodes: node ids start at 1 ("${item}")`);
    return { id, host: match[2] };
  });
  if (new Set(hosts.map((h) => h.id)).size !== hosts.length) throw new Error('--nodes: duplicate node id');
  return hosts;
}

export interface GenSystemdOptions {
  readonly nodes: readonly DeployHost[];
  /** Ports follow the manifest scheme: peer B+i-1, resp B+10+i-1, http B+20+i-1. */
  readonly basePort: number;
  readonly installDir: string;
  readonly nodePath: string;
  readonly user: string;
  readonly dataDir: string;
  readonly secretFile: string;
  /** MemoryMax, --max-memory and heap cap, from the memory model (sizing.ts). */
  readonly sizing: NodeSizing;
  readonly nginxListenPort: number;
  readonly serverName: string;
  readonly maxBodyMb: number;
  readonly templatesDir?: string;
}

export const DEFAULT_VM_MEMORY_MB = 1024;
export const DEFAULT_SIZING_KEY_BYTES = 16;
export const DEFAULT_SIZING_VALUE_BYTES = 100;
/** kvnode's --max-log-bytes default (node/config.ts). */
export const NODE_MAX_LOG_BYTES = 64 * 1024 * 1024;

export const DEFAULT_GEN_SYSTEMD: Omit<GenSystemdOptions, 'nodes'> = {
  basePort: 7000,
  installDir: '/opt/kvctl',
  nodePath: '/usr/bin/node',
  user: 'kvnode',
  dataDir: '/var/lib/kvnode',
  secretFile: '/etc/kvnode/cluster.secret',
  // 1 GB VM: 850 MB hard cap for the unit, 650 MB of it for data (--max-memory).
  sizing: sizeNode({
    vmMemoryMb: DEFAULT_VM_MEMORY_MB,
    keyBytes: DEFAULT_SIZING_KEY_BYTES,
    valueBytes: DEFAULT_SIZING_VALUE_BYTES,
    maxLogBytes: NODE_MAX_LOG_BYTES,
  }),
  nginxListenPort: 80,
  serverName: '_',
  maxBodyMb: 64,
};

export interface RenderedFile {
  readonly name: string;
  readonly content: string;
  readonly mode: number;
}

/** The files to write: kvnode-<id>.service per node, nginx.conf, cluster.secret (0600). */
export async function renderDeployFiles(options: GenSystemdOptions): Promise<RenderedFile[]> {
  const templatesDir = options.templatesDir ?? path.join(packageRoot(), 'templates');
  const [unitTemplate, nginxTemplate] = await Promise.all([
    fs.readFile(path.join(templatesDir, 'kvnode.service'), 'utf8'),
    fs.readFile(path.join(templatesDir, 'nginx.conf'), 'utf8'),
  ]);
  const maxId = Math.max(...options.nodes.map((node) => node.id));
  // One node per VM, so every node may use the same ports; ids index the port scheme only to
  // keep generated configs identical in shape to a local cluster's.
  const ports = allocatePorts(options.basePort, maxId);
  const portsOf = (id: number) => {
    const found = ports.find((p) => p.id === id);
    if (found === undefined) throw new Error(`invariant: no ports for node ${id}`);
    return found;
  };
  const list = (pick: (node: DeployHost) => string) =>
    options.nodes.map((node) => `${node.id}=${pick(node)}`).join(',');
  const peers = list((n) => `${n.host}:${portsOf(n.id).peerPort}`);
  const peerResp = list((n) => `${n.host}:${portsOf(n.id).respPort}`);
  const peerHttp = list((n) => `${n.host}:${portsOf(n.id).httpPort}`);

  const files: RenderedFile[] = options.nodes.map((node) => {
    const own = portsOf(node.id);
    const kvnodeArgs = [
      `--id ${node.id}`,
      `--data-dir ${options.dataDir}`,
      `--peers ${peers}`,
      `--listen-peer ${node.host}:${own.peerPort}`,
      `--listen-resp ${node.host}:${own.respPort}`,
      `--listen-http ${node.host}:${own.httpPort}`,
      `--max-memory ${options.sizing.maxMemoryBytes}`,
      `--cluster-secret-file ${options.secretFile}`,
      `--peer-resp ${peerResp}`,
      `--peer-http ${peerHttp}`,
      // Behind Nginx a 307 to an internal address would escape the proxy: forward instead.
      '--follower-mode forward',
    ].join(' ');
    return {
      name: `kvnode-${node.id}.service`,
      mode: 0o644,
      content: renderTemplate(unitTemplate, {
        id: node.id,
        nodeCount: options.nodes.length,
        host: node.host,
        user: options.user,
        nodePath: options.nodePath,
        nodeFlags: KVNODE_NODE_FLAGS.join(' '),
        installDir: options.installDir,
        maxOldSpaceMb: options.sizing.maxOldSpaceMb,
        memoryMaxMb: options.sizing.memoryMaxMb,
        maxMemoryMb: Math.round(options.sizing.maxMemoryBytes / 1024 / 1024),
        dataDir: options.dataDir,
        kvnodeArgs,
      }),
    };
  });
  const upstreamServers = options.nodes
    .map((node) => `    server ${node.host}:${portsOf(node.id).httpPort} max_fails=2 fail_timeout=5s;`)
    .join('\n');
  files.push({
    name: 'nginx.conf',
    mode: 0o644,
    content: renderTemplate(nginxTemplate, {
      upstreamServers,
      listenPort: options.nginxListenPort,
      serverName: options.serverName,
      maxBodyMb: options.maxBodyMb,
    }),
  });
  files.push({ name: 'cluster.secret', mode: 0o600, content: generateClusterSecret() });
  return files;
}

export async function writeDeployFiles(outDir: string, files: readonly RenderedFile[]): Promise<string[]> {
  await fs.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of files) {
    const target = path.join(outDir, file.name);
    await fs.writeFile(target, file.content, { mode: file.mode });
    await fs.chmod(target, file.mode);
    written.push(target);
  }
  return written;
}
