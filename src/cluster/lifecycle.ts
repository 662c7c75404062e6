/**
 * Cluster lifecycle: up (create or restart), wait until serving, down, destroy, and the
 * per-node start/stop/restart/signal used by `kvctl node ...` and the REPL's `.kill`/`.start`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

import {
  type ClusterManifest,
  type NodeEntry,
  type RemotePlacement,
  DEFAULT_BASE_PORT,
  DEFAULT_NODE_COUNT,
  createManifest,
  findNode,
  manifestExists,
  manifestPath,
  pathsOf,
  readManifest,
  writeManifest,
} from './manifest.js';
import { describeBusyPorts, findBusyPorts } from './ports.js';
import {
  type NodeSignal,
  type StartResult,
  type StopResult,
  DEFAULT_STOP_TIMEOUT_MS,
  lastLogLines,
  nodePid,
  signalNode,
  startNode,
  stopNode,
} from './process.js';
import { runSsh, remoteRemoveScript } from './ssh.js';
import { type ClusterStatus, clusterStatus } from './status.js';

export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
const REMOTE_CHECK_EVERY = 20;
const LOG_LINES_ON_FAILURE = 5;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface UpOptions {
  readonly dir: string;
  /** Used only when the cluster is created (no manifest yet). */
  readonly nodeCount?: number;
  readonly basePort?: number;
  readonly nodeArgs?: readonly string[];
  readonly remotes?: ReadonlyMap<number, RemotePlacement>;
  readonly hosts?: ReadonlyMap<number, string>;
  readonly readyTimeoutMs?: number;
  /** Progress messages for a spinner. */
  readonly onProgress?: (message: string) => void;
}

export interface UpResult {
  /** True when this call wrote a new manifest. */
  readonly created: boolean;
  /** Nodes this call spawned. */
  readonly started: number[];
  /** Nodes that were running already. */
  readonly alreadyRunning: number[];
  readonly status: ClusterStatus;
}

/**
 * Brings the cluster to "all nodes serving, a leader elected": creates the manifest if there is
 * none, starts every node that is not running (with its existing data), then waits.
 * Local ports are checked before anything is spawned, so a conflict changes nothing.
 */
export async function clusterUp(options: UpOptions): Promise<UpResult> {
  const progress = options.onProgress ?? (() => undefined);
  const exists = await manifestExists(options.dir);
  if (exists && (options.nodeCount !== undefined || options.basePort !== undefined)) {
    const manifest = await readManifest(options.dir);
    const sameSize = options.nodeCount === undefined || options.nodeCount === manifest.nodes.length;
    const sameBase = options.basePort === undefined || options.basePort === manifest.nodes[0]?.peerPort;
    if (!sameSize || !sameBase) {
      throw new Error(
        `a cluster already exists in ${options.dir} with ${manifest.nodes.length} nodes from base port ${manifest.nodes[0]?.peerPort}; ` +
          `use another --dir, or \`kvctl cluster destroy\` it first`,
      );
    }
  }
  const manifest = exists
    ? await readManifest(options.dir)
    : createManifest({
        nodeCount: options.nodeCount ?? DEFAULT_NODE_COUNT,
        basePort: options.basePort ?? DEFAULT_BASE_PORT,
        ...(options.nodeArgs !== undefined ? { nodeArgs: options.nodeArgs } : {}),
        ...(options.remotes !== undefined ? { remotes: options.remotes } : {}),
        ...(options.hosts !== undefined ? { hosts: options.hosts } : {}),
      });

  progress('checking processes');
  const pids = await Promise.all(manifest.nodes.map((node) => nodePid(options.dir, node)));
  const toStart = manifest.nodes.filter((_, index) => pids[index] === undefined);
  const alreadyRunning = manifest.nodes.filter((_, index) => pids[index] !== undefined).map((n) => n.id);

  const busy = await findBusyPorts(toStart.filter((node) => node.remote === undefined));
  if (busy.length > 0) throw new Error(describeBusyPorts(busy));
  if (!exists) await writeManifest(options.dir, manifest);

  const started: StartResult[] = [];
  for (const node of toStart) {
    progress(`starting node ${node.id}`);
    started.push(await startNode(options.dir, manifest, node));
  }
  progress('waiting for a leader');
  const status = await waitForCluster(options.dir, manifest, {
    timeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    onProgress: progress,
  });
  return {
    created: !exists,
    started: started.filter((result) => result.started).map((result) => result.id),
    alreadyRunning,
    status,
  };
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Only these nodes must be ready (default: all in the manifest). */
  readonly nodeIds?: readonly number[];
  readonly onProgress?: (message: string) => void;
}

/**
 * Polls until a leader exists and every awaited node answers /readyz 200. Fails early, with the
 * tail of its log, when an awaited node's process is gone (bad flags, port taken meanwhile).
 */
