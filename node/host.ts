/**
 * The host loop (model: etcd's raftexample): a timer ticks the pure core; peer messages and
 * client intents step it; whenever it has a Ready we
 *   send the leader's replication messages → persist (one write + one fdatasync for everything
 *   that piled up while the previous fsync ran: group commit) → send the rest → apply committed
 *   entries → answer waiting clients → advance.
 * Nothing else mutates the core, and only this loop touches the WAL.
 *
 * Out of space is an alarm, not a stop (like etcd's NOSPACE): while the WAL cannot prepare its
 * next segment or write a flush, or a snapshot did not fit, propose() refuses with NOSPACE;
 * reads, heartbeats and votes go on. A flush that does not fit simply has not completed: its
 * Ready is not finished (no acknowledgement leaves, the leader does not count itself) until the
 * WAL's retry writes it, and the pipeline behind it waits. The alarm clears by itself.
 */
import { RaftCore } from '../src/raft/raft.js';
import type {
  Entry,
  HardState,
  Message,
  RaftBootState,
  RaftConfig,
  RaftStatus,
  Ready,
  SnapshotMeta,
} from '../src/raft/types.js';
import { EntryType, MessageType, Role } from '../src/raft/types.js';
import { createRng } from '../src/raft/rng.js';
import type { Wal } from '../src/storage/wal.js';
import { isNoSpaceError } from '../src/storage/fs-util.js';
import type { SnapshotStore } from '../src/storage/snapshot-store.js';
import type { Logger } from './log.js';
import { ProposalWaiters, ReadWaiters, RequestError } from './waiters.js';

export interface MachineSnapshot {
  /** The state's bytes; a chunk may be reused once the next one is pulled (consume it first). */
  readonly chunks: Iterable<Uint8Array>;
  release(): void;
}

