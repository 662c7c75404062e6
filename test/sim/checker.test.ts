import { describe, expect, it } from 'vitest';
import { EntryType, type Entry } from '../../src/raft/types.js';
import {
  InvariantChecker,
  InvariantViolation,
  LogStore,
  RegisterMachine,
  encodeWrite,
} from '../../src/sim/index.js';

/** Builds a log from (term, payload) pairs starting at index 1. */
function logOf(...entries: [term: number, payload: number][]): LogStore {
  const log = new LogStore();
  entries.forEach(([term, payload], k) => log.append(entry(k + 1, term, payload)));
  return log;
}

function entry(index: number, term: number, payload: number): Entry {
  return { index, term, type: EntryType.Normal, data: encodeWrite(payload, payload % 4, 0) };
}

function violation(fn: () => void): InvariantViolation {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvariantViolation) return err;
    throw err;
  }
  throw new Error('expected an InvariantViolation, none was thrown');
}

/** Applies `log` up to `upTo` on `node` through a state machine, reporting each apply. */
function applyAll(
  checker: InvariantChecker,
  node: number,
  term: number,
  log: LogStore,
  upTo: number,
): RegisterMachine {
  const sm = new RegisterMachine();
  for (let i = 1; i <= upTo; i++) {
    const e = log.entries[i - 1]!;
    sm.apply(e, log.hashAt(i)!);
    checker.observeApply(node, term, i, sm.appliedHash, sm.stateHash);
  }
  return sm;
}

