import { RaftCore } from '../raft/raft.js';
import type {
  ConfState,
  HardState,
  NodeId,
  RaftBootState,
  RaftConfig,
  Ready,
  ReadState,
  Role,
} from '../raft/types.js';
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
 * A Ready taken from the core and not yet advanced (node/host.ts: between beginReady and
 * finishReady). Its committed entries are applied and its reads served already; its writes are
 * on the disk from `writeMark` back, waiting for an fsync.
 */
export interface PendingReady {
  readonly ready: Ready;
  /** Numbered per incarnation, in the order ready() returned them. */
  readonly seq: number;
  /** disk.writeMark after this Ready's writes: its fsync makes everything before it durable. */
  readonly writeMark: number;
  /** Whether its writes (and every earlier Ready's) are durable: false until its fsync completes. */
  synced: boolean;
}

/**
 * One simulated server: a core (absent while crashed), its disk, its state machine, and the
 * Readies being processed (between ready() and advance(), oldest first: the storage pipeline).
 * Everything but `disk` is volatile.
 */
export class SimNode {
  readonly disk = new SimDisk();
  core: SimCore | undefined;
  /** Bumped on every crash so that events scheduled for an earlier life are ignored. */
  incarnation = 0;
  sm = new RegisterMachine();
  /** Readies handed out by ready() and not yet advance()d, oldest first (bounded by the run's depth). */
  readonly pipeline: PendingReady[] = [];
  /** Sequence number of the next Ready taken. */
  nextReadySeq = 0;
  /**
   * No new Ready is taken until the pipeline drains: a received snapshot is settling, or a local
   * snapshot waits for the core's applied index to catch up with the state machine (host.ts).
   */
  drainForSnapshot: 'received' | 'local' | undefined;
  /** A hard state that changed only in its commit index: not worth an fsync, written with the next write. */
  lazyHardState: HardState | undefined;
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
    this.resetVolatile();
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
    this.resetVolatile();
    this.disk.crash(keepPendingWrites);
  }

  private resetVolatile(): void {
    this.pipeline.length = 0;
    this.nextReadySeq = 0;
    this.drainForSnapshot = undefined;
    this.lazyHardState = undefined;
    this.waitingReads.length = 0;
  }
}