/** What the host needs of the replicated state machine. */
export interface StateMachine<R> {
  /** Applies one committed Normal entry's data; deterministic. Empty data is the leader's no-op. */
  apply(data: Uint8Array): R;
  /**
   * A consistent view as of now (the state after the last apply), streamed while applies
   * continue (copy-on-write). release() must be called when done, whatever happened.
   */
  beginSnapshot(): MachineSnapshot;
  /** Replaces the whole state with a snapshot body. */
  restore(chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

/** What the host needs of the peer transport. */
export interface PeerSender {
  send(msg: Message): void;
  sendSnapshot(msg: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

export interface HostEvents {
  onFsync?(latencyMs: number, entries: number): void;
  onCommit?(entries: number): void;
  onLeaderChange?(leaderId: number, term: number): void;
  onRoleChange?(role: Role): void;
  onSnapshot?(index: number, sizeBytes: number, durationMs: number): void;
  /** The no-space alarm was raised (true) or cleared (false). */
  onNoSpace?(raised: boolean): void;
}

/** Where the no-space alarm came from: the WAL (segment or flush) or a local snapshot. */
export type NoSpaceSource = 'wal' | 'snapshot';

export interface HostOptions {
  readonly id: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEntries: number;
  readonly snapshotWalBytes: number;
  /**
   * Bound on the core's in-memory log (RaftCore.logBytes). A snapshot is taken once the log
   * passes half of it, so the entries arriving while the snapshot is written fit in the other
   * half; proposals are refused (TRYAGAIN) while the log is at the bound.
   */
  readonly maxLogBytes: number;
  readonly requestTimeoutMs: number;
  /** Bound on writes waiting for commit and reads waiting for confirmation, each. */
  readonly maxPendingRequests: number;
}

/** Readies persisted concurrently (a bound on the storage pipeline; the core allows more). */
const MAX_READIES_IN_FLIGHT = 8;
/** After a failed snapshot (out of space, say), wait this long before trying again. */
const SNAPSHOT_RETRY_MS = 500;

export class Host<R> {
  private readonly core: RaftCore;
  private readonly proposals: ProposalWaiters<R>;
  private readonly reads: ReadWaiters;
  private ticker: NodeJS.Timeout | undefined;
  /** Readies taken from the core and not yet advanced; their completions chain on `finished`. */
  private readiesInFlight = 0;
  private finished: Promise<void> = Promise.resolve();
  /** No new Ready is taken while a snapshot (received or about to be taken) settles. */
  private drainingForSnapshot = false;
  private loopScheduled = false;
  private closed = false;
  private nextReadContext = 1;
  /** Context shared by reads arriving before the next Ready is taken (0 = none open). */
  private openReadContext = 0;
  private appliedIndex: number;
  private snapshotIndex: number;
  private snapshotInFlight = false;
  /** performance.now() before which no snapshot is tried (after a failure); 0 = none pending. */
  private snapshotRetryAtMs = 0;
  /** The no-space alarm, per source; raised while not empty. */
  private readonly noSpaceBy = new Map<NoSpaceSource, Error>();
  private leaderId = 0;
  private role: Role = Role.Follower;
  private term = 0;
  /** The hard state last submitted to the WAL, and a newer one differing only in commit (not yet written). */
  private writtenHardState: HardState;
  private lazyHardState: HardState | undefined;
  /** Set when the loop hits an I/O error: the node must stop rather than continue unsafely. */
  fatalError: Error | undefined;

  constructor(
    private readonly opts: HostOptions,
    boot: RaftBootState,
    private readonly wal: Wal,
    private readonly snapshots: SnapshotStore,
    private readonly machine: StateMachine<R>,
    private readonly peers: PeerSender,
    private readonly log: Logger,
    private readonly events: HostEvents = {},
    private readonly onFatal: (err: Error) => void = () => undefined,
  ) {
    const config: RaftConfig = {
      id: opts.id,
      electionTimeoutTicks: opts.electionTicks,
      heartbeatTimeoutTicks: opts.heartbeatTicks,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: 256,
      maxEntriesPerMsg: 4096,
      maxBytesPerMsg: 4 * 1024 * 1024,
      maxUncommittedEntries: 100_000,
      // Re-applying the WAL after a restart (hundreds of 1 MiB batches) in one turn stalled a
      // 2 M-key node for 1.3 s: apply ≤ 2 MiB per Ready, letting heartbeats in between.
      maxCommittedBytesPerReady: 2 * 1024 * 1024,
      lazyCommitBroadcast: true,
      // Election jitter only needs to differ between nodes and runs; it is not a secret.
      rng: createRng((opts.id * 2654435761) ^ Date.now()),
    };
    this.core = new RaftCore(config, boot);
    this.wal.flushOnLoopThread = this.role !== Role.Leader;
    this.wal.onNoSpace = (err) => this.noteNoSpace('wal', err);
    const walNoSpace = this.wal.noSpace;
    if (walNoSpace) this.noteNoSpace('wal', walNoSpace);
    this.appliedIndex = boot.applied;
    this.writtenHardState = boot.hardState;
    this.snapshotIndex = boot.snapshot?.index ?? 0;
    this.proposals = new ProposalWaiters<R>(opts.maxPendingRequests, opts.requestTimeoutMs);
    this.reads = new ReadWaiters(opts.maxPendingRequests, opts.requestTimeoutMs);
  }

  start(): void {
    this.ticker = setInterval(() => {
      this.core.tick();
      if (this.snapshotRetryAtMs !== 0 && performance.now() >= this.snapshotRetryAtMs) this.maybeSnapshot();
      this.schedule();
    }, this.opts.tickMs);
    this.schedule();
  }

  /**
   * Stops ticking, lets the in-flight Readies finish (their fsyncs included), fails waiting
   * clients. A flush waiting for disk space is not waited for: closing the WAL fails it, and
   * nothing of it was acknowledged.
   */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    let poll: NodeJS.Timeout | undefined;
    const outOfSpace = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.wal.noSpace !== undefined) resolve();
        else poll = setTimeout(check, 100);
      };
      check();
    });
    await Promise.race([this.finished, outOfSpace]);
    clearTimeout(poll);
    const err = new RequestError('TRYAGAIN', 'node is shutting down');
    this.proposals.failAll(err);
    this.reads.failUnconfirmed(err);
  }

  // ---- inputs -------------------------------------------------------------------------------

  step(msg: Message): void {
    if (this.closed || this.fatalError) return;
    try {
      this.core.step(msg);
    } catch (err) {
      // Only an invariant breach throws here (e.g. a peer asking us to overwrite a committed
      // entry): stop rather than let a forged or buggy peer corrupt this replica.
      this.fail(err as Error);
      return;
    }
    this.schedule();
  }

  reportUnreachable(peer: number): void {
    if (this.closed) return;
    this.core.reportUnreachable(peer);
  }

  /**
   * Whether propose() would refuse an entry only for lack of room (too many proposals in flight,
   * or the in-memory log at --max-log-bytes until a snapshot frees it): the write batcher holds
   * writes while this is true. A closing node or a follower is not "blocked": propose() answers.
   */
  get proposalsBlocked(): boolean {
    return !this.closed && this.noRoomReason() !== undefined;
  }

  /** Why propose() has no room for an entry now, or undefined if it has. */
  private noRoomReason(): string | undefined {
    if (!this.proposals.hasRoom()) return 'too many writes in flight; slow down';
    // The snapshot that frees the log has not caught up (slow disk, huge state) or the entries
    // are not committed yet (followers behind): backpressure instead of growing past the bound.
    if (this.core.logBytes() >= this.opts.maxLogBytes)
      return 'raft log at its --max-log-bytes bound; retry after the snapshot';
    return undefined;
  }

  /** Proposes one entry (a batch of client commands); resolves with its apply result. */
  propose(data: Uint8Array): Promise<R> {
    if (this.closed) return Promise.reject(new RequestError('TRYAGAIN', 'node is shutting down'));
    const noSpace = this.noSpaceMessage;
    if (noSpace !== undefined) return Promise.reject(new RequestError('NOSPACE', noSpace));
    const noRoom = this.noRoomReason();
    if (noRoom !== undefined) return Promise.reject(new RequestError('TRYAGAIN', noRoom));
    const res = this.core.propose(data);
    if (!res.ok) {
      const why = res.reason === 'not-leader' ? 'not the leader' : res.reason;
      return Promise.reject(new RequestError('TRYAGAIN', `write refused: ${why}`));
    }
    const done = this.proposals.wait(res.index, res.term);
    this.schedule();
    return done;
  }

  /**
   * A linearizable read barrier: resolves once this node's state machine reflects every write
   * acknowledged before the call (ReadIndex: a quorum confirms the leader, then apply catches up).
   * Reads arriving in the same turn share one confirmation round.
   */
  readBarrier(): Promise<void> {
    if (this.closed) return Promise.reject(new RequestError('TRYAGAIN', 'node is shutting down'));
    if (!this.reads.hasRoom())
      return Promise.reject(new RequestError('TRYAGAIN', 'too many reads in flight'));
    if (this.openReadContext === 0) {
      const context = this.nextReadContext++;
      if (!this.core.readIndex(context)) {
        return Promise.reject(
          new RequestError('TRYAGAIN', 'no leader known; cannot confirm a linearizable read'),
        );
      }
      this.openReadContext = context;
      this.schedule();
    }
    return this.reads.wait(this.openReadContext);
  }

  // ---- queries ------------------------------------------------------------------------------

  status(): RaftStatus {
    return this.core.status();
  }

  get isLeader(): boolean {
    return this.role === Role.Leader;
  }

  get currentLeader(): number {
    return this.leaderId;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  /**
   * Set while the no-space alarm is raised: why writes are refused, naming the directory that
   * is out of space ("disk full: /data/wal (ENOSPC: ...); ...").
   */
  get noSpaceMessage(): string | undefined {
    for (const [source, err] of this.noSpaceBy) {
      const where = source === 'wal' ? this.wal.directory : this.snapshots.directory;
      const what = source === 'wal' ? 'cannot extend the log' : 'cannot write a snapshot';
      return `disk full: ${where} (${what}: ${err.message}); writes are refused until space is freed, reads are served`;
    }
    return undefined;
  }

  /** Bytes of the Raft log held in memory (RaftCore.logBytes); cheap, unlike status(). */
  get logBytes(): number {
    return this.core.logBytes();
  }

  // ---- the loop -----------------------------------------------------------------------------

  private schedule(): void {
    if (this.loopScheduled || this.closed || this.fatalError) return;
    this.loopScheduled = true;
    // Run after the current turn so that everything arriving now (pipelined commands from many
    // connections, a burst of peer messages) lands in one Ready and one fsync.
    setImmediate(() => {
      this.loopScheduled = false;
      this.takeReadies();
    });
  }

  /**
   * Takes every Ready the core has (up to MAX_READIES_IN_FLIGHT), starts each one's work, and
   * finishes them strictly in order as their fsyncs complete. A new Ready does not wait for the
   * previous fsync: entries committed meanwhile are applied and acknowledged at once.
   */
  private takeReadies(): void {
    while (
      !this.closed &&
      !this.fatalError &&
      !this.drainingForSnapshot &&
      this.readiesInFlight < MAX_READIES_IN_FLIGHT &&
      this.core.hasReady()
    ) {
      // Close the open read batch before taking a Ready: a Ready may commit and acknowledge
      // writes, and a read that starts after an acknowledgement needs a fresh confirmation
      // (the shared context's read index was fixed when the batch opened).
      this.openReadContext = 0;
      const rd = this.core.ready();
      this.readiesInFlight++;
      const persisted = this.beginReady(rd);
      this.finished = this.finished
        .then(() => persisted)
        .then(() => this.finishReady(rd))
        .catch((err: unknown) => this.fail(err as Error));
      // A snapshot replaces the state machine: let it settle before taking more work.
      if (rd.snapshot) this.drainingForSnapshot = true;
    }
  }

  /** Everything of a Ready that need not wait for its fsync; returns the fsync. */
  private async beginReady(rd: Ready): Promise<void> {
    if (rd.softState) this.noteSoftState(rd.softState.leaderId, rd.softState.role);
    if (rd.hardState) this.term = rd.hardState.term;

    // 1. The leader's replication messages do not depend on its own disk (thesis §10.2.1).
    for (const m of rd.messagesBeforePersist) this.send(m);

    // 2. Apply, then answer writers and readers. Committed entries are already durable here
    //    (the core hands out only entries confirmed durable through advance()), so this need
    //    not wait for any fsync. A received snapshot's bytes are durable too (the transport
    //    stored them before stepping the message): install it first.
    if (rd.snapshot) await this.installSnapshot(rd.snapshot);
    this.applyCommitted(rd.committedEntries);
    for (const rs of rd.readStates) this.reads.confirm(rs.context, rs.index, this.appliedIndex);
    this.reads.appliedTo(this.appliedIndex);

    // 3. Persist new entries and hard state: WAL appends complete in submission order.
    await this.persist(rd);
  }

  /** After the Ready's fsync (and every earlier one's). */
  private finishReady(rd: Ready): void {
    // 4. Votes and acknowledgements promise durability: only now may they leave.
    for (const m of rd.messages) this.send(m);
    this.core.advance(rd);
    this.readiesInFlight--;
    if (rd.snapshot) this.drainingForSnapshot = false;
    this.maybeSnapshot();
    this.schedule();
  }

  private fail(err: Error): void {
    if (this.fatalError) return;
    if (this.closed && isNoSpaceError(err)) {
      // The WAL was closed while a flush waited for space: those entries were never durable,
      // so never acknowledged. Not a reason to exit non-zero.
      this.log.warn('stopped with unwritten entries (out of disk space)', { error: err.message });
      return;
    }
    // A failed fsync or write leaves us unsure what is durable, and a broken invariant means a
    // bug or a forged peer: stop (fail-stop), never continue unsafely.
    this.fatalError = err;
    this.log.error('stopping the node', { error: err.message });
    this.onFatal(err);
  }

  /**
   * One write + fdatasync for the Ready's snapshot marker, entries and hard state. A hard state
   * that differs from the last one written only in its commit index is not worth an fsync
   * (commit is not needed for safety: a restarted node relearns it from the leader); it rides
   * along with the next write instead.
   */
  private async persist(rd: Ready): Promise<void> {
    const hardState = rd.hardState ?? this.lazyHardState;
    const mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      (rd.hardState !== undefined &&
        (rd.hardState.term !== this.writtenHardState.term ||
          rd.hardState.vote !== this.writtenHardState.vote));
    if (!mustSync) {
      if (rd.hardState) this.lazyHardState = rd.hardState;
      return;
    }
    if (hardState) this.writtenHardState = hardState;
    this.lazyHardState = undefined;
    const started = performance.now();
    await this.wal.append({
      entries: rd.entries,
      ...(hardState ? { hardState } : {}),
      ...(rd.snapshot ? { snapshot: { index: rd.snapshot.index, term: rd.snapshot.term } } : {}),
    });
    this.events.onFsync?.(performance.now() - started, rd.entries.length);
  }

  private noteNoSpace(source: NoSpaceSource, err: Error | undefined): void {
    const wasRaised = this.noSpaceBy.size > 0;
    const hadSource = this.noSpaceBy.has(source);
    if (err) this.noSpaceBy.set(source, err);
    else if (!this.noSpaceBy.delete(source)) return;
    const raised = this.noSpaceBy.size > 0;
    if (err && !hadSource)
      this.log.warn('out of disk space: writes refused until space is freed', { source, error: err.message });
    if (wasRaised === raised) return;
    if (!raised) this.log.info('disk space available again: writes accepted');
    this.events.onNoSpace?.(raised);
  }

  private noteSoftState(leaderId: number, role: Role): void {
    if (leaderId !== this.leaderId) {
      this.leaderId = leaderId;
      this.events.onLeaderChange?.(leaderId, this.term);
      this.log.info('leader changed', { leader: leaderId });
      // Unconfirmed reads may never be confirmed by a deposed leader; they are safe to retry.
      this.reads.failUnconfirmed(new RequestError('TRYAGAIN', 'leader changed during the read; retry'));
    }
    if (role !== this.role) {
      this.role = role;
      // See Wal.flushOnLoopThread: a follower or candidate only waits for its fsync.
      this.wal.flushOnLoopThread = role !== Role.Leader;
      this.events.onRoleChange?.(role);
    }
  }

  private send(m: Message): void {
    if (m.type === MessageType.Snapshot) {
      void this.streamSnapshot(m);
      return;
    }
    this.peers.send(m);
  }

  private async streamSnapshot(m: Message): Promise<void> {
    if (!m.snapshot) throw new Error('invariant: Snapshot message without metadata');
    let ok = false;
    let sentIndex = m.snapshot.index;
    try {
      // Send the newest stored snapshot, named by its own metadata: the one the core named may
      // already be pruned by a newer local snapshot, and a newer one serves the follower better.
      const latest = await this.snapshots.latest();
      if (!latest || latest.meta.index < m.snapshot.index) {
        throw new Error(`no stored snapshot at or after index ${m.snapshot.index}`);
      }
      sentIndex = latest.meta.index;
      await this.peers.sendSnapshot(
        { ...m, snapshot: latest.meta },
        this.snapshots.readChunks(latest.meta.index),
      );
      ok = true;
      this.log.info('snapshot sent', { to: m.to, index: sentIndex });
    } catch (err) {
      this.log.warn('snapshot send failed', { to: m.to, index: sentIndex, error: (err as Error).message });
    }
    if (!this.closed) {
      this.core.reportSnapshotStatus(m.to, ok);
      this.schedule();
    }
  }

  private async installSnapshot(meta: SnapshotMeta): Promise<void> {
    const latest = await this.snapshots.latest();
    if (!latest || latest.meta.index !== meta.index) {
      throw new Error(`invariant: snapshot ${meta.index} stepped into the core but not on disk`);
    }
    await this.machine.restore(this.snapshots.readBody(latest.path));
    this.appliedIndex = meta.index;
    this.snapshotIndex = meta.index;
    this.noteNoSpace('snapshot', undefined); // a newer snapshot is on disk: that one fit
    this.proposals.snapshotInstalled(meta.index);
    this.log.info('installed snapshot from leader', { index: meta.index, term: meta.term });
  }

  private applyCommitted(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index !== this.appliedIndex + 1) {
        throw new Error(`invariant: applying index ${e.index} after ${this.appliedIndex}`);
      }
      this.appliedIndex = e.index;
      if (e.type === EntryType.Normal && e.data.length > 0) {
        const result = this.machine.apply(e.data);
        this.proposals.applied(e.index, e.term, () => result);
      } else {
        // No-ops and membership changes carry no client result; a waiter there lost its slot.
        this.proposals.applied(e.index, e.term, () => {
          throw new Error(`invariant: a client write waited on non-command entry ${e.index}`);
        });
      }
    }
    if (entries.length > 0) this.events.onCommit?.(entries.length);
  }

  // ---- snapshots ----------------------------------------------------------------------------

  private maybeSnapshot(): void {
    if (this.snapshotInFlight || this.closed) return;
    if (this.snapshotRetryAtMs !== 0) {
      if (performance.now() < this.snapshotRetryAtMs) return;
      this.snapshotRetryAtMs = 0;
      // The snapshot that did not fit is moot once nothing new is applied; the WAL raises its
      // own alarm if the disk is still full.
      if (this.appliedIndex <= this.snapshotIndex) this.noteNoSpace('snapshot', undefined);
    }
    const retryingNoSpace = this.noSpaceBy.has('snapshot') && this.appliedIndex > this.snapshotIndex;
    const dueByEntries = this.appliedIndex - this.snapshotIndex >= this.opts.snapshotEntries;
    const dueByBytes =
      this.wal.bytesSinceRelease >= this.opts.snapshotWalBytes && this.appliedIndex > this.snapshotIndex;
    if (!dueByEntries && !dueByBytes && !retryingNoSpace && !this.dueByLogBytes()) return;
    if (this.readiesInFlight > 0) {
      // The core learns what was applied only through advance(): drain the pipeline (about one
      // fsync) so its applied index matches the state machine the snapshot will capture.
      this.drainingForSnapshot = true;
      return;
    }
    this.drainingForSnapshot = false;
    this.snapshotInFlight = true;
    this.takeSnapshot()
      .catch((err: unknown) => this.fail(err as Error))
      .finally(() => {
        this.snapshotInFlight = false;
      });
  }

  /**
   * The in-memory log passed half of --max-log-bytes and a snapshot would free a real part of
   * it. The second condition keeps a log whose bulk is not yet applied (followers behind, no
   * quorum) from triggering one snapshot after another that free nothing.
   */
  private dueByLogBytes(): boolean {
    const halfBoundBytes = this.opts.maxLogBytes / 2;
    return this.core.logBytes() > halfBoundBytes && this.core.compactableLogBytes() >= halfBoundBytes / 2;
  }

  /** Streams the machine to disk while applies continue (the machine copies on write). */
  private async takeSnapshot(): Promise<void> {
    // Meta and view are taken in the same turn: both describe the state after the last apply.
    const meta = this.core.appliedSnapshotMeta();
    if (meta.index !== this.appliedIndex) {
      throw new Error(
        `invariant: snapshot meta at ${meta.index} but the machine applied ${this.appliedIndex}`,
      );
    }
    const view = this.machine.beginSnapshot();
    const started = performance.now();
    try {
      const { sizeBytes } = await this.snapshots.write(meta, view.chunks);
      if (this.closed) return;
      this.snapshotIndex = meta.index;
      // Exactly at the snapshot: a follower that needs older entries is sent this snapshot,
      // which the core names by its compaction point.
      this.core.compact(meta.index);
      // Release only what even the older kept snapshot covers: if the newest one is ever found
      // corrupt, recovery falls back to the older one and needs the WAL from there on.
      await this.wal.releaseTo(await this.snapshots.releasableIndex());
      this.noteNoSpace('snapshot', undefined);
      this.events.onSnapshot?.(meta.index, sizeBytes, performance.now() - started);
      this.log.info('snapshot written', {
        index: meta.index,
        bytes: sizeBytes,
        ms: Math.round(performance.now() - started),
      });
    } catch (err) {
      // Not fatal: the log keeps the entries. Out of space raises the alarm until a snapshot fits
      // (said once, not at every retry).
      if (!(isNoSpaceError(err) && this.noSpaceBy.has('snapshot')))
        this.log.error('snapshot failed; will retry later', { error: (err as Error).message });
      if (!this.closed) {
        this.snapshotRetryAtMs = performance.now() + SNAPSHOT_RETRY_MS;
        if (isNoSpaceError(err)) this.noteNoSpace('snapshot', err as Error);
      }
    } finally {
      view.release();
    }
  }
}
