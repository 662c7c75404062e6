/**
 * The cluster manifest (`<dir>/cluster.json`): which nodes exist, where they listen, where they
 * run (this machine or `user@host` over ssh) and the shared cluster secret. Everything else in
 * the cluster directory (data dirs, logs, pid files) is derived from it by `nodePaths`.
 *
 * Port scheme (documented in the CLI README): for base port B and node i (1-based)
 *   peer = B + (i - 1)      resp = B + 10 + (i - 1)      http = B + 20 + (i - 1)
 * so the default base 7000 gives peers 7000-7002, RESP 7010-7012, HTTP 7020-7022.
 * The stride of 10 bounds a generated cluster to 9 nodes, plenty for Raft (odd sizes ≤ 7).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'cluster.json';
export const PORT_STRIDE = 10;
export const MAX_GENERATED_NODES = 9;
export const DEFAULT_BASE_PORT = 7000;
export const DEFAULT_NODE_COUNT = 3;
export const CLUSTER_SECRET_BYTES = 32;

/** A node placed on another machine, controlled through the system `ssh`. */
export interface RemotePlacement {
  /** `user@host` or `host`, passed to ssh as the destination. */
  readonly ssh: string;
  readonly sshPort?: number;
  readonly identityFile?: string;
  /** Extra `-o` options, e.g. `UserKnownHostsFile=/path`. */
  readonly sshOptions?: readonly string[];
  /** Directory on the remote under which `nodes/<id>/` (data, log, pid, secret) lives. */
  readonly remoteDir: string;
  /** Root of the kvctl package on the remote (contains bin/kvnode.js and dist/). */
  readonly kvctlPath: string;
  /** Node.js 20+ executable on the remote; default `node` (found on the remote PATH). */
  readonly nodePath?: string;
}

export interface NodeEntry {
  readonly id: number;
  /** Address the node binds to and that peers and clients use to reach it. */
  readonly host: string;
  readonly peerPort: number;
  readonly respPort: number;
  readonly httpPort: number;
  /** Absent: the node runs on this machine. */
  readonly remote?: RemotePlacement;
}

export interface ClusterManifest {
  readonly version: typeof MANIFEST_VERSION;
  readonly createdAt: string;
  /** Hex; handed to nodes through a 0600 file, never on the command line (visible in ps). */
  readonly clusterSecret: string;
  readonly nodes: readonly NodeEntry[];
  /** Extra kvnode flags for every node, e.g. ["--tick-ms", "10"]. */
  readonly nodeArgs?: readonly string[];
}

export interface NodePorts {
  readonly id: number;
  readonly peerPort: number;
  readonly respPort: number;
  readonly httpPort: number;
}

/** The default cluster directory: `$KVCTL_DIR`, else `~/.kvctl/default`. */
export function defaultClusterDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.KVCTL_DIR;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  return path.join(os.homedir(), '.kvctl', 'default');
}

export function manifestPath(dir: string): string {
  return path.join(dir, MANIFEST_FILE);
}

/** Ports of nodes 1..nodeCount under the scheme described at the top of this file. */
export function allocatePorts(basePort: number, nodeCount: number): NodePorts[] {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_GENERATED_NODES) {
    throw new Error(`node count must be an integer in 1..${MAX_GENERATED_NODES}, got ${nodeCount}`);
  }
  const highestPort = basePort + 2 * PORT_STRIDE + nodeCount - 1;
  if (!Number.isInteger(basePort) || basePort < 1024 || highestPort > 65535) {
    throw new Error(`base port must be an integer with ${basePort}..${highestPort} inside 1024..65535`);
  }
  const ports: NodePorts[] = [];
  for (let index = 0; index < nodeCount; index++) {
    ports.push({
      id: index + 1,
      peerPort: basePort + index,
      respPort: basePort + PORT_STRIDE + index,
      httpPort: basePort + 2 * PORT_STRIDE + index,
    });
  }
  return ports;
}

