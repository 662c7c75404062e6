import { describe, expect, it } from 'vitest';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  RaftCore,
  Role,
  encodeConfChange,
  type Entry,
} from '../../src/raft/index.js';
import { Cluster, config, drain, entry, msg } from './harness.js';

const cc = (index: number, term: number, type: ConfChangeType, nodeId: number): Entry => ({
  index,
  term,
  type: EntryType.ConfChange,
  data: encodeConfChange({ type, nodeId }),
});

describe('restart from RaftBootState', () => {
  it('restores term, vote, commit and log, and re-delivers committed entries after `applied`', () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 5, vote: 2, commit: 3 },
      confState: { voters: [1, 2, 3], learners: [] },
      entries: [entry(1, 1), entry(2, 4), entry(3, 5), entry(4, 5)],
      applied: 1,
    });
    expect(n.status()).toMatchObject({
      term: 5,
      vote: 2,
      commitIndex: 3,
      appliedIndex: 1,
      lastIndex: 4,
      role: Role.Follower,
    });
    const rd = drain(n);
    expect(rd.entries).toHaveLength(0); // already durable
    expect(rd.hardState).toBeUndefined();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2, 3]);
  });

  it('a restarted node does not vote twice in the same term', () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 2, vote: 2, commit: 0 },
      confState: { voters: [1, 2, 3], learners: [] },
      entries: [],
      applied: 0,
    });
    n.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 2 }));
    expect(drain(n).messages[0]).toMatchObject({ type: MessageType.VoteResp, reject: true });
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 2 }));
    expect(drain(n).messages[0]).toMatchObject({ type: MessageType.VoteResp, reject: false });
  });

  it('configuration = the snapshot confState, then every ConfChange entry in the log after it', () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 3, vote: 0, commit: 12 },
      snapshot: { index: 10, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
      confState: { voters: [7], learners: [] }, // ignored: a snapshot exists
      entries: [
        entry(10, 2),
        cc(11, 3, ConfChangeType.AddLearner, 4),
        cc(12, 3, ConfChangeType.RemoveNode, 3),
      ],
      applied: 10,
    });
    expect(n.status().confState).toEqual({ voters: [1, 2], learners: [4] });
    expect(n.status().firstIndex).toBe(11);
    expect(n.appliedSnapshotMeta()).toEqual({
      index: 10,
      term: 2,
      confState: { voters: [1, 2, 3], learners: [] },
    });
  });

  it("SIM-2: a torn write that kept the entries but lost the hard state boots into the entries' term with no vote", () => {
    const n = new RaftCore(config(1), {
      hardState: { term: 6, vote: 3, commit: 1 },
      confState: { voters: [1, 2, 3], learners: [] },
      entries: [entry(1, 6), entry(2, 7)],
      applied: 0,
    });
    expect(n.status()).toMatchObject({ term: 7, vote: 0 });
    expect(drain(n).hardState).toEqual({ term: 7, vote: 0, commit: 1 });
  });

  it('a whole cluster restarted from disk keeps every committed entry and continues', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.stabilize();
    c.tickAll(2);
    for (const id of [1, 2, 3]) c.crash(id);
    for (const id of [1, 2, 3]) c.restart(id);
    expect(c.core(2).status().lastIndex).toBe(3 + 1 + 5);
    c.elect(2);
    c.propose(2, 'after');
    c.stabilize();
    c.tickAll(2);
    for (const id of [1, 2, 3]) {
      expect(c.appliedData(id)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'after']);
    }
  });

  it('a node that crashed with unpersisted entries recovers them from the leader', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, 'a');
    // Deliver the App to 2 but crash 2 before it processes its Ready (nothing persisted).
    c.processReady(1);
    c.deliverAll();
    c.crash(2);
    c.restart(2);
    expect(c.core(2).status().lastIndex).toBe(3 + 1); // bootstrap + no-op
    c.stabilize();
    c.tickAll(3);
    expect(c.appliedData(2)).toEqual(['a']);
  });
});

describe('bootstrap of a fresh cluster', () => {
  it('a founding node writes the initial membership into its log as committed term-0 ConfChange entries', () => {
    const n = new RaftCore(config(2), {
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: { voters: [3, 1, 2], learners: [4] },
      entries: [],
      applied: 0,
    });
    expect(n.status()).toMatchObject({ term: 0, commitIndex: 4, lastIndex: 4, appliedIndex: 0 });
    const rd = n.ready();
    expect(rd.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 0, EntryType.ConfChange],
      [2, 0, EntryType.ConfChange],
      [3, 0, EntryType.ConfChange],
      [4, 0, EntryType.ConfChange],
    ]);
    expect(rd.hardState).toEqual({ term: 0, vote: 0, commit: 4 });
    expect(rd.committedEntries).toHaveLength(0); // not durable yet
    n.advance(rd);
    expect(drain(n).committedEntries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(n.status().confState).toEqual({ voters: [1, 2, 3], learners: [4] });
  });

  it("a joining node booted with an empty confState derives the whole membership from the leader's log", () => {
    const c = new Cluster([1, 2, 3]);
    c.addNode(4); // empty confState
    expect(c.core(4).status().confState).toEqual({ voters: [], learners: [] });
    c.elect(1);
    c.core(1).proposeConfChange({ type: ConfChangeType.AddVoter, nodeId: 4 });
    c.stabilize();
    expect(c.core(4).status().confState).toEqual({ voters: [1, 2, 3, 4], learners: [] });
  });
});
