import type { NodeId } from '../raft/types.js';
import type { LogView } from './log-store.js';

/** A broken Raft invariant. `invariant` names which one; the message says how. */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: InvariantName,
    detail: string,
  ) {
    super(`invariant: ${invariant}: ${detail}`);
    this.name = 'InvariantViolation';
  }
}

export type InvariantName =
  | 'election-safety'
  | 'log-matching'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'durability'
  | 'vote-persistence'
  | 'linearizable-read'
  | 'liveness'
  | 'host-contract';

const TERM_SPAN = 1_000_000;

interface ReadRecord {
  readonly node: NodeId;
  readonly key: number;
  readonly startMs: number;
  /** Highest index known committed anywhere when the read began. */
  readonly committedAtStart: number;
  /** Log index of the last write to `key` that was acknowledged (applied somewhere) before the read began. */
  readonly ackedIndexAtStart: number;
}

/**
 * The history of a simulated cluster and the Raft invariants over it. The simulator reports
 * what it observes (roles, appends, commits, applies, votes, reads); every report is checked at
 * once against all history so far and a violation throws InvariantViolation. It knows nothing
 * about cores, so tests can feed it fabricated histories.
 */
export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** (index, term) → prefix hash of the log ending in that entry: unique over all history. */
  private readonly entryPrefix = new Map<number, number>();
  /** committedHash[i]: prefix hash of the committed log at i (dense from 1 to committedIndex). */
  private readonly committedHash: number[] = [0];
  /** commitTermBound[i]: an upper bound on the term in which entry i was committed; non-decreasing in i. */
  private readonly commitTermBound: number[] = [0];
  /** stateHashAt[i]: the state machine's hash after applying the entry at i. */
  private readonly stateHashAt = new Map<number, number>();
  private readonly appliedByNode = new Map<NodeId, number>();
  private readonly voteOf = new Map<string, NodeId>();
  private readonly writeIndex = new Map<number, number>();
  private readonly ackedIndexByKey = new Map<number, number>();
  private readonly reads = new Map<number, ReadRecord>();
  private maxTerm = 0;

  /** Highest index known committed anywhere. */
  get committedIndex(): number {
    return this.committedHash.length - 1;
  }

  committedHashAt(index: number): number | undefined {
    return this.committedHash[index];
  }

  get leaders(): ReadonlyMap<number, NodeId> {
    return this.leaderOfTerm;
  }

  // ---- elections -------------------------------------------------------------------------

  /** Election safety: at most one leader per term, over all history. */
  observeLeader(node: NodeId, term: number): void {
    const known = this.leaderOfTerm.get(term);
    if (known === undefined) {
      this.leaderOfTerm.set(term, node);
      if (term > this.maxTerm) this.maxTerm = term;
    } else if (known !== node) {
      throw new InvariantViolation('election-safety', `term ${term} has two leaders: ${known} and ${node}`);
    }
  }

  observeTerm(term: number): void {
    if (term > this.maxTerm) this.maxTerm = term;
  }

  /** A node never grants its vote to two candidates in one term (the vote must survive crashes). */
  observeVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    const key = `${voter}:${term}`;
    const earlier = this.voteOf.get(key);
    if (earlier === undefined) this.voteOf.set(key, candidate);
    else if (earlier !== candidate) {
      throw new InvariantViolation(
        'vote-persistence',
        `node ${voter} voted for ${earlier} and then for ${candidate} in term ${term}`,
      );
    }
  }

  // ---- logs ------------------------------------------------------------------------------

  /**
   * Log matching: an entry (index, term) is created once, by the leader of `term`, so every log
   * holding it must hold the same prefix up to it.
   */
  observeAppend(node: NodeId, index: number, term: number, prefixHash: number): void {
    if (term >= TERM_SPAN)
      throw new InvariantViolation('host-contract', `term ${term} beyond the checker's range`);
    const key = index * TERM_SPAN + term;
    const known = this.entryPrefix.get(key);
    if (known === undefined) this.entryPrefix.set(key, prefixHash);
    else if (known !== prefixHash) {
      throw new InvariantViolation(
        'log-matching',
        `node ${node} holds entry (index ${index}, term ${term}) with a prefix that differs from another log's`,
      );
    }
  }

  /**
   * Leader completeness: the log of a leader of `term` holds every entry committed in an earlier
   * term. Checked against the leader's log as handed to its host.
   */
  checkLeaderLog(node: NodeId, term: number, log: LogView): void {
    const upTo = this.lastIndexCommittedBefore(term);
    if (upTo === 0) return;
    const expected = this.committedHash[upTo]!;
    if (upTo <= log.snapshotIndex) {
      const snapHash = this.committedHash[log.snapshotIndex];
      if (snapHash !== undefined && snapHash === log.snapshotHash) return;
      throw new InvariantViolation(
        'leader-completeness',
        `leader ${node} of term ${term} has a snapshot at ${log.snapshotIndex} that is not the committed prefix (committed through ${upTo})`,
      );
    }
    const actual = log.hashAt(upTo);
    if (actual !== expected) {
      throw new InvariantViolation(
        'leader-completeness',
        `leader ${node} of term ${term} lacks committed entry ${upTo} (its last index is ${log.lastIndex()}, ` +
          `term there ${String(log.termAt(upTo))})`,
      );
    }
  }

  /** The highest committed index whose commit term bound is below `term`. */
  private lastIndexCommittedBefore(term: number): number {
    let lo = 0;
    let hi = this.commitTermBound.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.commitTermBound[mid]! < term) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * A leader of `term` reports commit index `commitIndex`. Records newly committed entries from
   * its log and checks that a quorum of its voters durably holds them: a commit that a crash
   * could undo is no commit.
   */
  observeLeaderCommit(
    node: NodeId,
    term: number,
    commitIndex: number,
    log: LogView,
    voters: readonly NodeId[],
    durableLogOf: (id: NodeId) => LogView | undefined,
  ): void {
    if (commitIndex <= this.committedIndex) {
      const hash = log.hashAt(commitIndex);
      if (hash !== undefined && hash !== this.committedHash[commitIndex]) {
        throw new InvariantViolation(
          'state-machine-safety',
          `leader ${node} of term ${term} commits a different entry at ${commitIndex} than was committed before`,
        );
      }
      return;
    }
    for (let i = this.committedIndex + 1; i <= commitIndex; i++) {
      const hash = log.hashAt(i);
      if (hash === undefined) {
        throw new InvariantViolation(
          'host-contract',
          `leader ${node} of term ${term} reports commit ${commitIndex} beyond its own log (last ${log.lastIndex()}, snapshot ${log.snapshotIndex})`,
        );
      }
      this.recordCommitted(i, hash, term);
    }
    const hash = this.committedHash[commitIndex]!;
    let holders = 0;
    for (const voter of voters) {
      const durable = durableLogOf(voter);
      if (durable !== undefined && this.holdsPrefix(durable, commitIndex, hash)) holders++;
    }
    const quorum = Math.floor(voters.length / 2) + 1;
    if (holders < quorum) {
      throw new InvariantViolation(
        'durability',
        `leader ${node} of term ${term} committed ${commitIndex} but only ${holders} of voters [${voters.join(',')}] hold it durably (quorum ${quorum})`,
      );
    }
  }

  private holdsPrefix(log: LogView, index: number, hash: number): boolean {
    if (index > log.snapshotIndex) return log.hashAt(index) === hash;
    return this.committedHash[log.snapshotIndex] === log.snapshotHash;
  }

  private recordCommitted(index: number, hash: number, termBound: number): void {
    if (index !== this.committedHash.length)
      throw new Error(`invariant: committed prefix recorded out of order at ${index}`);
    const prevBound = this.commitTermBound[index - 1]!;
    this.committedHash.push(hash);
    this.commitTermBound.push(Math.max(prevBound, termBound));
  }

  // ---- state machines --------------------------------------------------------------------

  /**
   * State machine safety: a node applies index after index, and every node applies the same
   * entry (same prefix) at an index, reaching the same state.
   */
  observeApply(
    node: NodeId,
    nodeTerm: number,
    index: number,
    prefixHash: number,
    stateHash: number,
    /** False for a node that was not a leader: it may only apply what a leader already committed. */
    mayBeFirst = true,
  ): void {
    const applied = this.appliedByNode.get(node) ?? 0;
    if (index !== applied + 1) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} applies ${index} after ${applied} (applied must advance one by one)`,
      );
    }
    const committed = this.committedHash[index];
    if (committed === undefined) {
      if (!mayBeFirst) {
        throw new InvariantViolation(
          'state-machine-safety',
          `node ${node} (not a leader) applies ${index}, which no leader has committed (committed through ${this.committedIndex})`,
        );
      }
      this.recordCommitted(index, prefixHash, nodeTerm);
    } else if (committed !== prefixHash) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} applies a different entry at ${index} than committed`,
      );
    }
    this.checkStateHash(node, index, stateHash);
    this.appliedByNode.set(node, index);
  }

  /** A snapshot installed into a node's state machine (received, or loaded at restart). */
  observeSnapshotLoaded(
    node: NodeId,
    index: number,
    prefixHash: number,
    stateHash: number,
    restart: boolean,
  ): void {
    const applied = this.appliedByNode.get(node) ?? 0;
    if (!restart && index < applied) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} installs a snapshot at ${index} below its applied index ${applied}`,
      );
    }
    if (index === 0) {
      this.appliedByNode.set(node, index);
      return;
    }
    const committed = this.committedHash[index];
    if (committed !== prefixHash) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} loads a snapshot at ${index} that is not the committed prefix` +
          (committed === undefined ? ' (index never committed)' : ''),
      );
    }
    this.checkStateHash(node, index, stateHash);
    this.appliedByNode.set(node, index);
  }

  private checkStateHash(node: NodeId, index: number, stateHash: number): void {
    const known = this.stateHashAt.get(index);
    if (known === undefined) this.stateHashAt.set(index, stateHash);
    else if (known !== stateHash) {
      throw new InvariantViolation(
        'state-machine-safety',
        `node ${node} reaches a different state at ${index}`,
      );
    }
  }

  // ---- client history (linearizable reads) -----------------------------------------------

  /** A write became visible (applied somewhere) at `index`: from now on it counts as acknowledged. */
  observeWriteApplied(writeId: number, key: number, index: number): void {
    if (this.writeIndex.has(writeId)) return;
    this.writeIndex.set(writeId, index);
    if (index > (this.ackedIndexByKey.get(key) ?? 0)) this.ackedIndexByKey.set(key, index);
  }

  observeReadStart(context: number, node: NodeId, key: number, nowMs: number): void {
    if (this.reads.has(context))
      throw new InvariantViolation('host-contract', `read context ${context} reused`);
    this.reads.set(context, {
      node,
      key,
      startMs: nowMs,
      committedAtStart: this.committedIndex,
      ackedIndexAtStart: this.ackedIndexByKey.get(key) ?? 0,
    });
  }

  /**
   * A read served at read index `readIndex` from a state machine at `appliedIndex` returned the
   * write at `valueIndex` (0: never written). It must reflect every write acknowledged before it
   * began, and its read index must cover everything committed before it began.
   */
  observeReadServed(
    context: number,
    node: NodeId,
    readIndex: number,
    appliedIndex: number,
    valueIndex: number,
  ): void {
    const read = this.reads.get(context);
    if (read === undefined)
      throw new InvariantViolation('host-contract', `read context ${context} served but never started`);
    this.reads.delete(context);
    if (read.node !== node) {
      throw new InvariantViolation(
        'host-contract',
        `read ${context} started on ${read.node} but served on ${node}`,
      );
    }
    if (appliedIndex < readIndex) {
      throw new InvariantViolation(
        'host-contract',
        `read ${context} served at applied ${appliedIndex} < read index ${readIndex}`,
      );
    }
    if (readIndex < read.committedAtStart) {
      throw new InvariantViolation(
        'linearizable-read',
        `read ${context} on node ${node} got read index ${readIndex}, but ${read.committedAtStart} was committed before it began (stale leader?)`,
      );
    }
    if (valueIndex < read.ackedIndexAtStart) {
      throw new InvariantViolation(
        'linearizable-read',
        `read ${context} of key ${read.key} on node ${node} returned the write at index ${valueIndex}, ` +
          `but the write at ${read.ackedIndexAtStart} was acknowledged before the read began`,
      );
    }
  }

  /** A read the core refused (readIndex returned false): it never happened. */
  abandonRead(context: number): void {
    this.reads.delete(context);
  }

  /** Reads whose node crashed are simply abandoned (the client times out). */
  abandonReadsOf(node: NodeId): void {
    for (const [context, read] of this.reads) if (read.node === node) this.reads.delete(context);
  }

  get pendingReads(): number {
    return this.reads.size;
  }
}