export function generateClusterSecret(): string {
  return randomBytes(CLUSTER_SECRET_BYTES).toString('hex');
}

export interface CreateManifestOptions {
  readonly nodeCount: number;
  readonly basePort: number;
  readonly host?: string;
  readonly nodeArgs?: readonly string[];
  /** Nodes to place on remote machines, by id. */
  readonly remotes?: ReadonlyMap<number, RemotePlacement>;
  /** Address a node listens on, by id, when not `host` (remote nodes listen on their machine's). */
  readonly hosts?: ReadonlyMap<number, string>;
  readonly now?: Date;
}

export function createManifest(options: CreateManifestOptions): ClusterManifest {
  const host = options.host ?? '127.0.0.1';
  const nodes = allocatePorts(options.basePort, options.nodeCount).map((ports): NodeEntry => {
    const remote = options.remotes?.get(ports.id);
    const nodeHost = options.hosts?.get(ports.id) ?? host;
    return remote === undefined ? { ...ports, host: nodeHost } : { ...ports, host: nodeHost, remote };
  });
  for (const id of options.remotes?.keys() ?? []) {
    if (!nodes.some((node) => node.id === id)) throw new Error(`remote placement for unknown node ${id}`);
  }
  const manifest: ClusterManifest = {
    version: MANIFEST_VERSION,
    createdAt: (options.now ?? new Date()).toISOString(),
    clusterSecret: generateClusterSecret(),
    nodes,
    ...(options.nodeArgs !== undefined && options.nodeArgs.length > 0 ? { nodeArgs: options.nodeArgs } : {}),
  };
  return validateManifest(manifest);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requirePort(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`manifest: ${what} must be a port number (1..65535)`);
  }
  return value;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '')
    throw new Error(`manifest: ${what} must be a non-empty string`);
  return value;
}

function optionalStringArray(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new Error(`manifest: ${what} must be an array of strings`);
  }
  return value as string[];
}

function parseRemote(value: unknown, what: string): RemotePlacement {
  if (!isRecord(value)) throw new Error(`manifest: ${what} must be an object`);
  const ssh = requireString(value.ssh, `${what}.ssh`);
  if (ssh.startsWith('-')) throw new Error(`manifest: ${what}.ssh must not start with "-"`);
  const remote: RemotePlacement = {
    ssh,
    remoteDir: requireString(value.remoteDir, `${what}.remoteDir`),
    kvctlPath: requireString(value.kvctlPath, `${what}.kvctlPath`),
    ...(value.sshPort !== undefined ? { sshPort: requirePort(value.sshPort, `${what}.sshPort`) } : {}),
    ...(value.identityFile !== undefined
      ? { identityFile: requireString(value.identityFile, `${what}.identityFile`) }
      : {}),
    ...(value.nodePath !== undefined ? { nodePath: requireString(value.nodePath, `${what}.nodePath`) } : {}),
  };
  const sshOptions = optionalStringArray(value.sshOptions, `${what}.sshOptions`);
  return sshOptions === undefined ? remote : { ...remote, sshOptions };
}

/**
 * Checks a parsed manifest and returns it typed. Errors name the offending field, because a
 * hand-edited manifest (remote placements are written by hand) is the common source of them.
 */
