/**
 * Types of the pure Raft core. Nothing here does I/O; the host (node/host.ts, or the simulator)
 * owns the disk, the network and the clock, and drives the core through tick/step/propose and
 * drains it through ready()/advance().
 *
 * Persistence contract (what must be durable before what may be sent) is stated on Ready.
 */

/** Node ids are positive integers; 0 means "none" (no vote, no known leader). */
export type NodeId = number;
export const NO_NODE: NodeId = 0;

export const EntryType = {
  /** Client command (opaque bytes for the state machine) or, with empty data, the leader's no-op. */
  Normal: 0,
  /** A single-server membership change; data is encodeConfChange(...). */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The state that must survive a crash before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** Who we voted for in `term`; NO_NODE if nobody. */
  readonly vote: NodeId;
  /** Highest index known committed. Persisting it is an optimisation (faster restart), not a safety need. */
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  /** Non-voting members that receive the log but are not counted in quorums. */
  readonly learners: readonly NodeId[];
}

export const ConfChangeType = {
  AddVoter: 0,
  RemoveNode: 1,
  AddLearner: 2,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/**
 * Metadata of a snapshot: the state machine state after applying every entry up to `index`.
 * The snapshot's bytes never pass through the core: the host stores them, streams them to a
 * follower when the core sends a Snapshot message, and hands the follower's core only this
 * metadata once the bytes are durable on the follower.
 */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export const MessageType = {
  /** Leader → follower: entries after (index, logTerm), plus leader commit. */
  App: 1,
  AppResp: 2,
  Vote: 3,
  VoteResp: 4,
  PreVote: 5,
  PreVoteResp: 6,
  /** Leader → follower: keep-alive carrying commit (capped at the follower's match) and a read context. */
  Heartbeat: 7,
  HeartbeatResp: 8,
  /**
   * Leader → follower: install the snapshot named by `snapshot` (bytes streamed by the host).
   * The leader names its compaction point (the index of its last compact()); the host may stream
   * any durable snapshot at or after that index, and delivers the message to the follower's core
   * (with `snapshot` = the meta of the bytes actually sent) only once those bytes are durable
   * there. The leader's host then calls reportSnapshotStatus(to, ok).
   */
  Snapshot: 9,
  /** Leader → transferee: start an election now, ignoring pre-vote and leases. */
  TimeoutNow: 10,
  /** Follower → leader: please confirm leadership for read `context`. */
  ReadIndex: 11,
  /** Leader → follower: read `context` may be served once applied ≥ `index`. */
  ReadIndexResp: 12,
  /** Follower → leader: a forwarded proposal. */
  Propose: 13,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One message between cores. Flat like etcd's raftpb.Message: each type uses a subset of the
 * fields (see MessageType). Fields a type does not use are 0 / empty.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** App: term of the entry at `index` (the entry before `entries`). Vote/PreVote: candidate's last log term. */
  readonly logTerm: number;
  /** App: index before `entries`. AppResp: match index on success / rejected index. Vote: candidate's last index. ReadIndexResp: read index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** AppResp on reject: the follower's hint for fast backtracking (last index it may match). */
  readonly rejectHint: number;
  /** AppResp on reject: term of the follower's entry at rejectHint (0 if none) for term-skipping. */
  readonly rejectTerm: number;
  /**
   * Heartbeat/HeartbeatResp/ReadIndex/ReadIndexResp: read-request context (0 = none).
   * Vote: 1 (CAMPAIGN_TRANSFER_CONTEXT) marks an election started by TimeoutNow, which voters
   * grant even inside a leader lease.
   */
  readonly context: number;
  readonly snapshot?: SnapshotMeta;
}

export const Role = {
  Follower: 0,
  PreCandidate: 1,
  Candidate: 2,
  Leader: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface SoftState {
  readonly leaderId: NodeId;
  readonly role: Role;
}

/** A read confirmed by a quorum: serve it once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: number;
}

/**
 * Work the host must do, in this order:
 * 1. Send the messages in `messagesBeforePersist` (a leader's App/Heartbeat/Snapshot/TimeoutNow:
 *    they do not depend on the leader's own disk — thesis §10.2.1 — the leader counts itself
 *    in a quorum only for entries acknowledged as durable through advance(); and any node's
 *    HeartbeatResp, which promises nothing about its disk).
 * 2. Persist, durably (fdatasync) and atomically enough that a crash leaves a prefix:
 *    `snapshot` (if any) then `entries` (an append that REPLACES every stored entry with index
 *    ≥ entries[0].index) then `hardState` (if any).
 * 3. Only then send `messages` (votes, responses, a follower's anything): they promise the
 *    receiver that what they say is durable here.
 * 4. Apply `committedEntries` in order (and install `snapshot` into the state machine before them).
 * 5. Answer `readStates` once the state machine has applied ≥ their index.
 * 6. Call advance(ready).
 * ready() may be called again before advance() (at most MAX_INFLIGHT_READIES outstanding): the
 * host then persists Readies in the order it got them, sends each one's `messages` only once it
 * (and so every earlier one) is durable, and advances them in order (see RaftCore.ready()).
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: SnapshotMeta;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messagesBeforePersist: readonly Message[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

/** Seeded randomness for election jitter; the core never uses ambient randomness. */
export interface Rng {
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Base election timeout; each node waits a random value in [electionTimeoutTicks, 2*electionTimeoutTicks). */
  readonly electionTimeoutTicks: number;
  readonly heartbeatTimeoutTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Bound on un-acknowledged App messages per follower in the pipeline. */
  readonly maxInflightMsgs: number;
  /** Bound on entries per App message. */
  readonly maxEntriesPerMsg: number;
  /** Bound on the payload bytes per App message (at least one entry is always sent). */
  readonly maxBytesPerMsg: number;
  /** Bound on proposals accepted but not yet committed; beyond it propose() fails with 'busy'. */
  readonly maxUncommittedEntries: number;
  readonly rng: Rng;
  /** Bound on committedEntries per Ready (default 4096); the rest come in the next Ready. */
  readonly maxCommittedEntriesPerReady?: number;
  /**
   * Bound on the data bytes of committedEntries per Ready (default unbounded; at least one entry
   * is always handed out): a node that restarts with thousands of committed entries to re-apply
   * applies them over several Readies instead of one long turn that starves its heartbeats.
   */
  readonly maxCommittedBytesPerReady?: number;
  /** Bound on linearizable reads queued at the leader (default 4096); beyond it readIndex() returns false. */
  readonly maxPendingReads?: number;
  /**
   * false (default): a commit advance with no new entries to carry it is sent at once, as an
   * empty App to every follower. true: it waits for the next App with entries or the next
   * tick, whichever comes first. Under load the next App follows within a batch, so this saves
   * a message and an acknowledgement per follower per commit; when the load stops, followers
   * learn the last commit up to one tick late (their apply, not the commit, lags). Commit
   * knowledge on followers is never needed for safety; before answering a follower's
   * ReadIndex the leader sends it an App carrying the commit, so its read does not wait.
   */
  readonly lazyCommitBroadcast?: boolean;
}

/** What the core starts from after a restart (or, fresh, from the initial membership). */
export interface RaftBootState {
  readonly hardState: HardState;
  /** Latest durable snapshot, or undefined when none exists (then `confState` is the initial membership). */
  readonly snapshot?: SnapshotMeta;
  /**
   * Initial membership for a fresh cluster; ignored when `snapshot` exists or the log holds conf changes.
   * A founding node booting with nothing durable (term 0, no entries, no snapshot) writes this
   * membership into its log as ConfChange entries of term 0 at indexes 1..n, committed (so the
   * first client entry lands after them). Every founding node must pass the same confState. A
   * node joining an existing cluster boots with an EMPTY confState and learns the membership
   * from the leader's log or snapshot.
   */
  readonly confState: ConfState;
  /** Durable log entries after the snapshot, in order, contiguous. */
  readonly entries: readonly Entry[];
  /** Index of the last entry the state machine has applied (from the snapshot); entries after it will be re-delivered. */
  readonly applied: number;
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leaderId: NodeId }
  | { readonly ok: false; readonly reason: 'busy' | 'transferring' | 'conf-change-pending' };

export interface ProgressStatus {
  readonly id: NodeId;
  readonly match: number;
  readonly next: number;
  readonly inflight: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
  readonly learner: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leaderId: NodeId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
  /** Bytes of the entries held in memory (data + a per-entry overhead estimate), until compaction. */
  readonly logBytes: number;
  readonly confState: ConfState;
  /** Present on the leader only. */
  readonly progress?: readonly ProgressStatus[];
}
