import { applyConfChange, encodeConfChange, isMember, isVoter, tryDecodeConfChange } from './confchange.js';
import { RaftLog, TERM_UNKNOWN } from './log.js';
import { Progress } from './progress.js';
import {
  ConfChangeType,
  EntryType as EntryTypeEnum,
  MessageType as MessageTypeEnum,
  NO_NODE,
  Role as RoleEnum,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ProgressStatus,
  type ProposeResult,
  type RaftBootState,
  type RaftConfig,
  type RaftStatus,
  type ReadState,
  type Ready,
  type SnapshotMeta,
  type SoftState,
} from './types.js';

// Local aliases: read once, so the hot path does plain property reads instead of going through
// module-namespace bindings (which some loaders compile to getters).
const EntryType = EntryTypeEnum;
type EntryType = EntryTypeEnum;
const MessageType = MessageTypeEnum;
type MessageType = MessageTypeEnum;
const Role = RoleEnum;
type Role = RoleEnum;

/**
 * Vote/PreVote `context` marking an election started by TimeoutNow (leadership transfer):
 * voters grant it even while they still hold a lease for the current leader.
 */
export const CAMPAIGN_TRANSFER_CONTEXT = 1;

const DEFAULT_MAX_COMMITTED_PER_READY = 4096;
const DEFAULT_MAX_PENDING_READS = 4096;
const EMPTY_ENTRIES: readonly Entry[] = Object.freeze([]);
const EMPTY_MESSAGES: readonly Message[] = Object.freeze([]);
const EMPTY_READS: readonly ReadState[] = Object.freeze([]);
const EMPTY_DATA = new Uint8Array(0);

type MutableMessage = { -readonly [K in keyof Message]: Message[K] };

type CampaignKind = 'pre-election' | 'election' | 'transfer';

/** A configuration and the log index of the ConfChange entry that produced it (or the snapshot index). */
interface ConfAt {
  readonly index: number;
  readonly conf: ConfState;
}

/** A linearizable read waiting for leadership confirmation (seq orders reads and heartbeat rounds). */
interface PendingRead {
  readonly seq: number;
  /** Commit index when the read was registered (0 until the leader has committed in its term). */
  index: number;
  readonly context: number;
  readonly from: NodeId;
}

/**
 * The pure Raft consensus core (model: etcd-io/raft's raft.go + RawNode).
 *
 * Inputs: tick(), step(message), propose(), proposeConfChange(), readIndex(),
 * transferLeadership(), and the host's reports (compact, reportSnapshotStatus,
 * reportUnreachable). Output: ready() / advance(). No I/O, no clock, no ambient randomness.
 *
 * Persistence contract (see Ready in types.ts):
 * - `Ready.messagesBeforePersist` holds only a leader's App/Heartbeat/Snapshot/TimeoutNow
 *   and anyone's HeartbeatResp (and only once the current term is durable); the host may send them before or
 *   while it persists. The leader counts itself in a commit quorum only for entries the host
 *   has acknowledged as durable through advance().
 * - `Ready.messages` (votes, responses, a follower's anything) may be sent only after the
 *   Ready's snapshot, entries and hard state are durable.
 * - `Ready.committedEntries` never go beyond what is durable locally.
 *
 * Configuration changes take effect as soon as the ConfChange entry is in the log (Raft
 * dissertation §4.1), are undone if it is truncated, and only one may be uncommitted/unapplied
 * at a time; a new leader must commit an entry of its own term before proposing one.
 */
/** Bound on Readies handed out and not yet advanced (the host's persistence pipeline depth). */
export const MAX_INFLIGHT_READIES = 64;

