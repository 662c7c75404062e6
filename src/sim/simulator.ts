import { applyConfChange, decodeConfChange } from '../raft/confchange.js';
import { createRng } from '../raft/rng.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  Role,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftStatus,
  type Ready,
  type Rng,
} from '../raft/types.js';
import { InvariantChecker, InvariantViolation, type InvariantName } from './checker.js';
import type { StoredSnapshot } from './disk.js';
import { EventQueue } from './event-queue.js';
import { chainEntry, finish, mix } from './hash.js';
import { HEALTHY_NETWORK, SimNetwork, between, chance, type NetworkFaults } from './network.js';
import { MAX_WAITING_READS, SimNode, createRaftCore, type CoreFactory } from './sim-node.js';
import { RegisterMachine, encodeWrite } from './state-machine.js';

export interface SimOptions {
  readonly seed: number;
  /** Size of the initial cluster. */
  readonly nodes: 3 | 5;
  /** Events processed in the fault phase before the faults heal (default DEFAULT_SIM_STEPS). */
  readonly steps?: number;
  /** Receives one line per event and per notable decision when given (the --verbose trace). */
  readonly log?: (line: string) => void;
  /** Builds each core (default: RaftCore). Tests pass a wrapper to inject bugs. */
  readonly createCore?: CoreFactory;
}

export interface SimStats {
  readonly steps: number;
  readonly virtualMs: number;
  readonly elections: number;
  readonly maxTerm: number;
  readonly committed: number;
  readonly writesProposed: number;
  readonly readsServed: number;
  readonly crashes: number;
  readonly snapshotsTaken: number;
  readonly snapshotsSent: number;
  readonly confChanges: number;
  readonly transfers: number;
  readonly messagesSent: number;
  /** Readies taken while an earlier one of the same node was still waiting for its fsync. */
  readonly readiesPipelined: number;
  /** Most Readies one node had outstanding at once. */
  readonly maxPipelineDepth: number;
  /** Readies whose only change was the commit index: no write, no fsync (host.ts persist()). */
  readonly fsyncsSkipped: number;
  /** Ticks from the heal until a leader committed a fresh write everywhere and served a read. */
  readonly recoveryTicks: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  /** Hash of every event, message and decision: equal for two runs of one seed. */
  readonly traceHash: number;
  readonly stats: SimStats;
}

export const DEFAULT_SIM_STEPS = 4000;
const TICK_MS = 10;
const ELECTION_TIMEOUT_TICKS = 10;
/** After the faults heal, a leader must commit a fresh write on every member and serve a read within this many ticks. */
export const LIVENESS_BOUND_TICKS = 40 * ELECTION_TIMEOUT_TICKS;
/** Hard cap on steps in the heal phase (a stuck run is a liveness failure, not a hang). */
const MAX_HEAL_STEPS = 200_000;
/** Keys of the register map: few, so that reads and writes collide. */
const KEY_COUNT = 8;
/** Bound on the Readies a simulated host keeps outstanding (the core allows MAX_INFLIGHT_READIES). */
const MAX_PIPELINE_DEPTH = 8;
/** Node ids are handed out once; added nodes get fresh ids up to this many in total. */
const MAX_NODE_IDS = 9;

/** How to replay one seed with the full trace. */
export function replayCommand(seed: number, nodes: number, steps?: number): string {
  const stepsFlag = steps === undefined || steps === DEFAULT_SIM_STEPS ? '' : ` --steps ${steps}`;
  return `npm run sim -- --seeds 1 --from ${seed} --nodes ${nodes}${stepsFlag} --verbose`;
}

/** A violated invariant, with everything needed to replay it. */
export class SimViolation extends Error {
  constructor(
    readonly seed: number,
    readonly nodes: number,
    readonly step: number,
    readonly invariant: InvariantName | 'core-threw',
    readonly detail: string,
    readonly steps: number,
  ) {
    super(
      `seed=${seed} nodes=${nodes} step=${step}: invariant: ${invariant}: ${detail}\nreplay: ${replayCommand(seed, nodes, steps)}`,
    );
    this.name = 'SimViolation';
  }
}

type SimEvent =
  | { readonly kind: 'tick'; readonly node: SimNode; readonly incarnation: number }
  | { readonly kind: 'deliver'; readonly msg: Message; readonly snapshot: StoredSnapshot | undefined }
  | {
      readonly kind: 'snapshot-stored';
      readonly node: SimNode;
      readonly incarnation: number;
      readonly msg: Message;
      readonly snapshot: StoredSnapshot;
    }
  | { readonly kind: 'fsync'; readonly node: SimNode; readonly incarnation: number; readonly seq: number }
  | {
      readonly kind: 'report';
      readonly node: SimNode;
      readonly incarnation: number;
      readonly to: NodeId;
      readonly snapshotOk: boolean | undefined;
    }
  | { readonly kind: 'restart'; readonly node: SimNode }
  | { readonly kind: 'crash'; readonly node: SimNode; readonly incarnation: number }
  | { readonly kind: 'shutdown'; readonly node: SimNode }
  | { readonly kind: 'heal-partition'; readonly generation: number }
  | { readonly kind: 'nemesis' }
  | { readonly kind: 'client' }
  | { readonly kind: 'probe' };

const MESSAGE_NAMES: Record<number, string> = {
  [MessageType.App]: 'App',
  [MessageType.AppResp]: 'AppResp',
  [MessageType.Vote]: 'Vote',
  [MessageType.VoteResp]: 'VoteResp',
  [MessageType.PreVote]: 'PreVote',
  [MessageType.PreVoteResp]: 'PreVoteResp',
  [MessageType.Heartbeat]: 'Heartbeat',
  [MessageType.HeartbeatResp]: 'HeartbeatResp',
  [MessageType.Snapshot]: 'Snapshot',
  [MessageType.TimeoutNow]: 'TimeoutNow',
  [MessageType.ReadIndex]: 'ReadIndex',
  [MessageType.ReadIndexResp]: 'ReadIndexResp',
  [MessageType.Propose]: 'Propose',
};

/** Messages that do not depend on the sender's disk (Ready contract, step 1). */
const SENDABLE_BEFORE_PERSIST = new Set<number>([
  MessageType.App,
  MessageType.Heartbeat,
  MessageType.Snapshot,
  MessageType.TimeoutNow,
  // Any node's: it promises nothing about the disk (RaftCore.send).
  MessageType.HeartbeatResp,
]);