export function validateManifest(value: unknown): ClusterManifest {
  if (!isRecord(value)) throw new Error('manifest: not a JSON object');
  if (value.version !== MANIFEST_VERSION) {
    throw new Error(`manifest: unsupported version ${String(value.version)} (expected ${MANIFEST_VERSION})`);
  }
  const clusterSecret = requireString(value.clusterSecret, 'clusterSecret');
  if (!Array.isArray(value.nodes) || value.nodes.length === 0) {
    throw new Error('manifest: nodes must be a non-empty array');
  }
  const nodes = value.nodes.map((raw: unknown, index): NodeEntry => {
    const what = `nodes[${index}]`;
    if (!isRecord(raw)) throw new Error(`manifest: ${what} must be an object`);
    if (typeof raw.id !== 'number' || !Number.isInteger(raw.id) || raw.id < 1) {
      throw new Error(`manifest: ${what}.id must be a positive integer`);
    }
    const node: NodeEntry = {
      id: raw.id,
      host: requireString(raw.host, `${what}.host`),
      peerPort: requirePort(raw.peerPort, `${what}.peerPort`),
      respPort: requirePort(raw.respPort, `${what}.respPort`),
      httpPort: requirePort(raw.httpPort, `${what}.httpPort`),
    };
    return raw.remote === undefined ? node : { ...node, remote: parseRemote(raw.remote, `${what}.remote`) };
  });
  const ids = new Set<number>();
  const endpoints = new Set<string>();
  for (const node of nodes) {
    if (ids.has(node.id)) throw new Error(`manifest: duplicate node id ${node.id}`);
    ids.add(node.id);
    for (const port of [node.peerPort, node.respPort, node.httpPort]) {
      const endpoint = `${node.host}:${port}`;
      if (endpoints.has(endpoint)) throw new Error(`manifest: address ${endpoint} is used twice`);
      endpoints.add(endpoint);
    }
  }
  const nodeArgs = optionalStringArray(value.nodeArgs, 'nodeArgs');
  return {
    version: MANIFEST_VERSION,
    createdAt: typeof value.createdAt === 'string' ? value.createdAt : new Date(0).toISOString(),
    clusterSecret,
    nodes,
    ...(nodeArgs !== undefined ? { nodeArgs } : {}),
  };
}

export async function manifestExists(dir: string): Promise<boolean> {
  try {
    await fs.access(manifestPath(dir));
    return true;
  } catch {
    return false;
  }
}

export async function readManifest(dir: string): Promise<ClusterManifest> {
  const file = manifestPath(dir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`no cluster in ${dir} (no ${MANIFEST_FILE}); run \`kvctl cluster up --dir ${dir}\``);
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  return validateManifest(parsed);
}

/** Atomic (temp file + rename) and private (0600: it holds the cluster secret). */
export async function writeManifest(dir: string, manifest: ClusterManifest): Promise<void> {
  validateManifest(manifest);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = manifestPath(dir);
  const temp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(temp, file);
}

export function findNode(manifest: ClusterManifest, id: number): NodeEntry {
  const node = manifest.nodes.find((candidate) => candidate.id === id);
  if (node === undefined) {
    throw new Error(`no node ${id} in this cluster (nodes: ${manifest.nodes.map((n) => n.id).join(', ')})`);
  }
  return node;
}

export function respAddress(node: NodeEntry): string {
  return `${node.host}:${node.respPort}`;
}
export function httpAddress(node: NodeEntry): string {
  return `${node.host}:${node.httpPort}`;
}
export function peerAddress(node: NodeEntry): string {
  return `${node.host}:${node.peerPort}`;
}

/** Files of one node, relative to a base directory (the cluster dir, or a remote's remoteDir). */
export interface NodePaths {
  readonly nodeDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly secretFile: string;
}

/** Uses posix joins: the same layout is used on remote machines, whose paths are always posix. */
export function nodePaths(baseDir: string, id: number): NodePaths {
  const nodeDir = path.posix.join(baseDir, 'nodes', String(id));
  return {
    nodeDir,
    dataDir: path.posix.join(nodeDir, 'data'),
    logFile: path.posix.join(nodeDir, 'kvnode.log'),
    pidFile: path.posix.join(nodeDir, 'kvnode.pid'),
    secretFile: path.posix.join(nodeDir, 'cluster.secret'),
  };
}

/** Where a node's files are: under the cluster dir locally, under remoteDir on its machine. */
export function pathsOf(clusterDir: string, node: NodeEntry): NodePaths {
  return nodePaths(node.remote?.remoteDir ?? clusterDir, node.id);
}

