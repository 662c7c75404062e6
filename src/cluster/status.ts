/**
 * What a node says about itself (GET /v1/status, GET /readyz on its HTTP port), and the cluster
 * view assembled from all of them plus the process table.
 */
import { type ClusterManifest, type NodeEntry, httpAddress, peerAddress, respAddress } from './manifest.js';
import { nodePid } from './process.js';

/** GET /v1/status as documented in NODE-SPEC.md (fields we use; extra fields are kept). */
export interface NodeReportedStatus {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex?: number;
  readonly pid?: number;
  /** Keys in the node's state machine. */
  readonly keys?: number;
  readonly memory?: NodeMemory;
}

/**
 * GET /v1/status `memory` (bytes). usedBytes is what the node's --max-memory quota counts (store
 * + Raft log + V8 heap in use); rssBytes is the process's resident set. Every field is optional
 * here (older nodes send none); numeric fields we do not name are kept as the node sent them.
 */
export interface NodeMemory {
  readonly usedBytes?: number;
  readonly rssBytes?: number;
  readonly maxMemoryBytes?: number;
  readonly datasetBytes?: number;
  readonly raftLogBytes?: number;
  readonly keys?: number;
  readonly [field: string]: number | undefined;
}

export const STATUS_TIMEOUT_MS = 1_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** The numeric fields of a `memory` object; undefined when there is none (or nothing numeric). */
export function parseNodeMemory(value: unknown): NodeMemory | undefined {
  if (!isRecord(value)) return undefined;
  const memory: Record<string, number> = {};
  for (const [field, n] of Object.entries(value)) if (isCount(n)) memory[field] = n;
  return Object.keys(memory).length > 0 ? memory : undefined;
}

export async function fetchNodeStatus(
  node: NodeEntry,
  timeoutMs: number = STATUS_TIMEOUT_MS,
): Promise<NodeReportedStatus | undefined> {
  try {
    const response = await fetch(`http://${httpAddress(node)}/v1/status`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    if (!isRecord(body) || typeof body.role !== 'string' || typeof body.term !== 'number') return undefined;
    const memory = parseNodeMemory(body.memory);
    return {
      id: Number(body.id),
      role: body.role,
      term: body.term,
      leader: Number(body.leader ?? 0),
      commitIndex: Number(body.commitIndex ?? 0),
      appliedIndex: Number(body.appliedIndex ?? 0),
      ...(typeof body.lastIndex === 'number' ? { lastIndex: body.lastIndex } : {}),
      ...(typeof body.pid === 'number' ? { pid: body.pid } : {}),
      ...(isCount(body.keys) ? { keys: body.keys } : {}),
      ...(memory !== undefined ? { memory } : {}),
    };
  } catch {
    return undefined;
  }
}

/** /readyz: 200 once the node knows a leader and has applied what was committed then. */
export async function fetchReady(node: NodeEntry, timeoutMs: number = STATUS_TIMEOUT_MS): Promise<boolean> {
  try {
    const response = await fetch(`http://${httpAddress(node)}/readyz`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

export type NodeRole = 'leader' | 'follower' | 'candidate' | 'precandidate' | 'down' | 'unreachable';

/** One row of `kvctl cluster status --json`. Raft fields are null when the node did not answer. */
export interface NodeStatus {
  readonly id: number;
  /** down: no process; unreachable: a process but no HTTP answer (paused, starting, hung). */
  readonly role: NodeRole | string;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly pid: number | null;
  /** Keys in the node's state machine (memory.keys, else the status's keys); null if unknown. */
  readonly keys: number | null;
  /** As the node reports it (see NodeMemory); null when it did not answer or sent none. */
  readonly memory: NodeMemory | null;
  /** The process exists (for remote nodes: as seen over ssh). */
  readonly alive: boolean;
  readonly ready: boolean;
  readonly resp: string;
  readonly http: string;
  readonly peer: string;
  readonly location: string;
}

export interface ClusterStatus {
  readonly dir: string;
  /** Id of the leader with the highest term among answering nodes; null if none. */
  readonly leader: number | null;
  readonly nodes: NodeStatus[];
}

export interface StatusOptions {
  /**
   * Check the process of a remote node that does not answer HTTP (one ssh connection). Pollers
   * turn this off for most rounds; then such a node counts as alive ("unreachable").
   */
  readonly remoteProcessCheck?: boolean;
}

export async function nodeStatus(
  clusterDir: string,
  node: NodeEntry,
  options: StatusOptions = {},
): Promise<NodeStatus> {
  const [reported, ready] = await Promise.all([fetchNodeStatus(node), fetchReady(node)]);
  // A node that answers is alive and names its pid: skip the process check, which for a remote
  // node costs an ssh connection (status is polled while waiting for a cluster to come up).
  const skipCheck =
    node.remote !== undefined && (reported?.pid !== undefined || options.remoteProcessCheck === false);
  const pid = skipCheck ? reported?.pid : await nodePid(clusterDir, node).catch(() => undefined);
  const alive = pid !== undefined || reported !== undefined || skipCheck;
  return {
    id: node.id,
    role: reported?.role ?? (alive ? 'unreachable' : 'down'),
    term: reported?.term ?? null,
    commitIndex: reported?.commitIndex ?? null,
    appliedIndex: reported?.appliedIndex ?? null,
    pid: pid ?? reported?.pid ?? null,
    keys: reported?.memory?.keys ?? reported?.keys ?? null,
    memory: reported?.memory ?? null,
    alive,
    ready,
    resp: respAddress(node),
    http: httpAddress(node),
    peer: peerAddress(node),
    location: node.remote === undefined ? 'local' : node.remote.ssh,
  };
}

/** Picks the leader: a self-declared leader with the highest term (a deposed one has a lower term). */
export function electLeader(nodes: readonly NodeStatus[]): number | null {
  let best: NodeStatus | undefined;
  for (const node of nodes) {
    if (node.role !== 'leader' || node.term === null) continue;
    if (best === undefined || (best.term ?? 0) < node.term) best = node;
  }
  return best?.id ?? null;
}

export async function clusterStatus(
  clusterDir: string,
  manifest: ClusterManifest,
  options: StatusOptions = {},
): Promise<ClusterStatus> {
  const nodes = await Promise.all(manifest.nodes.map((node) => nodeStatus(clusterDir, node, options)));
  return { dir: clusterDir, leader: electLeader(nodes), nodes };
}
