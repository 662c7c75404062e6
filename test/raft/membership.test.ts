import { describe, expect, it } from 'vitest';
import {
  applyConfChange,
  ConfChangeType,
  decodeConfChange,
  encodeConfChange,
  EntryType,
  MessageType,
  RaftCore,
  Role,
  type ConfChange,
} from '../../src/raft/index.js';
import { Cluster, ELECTION_TICKS, config, coreWithLog, drain, entry, msg } from './harness.js';

const change = (type: ConfChangeType, nodeId: number): ConfChange => ({ type, nodeId });

describe('single-server membership change (dissertation §4)', () => {
  it('membership: encodeConfChange/decodeConfChange round-trip; garbage does not decode', () => {
    for (const type of [ConfChangeType.AddVoter, ConfChangeType.RemoveNode, ConfChangeType.AddLearner]) {
      expect(decodeConfChange(encodeConfChange({ type, nodeId: 0xfffffff0 }))).toEqual({
        type,
        nodeId: 0xfffffff0,
      });
    }
    expect(() => decodeConfChange(new Uint8Array([9, 1, 0, 0, 0]))).toThrow();
    expect(() => decodeConfChange(new Uint8Array([0, 0, 0, 0, 0]))).toThrow();
    expect(() => decodeConfChange(new Uint8Array(3))).toThrow();
    expect(() => encodeConfChange({ type: ConfChangeType.AddVoter, nodeId: 0 })).toThrow();
  });

  it('membership: applying a change is total; removing the last voter is ignored', () => {
    const one = { voters: [1], learners: [] };
    expect(applyConfChange(one, change(ConfChangeType.RemoveNode, 1))).toBe(one);
    expect(applyConfChange(one, change(ConfChangeType.AddLearner, 1))).toBe(one);
    expect(applyConfChange(one, change(ConfChangeType.AddLearner, 2))).toEqual({
      voters: [1],
      learners: [2],
    });
    expect(applyConfChange({ voters: [1], learners: [2] }, change(ConfChangeType.AddVoter, 2))).toEqual({
      voters: [1, 2],
      learners: [],
    });
  });

  it('membership: a learner receives the log but neither votes nor counts in the commit quorum', () => {
    const c = new Cluster([1, 2, 3]);
    c.addNode(4);
    c.elect(1);
    expect(c.core(1).proposeConfChange(change(ConfChangeType.AddLearner, 4)).ok).toBe(true);
    c.stabilize();
    c.propose(1, 'a');
    c.stabilize();
    c.tickAll(2);
    expect(c.appliedData(4)).toEqual(['a']);
    expect(c.core(4).status().confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    // With 2 and 3 cut off, leader + learner are no quorum.
    c.isolate(2);
    c.isolate(3);
    const before = c.core(1).status().commitIndex;
    c.propose(1, 'b');
    c.stabilize();
    c.tickAll(2);
    expect(c.core(1).status().commitIndex).toBe(before);
    expect(c.core(4).status().lastIndex).toBe(before + 1);
    // A learner never campaigns, however long it waits.
    c.isolate(4);
    c.tick(4, 10 * ELECTION_TICKS);
    expect(c.core(4).status().role).toBe(Role.Follower);
    expect(c.core(4).status().term).toBe(1);
  });

  it('membership: an added voter enlarges the quorum; a promoted learner becomes a voter', () => {
    const c = new Cluster([1, 2, 3]);
    c.addNode(4);
    c.elect(1);
    c.core(1).proposeConfChange(change(ConfChangeType.AddLearner, 4));
    c.stabilize();
    expect(c.core(1).proposeConfChange(change(ConfChangeType.AddVoter, 4)).ok).toBe(true);
    c.stabilize();
    c.tickAll(1);
    expect(c.core(1).status().confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    // 4 voters: quorum is 3. Leader + 4 alone cannot commit.
    c.isolate(2);
    c.isolate(3);
    const before = c.core(1).status().commitIndex;
    c.propose(1, 'x');
    c.stabilize();
    expect(c.core(1).status().commitIndex).toBe(before);
    c.heal();
    c.tickAll(2);
    expect(c.core(1).status().commitIndex).toBe(before + 1);
  });

  it('membership: after removing a follower the rest commit without it', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.core(1).proposeConfChange(change(ConfChangeType.RemoveNode, 3));
    c.stabilize();
    c.tickAll(1);
    expect(c.core(2).status().confState).toEqual({ voters: [1, 2], learners: [] });
    c.crash(3);
    c.propose(1, 'y');
    c.stabilize();
    c.tickAll(1);
    expect(c.appliedData(2)).toEqual(['y']);
  });

  it('membership: a leader removed from the configuration steps down once the change commits', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const r = c.core(1).proposeConfChange(change(ConfChangeType.RemoveNode, 1));
    expect(r.ok).toBe(true);
    // Until committed it still leads (and does not count itself).
    expect(c.core(1).status().role).toBe(Role.Leader);
    c.stabilize();
    expect(c.core(1).status().role).toBe(Role.Follower);
    c.tickAll(3 * ELECTION_TICKS);
    const lead = c.leader();
    expect([2, 3]).toContain(lead);
    c.propose(lead!, 'after');
    c.stabilize();
    c.tickAll(1);
    expect(c.appliedData(lead === 2 ? 3 : 2)).toEqual(['after']);
    expect(c.core(1).status().role).toBe(Role.Follower); // never campaigns again
  });

  it('membership: only one change may be pending; the next is refused until the first is applied', () => {
    const c = new Cluster([1, 2, 3]);
    c.addNode(4);
    c.addNode(5);
    c.elect(1);
    expect(c.core(1).proposeConfChange(change(ConfChangeType.AddLearner, 4)).ok).toBe(true);
    expect(c.core(1).proposeConfChange(change(ConfChangeType.AddLearner, 5))).toEqual({
      ok: false,
      reason: 'conf-change-pending',
    });
    c.stabilize();
    expect(c.core(1).proposeConfChange(change(ConfChangeType.AddLearner, 5)).ok).toBe(true);
  });

  it('membership: a new leader must commit an entry of its term before proposing a change (raft-dev 2015 fix)', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.dropIf = (m) => m.type === MessageType.AppResp && m.to === 2;
    c.elect(2);
    expect(c.core(2).proposeConfChange(change(ConfChangeType.RemoveNode, 3))).toEqual({
      ok: false,
      reason: 'conf-change-pending',
    });
    c.dropIf = undefined;
    c.tickAll(2);
    expect(c.core(2).proposeConfChange(change(ConfChangeType.RemoveNode, 3)).ok).toBe(true);
  });

  it('membership: a change takes effect when appended (before commit) and is undone if its entry is truncated', () => {
    const f = coreWithLog(2, [1, 2, 3], [1], { term: 1, commit: 1 });
    const ccEntry = {
      index: 2,
      term: 2,
      type: EntryType.ConfChange,
      data: encodeConfChange(change(ConfChangeType.AddLearner, 4)),
    };
    f.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 2,
        index: 1,
        logTerm: 1,
        entries: [ccEntry],
        commit: 1,
      }),
    );
    expect(f.status().confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    f.step(
      msg({ type: MessageType.App, from: 3, to: 2, term: 3, index: 1, logTerm: 1, entries: [entry(2, 3)] }),
    );
    expect(f.status().confState).toEqual({ voters: [1, 2, 3], learners: [] });
    expect(f.status().lastIndex).toBe(2);
  });

  it('membership: a follower learns it was added only through the log and then can campaign', () => {
    const c = new Cluster([1, 2, 3]);
    c.addNode(4);
    c.elect(1);
    c.core(1).proposeConfChange(change(ConfChangeType.AddVoter, 4));
    c.stabilize();
    c.tickAll(1);
    expect(c.core(4).status().confState.voters).toContain(4);
    c.crash(1);
    c.elect(4);
    expect(c.leader()).toBe(4);
  });
});