/** The kvnode command line (without the node executable and script) for one node. */
export function kvnodeArgs(manifest: ClusterManifest, node: NodeEntry, paths: NodePaths): string[] {
  const list = (address: (n: NodeEntry) => string): string =>
    manifest.nodes.map((n) => `${n.id}=${address(n)}`).join(',');
  return [
    '--id',
    String(node.id),
    '--data-dir',
    paths.dataDir,
    '--peers',
    list(peerAddress),
    '--listen-peer',
    peerAddress(node),
    '--listen-resp',
    respAddress(node),
    '--listen-http',
    httpAddress(node),
    '--cluster-secret-file',
    paths.secretFile,
    '--peer-resp',
    list(respAddress),
    '--peer-http',
    list(httpAddress),
    ...(manifest.nodeArgs ?? []),
  ];
}

export interface RemoteSpec {
  readonly id: number;
  /** ssh destination: `user@host` or `host`. */
  readonly ssh: string;
  /** The host part: where the node listens and is reached. */
  readonly host: string;
  readonly sshPort?: number;
}

/** Parses `ID=[user@]host[:sshPort]` (the `--remote` flag of `kvctl cluster up`). */
export function parseRemoteSpec(spec: string): RemoteSpec {
  const match = /^(\d+)=(?:([A-Za-z0-9._-]+)@)?([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(spec.trim());
  if (match === null || match[1] === undefined || match[3] === undefined) {
    throw new Error(`--remote: expected ID=[user@]host[:sshPort], got "${spec}"`);
  }
  const id = Number(match[1]);
  if (id < 1) throw new Error(`--remote: node ids start at 1 ("${spec}")`);
  const host = match[3];
  const ssh = match[2] === undefined ? host : `${match[2]}@${host}`;
  if (match[4] === undefined) return { id, ssh, host };
  return { id, ssh, host, sshPort: requirePort(Number(match[4]), `--remote ${spec} ssh port`) };
}

export interface RemoteDefaults {
  readonly identityFile?: string;
  readonly sshOptions?: readonly string[];
  readonly remoteDir?: string;
  readonly kvctlPath?: string;
  readonly nodePath?: string;
}

/** Turns `--remote` specs plus the shared ssh flags into createManifest's remotes and hosts. */
export function buildRemotes(
  specs: readonly string[],
  defaults: RemoteDefaults,
): { remotes: Map<number, RemotePlacement>; hosts: Map<number, string> } {
  const remotes = new Map<number, RemotePlacement>();
  const hosts = new Map<number, string>();
  if (specs.length === 0) return { remotes, hosts };
  if (defaults.remoteDir === undefined || !defaults.remoteDir.startsWith('/')) {
    throw new Error('--remote needs --remote-dir, an absolute path on the remote machines');
  }
  if (defaults.kvctlPath === undefined || !defaults.kvctlPath.startsWith('/')) {
    throw new Error(
      '--remote needs --remote-kvctl, the absolute path of the kvctl package on the remote machines',
    );
  }
  for (const spec of specs.map(parseRemoteSpec)) {
    if (remotes.has(spec.id)) throw new Error(`--remote: node ${spec.id} given twice`);
    remotes.set(spec.id, {
      ssh: spec.ssh,
      remoteDir: defaults.remoteDir,
      kvctlPath: defaults.kvctlPath,
      ...(spec.sshPort !== undefined ? { sshPort: spec.sshPort } : {}),
      ...(defaults.identityFile !== undefined ? { identityFile: defaults.identityFile } : {}),
      ...(defaults.sshOptions !== undefined && defaults.sshOptions.length > 0
        ? { sshOptions: defaults.sshOptions }
        : {}),
      ...(defaults.nodePath !== undefined ? { nodePath: defaults.nodePath } : {}),
    });
    hosts.set(spec.id, spec.host);
  }
  return { remotes, hosts };
}