export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly maxCommittedPerReady: number;
  private readonly maxCommittedBytesPerReady: number;
  private readonly maxPendingReads: number;

  private term = 0;
  private vote: NodeId = NO_NODE;
  private lead: NodeId = NO_NODE;
  private role: Role = Role.Follower;
  private readonly log: RaftLog;

  /** History of configurations: [0] is in effect at the compaction point; the last one is current. */
  private confs: ConfAt[];

  /** Leader only: followers and learners (never this node). */
  private readonly progress = new Map<NodeId, Progress>();
  /** Candidate/pre-candidate: responses received (true = granted). */
  private readonly votes = new Map<NodeId, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NO_NODE;

  // Leader: sends deferred to the next ready() so that many proposals share one App.
  private appendPending = false;
  private commitPending = false;
  /** lazyCommitBroadcast: the commit advanced and followers have not been sent it yet. */
  private commitUnannounced = false;

  // Leader: linearizable reads.
  private pendingReads: PendingRead[] = [];
  private readSeq = 0;
  private lastRoundSeq = 0;
  private confirmedSeq = 0;

  private msgsBeforePersist: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];

  /** Term of the last hard state the host confirmed durable. */
  private durableTerm: number;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /**
   * Readies handed out and not yet advanced, oldest first. The host may take a new Ready while
   * earlier ones are still being persisted (async storage writes, as etcd's raft allows): it
   * persists them in order and advances them in order. Bounded.
   */
  private readonly inflightReadies: Ready[] = [];

  private appliedTerm: number;
  private appliedConf: ConfState;

  /** Scratch array for quorum computations (avoids an allocation per AppResp). */
  private quorumScratch = new Float64Array(8);

  /**
   * Restores term, vote, commit, log and configuration from `boot` (configuration = the
   * snapshot's, else boot.confState, then every ConfChange entry in the log after it).
   */
  constructor(config: RaftConfig, boot: RaftBootState) {
    validateConfig(config);
    this.id = config.id;
    this.cfg = config;
    this.maxCommittedPerReady = config.maxCommittedEntriesPerReady ?? DEFAULT_MAX_COMMITTED_PER_READY;
    this.maxCommittedBytesPerReady = config.maxCommittedBytesPerReady ?? Number.MAX_SAFE_INTEGER;
    this.maxPendingReads = config.maxPendingReads ?? DEFAULT_MAX_PENDING_READS;

    const snap = boot.snapshot;
    const snapIndex = snap?.index ?? 0;
    const snapTerm = snap?.term ?? 0;
    this.log = new RaftLog(snapIndex, snapTerm, boot.entries, boot.hardState.commit, boot.applied);
    if (isFreshBoot(boot)) {
      // Bootstrap (like etcd): the initial membership goes into the log as ConfChange entries
      // of term 0 at indexes 1..n, committed by construction (every founding node writes the
      // same ones). The log then describes the whole configuration, so a node that joins later
      // (booted with an empty confState) derives the right membership by replaying it.
      this.confs = [{ index: 0, conf: { voters: [], learners: [] } }];
      const ents = bootstrapEntries(boot.confState);
      this.log.truncateAndAppend(ents);
      for (const e of ents) this.noteAppended(e);
      this.log.commitTo(ents.length);
    } else {
      this.confs = [{ index: snapIndex, conf: snap?.confState ?? boot.confState }];
      for (let i = this.log.firstIndex(); i <= this.log.lastIndex(); i++)
        this.noteAppended(this.log.entry(i));
    }

    // A crash may keep a Ready's entries but lose its hard state (writes are ordered snapshot →
    // entries → hard state and only a prefix is promised to survive). Then the log holds entries
    // of a term the hard state never reached. Adopting that term with no vote is safe: nothing
    // of that Ready (no vote, no response) left this node before the hard state was durable.
    if (boot.hardState.term < this.log.lastTerm()) {
      this.term = this.log.lastTerm();
      this.vote = NO_NODE;
    } else {
      this.term = boot.hardState.term;
      this.vote = boot.hardState.vote;
    }
    this.durableTerm = boot.hardState.term;
    this.becomeFollower(this.term, NO_NODE);
    this.prevHard = boot.hardState;
    this.prevSoft = { leaderId: NO_NODE, role: Role.Follower };
    this.appliedTerm = this.log.term(this.log.applied);
    this.appliedConf = this.confAt(this.log.applied);
  }

  // ---------------------------------------------------------------------------------------
  // Inputs

  /** Advances logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  /**
   * Feeds a message from a peer. Never throws on stale, duplicated, reordered or malformed (but
   * well-typed) messages: what does not apply is ignored. It does throw `invariant:` errors when
   * a message would break a safety property (e.g. truncate a committed entry): that means a bug
   * somewhere in the cluster, not a bad network.
   */
  step(m: Message): void {
    if (!this.wellFormed(m)) return;

    if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.type === MessageType.Vote && m.context === CAMPAIGN_TRANSFER_CONTEXT;
        // Leader lease (check-quorum): we heard from a leader within an election timeout, so a
        // (pre)candidate is probably a partitioned or removed node: do not let it disrupt us.
        const inLease =
          this.cfg.checkQuorum &&
          this.lead !== NO_NODE &&
          this.electionElapsed < this.cfg.electionTimeoutTicks;
        if (!force && inLease) return;
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote does not change our term: the candidate's term is hypothetical.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry the term we will campaign in; not a reason to step down.
      } else if (
        m.type === MessageType.App ||
        m.type === MessageType.Heartbeat ||
        m.type === MessageType.Snapshot
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NO_NODE);
      }
    } else if (m.term < this.term) {
      if (
        (this.cfg.checkQuorum || this.cfg.preVote) &&
        (m.type === MessageType.App || m.type === MessageType.Heartbeat)
      ) {
        // A stale leader (e.g. after a partition) would otherwise never learn of the new term:
        // with pre-vote/check-quorum our term does not reach it through votes.
        this.send(MessageType.AppResp, m.from);
      } else if (m.type === MessageType.PreVote) {
        this.send(MessageType.PreVoteResp, m.from, (r) => {
          r.reject = true;
        });
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        break;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(m);
        break;
      case Role.Follower:
        this.stepFollower(m);
        break;
    }
  }

  /**
   * Appends a client command (leader only). The entry is replicated from the next ready();
   * the result's index is where it will commit if this leader keeps its leadership.
   */
  propose(data: Uint8Array): ProposeResult {
    const refused = this.refuseProposal();
    if (refused !== undefined) return refused;
    return this.appendNew(EntryType.Normal, data);
  }

  /**
   * Proposes a single-server membership change (leader only). Refused with
   * 'conf-change-pending' while the previous change is not yet applied here, or while this
   * leader has not yet committed an entry of its term (Ongaro, raft-dev 2015: otherwise two
   * single-server changes from different terms can yield disjoint majorities).
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const refused = this.refuseProposal();
    if (refused !== undefined) return refused;
    if (this.confChangeBlocked()) return { ok: false, reason: 'conf-change-pending' };
    return this.appendNew(EntryType.ConfChange, encodeConfChange(cc));
  }

  /**
   * Requests a linearizable read. Leader: the read gets the current commit index and is
   * confirmed by a quorum answering a heartbeat round sent after it (one round confirms every
   * read queued before it); only after the leader has committed an entry of its term.
   * Follower: forwards a ReadIndex message to the leader. The answer arrives as
   * Ready.readStates {index, context}: serve the read once applied ≥ index. Returns false when
   * no leader is known or the leader's read queue is full (the host retries or fails the read).
   * A read whose leader steps down is dropped silently: the host must time it out.
   */
  readIndex(context: number): boolean {
    if (this.role === Role.Leader) return this.registerRead(this.id, context);
    if (this.lead === NO_NODE) return false;
    this.send(MessageType.ReadIndex, this.lead, (r) => {
      r.context = context;
    });
    return true;
  }

  /**
   * Leader only: hands leadership to voter `to`. Proposals are refused ('transferring') until
   * the transfer completes or is abandoned after an election timeout. TimeoutNow is sent as
   * soon as `to` has the whole log.
   */
  transferLeadership(to: NodeId): void {
    if (this.role !== Role.Leader) return;
    if (to === this.id || !isVoter(this.conf(), to)) return;
    if (this.leadTransferee === to) return;
    const pr = this.progress.get(to);
    if (pr === undefined) return;
    this.leadTransferee = to;
    // The transfer must finish within one election timeout; tickLeader abandons it after that.
    this.electionElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
  }

  /** Meta (index, term, membership) of the state the host has applied so far (through advance()). */
  appliedSnapshotMeta(): SnapshotMeta {
    return { index: this.log.applied, term: this.appliedTerm, confState: this.appliedConf };
  }

  /**
   * Bytes of the entries this core holds in memory: their data plus ENTRY_OVERHEAD_BYTES each.
   * They stay until compact(); the host bounds this by taking snapshots.
   */
  logBytes(): number {
    return this.log.bytes();
  }

  /** The part of logBytes() that compact(applied index) would free: entries already applied. */
  compactableLogBytes(): number {
    return this.log.bytesThrough(this.log.applied);
  }

  /**
   * The host has a durable snapshot through `index` (≤ applied): drop in-memory entries ≤ index.
   * Followers that need them from now on get a Snapshot message naming (index, term, conf).
   */
  compact(index: number): void {
    if (index > this.log.applied) {
      throw new Error(`invariant: compact(${index}) beyond applied ${this.log.applied}`);
    }
    if (index <= this.log.snapIndex) return;
    const conf = this.confAt(index);
    this.log.compact(index);
    let k = 0;
    while (k + 1 < this.confs.length && this.confs[k + 1]!.index <= index) k++;
    this.confs = this.confs.slice(k);
    this.confs[0] = { index, conf };
  }

  /**
   * The host finished (ok) or failed streaming a snapshot to `to`. Must be called once for every
   * Snapshot message the core emitted (also when the transport dropped it): until then the
   * leader sends `to` nothing but heartbeats.
   */
  reportSnapshotStatus(to: NodeId, ok: boolean): void {
    if (this.role !== Role.Leader) return;
    const pr = this.progress.get(to);
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's AppResp (ok) or a heartbeat response (failure) before the next App.
    pr.probeSent = true;
  }

  /** The transport could not deliver to `to`: stop pipelining to it (back to probe). */
  reportUnreachable(to: NodeId): void {
    if (this.role !== Role.Leader) return;
    const pr = this.progress.get(to);
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  // ---------------------------------------------------------------------------------------
  // Output

  /** Whether ready() has work. False while MAX_INFLIGHT_READIES Readies are out (not yet advanced). */
  hasReady(): boolean {
    if (this.inflightReadies.length >= MAX_INFLIGHT_READIES) return false;
    if (this.role === Role.Leader && (this.appendPending || this.commitPending || this.readRoundWanted()))
      return true;
    if (this.msgsAfterPersist.length > 0 || this.msgsBeforePersist.length > 0) return true;
    if (this.readStates.length > 0) return true;
    if (this.log.pendingSnapshot !== undefined || this.log.hasUnstable() || this.log.hasNextCommitted())
      return true;
    if (this.lead !== this.prevSoft.leaderId || this.role !== this.prevSoft.role) return true;
    return this.hardStateChanged();
  }

  /**
   * Work for the host (see Ready in types.ts for the order). May be called again before the
   * previous Ready is advanced (at most MAX_INFLIGHT_READIES outstanding): the host must then
   * persist Readies in the order it got them, send each one's `messages` only after it (and so
   * every earlier one) is durable, and advance them in order. messagesBeforePersist: leader
   * App/Heartbeat/Snapshot/TimeoutNow only; messages: only after snapshot + entries + hardState
   * are durable; committedEntries never exceed the log confirmed durable through advance().
   */
  ready(): Ready {
    if (this.inflightReadies.length >= MAX_INFLIGHT_READIES) {
      throw new Error(`invariant: more than ${MAX_INFLIGHT_READIES} Readies outstanding`);
    }
    if (this.role === Role.Leader) this.flushLeader();

    let softState: SoftState | undefined;
    if (this.lead !== this.prevSoft.leaderId || this.role !== this.prevSoft.role) {
      softState = { leaderId: this.lead, role: this.role };
      this.prevSoft = softState;
    }
    let hardState: HardState | undefined;
    if (this.hardStateChanged()) {
      hardState = { term: this.term, vote: this.vote, commit: this.log.commit };
      this.prevHard = hardState;
    }
    const snapshot = this.log.pendingSnapshot;
    if (snapshot !== undefined) {
      this.log.pendingSnapshot = undefined;
      if (this.log.applying < snapshot.index) this.log.applying = snapshot.index;
    }
    const entries = this.log.takeUnstable();
    const committedEntries = this.log.takeCommitted(
      this.maxCommittedPerReady,
      this.maxCommittedBytesPerReady,
    );
    const messagesBeforePersist = this.msgsBeforePersist.length > 0 ? this.msgsBeforePersist : EMPTY_MESSAGES;
    const messages = this.msgsAfterPersist.length > 0 ? this.msgsAfterPersist : EMPTY_MESSAGES;
    const readStates = this.readStates.length > 0 ? this.readStates : EMPTY_READS;
    if (messagesBeforePersist.length > 0) this.msgsBeforePersist = [];
    if (messages.length > 0) this.msgsAfterPersist = [];
    if (readStates.length > 0) this.readStates = [];

    const rd: Ready = {
      softState,
      hardState,
      snapshot,
      entries,
      committedEntries,
      messagesBeforePersist,
      messages,
      readStates,
    };
    this.inflightReadies.push(rd);
    this.log.beginWrite();
    return rd;
  }

  /**
   * The host has done everything in `ready`: snapshot + entries + hard state are durable,
   * messages sent, committed entries (and snapshot) applied. Readies are advanced in the order
   * ready() returned them.
   */
  advance(ready: Ready): void {
    if (ready !== this.inflightReadies[0])
      throw new Error('invariant: advance() with a Ready that is not the oldest outstanding one');
    this.inflightReadies.shift();
    if (ready.hardState !== undefined) this.durableTerm = ready.hardState.term;
    if (ready.snapshot !== undefined) {
      this.log.stableSnapTo(ready.snapshot);
      if (this.log.applied === ready.snapshot.index) {
        this.appliedTerm = ready.snapshot.term;
        this.appliedConf = ready.snapshot.confState;
      }
    }
    const persistedBefore = this.log.persisted;
    this.log.finishWrite();
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) {
      this.log.appliedTo(lastApplied.index);
      this.appliedTerm = lastApplied.term;
      this.appliedConf = this.confAt(lastApplied.index);
    }
    // Our own log may now count towards the commit quorum.
    if (this.role === Role.Leader && this.log.persisted > persistedBefore) this.maybeCommit();
  }

  status(): RaftStatus {
    let progress: ProgressStatus[] | undefined;
    if (this.role === Role.Leader) {
      progress = [];
      const conf = this.conf();
      if (isMember(conf, this.id)) {
        progress.push({
          id: this.id,
          match: this.log.persisted,
          next: this.log.lastIndex() + 1,
          inflight: 0,
          state: 'replicate',
          recentActive: true,
          learner: !isVoter(conf, this.id),
        });
      }
      for (const pr of this.progress.values()) {
        progress.push({
          id: pr.id,
          match: pr.match,
          next: pr.next,
          inflight: pr.inflights.count,
          state: pr.state,
          recentActive: pr.recentActive,
          learner: pr.learner,
        });
      }
      progress.sort((a, b) => a.id - b.id);
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leaderId: this.lead,
      commitIndex: this.log.commit,
      appliedIndex: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      logBytes: this.log.bytes(),
      confState: this.conf(),
      progress,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Roles

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.cfg.electionTimeoutTicks + this.cfg.rng.int(this.cfg.electionTimeoutTicks);
    this.leadTransferee = NO_NODE;
    this.votes.clear();
    this.progress.clear();
    this.appendPending = false;
    this.commitPending = false;
    this.commitUnannounced = false;
    this.pendingReads = [];
    this.lastRoundSeq = this.readSeq;
    this.confirmedSeq = this.readSeq;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = Role.Follower;
    this.lead = lead;
  }

  private becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invariant: leader cannot become pre-candidate');
    // Term and vote are untouched: a pre-election must not disturb anybody's state.
    this.reset(this.term);
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    if (this.role === Role.Leader) throw new Error('invariant: leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    if (this.role === Role.Follower) throw new Error('invariant: follower cannot become leader directly');
    this.reset(this.term);
    this.role = Role.Leader;
    this.lead = this.id;
    this.syncProgress();
    // §8: a no-op at the start of the term commits the previous terms' entries (§5.4.2) and
    // lets ReadIndex and conf changes proceed.
    this.appendNew(EntryType.Normal, EMPTY_DATA);
  }

  /**
   * May this node start an election? A voter of its latest configuration may; so may a voter
   * of the last committed configuration that a newer, uncommitted one removes: it may still be
   * needed to commit that removal (dissertation §4.2.2). It then counts votes in its latest
   * configuration (without itself) and steps down once the removal commits.
   */
  private promotable(): boolean {
    return isVoter(this.conf(), this.id) || isVoter(this.confAt(this.log.commit), this.id);
  }

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteType: MessageType;
    let voteTerm: number;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      voteTerm = this.term;
    }
    // Our own vote: safe to count now, since no other vote can arrive before our Vote
    // messages leave, and those leave only after our term and vote are durable.
    if (this.recordVote(this.id, true) === 'won') {
      if (kind === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const voter of this.conf().voters) {
      if (voter === this.id) continue;
      this.send(voteType, voter, (r) => {
        r.term = voteTerm;
        r.index = lastIndex;
        r.logTerm = lastTerm;
        r.context = kind === 'transfer' ? CAMPAIGN_TRANSFER_CONTEXT : 0;
      });
    }
  }

  private recordVote(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    const voters = this.conf().voters;
    if (!voters.includes(from)) return 'pending';
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.votes.values()) {
      if (v) yes++;
      else no++;
    }
    const q = quorum(voters.length);
    if (yes >= q) return 'won';
    if (no > voters.length - q) return 'lost';
    return 'pending';
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? 'pre-election' : 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NO_NODE;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTimeoutTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
    if (this.commitUnannounced) {
      this.commitUnannounced = false;
      this.commitPending = true;
    }
  }

  private quorumActive(): boolean {
    const voters = this.conf().voters;
    let active = 0;
    for (const v of voters) {
      if (v === this.id) active++;
      else if (this.progress.get(v)?.recentActive === true) active++;
    }
    return active >= quorum(voters.length);
  }

  // ---------------------------------------------------------------------------------------
  // Message handling

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const canVote =
      this.vote === m.from ||
      (this.vote === NO_NODE && this.lead === NO_NODE) ||
      (isPre && m.term > this.term);
    const respType = isPre ? MessageType.PreVoteResp : MessageType.VoteResp;
    // §5.4.1 election restriction: only for a log at least as up-to-date as ours.
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The response carries the candidate's term: a granted pre-vote is for its future term.
      this.send(respType, m.from, (r) => {
        r.term = m.term;
      });
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(respType, m.from, (r) => {
        r.reject = true;
      });
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
      case MessageType.TimeoutNow:
        // Leadership transfer: campaign at once, skipping pre-vote and overriding leases.
        this.campaign('transfer');
        break;
      case MessageType.ReadIndexResp:
        if (this.readStates.length < this.maxPendingReads) {
          this.readStates.push({ index: m.index, context: m.context });
        }
        break;
      default:
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.App:
      case MessageType.Heartbeat:
      case MessageType.Snapshot:
        // A leader of our term exists: §5.2, return to follower.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case MessageType.VoteResp:
      case MessageType.PreVoteResp: {
        const mine = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
        if (m.type !== mine) return;
        const result = this.recordVote(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === Role.PreCandidate) this.campaign('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NO_NODE);
        }
        break;
      }
      default:
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.AppResp:
        this.handleAppResp(m);
        break;
      case MessageType.HeartbeatResp:
        this.handleHeartbeatResp(m);
        break;
      case MessageType.ReadIndex:
        if (isMember(this.conf(), m.from)) this.registerRead(m.from, m.context);
        break;
      case MessageType.Propose:
        this.handleForwardedProposal(m);
        break;
      default:
        break;
    }
  }

  private handleAppend(m: Message): void {
    const log = this.log;
    if (m.index < log.commit) {
      // Everything through our commit index is already settled; tell the leader where we are.
      this.send(MessageType.AppResp, m.from, (r) => {
        r.index = log.commit;
      });
      return;
    }
    if (!log.matchTerm(m.index, m.logTerm)) {
      // §5.3: no entry at prevLogIndex with prevLogTerm. Hint the leader past the whole
      // conflicting term (etcd's findConflictByTerm) instead of one index per round trip.
      const hint = log.findConflictByTerm(Math.min(m.index, log.lastIndex()), m.logTerm);
      this.send(MessageType.AppResp, m.from, (r) => {
        r.index = m.index;
        r.reject = true;
        r.rejectHint = hint.index;
        r.rejectTerm = hint.term;
      });
      return;
    }
    const ents = m.entries;
    const lastNew = m.index + ents.length;
    // Skip what we already have; the first entry that differs (or is new) starts the append.
    const lastIndex = log.lastIndex();
    let k = 0;
    while (k < ents.length) {
      const e = ents[k]!;
      if (e.index > lastIndex || log.term(e.index) !== e.term) break;
      k++;
    }
    if (k < ents.length) {
      const first = ents[k]!.index;
      if (first <= lastIndex) this.truncateConfs(first);
      log.truncateAndAppend(k === 0 ? ents : ents.slice(k));
      for (let j = k; j < ents.length; j++) {
        const e = ents[j]!;
        if (e.type === EntryType.ConfChange) this.noteAppended(e);
      }
    }
    log.commitTo(Math.min(m.commit, lastNew));
    this.send(MessageType.AppResp, m.from, (r) => {
      r.index = lastNew;
    });
  }

  private handleHeartbeat(m: Message): void {
    // The leader caps the heartbeat's commit at our match, so it never exceeds what we hold;
    // the min() only guards against a malformed message.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(MessageType.HeartbeatResp, m.from, (r) => {
      r.context = m.context;
    });
  }

  private handleSnapshot(m: Message): void {
    const meta = m.snapshot;
    if (meta === undefined) return;
    const log = this.log;
    if (meta.index <= log.commit) {
      this.send(MessageType.AppResp, m.from, (r) => {
        r.index = log.commit;
      });
      return;
    }
    if (log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: fast-forward commit instead of reinstalling.
      log.commitTo(meta.index);
    } else {
      log.restore(meta);
      this.confs = [{ index: meta.index, conf: meta.confState }];
    }
    this.send(MessageType.AppResp, m.from, (r) => {
      r.index = meta.index;
    });
  }

  private handleAppResp(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    const lastIndex = this.log.lastIndex();

    if (m.reject) {
      let hint = Math.min(m.rejectHint, lastIndex);
      if (m.rejectTerm > 0) hint = this.log.findConflictByTerm(hint, m.rejectTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }

    if (m.index > lastIndex) return; // cannot acknowledge what we never had
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot') {
      if (pr.match + 1 >= this.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
    } else {
      pr.inflights.freeLE(m.index);
    }
    this.maybeCommit();
    while (this.sendAppend(m.from, false)) {
      // fill the in-flight window
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResp(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // A lost App in replicate state would otherwise stall a full window until a rejection.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    // Even an empty App helps: a follower missing pipelined entries rejects it, which sends
    // the leader back to probing from its match.
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context > 0 && m.context <= this.readSeq && !pr.learner) {
      if (m.context > pr.readAckSeq) pr.readAckSeq = m.context;
      this.releaseConfirmedReads();
    }
  }

  private handleForwardedProposal(m: Message): void {
    for (const e of m.entries) {
      if (e.type === EntryType.ConfChange) this.proposeConfChangeBytes(e.data);
      else this.propose(e.data);
    }
  }

  private proposeConfChangeBytes(data: Uint8Array): void {
    const cc = tryDecodeConfChange(data);
    if (cc !== undefined) this.proposeConfChange(cc);
  }

  // ---------------------------------------------------------------------------------------
  // Leader machinery

  private refuseProposal(): ProposeResult | undefined {
    if (this.role !== Role.Leader) return { ok: false, reason: 'not-leader', leaderId: this.lead };
    if (this.leadTransferee !== NO_NODE) return { ok: false, reason: 'transferring' };
    if (this.log.lastIndex() - this.log.commit >= this.cfg.maxUncommittedEntries)
      return { ok: false, reason: 'busy' };
    return undefined;
  }

  private confChangeBlocked(): boolean {
    if (this.log.term(this.log.commit) !== this.term) return true;
    const lastConfIndex = this.confs[this.confs.length - 1]!.index;
    return lastConfIndex > this.log.applied;
  }

  private appendNew(type: EntryType, data: Uint8Array): ProposeResult {
    const e: Entry = { term: this.term, index: this.log.lastIndex() + 1, type, data };
    this.log.appendOne(e);
    if (type === EntryType.ConfChange) this.noteAppended(e);
    this.appendPending = true;
    return { ok: true, index: e.index, term: e.term };
  }

  /** Sends what proposals and commit advances since the last ready() call for. */
  private flushLeader(): void {
    if (this.appendPending || this.commitPending) {
      const sendIfEmpty = this.commitPending;
      this.appendPending = false;
      this.commitPending = false;
      for (const id of this.progress.keys()) {
        if (!this.sendAppend(id, sendIfEmpty)) continue;
        while (this.sendAppend(id, false)) {
          // fill the in-flight window
        }
      }
    }
    if (this.readRoundWanted()) this.bcastHeartbeat();
  }

  /** True when queued reads are not covered by a heartbeat round and no round is outstanding. */
  private readRoundWanted(): boolean {
    return (
      this.pendingReads.length > 0 &&
      this.committedInTerm() &&
      this.readSeq > this.lastRoundSeq &&
      this.lastRoundSeq <= this.confirmedSeq
    );
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.commit) === this.term;
  }

  /**
   * Sends `to` the entries it lacks (or a snapshot). Returns whether a message was sent.
   * Respects the progress state: one message in probe, a bounded window in replicate, nothing
   * while a snapshot is in transit.
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const log = this.log;
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === TERM_UNKNOWN) return this.sendSnapshot(pr);
    const ents = log.slice(pr.next, log.lastIndex() + 1, this.cfg.maxEntriesPerMsg, this.cfg.maxBytesPerMsg);
    if (ents.length === 0 && !sendIfEmpty) return false;
    const commit = log.commit;
    this.send(MessageType.App, to, (r) => {
      r.index = prevIndex;
      r.logTerm = prevTerm;
      r.entries = ents;
      r.commit = commit;
    });
    pr.sentEntries(prevIndex + ents.length, ents.length);
    return true;
  }

  private sendSnapshot(pr: Progress): boolean {
    // Only to a follower that answered recently: a snapshot is expensive to stream.
    if (!pr.recentActive) return false;
    const meta: SnapshotMeta = {
      index: this.log.snapIndex,
      term: this.log.snapTerm,
      confState: this.confs[0]!.conf,
    };
    this.send(MessageType.Snapshot, pr.id, (r) => {
      r.index = meta.index;
      r.logTerm = meta.term;
      r.snapshot = meta;
    });
    pr.becomeSnapshot(meta.index);
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(MessageType.TimeoutNow, to);
  }

  private bcastHeartbeat(): void {
    const ctx = this.pendingReads.length > 0 ? this.readSeq : 0;
    if (ctx > 0) this.lastRoundSeq = ctx;
    const commit = this.log.commit;
    for (const pr of this.progress.values()) {
      // Capped at the follower's match: it may not hold (or may hold a different) entry beyond.
      const c = Math.min(pr.match, commit);
      this.send(MessageType.Heartbeat, pr.id, (r) => {
        r.commit = c;
        r.context = ctx;
      });
    }
  }

  /**
   * §5.3/§5.4.2: commit the highest index replicated on a quorum of voters, but only if its
   * entry is from the current term. Our own log counts only as far as it is durable.
   */
  private maybeCommit(): boolean {
    const voters = this.conf().voters;
    const n = voters.length;
    if (n === 0) return false;
    if (this.quorumScratch.length < n) this.quorumScratch = new Float64Array(n * 2);
    const matches = this.quorumScratch.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const id = voters[i]!;
      matches[i] = id === this.id ? this.log.persisted : (this.progress.get(id)?.match ?? 0);
    }
    matches.sort();
    const candidate = matches[n - quorum(n)]!;
    if (candidate <= this.log.commit || this.log.term(candidate) !== this.term) return false;
    const hadCommittedInTerm = this.committedInTerm();
    this.log.commitTo(candidate);
    if (this.cfg.lazyCommitBroadcast === true) this.commitUnannounced = true;
    else this.commitPending = true;
    if (!hadCommittedInTerm) {
      // Reads registered before our first commit in this term get that commit as read index.
      for (const r of this.pendingReads) if (r.index === 0) r.index = candidate;
      this.releaseConfirmedReads();
    }
    // A leader removed by a committed change hands over (dissertation §4.2.2).
    if (!isVoter(this.conf(), this.id) && this.log.commit >= this.confs[this.confs.length - 1]!.index) {
      this.becomeFollower(this.term, NO_NODE);
    }
    return true;
  }

  private registerRead(from: NodeId, context: number): boolean {
    if (this.pendingReads.length >= this.maxPendingReads) return false;
    const seq = ++this.readSeq;
    this.pendingReads.push({ seq, index: this.committedInTerm() ? this.log.commit : 0, context, from });
    this.releaseConfirmedReads();
    return true;
  }

  /** Releases every read whose heartbeat round a quorum of voters answered. */
  private releaseConfirmedReads(): void {
    if (this.pendingReads.length === 0 || !this.committedInTerm()) return;
    const voters = this.conf().voters;
    const n = voters.length;
    if (n === 0) return;
    if (this.quorumScratch.length < n) this.quorumScratch = new Float64Array(n * 2);
    const acks = this.quorumScratch.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const id = voters[i]!;
      acks[i] = id === this.id ? this.readSeq : (this.progress.get(id)?.readAckSeq ?? 0);
    }
    acks.sort();
    const confirmed = acks[n - quorum(n)]!;
    if (confirmed > this.confirmedSeq) this.confirmedSeq = confirmed;
    let k = 0;
    let toldCommit: NodeId[] | undefined;
    while (k < this.pendingReads.length && this.pendingReads[k]!.seq <= confirmed) {
      const r = this.pendingReads[k]!;
      if (r.from === this.id) {
        this.readStates.push({ index: r.index, context: r.context });
      } else {
        if (this.cfg.lazyCommitBroadcast === true && !(toldCommit ??= []).includes(r.from)) {
          // The follower may not know the commit it is about to wait for (its heartbeat was
          // capped at its match then): an App carrying it goes first, on the same connection.
          toldCommit.push(r.from);
          this.sendAppend(r.from, true);
        }
        this.send(MessageType.ReadIndexResp, r.from, (msg) => {
          msg.index = r.index;
          msg.context = r.context;
        });
      }
      k++;
    }
    if (k > 0) this.pendingReads = this.pendingReads.slice(k);
  }

  /** Leader: make the tracker match the current configuration. */
  private syncProgress(): void {
    const conf = this.conf();
    const next = this.log.lastIndex() + 1;
    const add = (id: NodeId, learner: boolean): void => {
      if (id === this.id) return;
      const pr = this.progress.get(id);
      if (pr === undefined) {
        // A new member counts as active so that check-quorum does not depose us right away.
        this.progress.set(id, new Progress(id, next, this.cfg.maxInflightMsgs, learner, true));
      } else {
        pr.learner = learner;
      }
    };
    for (const v of conf.voters) add(v, false);
    for (const l of conf.learners) add(l, true);
    for (const id of [...this.progress.keys()]) if (!isMember(conf, id)) this.progress.delete(id);
    if (this.leadTransferee !== NO_NODE && !isVoter(conf, this.leadTransferee)) this.leadTransferee = NO_NODE;
  }

  // ---------------------------------------------------------------------------------------
  // Configuration

  private conf(): ConfState {
    return this.confs[this.confs.length - 1]!.conf;
  }

  private confAt(index: number): ConfState {
    for (let k = this.confs.length - 1; k >= 0; k--) {
      const c = this.confs[k]!;
      if (c.index <= index) return c.conf;
    }
    return this.confs[0]!.conf;
  }

  /** A ConfChange entry entered the log: it takes effect now. */
  private noteAppended(e: Entry): void {
    if (e.type !== EntryType.ConfChange) return;
    const cc = tryDecodeConfChange(e.data);
    const prev = this.conf();
    const next = cc === undefined ? prev : applyConfChange(prev, cc);
    this.confs.push({ index: e.index, conf: next });
    if (this.role === Role.Leader) {
      this.syncProgress();
      this.appendPending = true;
    }
  }

  /** Entries from `index` on are being replaced: undo the configurations they brought. */
  private truncateConfs(index: number): void {
    while (this.confs.length > 1 && this.confs[this.confs.length - 1]!.index >= index) this.confs.pop();
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing

  private hardStateChanged(): boolean {
    const h = this.prevHard;
    return h.term !== this.term || h.vote !== this.vote || h.commit !== this.log.commit;
  }

  /**
   * Queues a message. A leader's App/Heartbeat/Snapshot/TimeoutNow may leave before the
   * Ready is persisted (thesis §10.2.1) — but only once its term is durable, so a leader that
   * crashes before persisting its term cannot have told anybody about entries of that term.
   * Any node's HeartbeatResp may too, once its term is durable.
   */
  private send(type: MessageType, to: NodeId, fill?: (m: MutableMessage) => void): void {
    const m: MutableMessage = {
      type,
      from: this.id,
      to,
      term: this.term,
      logTerm: 0,
      index: 0,
      entries: EMPTY_ENTRIES,
      commit: 0,
      reject: false,
      rejectHint: 0,
      rejectTerm: 0,
      context: 0,
      snapshot: undefined,
    };
    if (fill !== undefined) fill(m);
    const early =
      this.durableTerm === this.term &&
      ((this.role === Role.Leader &&
        (type === MessageType.App ||
          type === MessageType.Heartbeat ||
          type === MessageType.Snapshot ||
          type === MessageType.TimeoutNow)) ||
        // A heartbeat response promises nothing about this node's disk (as in etcd-io/raft, only
        // AppResp and votes wait for the append): it must not queue behind the fsync of a large
        // entry, or the leader, hearing from nobody, steps down (check-quorum) mid-write.
        (this.role === Role.Follower && type === MessageType.HeartbeatResp));
    if (early) this.msgsBeforePersist.push(m);
    else this.msgsAfterPersist.push(m);
  }

  /** Rejects messages that are not for us or whose fields are out of range. */
  private wellFormed(m: Message): boolean {
    if (m.to !== this.id || m.from === this.id || !isNodeId(m.from)) return false;
    if (m.type < MessageType.App || m.type > MessageType.Propose || !Number.isInteger(m.type)) return false;
    if (!isIndex(m.term) || !isIndex(m.logTerm) || !isIndex(m.index) || !isIndex(m.commit)) return false;
    if (!isIndex(m.rejectHint) || !isIndex(m.rejectTerm) || !Number.isSafeInteger(m.context)) return false;
    if (!Array.isArray(m.entries)) return false;
    if (m.type === MessageType.App) {
      if (m.term === 0) return false;
      let prevTerm = m.logTerm;
      for (let k = 0; k < m.entries.length; k++) {
        const e = m.entries[k]!;
        if (!isEntry(e) || e.index !== m.index + 1 + k || e.term < prevTerm || e.term > m.term) return false;
        prevTerm = e.term;
      }
    } else if (m.type === MessageType.Propose) {
      for (const e of m.entries) if (!isEntry(e)) return false;
    } else if (m.type === MessageType.Snapshot) {
      const s = m.snapshot;
      if (
        s === undefined ||
        !isIndex(s.index) ||
        !isIndex(s.term) ||
        s.term > m.term ||
        !isConfState(s.confState)
      ) {
        return false;
      }
    }
    return true;
  }
}

