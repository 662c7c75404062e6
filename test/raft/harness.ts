/**
 * A tiny in-memory cluster for paper tests: N cores, a message queue delivered in FIFO order,
 * per-node "disk" (hard state + log + snapshot meta) written on every Ready, drop rules, and
 * restart from the disk. Everything is synchronous and deterministic.
 */
import {
  createRng,
  EntryType,
  MessageType,
  RaftCore,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Ready,
  type SnapshotMeta,
} from '../../src/raft/index.js';

export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 1;

export function config(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id,
    electionTimeoutTicks: ELECTION_TICKS,
    heartbeatTimeoutTicks: HEARTBEAT_TICKS,
    preVote: false,
    checkQuorum: false,
    maxInflightMsgs: 256,
    maxEntriesPerMsg: 64,
    maxBytesPerMsg: 1 << 20,
    maxUncommittedEntries: 10_000,
    rng: createRng(id * 7919),
    ...overrides,
  };
}

/**
 * A founding node after its bootstrap: the initial membership (voters.length + learners.length
 * ConfChange entries of term 0) is durable and applied, so the first client entry comes after it.
 */
export function freshCore(
  id: NodeId,
  voters: NodeId[],
  overrides: Partial<RaftConfig> = {},
  learners: NodeId[] = [],
) {
  const core = new RaftCore(config(id, overrides), {
    hardState: { term: 0, vote: 0, commit: 0 },
    confState: { voters, learners },
    entries: [],
    applied: 0,
  });
  while (core.hasReady()) drain(core);
  return core;
}

/** A core whose durable state is given directly (used to set up log scenarios). */
export function coreWithLog(
  id: NodeId,
  voters: NodeId[],
  terms: number[],
  hardState: Partial<HardState> = {},
  overrides: Partial<RaftConfig> = {},
): RaftCore {
  const entries = terms.map((t, i) => entry(i + 1, t));
  const last = terms[terms.length - 1] ?? 0;
  return new RaftCore(config(id, overrides), {
    hardState: { term: hardState.term ?? last, vote: hardState.vote ?? 0, commit: hardState.commit ?? 0 },
    confState: { voters, learners: [] },
    entries,
    applied: 0,
  });
}

export function entry(index: number, term: number, data = 'x'): Entry {
  return { index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) };
}

export function msg(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return {
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    rejectTerm: 0,
    context: 0,
    ...fields,
  };
}

/** Drains one Ready, persisting nothing, returning it (after advance). */
export function drain(core: RaftCore): Ready {
  const rd = core.ready();
  core.advance(rd);
  return rd;
}

/** All messages of a drained Ready (before- and after-persist). */
export function drainMessages(core: RaftCore): Message[] {
  const rd = drain(core);
  return [...rd.messagesBeforePersist, ...rd.messages];
}

export const text = (e: Entry): string => new TextDecoder().decode(e.data);

interface Disk {
  hardState: HardState;
  snapshot: SnapshotMeta | undefined;
  entries: Entry[];
}

export class Cluster {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly disks = new Map<NodeId, Disk>();
  /** Entries applied by each node's "state machine", in order (snapshot installs are recorded as a marker). */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly snapshotsInstalled = new Map<NodeId, SnapshotMeta[]>();
  readonly configs = new Map<NodeId, Partial<RaftConfig>>();
  /** Messages in flight, delivered FIFO. */
  queue: Message[] = [];
  /** Every message ever sent (for assertions on traffic). */
  readonly sent: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly down = new Set<NodeId>();
  /** Extra drop rule; return true to drop. */
  dropIf: ((m: Message) => boolean) | undefined;

  constructor(
    readonly ids: NodeId[],
    overrides: Partial<RaftConfig> = {},
    initialConf: ConfState = { voters: ids, learners: [] },
  ) {
    for (const id of ids) this.addNode(id, overrides, initialConf);
  }