describe('InvariantChecker catches fabricated violations', () => {
  it('election safety: two leaders in one term', () => {
    const c = new InvariantChecker();
    c.observeLeader(1, 5);
    c.observeLeader(1, 5); // the same leader observed again is fine
    c.observeLeader(2, 6);
    const v = violation(() => c.observeLeader(3, 5));
    expect(v.invariant).toBe('election-safety');
    expect(v.message).toMatch(/term 5 has two leaders: 1 and 3/);
  });

  it('log matching: the same (index, term) on top of different prefixes', () => {
    const c = new InvariantChecker();
    const a = logOf([1, 10], [1, 11], [2, 12]);
    const b = logOf([1, 10], [1, 99], [2, 12]); // differs at index 2, same (3, 2) entry on top
    for (let i = 1; i <= 3; i++) c.observeAppend(1, i, a.termAt(i)!, a.hashAt(i)!);
    c.observeAppend(2, 1, 1, b.hashAt(1)!);
    // Index 2 itself (term 1) already differs: caught there.
    expect(violation(() => c.observeAppend(2, 2, 1, b.hashAt(2)!)).invariant).toBe('log-matching');
    // Even if index 2 were never reported, index 3 carries the whole prefix.
    expect(violation(() => c.observeAppend(2, 3, 2, b.hashAt(3)!)).invariant).toBe('log-matching');
  });

  it('leader completeness: a later-term leader lacks a committed entry', () => {
    const c = new InvariantChecker();
    const full = logOf([1, 1], [1, 2], [2, 3]);
    applyAll(c, 1, 2, full, 3); // entries 1..3 committed, in term ≤ 2
    c.checkLeaderLog(1, 3, full); // a complete leader is fine
    const stale = logOf([1, 1], [1, 2]);
    const v = violation(() => c.checkLeaderLog(2, 3, stale));
    expect(v.invariant).toBe('leader-completeness');
    expect(v.message).toMatch(/lacks committed entry 3/);
    // A leader of an old term (elected through delayed votes) is not bound by later commits.
    c.checkLeaderLog(2, 2, stale);
  });

  it('leader completeness: a leader whose snapshot is not the committed prefix', () => {
    const c = new InvariantChecker();
    const full = logOf([1, 1], [1, 2], [2, 3]);
    applyAll(c, 1, 2, full, 3);
    const other = logOf([1, 1], [1, 7], [2, 3]);
    other.compactTo(2);
    expect(violation(() => c.checkLeaderLog(2, 4, other)).invariant).toBe('leader-completeness');
  });

  it('state machine safety: two nodes apply different entries at one index', () => {
    const c = new InvariantChecker();
    applyAll(c, 1, 1, logOf([1, 1], [1, 2]), 2);
    const v = violation(() => applyAll(c, 2, 1, logOf([1, 1], [1, 3]), 2));
    expect(v.invariant).toBe('state-machine-safety');
    expect(v.message).toMatch(/different entry at 2/);
  });

  it('state machine safety: applied goes backwards or skips, except replay after restart', () => {
    const c = new InvariantChecker();
    const log = logOf([1, 1], [1, 2], [1, 3]);
    const sm = applyAll(c, 1, 1, log, 2);
    expect(violation(() => c.observeApply(1, 1, 2, sm.appliedHash, sm.stateHash)).message).toMatch(
      /applies 2 after 2/,
    );
    expect(violation(() => c.observeApply(1, 1, 4, 0, 0)).message).toMatch(/applies 4 after 2/);
    // Restart from an empty snapshot: replaying the same entries is fine...
    c.observeSnapshotLoaded(1, 0, 0, 0, true);
    applyAll(c, 1, 1, log, 3);
    // ...but a replay that applies something else is not.
    c.observeSnapshotLoaded(1, 0, 0, 0, true);
    expect(violation(() => applyAll(c, 1, 1, logOf([1, 1], [1, 5]), 2)).invariant).toBe(
      'state-machine-safety',
    );
  });

  it('state machine safety: a follower applies an entry no leader has committed', () => {
    const c = new InvariantChecker();
    const log = logOf([1, 1], [1, 2]);
    c.observeLeaderCommit(1, 1, 1, log, [1], () => log);
    c.observeApply(2, 1, 1, log.hashAt(1)!, 0, false);
    const v = violation(() => c.observeApply(2, 1, 2, log.hashAt(2)!, 0, false));
    expect(v.invariant).toBe('state-machine-safety');
    expect(v.message).toMatch(/no leader has committed/);
  });

  it('state machine safety: a snapshot of an uncommitted or different prefix', () => {
    const c = new InvariantChecker();
    const log = logOf([1, 1], [1, 2]);
    const sm = applyAll(c, 1, 1, log, 2);
    c.observeSnapshotLoaded(2, 2, sm.appliedHash, sm.stateHash, false);
    expect(
      violation(() => c.observeSnapshotLoaded(3, 2, sm.appliedHash ^ 1, sm.stateHash, false)).invariant,
    ).toBe('state-machine-safety');
    expect(violation(() => c.observeSnapshotLoaded(3, 5, 123, 0, false)).message).toMatch(/never committed/);
    expect(
      violation(() => c.observeSnapshotLoaded(3, 2, sm.appliedHash, sm.stateHash ^ 1, false)).message,
    ).toMatch(/different state/);
  });

  it('durability: a commit that no quorum holds on disk', () => {
    const c = new InvariantChecker();
    const leaderLog = logOf([1, 1], [1, 2]);
    const durable = new Map<number, LogStore>([
      [1, leaderLog],
      [2, logOf([1, 1])],
      [3, new LogStore()],
    ]);
    c.observeLeaderCommit(1, 1, 1, leaderLog, [1, 2, 3], (id) => durable.get(id));
    const v = violation(() => c.observeLeaderCommit(1, 1, 2, leaderLog, [1, 2, 3], (id) => durable.get(id)));
    expect(v.invariant).toBe('durability');
    expect(v.message).toMatch(/only 1 of voters \[1,2,3\] hold it durably/);
  });

  it('vote persistence: one node votes for two candidates in one term', () => {
    const c = new InvariantChecker();
    c.observeVoteGranted(1, 4, 2);
    c.observeVoteGranted(1, 4, 2); // a retransmitted grant is fine
    c.observeVoteGranted(1, 5, 3);
    expect(violation(() => c.observeVoteGranted(1, 4, 3)).invariant).toBe('vote-persistence');
  });

  it('linearizable reads: a read that misses a write acknowledged before it began', () => {
    const c = new InvariantChecker();
    const log = logOf([1, 1], [1, 5], [1, 9]); // writes 1, 5, 9 to keys 1, 1, 1
    applyAll(c, 1, 1, log, 3);
    c.observeWriteApplied(1, 1, 1);
    c.observeWriteApplied(5, 1, 2);
    c.observeReadStart(100, 2, 1, 50);
    // Served with a good read index but from a register holding the older write at index 1.
    const v = violation(() => c.observeReadServed(100, 2, 3, 3, 1));
    expect(v.invariant).toBe('linearizable-read');
    expect(v.message).toMatch(/returned the write at index 1, but the write at 2 was acknowledged/);
  });

  it('linearizable reads: a stale leader answers with a read index below the commit index', () => {
    const c = new InvariantChecker();
    applyAll(c, 1, 1, logOf([1, 1], [1, 2], [1, 3]), 3);
    c.observeReadStart(7, 2, 0, 10);
    const v = violation(() => c.observeReadServed(7, 2, 2, 2, 0));
    expect(v.invariant).toBe('linearizable-read');
    expect(v.message).toMatch(/stale leader/);
  });

  it('reads: served before the state machine caught up, or for a read never started', () => {
    const c = new InvariantChecker();
    c.observeReadStart(1, 1, 0, 0);
    expect(violation(() => c.observeReadServed(1, 1, 5, 4, 0)).invariant).toBe('host-contract');
    expect(violation(() => c.observeReadServed(2, 1, 0, 0, 0)).invariant).toBe('host-contract');
  });

  it('accepts a correct history', () => {
    const c = new InvariantChecker();
    const log = logOf([1, 1], [2, 2], [2, 3]);
    for (let i = 1; i <= 3; i++) c.observeAppend(1, i, log.termAt(i)!, log.hashAt(i)!);
    c.observeLeader(1, 2);
    c.observeLeaderCommit(1, 2, 3, log, [1, 2, 3], () => log);
    const sm = applyAll(c, 2, 2, log, 3);
    c.observeReadStart(1, 2, 1, 0);
    c.observeReadServed(1, 2, 3, 3, sm.get(1).index);
    c.checkLeaderLog(3, 3, log);
    expect(c.committedIndex).toBe(3);
  });
});