/** A brand-new founding node: nothing durable yet, and an initial membership to write down. */
function isFreshBoot(boot: RaftBootState): boolean {
  return (
    boot.snapshot === undefined &&
    boot.entries.length === 0 &&
    boot.hardState.term === 0 &&
    boot.hardState.commit === 0 &&
    boot.confState.voters.length > 0
  );
}

/** The initial membership as ConfChange entries: voters (ascending) first, then learners. */
function bootstrapEntries(conf: ConfState): Entry[] {
  const changes: ConfChange[] = [];
  for (const v of [...conf.voters].sort((a, b) => a - b))
    changes.push({ type: ConfChangeType.AddVoter, nodeId: v });
  for (const l of [...conf.learners].sort((a, b) => a - b)) {
    if (!conf.voters.includes(l)) changes.push({ type: ConfChangeType.AddLearner, nodeId: l });
  }
  return changes.map((cc, i) => ({
    term: 0,
    index: i + 1,
    type: EntryType.ConfChange,
    data: encodeConfChange(cc),
  }));
}

function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

function isNodeId(id: unknown): boolean {
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0;
}

function isIndex(n: unknown): boolean {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isEntry(e: Entry | undefined): boolean {
  return (
    e !== undefined &&
    isIndex(e.index) &&
    isIndex(e.term) &&
    (e.type === EntryType.Normal || e.type === EntryType.ConfChange) &&
    e.data instanceof Uint8Array
  );
}

function isConfState(c: ConfState | undefined): boolean {
  return (
    c !== undefined &&
    Array.isArray(c.voters) &&
    Array.isArray(c.learners) &&
    c.voters.every(isNodeId) &&
    c.learners.every(isNodeId)
  );
}

function validateConfig(c: RaftConfig): void {
  const positive = (name: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new Error(`invalid raft config: ${name} must be an integer >= 1, got ${v}`);
  };
  positive('id', c.id);
  positive('electionTimeoutTicks', c.electionTimeoutTicks);
  positive('heartbeatTimeoutTicks', c.heartbeatTimeoutTicks);
  positive('maxInflightMsgs', c.maxInflightMsgs);
  positive('maxEntriesPerMsg', c.maxEntriesPerMsg);
  positive('maxBytesPerMsg', c.maxBytesPerMsg);
  positive('maxUncommittedEntries', c.maxUncommittedEntries);
  if (c.maxCommittedEntriesPerReady !== undefined)
    positive('maxCommittedEntriesPerReady', c.maxCommittedEntriesPerReady);
  if (c.maxCommittedBytesPerReady !== undefined)
    positive('maxCommittedBytesPerReady', c.maxCommittedBytesPerReady);
  if (c.maxPendingReads !== undefined) positive('maxPendingReads', c.maxPendingReads);
  if (c.heartbeatTimeoutTicks >= c.electionTimeoutTicks) {
    throw new Error('invalid raft config: heartbeatTimeoutTicks must be below electionTimeoutTicks');
  }
}
