import { RaftCore } from '../raft/raft.js';
import type { ConfState, NodeId, RaftBootState, RaftConfig, Ready, ReadState, Role } from '../raft/types.js';
import { SimDisk } from './disk.js';
import { RegisterMachine } from './state-machine.js';

/** What the simulator drives: RaftCore's public API (a test may wrap a core to inject a bug). */
export type SimCore = Pick<
  RaftCore,
  | 'tick'
  | 'step'
  | 'propose'
  | 'proposeConfChange'
  | 'readIndex'
  | 'transferLeadership'
  | 'appliedSnapshotMeta'
  | 'compact'
  | 'reportSnapshotStatus'
  | 'reportUnreachable'
  | 'hasReady'
  | 'ready'
  | 'advance'
  | 'status'
>;

export type CoreFactory = (config: RaftConfig, boot: RaftBootState) => SimCore;

export const createRaftCore: CoreFactory = (config, boot) => new RaftCore(config, boot);

/** Bound on read states a node holds while waiting for its state machine to catch up. */
export const MAX_WAITING_READS = 10_000;

/**
 * One simulated server: a core (absent while crashed), its disk, its state machine, and the
 * Ready being processed (between ready() and advance()). Everything but `disk` is volatile.
 */
export class SimNode {
  readonly disk = new SimDisk();
  core: SimCore | undefined;
  /** Bumped on every crash so that events scheduled for an earlier life are ignored. */
  incarnation = 0;
  sm = new RegisterMachine();
  /** The Ready handed out by ready() and not yet advance()d (its fsync is in flight). */
  inflight: Ready | undefined;
  readonly waitingReads: ReadState[] = [];
  /** Decommissioned after its removal from the configuration committed: never restarts. */
  removed = false;
  /** Last observed status, for change detection. */
  term = 0;
  role: Role = 0;
  commit = 0;
  /** Term at the last observation after a step (node.term may move ahead inside a step). */
  observedTerm = 0;

  constructor(readonly id: NodeId) {}

  get up(): boolean {
    return this.core !== undefined;
  }

  /** (Re)starts the core from what is durable on disk. */
  boot(config: RaftConfig, initialConf: ConfState, createCore: CoreFactory): void {
    if (this.core !== undefined) throw new Error(`invariant: node ${this.id} booted twice`);
    const snapshot = this.disk.durableSnapshot;
    this.sm = snapshot === undefined ? new RegisterMachine() : RegisterMachine.deserialize(snapshot.bytes);
    if (snapshot !== undefined && this.sm.applied !== snapshot.meta.index) {
      throw new Error(`invariant: snapshot bytes at ${this.sm.applied} but meta at ${snapshot.meta.index}`);
    }
    this.core = createCore(config, {
      hardState: this.disk.durableHardState,
      snapshot: snapshot?.meta,
      confState: initialConf,
      entries: this.disk.durable.entries.slice(),
      applied: snapshot?.meta.index ?? 0,
    });
    this.inflight = undefined;
    this.waitingReads.length = 0;
    const st = this.core.status();
    this.term = st.term;
    this.role = st.role;
    this.commit = st.commitIndex;
    this.observedTerm = st.term;
  }

  /** Loses every volatile thing; the disk keeps the synced part and `keepPendingWrites` of the rest. */
  crash(keepPendingWrites: number): void {
    this.core = undefined;
    this.incarnation++;
    this.inflight = undefined;
    this.waitingReads.length = 0;
    this.disk.crash(keepPendingWrites);
  }
}