const ROLE_NAMES = ['follower', 'pre-candidate', 'candidate', 'leader'];

interface ReadRequest {
  readonly node: NodeId;
  readonly key: number;
}

/**
 * A deterministic run of one Raft cluster: N cores, a virtual clock, a packet simulator, disks
 * that lose their unsynced tail on a crash, clients, and a nemesis that injects faults and
 * membership changes at random moments. Every source of randomness is one seeded Rng, so a
 * seed replays step for step. Invariants are checked after every step.
 */
export class Simulation {
  readonly checker = new InvariantChecker();
  private readonly rng: Rng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly network = new SimNetwork();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly dirty = new Set<SimNode>();
  private readonly initialConf: ConfState;
  private readonly config: Omit<RaftConfig, 'id' | 'rng'>;
  private readonly chaosSteps: number;
  private readonly leaderChurnRate: number;
  private readonly pipelineDepth: number;
  /** Share of fsyncs that stall for many ticks (a busy disk): Readies pile up behind them, terms move on. */
  private readonly fsyncStallRate: number;
  private readonly log: ((line: string) => void) | undefined;
  private nowMs = 0;
  private step = 0;
  private trace = 0x1234567;
  private healing = false;
  private healStartMs = 0;
  private partitionGeneration = 0;
  private nextWriteId = 1;
  private nextReadContext = 1;
  private nextNodeId: NodeId;
  private readonly reads = new Map<number, ReadRequest>();
  private leaderHint: NodeId = 0;
  private probeWriteId = 0;
  private probeProposedMs = -1;
  private probeDoneMs = -1;
  private probeReadContext = 0;
  private probeReadDone = false;
  private probeReadStartMs = 0;
  private recoveryTicks = -1;
  private readonly appliedProbeBy = new Set<NodeId>();
  /** Highest index applied anywhere, and the configuration committed through it. */
  private firstAppliedIndex = 0;
  private committedConf: ConfState;
  private stats = {
    elections: 0,
    writesProposed: 0,
    readsServed: 0,
    crashes: 0,
    snapshotsTaken: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    messagesSent: 0,
    readiesPipelined: 0,
    maxPipelineDepth: 0,
    fsyncsSkipped: 0,
  };

  constructor(private readonly options: SimOptions) {
    this.rng = createRng(options.seed);
    this.chaosSteps = options.steps ?? DEFAULT_SIM_STEPS;
    this.log = options.log;
    const ids: NodeId[] = [];
    for (let id = 1; id <= options.nodes; id++) ids.push(id);
    this.initialConf = { voters: ids, learners: [] };
    this.committedConf = this.initialConf;
    this.nextNodeId = options.nodes + 1;
    const rng = this.rng;
    this.config = {
      electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
      heartbeatTimeoutTicks: between(rng, 1, 3),
      preVote: chance(rng, 0.75),
      checkQuorum: chance(rng, 0.75),
      maxInflightMsgs: between(rng, 1, 16),
      // From its own stream, so that every older seed still replays the run it found.
      lazyCommitBroadcast: createRng(options.seed ^ 0x5bd1e995).int(2) === 1,
      // One entry per App in a quarter of the runs: a new leader then re-replicates an old-term
      // entry apart from its no-op, the window that old-term commit-by-counting bugs need.
      maxEntriesPerMsg: chance(rng, 0.25) ? 1 : between(rng, 2, 16),
      maxBytesPerMsg: between(rng, 16, 2048),
      maxUncommittedEntries: between(rng, 16, 256),
      maxCommittedEntriesPerReady: between(rng, 1, 64),
      // In half the runs (drawn from its own stream, so the rest replay as before), a byte bound
      // that cuts committedEntries short: apply then spans several Readies.
      ...(createRng(options.seed ^ 0x27d4eb2f).int(2) === 1
        ? { maxCommittedBytesPerReady: between(createRng(options.seed ^ 0x165667b1), 1, 64) }
        : {}),
      maxPendingReads: 1024,
    };
    // In some runs new leaders often die young: elections in quick succession over diverging
    // logs (Raft paper Figure 8) are where commit and election-restriction bugs show.
    this.leaderChurnRate = chance(rng, 0.5) ? 0.3 : 0;
    // Readies a host keeps outstanding while their fsyncs run (node/host.ts takes up to 8). A
    // quarter of the runs keep one at a time, as a host without pipelining does.
    this.pipelineDepth = chance(rng, 0.25) ? 1 : between(rng, 2, MAX_PIPELINE_DEPTH);
    this.fsyncStallRate = chance(rng, 0.3) ? 0.1 : 0;
    this.say(
      `config ${JSON.stringify(this.config)} leaderChurnRate ${this.leaderChurnRate} pipelineDepth ${this.pipelineDepth} fsyncStallRate ${this.fsyncStallRate}`,
    );
    for (const id of ids) this.startNode(this.addNode(id));
    this.queue.push(between(rng, 1, 20), { kind: 'nemesis' });
    this.queue.push(between(rng, 1, 20), { kind: 'client' });
  }

  /** Runs the fault phase, heals, and runs until the cluster proves live. Throws SimViolation. */
  run(): SimResult {
    try {
      this.loop();
    } catch (err) {
      if (err instanceof SimViolation) throw err;
      const invariant = err instanceof InvariantViolation ? err.invariant : 'core-threw';
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      throw new SimViolation(
        this.options.seed,
        this.options.nodes,
        this.step,
        invariant,
        detail,
        this.chaosSteps,
      );
    }
    return {
      seed: this.options.seed,
      nodes: this.options.nodes,
      traceHash: finish(this.trace),
      stats: {
        ...this.stats,
        steps: this.step,
        virtualMs: this.nowMs,
        maxTerm: Math.max(0, ...this.checker.leaders.keys()),
        committed: this.checker.committedIndex,
        recoveryTicks: this.recoveryTicks,
      },
    };
  }