  addNode(
    id: NodeId,
    overrides: Partial<RaftConfig> = {},
    conf: ConfState = { voters: [], learners: [] },
  ): void {
    this.configs.set(id, overrides);
    this.disks.set(id, { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] });
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.snapshotsInstalled.set(id, []);
    this.cores.set(
      id,
      new RaftCore(config(id, overrides), {
        hardState: { term: 0, vote: 0, commit: 0 },
        confState: conf,
        entries: [],
        applied: 0,
      }),
    );
  }

  /** A cluster whose nodes boot from the given logs (terms per index) at hard-state `term`. */
  static fromLogs(
    logs: Record<number, number[]>,
    term: number,
    overrides: Partial<RaftConfig> = {},
  ): Cluster {
    const ids = Object.keys(logs).map(Number);
    const c = new Cluster(ids, overrides);
    for (const id of ids) {
      const entries = logs[id]!.map((t, i) => entry(i + 1, t));
      const disk = { hardState: { term, vote: 0, commit: 0 }, snapshot: undefined, entries };
      c.disks.set(id, disk);
      c.restart(id);
    }
    return c;
  }

  /** Terms of `id`'s in-memory log (via its durable disk, which the harness keeps in sync). */
  logTerms(id: NodeId): number[] {
    return this.disks.get(id)!.entries.map((e) => e.term);
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (c === undefined) throw new Error(`no core ${id}`);
    return c;
  }

  /** Cuts the link both ways. */
  isolateLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.cores.keys()) if (other !== id) this.isolateLink(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Stops a node: volatile state is lost, its disk is kept. */
  crash(id: NodeId): void {
    this.down.add(id);
    for (const m of this.queue) {
      // Like a host's transport: a snapshot stream to a crashed node fails, and its sender hears so
      // (else its progress waits in snapshot state forever).
      if (m.to === id && m.type === MessageType.Snapshot && !this.down.has(m.from))
        this.core(m.from).reportSnapshotStatus(id, false);
    }
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  /** Restarts a crashed node from its disk. */
  restart(id: NodeId): void {
    const disk = this.disks.get(id)!;
    this.down.delete(id);
    this.applied.set(id, []);
    const snap = disk.snapshot;
    this.cores.set(
      id,
      new RaftCore(config(id, this.configs.get(id)), {
        hardState: disk.hardState,
        snapshot: snap,
        confState: { voters: this.ids, learners: [] },
        entries: disk.entries,
        applied: snap?.index ?? 0,
      }),
    );
  }

  isDown(id: NodeId): boolean {
    return this.down.has(id);
  }

  /** One Ready for `id`, handled like a host: send early msgs, persist, send, apply, advance. */
  processReady(id: NodeId): boolean {
    if (this.down.has(id)) return false;
    const core = this.core(id);
    if (!core.hasReady()) return false;
    const rd = core.ready();
    for (const m of rd.messagesBeforePersist) this.enqueue(m);
    const disk = this.disks.get(id)!;
    if (rd.snapshot !== undefined) {
      disk.snapshot = rd.snapshot;
      disk.entries = disk.entries.filter((e) => e.index > rd.snapshot!.index);
      this.snapshotsInstalled.get(id)!.push(rd.snapshot);
      this.applied.get(id)!.length = 0;
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      disk.entries = disk.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState !== undefined) disk.hardState = rd.hardState;
    for (const m of rd.messages) this.enqueue(m);
    this.applied.get(id)!.push(...rd.committedEntries);
    this.readStates.get(id)!.push(...rd.readStates);
    core.advance(rd);
    return true;
  }

  private enqueue(m: Message): void {
    this.sent.push(m);
    this.queue.push(m);
  }

  private deliverable(m: Message): boolean {
    if (this.down.has(m.to) || this.down.has(m.from)) return false;
    if (!this.cores.has(m.to)) return false;
    if (this.cut.has(`${m.from}-${m.to}`)) return false;
    if (this.dropIf !== undefined && this.dropIf(m)) return false;
    return true;
  }

  /** Delivers every queued message once (new ones wait for the next round). */
  deliverAll(): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of batch) {
      const ok = this.deliverable(m);
      // Like a host: the snapshot's bytes are streamed, made durable on the follower, then the
      // message is delivered there, and the leader learns how the stream ended.
      if (m.type === MessageType.Snapshot && !this.down.has(m.from))
        this.core(m.from).reportSnapshotStatus(m.to, ok);
      if (!ok) continue;
      this.core(m.to).step(m);
      n++;
    }
    return n;
  }

  /** Processes Readies and delivers messages until quiet. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let busy = false;
      for (const id of this.cores.keys()) while (this.processReady(id)) busy = true;
      if (this.queue.length > 0) {
        this.deliverAll();
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error('cluster did not stabilize');
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) if (!this.down.has(id)) this.core(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.cores.keys()) this.tick(id);
      this.stabilize();
    }
  }

  /** Makes `id` campaign by ticking only it past its election timeout, then stabilizes. */
  elect(id: NodeId): void {
    for (let i = 0; i < 2 * ELECTION_TICKS + 1; i++) {
      this.tick(id);
      this.stabilize();
      if (this.core(id).status().role === 3) return;
    }
    throw new Error(`node ${id} did not become leader`);
  }

  leader(): NodeId | undefined {
    for (const [id, c] of this.cores) if (!this.down.has(id) && c.status().role === 3) return id;
    return undefined;
  }

  appliedData(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0)
      .map(text);
  }

  propose(id: NodeId, data: string) {
    return this.core(id).propose(new TextEncoder().encode(data));
  }

  countSent(type: MessageType): number {
    return this.sent.filter((m) => m.type === type).length;
  }
}