describe('removal of the leader itself', () => {
  const removal = (index: number, term: number, nodeId: number) => ({
    index,
    term,
    type: EntryType.ConfChange,
    data: encodeConfChange(change(ConfChangeType.RemoveNode, nodeId)),
  });

  it('SIM-3: a node removed by an uncommitted change still campaigns (it may be needed to commit it), then steps down', () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 1, vote: 1, commit: 1 },
      confState: { voters: [1, 2, 3], learners: [] },
      entries: [entry(1, 1), removal(2, 1, 1)],
      applied: 1,
    });
    expect(n.status().confState.voters).toEqual([2, 3]);
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) n.tick();
    expect(n.status().role).toBe(Role.Candidate);
    const votes = drain(n).messages.filter((m) => m.type === MessageType.Vote);
    expect(votes.map((m) => m.to)).toEqual([2, 3]);
    // Its own vote does not count in [2, 3]: one grant is not enough.
    n.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 2 }));
    expect(n.status().role).toBe(Role.Candidate);
    n.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 2 }));
    expect(n.status().role).toBe(Role.Leader);
    drain(n);
    // The no-op (index 3) commits with 2 and 3 — and the removal with it: the leader steps down.
    n.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 3 }));
    n.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term: 2, index: 3 }));
    expect(n.status()).toMatchObject({ role: Role.Follower, commitIndex: 3 });
    for (let i = 0; i < 4 * ELECTION_TICKS; i++) n.tick();
    expect(n.status().role).toBe(Role.Follower);
  });

  it('a node whose removal is committed never campaigns', () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 1, vote: 1, commit: 2 },
      confState: { voters: [1, 2, 3], learners: [] },
      entries: [entry(1, 1), removal(2, 1, 1)],
      applied: 2,
    });
    for (let i = 0; i < 4 * ELECTION_TICKS; i++) n.tick();
    expect(n.status().role).toBe(Role.Follower);
  });
});