  private loop(): void {
    const maxSteps = this.chaosSteps + MAX_HEAL_STEPS;
    for (;;) {
      const next = this.queue.pop();
      if (next === undefined) throw new Error('invariant: event queue ran dry');
      this.step++;
      this.nowMs = next.timeMs;
      this.trace = mix(mix(this.trace, next.timeMs), this.step);
      this.handle(next.item);
      this.observeDirty();
      if (!this.healing && this.step >= this.chaosSteps) this.heal();
      if (this.healing) {
        if (this.recoveryTicks >= 0) return;
        const waitedTicks = (this.nowMs - this.healStartMs) / TICK_MS;
        if (waitedTicks > LIVENESS_BOUND_TICKS || this.step > maxSteps) {
          throw new InvariantViolation(
            'liveness',
            `no leader committed a fresh write on every member and served a read within ${LIVENESS_BOUND_TICKS} ticks after the faults healed ` +
              `(probe write ${this.probeWriteId} applied by [${[...this.appliedProbeBy].join(',')}], ${this.describeCluster()})`,
          );
        }
      }
    }
  }

  // ---- events --------------------------------------------------------------------------

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const node = ev.node;
        if (node.incarnation !== ev.incarnation || node.core === undefined) return;
        node.core.tick();
        this.pump(node);
        // A little jitter so nodes' clocks drift relative to each other.
        this.queue.push(this.nowMs + TICK_MS - 1 + this.rng.int(3), ev);
        return;
      }
      case 'deliver':
        this.deliver(ev.msg, ev.snapshot);
        return;
      case 'snapshot-stored': {
        const node = ev.node;
        if (node.incarnation !== ev.incarnation || node.core === undefined) return;
        node.disk.stage(ev.snapshot);
        this.say(
          `node ${node.id} stored snapshot ${ev.snapshot.meta.index}/${ev.snapshot.meta.term} from ${ev.msg.from}`,
        );
        node.core.step(ev.msg);
        this.pump(node);
        return;
      }
      case 'fsync': {
        const node = ev.node;
        if (node.incarnation !== ev.incarnation || node.core === undefined) return;
        this.completeFsync(node, ev.seq);
        this.pump(node);
        return;
      }
      case 'report': {
        const node = ev.node;
        if (node.incarnation !== ev.incarnation || node.core === undefined) return;
        if (ev.snapshotOk === undefined) node.core.reportUnreachable(ev.to);
        else node.core.reportSnapshotStatus(ev.to, ev.snapshotOk);
        this.say(
          `node ${node.id} told: ${ev.snapshotOk === undefined ? 'unreachable' : `snapshot ok=${ev.snapshotOk}`} ${ev.to}`,
        );
        this.pump(node);
        return;
      }
      case 'crash':
        // A targeted crash (a new leader before its no-op replicates): only if still that life.
        if (ev.node.incarnation !== ev.incarnation || !ev.node.up || this.healing) return;
        this.crash(ev.node);
        this.queue.push(this.nowMs + between(this.rng, 5, 300), { kind: 'restart', node: ev.node });
        return;
      case 'restart':
        if (!ev.node.up && !ev.node.removed) this.startNode(ev.node);
        return;
      case 'shutdown':
        if (ev.node.removed) return;
        ev.node.removed = true;
        if (ev.node.up) this.crash(ev.node);
        this.say(`node ${ev.node.id} decommissioned`);
        return;
      case 'heal-partition':
        if (ev.generation === this.partitionGeneration && !this.healing) {
          this.network.healPartitions();
          this.say('partition healed');
        }
        return;
      case 'nemesis':
        if (this.healing) return;
        this.nemesis();
        this.queue.push(this.nowMs + between(this.rng, 5, 60), ev);
        return;
      case 'client':
        if (this.healing) return;
        this.client();
        this.queue.push(this.nowMs + between(this.rng, 1, 15), ev);
        return;
      case 'probe':
        this.probe();
        if (this.recoveryTicks < 0) this.queue.push(this.nowMs + TICK_MS, ev);
        return;
    }
  }

  // ---- the host loop of one node (Ready contract) ----------------------------------------

  /**
   * The host loop of node/host.ts (takeReadies): takes Readies while fewer than the run's
   * pipeline depth are outstanding, without waiting for earlier fsyncs, unless a snapshot is
   * settling. Each Ready is begun at once and finished (messages, advance) strictly in order as
   * the fsyncs complete.
   */
  private pump(node: SimNode): void {
    this.dirty.add(node);
    const core = node.core;
    if (core === undefined) return;
    while (
      node.drainForSnapshot === undefined &&
      node.pipeline.length < this.pipelineDepth &&
      core.hasReady()
    ) {
      this.beginReady(node, core.ready());
    }
  }

  /**
   * host.ts beginReady: everything of a Ready that need not wait for its fsync. Sends what may
   * go before persistence, installs a received snapshot (its bytes are already durable here),
   * applies committed entries (the core hands out only entries it was told are durable) and
   * serves reads, then writes snapshot → entries → hard state and starts the fsync. A Ready
   * whose only change is the commit index in the hard state writes nothing and needs no fsync:
   * that hard state rides along with the next real write (host.ts persist()).
   */
  private beginReady(node: SimNode, rd: Ready): void {
    const core = node.core!;
    for (const m of rd.messagesBeforePersist) {
      if (!SENDABLE_BEFORE_PERSIST.has(m.type)) {
        throw new InvariantViolation(
          'host-contract',
          `node ${node.id} puts a ${MESSAGE_NAMES[m.type]} in messagesBeforePersist: it depends on the disk`,
        );
      }
      this.send(node, m);
    }
    const disk = node.disk;
    let staged: StoredSnapshot | undefined;
    if (rd.snapshot !== undefined) {
      const meta = rd.snapshot;
      staged = disk.findStaged(meta.index, meta.term);
      if (staged === undefined) {
        throw new InvariantViolation(
          'host-contract',
          `node ${node.id} Ready names snapshot ${meta.index}/${meta.term} whose bytes were never stored here`,
        );
      }
      if (rd.committedEntries.length > 0) {
        throw new InvariantViolation(
          'host-contract',
          `node ${node.id} Ready carries snapshot ${meta.index} and committed entries from ${rd.committedEntries[0]!.index}`,
        );
      }
      this.installSnapshot(node, staged);
    }
    for (const e of rd.committedEntries) this.apply(node, e);
    for (const rs of rd.readStates) {
      if (node.waitingReads.length >= MAX_WAITING_READS)
        throw new Error('invariant: waiting reads unbounded');
      node.waitingReads.push(rs);
    }
    this.serveReads(node);

    const written = disk.writtenHardState;
    const mustSync =
      rd.entries.length > 0 ||
      staged !== undefined ||
      (rd.hardState !== undefined &&
        (rd.hardState.term !== written.term || rd.hardState.vote !== written.vote));
    if (mustSync) {
      if (staged !== undefined) {
        disk.writeSnapshot(staged);
        this.checker.observeAppend(node.id, staged.meta.index, staged.meta.term, staged.prefixHash);
      }
      for (const e of rd.entries) {
        const hash = disk.writeEntry(e);
        this.checker.observeAppend(node.id, e.index, e.term, hash);
      }
      const hardState = rd.hardState ?? node.lazyHardState;
      if (hardState !== undefined) disk.writeHardState(hardState);
      node.lazyHardState = undefined;
    } else if (rd.hardState !== undefined) {
      node.lazyHardState = rd.hardState;
      this.stats.fsyncsSkipped++;
    }
    const st = core.status();
    node.term = st.term;
    if (st.role === Role.Leader) this.checker.checkLeaderLog(node.id, st.term, disk.written);
    if (rd.snapshot !== undefined) node.drainForSnapshot = 'received';
    const seq = node.nextReadySeq++;
    if (node.pipeline.length > 0) this.stats.readiesPipelined++;
    node.pipeline.push({ ready: rd, seq, writeMark: disk.writeMark, synced: !mustSync });
    if (node.pipeline.length > this.stats.maxPipelineDepth)
      this.stats.maxPipelineDepth = node.pipeline.length;
    this.trace = mix(
      mix(mix(this.trace, rd.entries.length), rd.committedEntries.length),
      node.pipeline.length,
    );
    if (!mustSync) {
      // No fsync of its own: it finishes as soon as every earlier Ready has.
      this.finishReadies(node);
    } else if (chance(this.rng, 0.7)) {
      // fsync takes a while: the core keeps ticking and stepping meanwhile, more Readies may
      // start, and a crash now loses a suffix of the unsynced writes.
      const stalled = !this.healing && chance(this.rng, this.fsyncStallRate);
      const delayMs = stalled ? between(this.rng, 20, 150) : between(this.rng, 0, 6);
      this.queue.push(this.nowMs + delayMs, {
        kind: 'fsync',
        node,
        incarnation: node.incarnation,
        seq,
      });
    } else {
      this.completeFsync(node, seq);
    }
  }

  /**
   * The fsync issued after Ready `seq`'s writes completes. One fdatasync covers every write
   * issued before it, so every earlier Ready is durable too (fsyncs complete in order). A no-op
   * when a later fsync already covered it.
   */
  private completeFsync(node: SimNode, seq: number): void {
    let mark = -1;
    for (const p of node.pipeline) {
      if (p.seq > seq) break;
      p.synced = true;
      mark = p.writeMark;
    }
    if (mark < 0) return;
    node.disk.syncTo(mark);
    this.finishReadies(node);
  }

  /**
   * host.ts finishReady, oldest first, for every Ready whose writes are durable: only now may
   * its messages (votes, acknowledgements: promises about this disk) leave; then advance().
   */
  private finishReadies(node: SimNode): void {
    const core = node.core;
    if (core === undefined) throw new Error(`invariant: node ${node.id} finishes Readies while down`);
    while (node.pipeline.length > 0 && node.pipeline[0]!.synced) {
      const { ready: rd } = node.pipeline.shift()!;
      for (const m of rd.messages) {
        this.checkPersistedBeforeSend(node, m);
        this.send(node, m);
      }
      core.advance(rd);
      if (rd.snapshot !== undefined && node.drainForSnapshot === 'received')
        node.drainForSnapshot = undefined;
    }
    if (node.pipeline.length === 0 && node.drainForSnapshot === 'local') {
      node.drainForSnapshot = undefined;
      this.takeLocalSnapshot(node);
    }
  }

  /** What a message sent after persistence promises must really be on this node's disk. */
  private checkPersistedBeforeSend(node: SimNode, m: Message): void {
    const hs = node.disk.durableHardState;
    switch (m.type) {
      case MessageType.VoteResp:
        if (!m.reject) {
          // A later durable term also protects the grant: this node can never vote in m.term again.
          if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
            throw new InvariantViolation(
              'vote-persistence',
              `node ${node.id} grants its term-${m.term} vote to ${m.to} but its disk says term ${hs.term} vote ${hs.vote}`,
            );
          }
          this.checker.observeVoteGranted(node.id, m.term, m.to);
        }
        break;
      case MessageType.Vote:
        if (hs.term < m.term || (hs.term === m.term && hs.vote !== node.id)) {
          throw new InvariantViolation(
            'vote-persistence',
            `node ${node.id} campaigns in term ${m.term} but its disk says term ${hs.term} vote ${hs.vote}`,
          );
        }
        break;
      case MessageType.AppResp:
        // Only while still in the ack's term: an ack queued in term T and sent after this node
        // moved on and truncated (a later-term leader lacked those entries, so they cannot have
        // been committed in T) is stale and harmless, as in etcd.
        if (!m.reject && m.term === hs.term && m.index > node.disk.durable.lastIndex()) {
          throw new InvariantViolation(
            'durability',
            `node ${node.id} acknowledges index ${m.index} but only ${node.disk.durable.lastIndex()} is durable`,
          );
        }
        break;
      default:
        break;
    }
    if (m.type !== MessageType.PreVote && m.type !== MessageType.PreVoteResp && m.term > hs.term) {
      throw new InvariantViolation(
        'durability',
        `node ${node.id} sends a term-${m.term} ${MESSAGE_NAMES[m.type]} with term ${hs.term} on disk`,
      );
    }
  }

  /** A received snapshot into the state machine, from bytes stored durably before the core heard of them. */
  private installSnapshot(node: SimNode, snapshot: StoredSnapshot): void {
    node.sm = restoreMachine(snapshot);
    const { index, term } = snapshot.meta;
    this.checker.observeSnapshotLoaded(node.id, index, node.sm.appliedHash, node.sm.stateHash, false);
    this.say(`node ${node.id} installed snapshot ${index}/${term}`);
  }

  private apply(node: SimNode, e: Entry): void {
    const sm = node.sm;
    const hash = chainEntry(sm.appliedHash, e.index, e.term, e.type, e.data);
    const own = node.disk.durable.hashAt(e.index);
    if (own !== hash) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node.id} applies entry ${e.index} (term ${e.term}) that is not the durable entry of its own log there`,
      );
    }
    const cmd = sm.apply(e, hash);
    const firstApplication = e.index > this.firstAppliedIndex;
    // Followers learn a commit by message, a step after the leader's commit was observed; only a
    // (just) leader applies an index before the checker saw it committed.
    // Term-0 entries are the bootstrap configuration every node writes itself, committed by definition.
    const mayBeFirst = e.term === 0 || node.role === Role.Leader || node.core?.status().role === Role.Leader;
    if (e.term !== 0 && mayBeFirst && e.index > this.checker.committedIndex) {
      // A leader applying what the checker has not yet seen committed (same step as its commit
      // advance): check the commit now, including that a quorum holds it durably.
      const st = node.core!.status();
      this.checker.observeLeaderCommit(
        node.id,
        st.term,
        e.index,
        node.disk.written,
        st.confState.voters,
        (id) => this.durableLogOf(id),
      );
    }
    this.checker.observeApply(node.id, node.term, e.index, hash, sm.stateHash, mayBeFirst);
    if (cmd !== undefined) {
      this.checker.observeWriteApplied(cmd.writeId, cmd.key, e.index);
      if (cmd.writeId === this.probeWriteId) this.appliedProbeBy.add(node.id);
    } else if (e.type === EntryType.ConfChange && firstApplication) {
      // First application anywhere: the change is committed.
      const cc = decodeConfChange(e.data);
      this.committedConf = applyConfChange(this.committedConf, cc);
      if (cc.type === ConfChangeType.RemoveNode) {
        const target = this.nodes.get(cc.nodeId);
        if (target !== undefined && !target.removed) {
          this.queue.push(this.nowMs + between(this.rng, 0, 200), { kind: 'shutdown', node: target });
        }
      }
    }
    if (firstApplication) this.firstAppliedIndex = e.index;
  }

  private serveReads(node: SimNode): void {
    const waiting = node.waitingReads;
    let kept = 0;
    for (let i = 0; i < waiting.length; i++) {
      const rs = waiting[i]!;
      if (rs.index > node.sm.applied) {
        waiting[kept++] = rs;
        continue;
      }
      const req = this.reads.get(rs.context);
      // Unknown: a duplicate (a duplicated ReadIndexResp) or a read abandoned by a crash.
      if (req === undefined) continue;
      this.reads.delete(rs.context);
      const value = node.sm.get(req.key);
      this.checker.observeReadServed(rs.context, node.id, rs.index, node.sm.applied, value.index);
      this.stats.readsServed++;
      if (rs.context === this.probeReadContext) this.probeReadDone = true;
      this.say(
        `node ${node.id} served read ${rs.context} key ${req.key} at ${rs.index}: write ${value.writeId}@${value.index}`,
      );
    }
    waiting.length = kept;
  }

  // ---- network ---------------------------------------------------------------------------

  private send(node: SimNode, m: Message): void {
    if (m.from !== node.id || m.to === node.id || m.to === 0) {
      throw new InvariantViolation(
        'host-contract',
        `node ${node.id} sends a message from ${m.from} to ${m.to}`,
      );
    }
    this.stats.messagesSent++;
    let h = mix(this.trace, m.type);
    h = mix(h, m.to);
    h = mix(h, m.term);
    h = mix(h, m.index);
    h = mix(h, m.commit);
    this.trace = mix(h, m.entries.length);
    let snapshot: StoredSnapshot | undefined;
    if (m.type === MessageType.Snapshot) {
      // The core names its compaction point; the host streams its stored snapshot, which may be
      // newer (a snapshot taken between the core queueing the message and the host taking the
      // Ready), and the receiver's core is told the meta of the bytes actually sent (types.ts).
      const meta = m.snapshot;
      snapshot = node.disk.writtenSnapshot;
      if (
        meta === undefined ||
        snapshot === undefined ||
        snapshot.meta.index < meta.index ||
        snapshot.meta.term < meta.term ||
        (snapshot.meta.index === meta.index && snapshot.meta.term !== meta.term)
      ) {
        throw new InvariantViolation(
          'host-contract',
          `node ${node.id} sends snapshot ${meta?.index}/${meta?.term} but its host stores ${snapshot?.meta.index}/${snapshot?.meta.term}`,
        );
      }
      if (snapshot.meta !== meta) m = { ...m, snapshot: snapshot.meta };
      this.stats.snapshotsSent++;
    }
    const delays = this.nodes.has(m.to) ? this.network.route(m.from, m.to, this.rng) : [];
    if (this.log !== undefined)
      this.say(`send ${describeMessage(m)}${delays.length === 0 ? ' (lost)' : ` in ${delays.join('+')}ms`}`);
    for (const delay of delays) this.queue.push(this.nowMs + delay, { kind: 'deliver', msg: m, snapshot });
    if (delays.length === 0) {
      if (m.type === MessageType.Snapshot) this.report(node, m.to, false, 20);
      else if (this.network.isBlocked(m.from, m.to) && chance(this.rng, 0.2))
        this.report(node, m.to, undefined, 1);
    }
  }

  private report(node: SimNode, to: NodeId, snapshotOk: boolean | undefined, afterMs: number): void {
    this.queue.push(this.nowMs + afterMs, {
      kind: 'report',
      node,
      incarnation: node.incarnation,
      to,
      snapshotOk,
    });
  }

  private deliver(m: Message, snapshot: StoredSnapshot | undefined): void {
    const target = this.nodes.get(m.to);
    const sender = this.nodes.get(m.from);
    const lost = target === undefined || target.core === undefined || this.network.isBlocked(m.from, m.to);
    if (this.log !== undefined) this.say(`deliver ${describeMessage(m)}${lost ? ' (lost)' : ''}`);
    if (lost) {
      if (m.type === MessageType.Snapshot && sender !== undefined) this.report(sender, m.to, false, 5);
      return;
    }
    if (m.type === MessageType.Snapshot) {
      if (snapshot === undefined) throw new Error('invariant: snapshot message without bytes');
      // The receiver stores the bytes durably first; only then does its core hear of them.
      const delay = between(this.rng, 0, 5);
      this.queue.push(this.nowMs + delay, {
        kind: 'snapshot-stored',
        node: target,
        incarnation: target.incarnation,
        msg: m,
        snapshot,
      });
      if (sender !== undefined) this.report(sender, m.to, true, delay + 1);
      return;
    }
    target.core!.step(m);
    this.pump(target);
  }

  // ---- observation after every step ------------------------------------------------------

  private observeDirty(): void {
    for (const node of this.dirty) {
      const core = node.core;
      if (core === undefined) continue;
      const st = core.status();
      if (st.term < node.term) {
        throw new InvariantViolation(
          'host-contract',
          `node ${node.id} term went back from ${node.term} to ${st.term}`,
        );
      }
      node.term = st.term;
      this.checker.observeTerm(st.term);
      // Leader at the previous observation, same term: its commit advances are a leader's even if
      // it stepped down within this step (a leader hands over once its own removal commits).
      const wasLeader = node.role === Role.Leader && node.observedTerm === st.term;
      if (st.role === Role.Leader) {
        if (node.role !== Role.Leader || !this.checker.leaders.has(st.term)) {
          this.stats.elections++;
          if (!this.healing && chance(this.rng, this.leaderChurnRate)) {
            this.queue.push(this.nowMs + this.rng.int(15), {
              kind: 'crash',
              node,
              incarnation: node.incarnation,
            });
          }
          this.say(`node ${node.id} is leader of term ${st.term}`);
        }
        this.checker.observeLeader(node.id, st.term);
        this.leaderHint = node.id;
      }
      if (st.role === Role.Leader || wasLeader) {
        if (st.commitIndex > node.commit && wasLeader) {
          // §5.4.2: a leader commits by counting replicas of an entry of its own term only.
          const term = node.disk.written.termAt(st.commitIndex);
          if (term !== st.term) {
            throw new InvariantViolation(
              'leader-completeness',
              `leader ${node.id} of term ${st.term} advanced its commit to ${st.commitIndex}, an entry of term ${String(term)} (§5.4.2: only current-term entries commit by counting)`,
            );
          }
        }
        if (st.commitIndex > node.commit || st.commitIndex > this.checker.committedIndex) {
          this.checker.observeLeaderCommit(
            node.id,
            st.term,
            st.commitIndex,
            node.disk.written,
            st.confState.voters,
            (id) => this.durableLogOf(id),
          );
        }
      }
      if (node.role !== st.role && st.role !== Role.Leader) {
        this.say(`node ${node.id} is ${ROLE_NAMES[st.role]} in term ${st.term} (leader ${st.leaderId})`);
      }
      node.role = st.role;
      node.commit = st.commitIndex;
      node.observedTerm = st.term;
    }
    this.dirty.clear();
  }

  private durableLogOf(id: NodeId): SimNode['disk']['durable'] | undefined {
    return this.nodes.get(id)?.disk.durable;
  }

  // ---- nodes -----------------------------------------------------------------------------

  private addNode(id: NodeId): SimNode {
    if (this.nodes.has(id)) throw new Error(`invariant: node ${id} added twice`);
    const node = new SimNode(id);
    this.nodes.set(id, node);
    return node;
  }

  private startNode(node: SimNode): void {
    node.boot(
      { ...this.config, id: node.id, rng: createRng(this.rng.int(0x1_0000_0000)) },
      this.initialConf,
      this.options.createCore ?? createRaftCore,
    );
    this.checker.observeSnapshotLoaded(
      node.id,
      node.sm.applied,
      node.sm.appliedHash,
      node.sm.stateHash,
      true,
    );
    this.say(
      `node ${node.id} started (term ${node.term}, applied ${node.sm.applied}, log to ${node.disk.durable.lastIndex()})`,
    );
    this.queue.push(this.nowMs + 1 + this.rng.int(TICK_MS), {
      kind: 'tick',
      node,
      incarnation: node.incarnation,
    });
    this.dirty.add(node);
  }

  private crash(node: SimNode): void {
    const pending = node.disk.pendingWrites;
    const keep = this.rng.int(pending + 1);
    node.crash(keep);
    this.stats.crashes++;
    this.checker.abandonReadsOf(node.id);
    for (const [context, req] of this.reads) if (req.node === node.id) this.reads.delete(context);
    this.say(`node ${node.id} crashed (kept ${keep} of ${pending} unsynced writes)`);
  }

  private liveNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const node of this.nodes.values()) if (node.up) out.push(node);
    return out;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.rng.int(items.length)];
  }

  /** The live leader with the highest term, if any. */
  private currentLeader(): { node: SimNode; status: RaftStatus } | undefined {
    let best: { node: SimNode; status: RaftStatus } | undefined;
    for (const node of this.nodes.values()) {
      if (node.core === undefined || node.role !== Role.Leader) continue;
      const status = node.core.status();
      if (status.role !== Role.Leader) continue;
      if (best === undefined || status.term > best.status.term) best = { node, status };
    }
    return best;
  }

  // ---- clients ---------------------------------------------------------------------------

  private client(): void {
    if (chance(this.rng, 0.65)) this.clientWrite();
    else this.clientRead();
  }

  private clientWrite(): void {
    const live = this.liveNodes();
    const hinted = this.nodes.get(this.leaderHint);
    let node = hinted?.up === true && chance(this.rng, 0.8) ? hinted : this.pick(live);
    if (node === undefined) return;
    const writeId = this.nextWriteId++;
    const key = this.rng.int(KEY_COUNT);
    const data = encodeWrite(writeId, key, this.rng.int(4) === 0 ? this.rng.int(200) : this.rng.int(8));
    let result = node.core!.propose(data);
    this.pump(node);
    if (!result.ok && result.reason === 'not-leader' && result.leaderId !== 0) {
      const leader = this.nodes.get(result.leaderId);
      if (leader?.up === true) {
        node = leader;
        result = leader.core!.propose(data);
        this.pump(leader);
      }
    }
    if (result.ok) this.stats.writesProposed++;
    this.say(
      `client write ${writeId} key ${key} via ${node.id}: ${result.ok ? `index ${result.index}` : result.reason}`,
    );
  }

  private clientRead(): void {
    const node = this.pick(this.liveNodes());
    if (node === undefined) return;
    this.startRead(node, this.rng.int(KEY_COUNT));
  }

  private startRead(node: SimNode, key: number): number {
    const context = this.nextReadContext++;
    // Start the history first: everything acknowledged before the call must be visible.
    this.checker.observeReadStart(context, node.id, key, this.nowMs);
    const accepted = node.core!.readIndex(context);
    if (accepted) this.reads.set(context, { node: node.id, key });
    else this.checker.abandonRead(context);
    this.pump(node);
    this.say(`client read ${context} key ${key} via ${node.id}: ${accepted ? 'accepted' : 'refused'}`);
    return accepted ? context : 0;
  }

  // ---- the nemesis -----------------------------------------------------------------------

  private nemesis(): void {
    const r = this.rng.int(100);
    if (r < 14) this.nemesisCrash();
    else if (r < 24) this.nemesisPartition();
    else if (r < 30) this.nemesisAsymmetric();
    else if (r < 40) this.nemesisNetworkFaults();
    else if (r < 50) this.nemesisConfChange();
    else if (r < 56) this.nemesisTransfer();
    else if (r < 70) this.nemesisSnapshot();
    else if (r < 76) {
      this.network.healPartitions();
      this.network.faults = HEALTHY_NETWORK;
      this.say('nemesis: network healthy');
    }
    // else: a quiet interval
  }

  private nemesisCrash(): void {
    const live = this.liveNodes().filter((n) => !n.removed);
    const leader = this.currentLeader();
    const victim = leader !== undefined && chance(this.rng, 0.4) ? leader.node : this.pick(live);
    if (victim === undefined) return;
    const down = [...this.nodes.values()].filter((n) => !n.up && !n.removed).length;
    if (down >= Math.ceil(this.options.nodes / 2)) return;
    this.crash(victim);
    this.queue.push(this.nowMs + between(this.rng, 5, 400), { kind: 'restart', node: victim });
  }

  private nemesisPartition(): void {
    const ids = [...this.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
    const leader = this.currentLeader();
    let side: Set<NodeId>;
    if (leader !== undefined && chance(this.rng, 0.3)) side = new Set([leader.node.id]);
    else {
      side = new Set();
      for (const id of ids) if (chance(this.rng, 0.5)) side.add(id);
    }
    this.network.healPartitions();
    for (const a of ids) {
      for (const b of ids) if (side.has(a) !== side.has(b)) this.network.block(a, b);
    }
    this.schedulePartitionHeal();
    this.say(`nemesis: partition [${[...side].join(',')}] | rest`);
  }

  private nemesisAsymmetric(): void {
    const ids = [...this.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
    const links = between(this.rng, 1, 4);
    const cut: string[] = [];
    for (let i = 0; i < links; i++) {
      const from = this.pick(ids)!;
      const to = this.pick(ids)!;
      if (from === to) continue;
      this.network.block(from, to);
      cut.push(`${from}->${to}`);
    }
    this.schedulePartitionHeal();
    this.say(`nemesis: cut ${cut.join(' ')}`);
  }

  private schedulePartitionHeal(): void {
    const generation = ++this.partitionGeneration;
    this.queue.push(this.nowMs + between(this.rng, 30, 600), { kind: 'heal-partition', generation });
  }

  private nemesisNetworkFaults(): void {
    const rates = [0, 0.02, 0.1, 0.3];
    const faults: NetworkFaults = {
      dropRate: this.pick(rates)!,
      duplicateRate: this.pick(rates)!,
      longDelayRate: this.pick(rates)!,
      minDelayMs: 1,
      maxDelayMs: between(this.rng, 2, 15),
      longDelayMaxMs: between(this.rng, 20, 300),
    };
    this.network.faults = faults;
    this.say(`nemesis: network ${JSON.stringify(faults)}`);
  }

  private nemesisConfChange(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const { voters, learners } = leader.status.confState;
    const minVoters = this.options.nodes - 1;
    const maxVoters = this.options.nodes + 1;
    const options: (() => ConfChange | undefined)[] = [];
    if (voters.length > minVoters) {
      options.push(() => {
        const others = voters.filter((v) => v !== leader.node.id || chance(this.rng, 0.2));
        const id = this.pick(others);
        return id === undefined ? undefined : { type: ConfChangeType.RemoveNode, nodeId: id };
      });
    }
    if (learners.length > 0) {
      options.push(() => ({ type: ConfChangeType.RemoveNode, nodeId: this.pick(learners)! }));
      if (voters.length < maxVoters)
        options.push(() => ({ type: ConfChangeType.AddVoter, nodeId: this.pick(learners)! }));
    }
    if (this.nextNodeId <= MAX_NODE_IDS) {
      if (voters.length < maxVoters)
        options.push(() => ({ type: ConfChangeType.AddVoter, nodeId: this.newNodeId() }));
      options.push(() => ({ type: ConfChangeType.AddLearner, nodeId: this.newNodeId() }));
    }
    const cc = this.pick(options)?.();
    if (cc === undefined) return;
    if (!this.nodes.has(cc.nodeId)) this.startNode(this.addNode(cc.nodeId));
    const result = leader.node.core!.proposeConfChange(cc);
    this.pump(leader.node);
    if (result.ok) this.stats.confChanges++;
    const verb = ['add-voter', 'remove', 'add-learner'][cc.type];
    this.say(
      `nemesis: ${verb} ${cc.nodeId} via ${leader.node.id}: ${result.ok ? `index ${result.index}` : result.reason}`,
    );
  }

  private newNodeId(): NodeId {
    return this.nextNodeId++;
  }

  private nemesisTransfer(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const target = this.pick(leader.status.confState.voters.filter((v) => v !== leader.node.id));
    if (target === undefined) return;
    leader.node.core!.transferLeadership(target);
    this.pump(leader.node);
    this.stats.transfers++;
    this.say(`nemesis: transfer leadership ${leader.node.id} -> ${target}`);
  }

  /**
   * A node snapshots its state machine. As host.ts does, it first drains its Ready pipeline:
   * the core learns what was applied only through advance(), and the snapshot's meta must
   * describe the state the machine is in.
   */
  private nemesisSnapshot(): void {
    const node = this.pick(this.liveNodes().filter((n) => n.drainForSnapshot === undefined));
    if (node === undefined) return;
    if (node.pipeline.length > 0) {
      node.drainForSnapshot = 'local';
      this.say(`nemesis: node ${node.id} drains ${node.pipeline.length} Readies for a snapshot`);
      return;
    }
    this.takeLocalSnapshot(node);
    this.pump(node);
  }

  private takeLocalSnapshot(node: SimNode): void {
    const sm = node.sm;
    if (sm.applied <= node.disk.written.snapshotIndex) return;
    const meta = node.core!.appliedSnapshotMeta();
    if (meta.index !== sm.applied) {
      throw new InvariantViolation(
        'host-contract',
        `node ${node.id} appliedSnapshotMeta() says ${meta.index} but the host applied ${sm.applied}`,
      );
    }
    node.disk.saveLocalSnapshot({ meta, bytes: sm.serialize(), prefixHash: sm.appliedHash });
    node.core!.compact(meta.index);
    this.stats.snapshotsTaken++;
    this.say(
      `node ${node.id} snapshot+compact at ${meta.index}/${meta.term} voters [${meta.confState.voters.join(',')}]`,
    );
  }

  // ---- heal and liveness -----------------------------------------------------------------

  private heal(): void {
    this.healing = true;
    this.healStartMs = this.nowMs;
    this.network.healPartitions();
    this.network.faults = HEALTHY_NETWORK;
    for (const node of this.nodes.values()) {
      if (node.removed) continue;
      const member =
        this.committedConf.voters.includes(node.id) || this.committedConf.learners.includes(node.id);
      if (!member) {
        // An operator stops servers outside the committed configuration: a node whose addition
        // never committed may believe it is a voter, and without pre-vote or check-quorum its
        // campaigns would disrupt the cluster forever (Raft thesis §4.2.3).
        node.removed = true;
        if (node.up) this.crash(node);
        this.say(`node ${node.id} decommissioned: not in the committed configuration`);
      } else if (!node.up) this.startNode(node);
    }
    this.queue.push(this.nowMs + TICK_MS, { kind: 'probe' });
    this.say(`heal: faults stop at step ${this.step}; ${this.describeCluster()}`);
  }

  /** After the heal: a fresh write must commit on every member, then a read must be served. */
  private probe(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const members = [...leader.status.confState.voters, ...leader.status.confState.learners].filter(
      (id) => this.nodes.get(id)?.removed !== true,
    );
    const stale = this.probeProposedMs < 0 || this.nowMs - this.probeProposedMs > 20 * TICK_MS;
    if (this.appliedProbeBy.size === 0 && stale) {
      const writeId = this.nextWriteId++;
      const result = leader.node.core!.propose(encodeWrite(writeId, 0, 0));
      this.pump(leader.node);
      if (result.ok) {
        this.probeWriteId = writeId;
        this.probeProposedMs = this.nowMs;
        this.say(`probe write ${writeId} at index ${result.index} via ${leader.node.id}`);
      }
      return;
    }
    if (this.probeDoneMs < 0) {
      if (members.every((id) => this.appliedProbeBy.has(id))) this.probeDoneMs = this.nowMs;
      else return;
    }
    const readTimedOut = this.nowMs - this.probeReadStartMs > 2 * ELECTION_TIMEOUT_TICKS * TICK_MS;
    if (
      !this.probeReadDone &&
      (this.probeReadContext === 0 || !this.reads.has(this.probeReadContext) || readTimedOut)
    ) {
      // The core drops a read silently when its leader steps down: the client times out and retries.
      this.reads.delete(this.probeReadContext);
      this.checker.abandonRead(this.probeReadContext);
      const node = this.nodes.get(this.pick(members)!);
      if (node?.up === true) {
        this.probeReadContext = this.startRead(node, 0);
        this.probeReadStartMs = this.nowMs;
      }
      return;
    }
    if (this.probeReadDone) {
      this.recoveryTicks = Math.ceil((this.nowMs - this.healStartMs) / TICK_MS);
      this.say(`recovered in ${this.recoveryTicks} ticks`);
    }
  }

  private describeCluster(): string {
    const parts: string[] = [];
    for (const node of this.nodes.values()) {
      if (node.removed) parts.push(`${node.id}:removed`);
      else if (node.core === undefined) parts.push(`${node.id}:down`);
      else {
        const st = node.core.status();
        parts.push(
          `${node.id}:${ROLE_NAMES[st.role]} t${st.term} commit ${st.commitIndex} applied ${node.sm.applied} last ${st.lastIndex} ` +
            `voters [${st.confState.voters.join(',')}] learners [${st.confState.learners.join(',')}]` +
            (st.progress === undefined
              ? ''
              : ` progress ${st.progress.map((p) => `${p.id}:${p.match}/${p.next}/${p.state}/${p.inflight}`).join(' ')}`),
        );
      }
    }
    return parts.join('; ');
  }

  private say(line: string): void {
    if (this.log !== undefined) this.log(`t=${this.nowMs} step=${this.step} ${line}`);
  }
}

function restoreMachine(snapshot: StoredSnapshot): RegisterMachine {
  const sm = RegisterMachine.deserialize(snapshot.bytes);
  if (sm.applied !== snapshot.meta.index || sm.appliedHash !== snapshot.prefixHash) {
    throw new Error(`invariant: snapshot bytes at ${sm.applied} do not match meta ${snapshot.meta.index}`);
  }
  return sm;
}

function describeMessage(m: Message): string {
  let s = `${MESSAGE_NAMES[m.type]} ${m.from}->${m.to} t${m.term}`;
  if (m.type === MessageType.App)
    s += ` prev ${m.index}/${m.logTerm} ents ${m.entries.length} commit ${m.commit}`;
  else if (m.type === MessageType.AppResp)
    s += ` ${m.reject ? `reject ${m.index} hint ${m.rejectHint}/${m.rejectTerm}` : `match ${m.index}`}`;
  else if (m.type === MessageType.Vote || m.type === MessageType.PreVote)
    s += ` last ${m.index}/${m.logTerm}`;
  else if (m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp)
    s += m.reject ? ' reject' : ' grant';
  else if (m.type === MessageType.Heartbeat) s += ` commit ${m.commit} ctx ${m.context}`;
  else if (m.type === MessageType.Snapshot) s += ` snap ${m.snapshot?.index}/${m.snapshot?.term}`;
  else if (
    m.type === MessageType.ReadIndex ||
    m.type === MessageType.ReadIndexResp ||
    m.type === MessageType.HeartbeatResp
  ) {
    s += ` ctx ${m.context} index ${m.index}`;
  }
  return s;
}

/** Runs one seed; throws SimViolation on a broken invariant. */
export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}