export async function waitForCluster(
  dir: string,
  manifest: ClusterManifest,
  options: WaitOptions,
): Promise<ClusterStatus> {
  const awaited = manifest.nodes.filter((node) => options.nodeIds?.includes(node.id) ?? true);
  const deadline = Date.now() + options.timeoutMs;
  let last: ClusterStatus | undefined;
  for (let round = 0; ; round++) {
    // Remote process checks cost an ssh connection each: do them every REMOTE_CHECK_EVERY rounds.
    last = await clusterStatus(dir, manifest, { remoteProcessCheck: round % REMOTE_CHECK_EVERY === 0 });
    const dead = last.nodes.filter((node) => !node.alive && awaited.some((a) => a.id === node.id));
    if (dead.length > 0) {
      const details = await Promise.all(
        dead.map(async (node) => {
          const entry = findNode(manifest, node.id);
          const log = await lastLogLines(dir, entry, LOG_LINES_ON_FAILURE).catch(() => '');
          return `node ${node.id} is not running (log ${pathsOf(dir, entry).logFile}):\n${log}`;
        }),
      );
      throw new Error(details.join('\n'));
    }
    const readyCount = last.nodes.filter(
      (node) => node.ready && awaited.some((a) => a.id === node.id),
    ).length;
    if (last.leader !== null && readyCount === awaited.length) return last;
    options.onProgress?.(
      `waiting: leader ${last.leader ?? 'none'}, ${readyCount}/${awaited.length} nodes ready`,
    );
    if (Date.now() > deadline) {
      throw new Error(
        `cluster not ready after ${options.timeoutMs} ms (leader: ${last.leader ?? 'none'}, ready: ${readyCount}/${awaited.length}); ` +
          `see the logs with \`kvctl node logs ID --dir ${dir}\``,
      );
    }
    await sleep(READY_POLL_MS);
  }
}

export async function statusOf(dir: string): Promise<ClusterStatus> {
  return clusterStatus(dir, await readManifest(dir));
}

/** Stops every node (in parallel): SIGTERM, then SIGKILL after timeoutMs. */
export async function clusterDown(
  dir: string,
  timeoutMs: number = DEFAULT_STOP_TIMEOUT_MS,
): Promise<StopResult[]> {
  const manifest = await readManifest(dir);
  return Promise.all(manifest.nodes.map((node) => stopNode(dir, node, timeoutMs)));
}

export interface DestroyResult {
  readonly stopped: StopResult[];
  readonly removed: string;
}

/** Stops all nodes, removes remote node dirs, then the cluster directory itself. */
export async function clusterDestroy(dir: string): Promise<DestroyResult> {
  const resolved = path.resolve(dir);
  if (resolved === path.parse(resolved).root) throw new Error(`invariant: refusing to remove ${resolved}`);
  if (!(await manifestExists(dir))) {
    throw new Error(
      `${manifestPath(dir)} not found: not removing ${dir}, it does not look like a cluster dir`,
    );
  }
  const stopped = await clusterDown(dir);
  const manifest = await readManifest(dir);
  for (const node of manifest.nodes) {
    if (node.remote !== undefined) {
      await runSsh(node.remote, remoteRemoveScript(pathsOf(dir, node).nodeDir));
    }
  }
  await fs.rm(resolved, { recursive: true, force: true });
  return { stopped, removed: resolved };
}

export interface NodeActionResult {
  readonly id: number;
  readonly pid: number | null;
  readonly action: string;
}

async function loadNode(dir: string, id: number): Promise<{ manifest: ClusterManifest; node: NodeEntry }> {
  const manifest = await readManifest(dir);
  return { manifest, node: findNode(manifest, id) };
}

/** Starts one node (port check first); waits until it is ready unless wait is false. */
export async function startOne(
  dir: string,
  id: number,
  options: { wait?: boolean; timeoutMs?: number } = {},
): Promise<NodeActionResult> {
  const { manifest, node } = await loadNode(dir, id);
  if (node.remote === undefined) {
    const running = await nodePid(dir, node);
    if (running !== undefined) return { id, pid: running, action: 'already running' };
    const busy = await findBusyPorts([node]);
    if (busy.length > 0) throw new Error(describeBusyPorts(busy));
  }
  // For a remote node the start script itself detects a running node (saves an ssh round trip).
  const result = await startNode(dir, manifest, node);
  if (!result.started) return { id, pid: result.pid, action: 'already running' };
  if (options.wait ?? true) {
    await waitForCluster(dir, manifest, {
      timeoutMs: options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      nodeIds: [id],
    });
  }
  return { id, pid: result.pid, action: 'started' };
}

export async function stopOne(dir: string, id: number, timeoutMs?: number): Promise<NodeActionResult> {
  const { node } = await loadNode(dir, id);
  const result = await stopNode(dir, node, timeoutMs);
  return { id, pid: result.pid ?? null, action: result.outcome };
}

export async function restartOne(
  dir: string,
  id: number,
  options: { wait?: boolean; timeoutMs?: number } = {},
): Promise<NodeActionResult> {
  await stopOne(dir, id);
  const result = await startOne(dir, id, options);
  return { ...result, action: 'restarted' };
}

/** Sends a signal (KILL by default: a crash). Throws when the node is not running. */
export async function signalOne(
  dir: string,
  id: number,
  signal: NodeSignal = 'KILL',
): Promise<NodeActionResult> {
  const { node } = await loadNode(dir, id);
  const pid = await signalNode(dir, node, signal);
  if (pid === undefined) throw new Error(`node ${id} is not running`);
  return { id, pid, action: `sent SIG${signal}` };
}
