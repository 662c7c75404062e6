import { describe, expect, it } from 'vitest';
import { CAMPAIGN_TRANSFER_CONTEXT, MessageType, NO_NODE, Role } from '../../src/raft/index.js';
import { Cluster, ELECTION_TICKS, coreWithLog, drain, drainMessages, freshCore, msg } from './harness.js';

describe('pre-vote (dissertation §9.6)', () => {
  it('pre-vote: a pre-candidate asks for votes for term+1 without changing its own term or vote', () => {
    const n = freshCore(1, [1, 2, 3], { preVote: true });
    while (n.status().role === Role.Follower) n.tick();
    expect(n.status()).toMatchObject({ role: Role.PreCandidate, term: 0, vote: NO_NODE });
    const rd = drain(n);
    expect(rd.hardState).toBeUndefined();
    const pre = rd.messages.filter((m) => m.type === MessageType.PreVote);
    expect(pre).toHaveLength(2);
    expect(pre.every((m) => m.term === 1)).toBe(true);
  });

  it("pre-vote: granting a pre-vote changes neither the voter's term nor its vote", () => {
    const v = freshCore(2, [1, 2, 3], { preVote: true });
    v.step(msg({ type: MessageType.PreVote, from: 1, to: 2, term: 1, index: 3 }));
    const rd = drain(v);
    expect(rd.hardState).toBeUndefined();
    expect(rd.messages[0]).toMatchObject({ type: MessageType.PreVoteResp, reject: false, term: 1 });
    expect(v.status()).toMatchObject({ term: 0, vote: NO_NODE });
  });

  it('pre-vote: the election restriction applies to pre-votes too', () => {
    const v = coreWithLog(2, [1, 2, 3], [1, 2], {}, { preVote: true });
    v.step(msg({ type: MessageType.PreVote, from: 1, to: 2, term: 3, index: 5, logTerm: 1 }));
    expect(drainMessages(v)[0]).toMatchObject({ type: MessageType.PreVoteResp, reject: true, term: 2 });
  });

  it('pre-vote: a pre-candidate becomes a candidate (term+1) only after a majority of pre-votes', () => {
    const n = freshCore(1, [1, 2, 3, 4, 5], { preVote: true });
    while (n.status().role === Role.Follower) n.tick();
    n.step(msg({ type: MessageType.PreVoteResp, from: 2, to: 1, term: 1 }));
    expect(n.status().role).toBe(Role.PreCandidate);
    n.step(msg({ type: MessageType.PreVoteResp, from: 3, to: 1, term: 1 }));
    expect(n.status()).toMatchObject({ role: Role.Candidate, term: 1, vote: 1 });
  });

  it('pre-vote: a partitioned node does not raise its term and cannot disrupt the leader when it returns', () => {
    const c = new Cluster([1, 2, 3], { preVote: true });
    c.elect(1);
    c.isolate(3);
    c.tick(3, 10 * ELECTION_TICKS);
    c.stabilize();
    expect(c.core(3).status().term).toBe(1);
    c.heal();
    c.tickAll(3 * ELECTION_TICKS);
    expect(c.leader()).toBe(1);
    expect(c.core(1).status().term).toBe(1);
  });

  it('without pre-vote, the same partitioned node does disrupt the leader (control)', () => {
    const c = new Cluster([1, 2, 3], { preVote: false });
    c.elect(1);
    c.isolate(3);
    c.tick(3, 10 * ELECTION_TICKS);
    c.stabilize();
    expect(c.core(3).status().term).toBeGreaterThan(1);
    c.heal();
    c.tickAll(3 * ELECTION_TICKS);
    expect(c.core(1).status().term).toBeGreaterThan(1);
  });
});

describe('check-quorum and leader lease (dissertation §6.2, §4.2.3)', () => {
  it('check-quorum: a leader that hears from no quorum within an election timeout steps down', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(1);
    c.tick(1, ELECTION_TICKS); // first check: followers were active in the previous period
    c.tick(1, ELECTION_TICKS);
    expect(c.core(1).status().role).toBe(Role.Follower);
    expect(c.core(1).status().leaderId).toBe(NO_NODE);
  });

  it('check-quorum: a leader that hears from a quorum stays leader', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.isolate(3);
    c.tickAll(5 * ELECTION_TICKS);
    expect(c.leader()).toBe(1);
  });

  it('leader lease: a follower that heard from the leader recently ignores a (pre)vote request of a higher term', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    const f = c.core(2);
    f.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 9, index: 100, logTerm: 9 }));
    f.step(msg({ type: MessageType.PreVote, from: 3, to: 2, term: 9, index: 100, logTerm: 9 }));
    expect(f.status().term).toBe(1);
    expect(drain(f).messages).toHaveLength(0);
  });

  it('leader lease: a vote request carrying the transfer context (from TimeoutNow) overrides the lease', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    const f = c.core(2);
    f.step(
      msg({
        type: MessageType.Vote,
        from: 3,
        to: 2,
        term: 2,
        index: 100,
        logTerm: 9,
        context: CAMPAIGN_TRANSFER_CONTEXT,
      }),
    );
    expect(f.status()).toMatchObject({ term: 2, vote: 3 });
  });

  it('leader lease: once the lease expires (no leader contact for an election timeout) votes are granted again', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true });
    c.elect(1);
    c.crash(1);
    c.tick(2, ELECTION_TICKS);
    const f = c.core(2);
    f.step(msg({ type: MessageType.Vote, from: 3, to: 2, term: 2, index: 100, logTerm: 9 }));
    expect(f.status()).toMatchObject({ term: 2, vote: 3 });
  });

  it('a stale leader that receives a newer-term response steps down (AppResp to a lower-term App)', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 6 * ELECTION_TICKS && c.leader() !== 2 && c.leader() !== 3; i++) {
      c.tick(2);
      c.tick(3);
      c.stabilize();
    }
    const newLeader = c.core(2).status().role === Role.Leader ? 2 : 3;
    expect(c.core(newLeader).status().term).toBeGreaterThan(1);
    // Old leader 1 (not yet stepped down) heartbeats a follower, which answers with its term.
    const f = newLeader === 2 ? 3 : 2;
    c.core(f).step(msg({ type: MessageType.Heartbeat, from: 1, to: f, term: 1 }));
    const resp = drainMessages(c.core(f)).find((m) => m.to === 1)!;
    expect(resp).toMatchObject({ type: MessageType.AppResp, term: c.core(f).status().term });
    c.core(1).step(resp);
    expect(c.core(1).status().role).toBe(Role.Follower);
  });

  it('pre-vote + check-quorum: a removed-then-isolated minority never elects a second leader', () => {
    const c = new Cluster([1, 2, 3, 4, 5], { checkQuorum: true, preVote: true });
    c.elect(1);
    c.isolateLink(1, 4);
    c.isolateLink(1, 5);
    c.isolateLink(2, 4);
    c.isolateLink(2, 5);
    c.isolateLink(3, 4);
    c.isolateLink(3, 5);
    c.tickAll(8 * ELECTION_TICKS);
    const leaders = [...c.cores.entries()]
      .filter(([, x]) => x.status().role === Role.Leader)
      .map(([id]) => id);
    expect(leaders).toEqual([1]);
  });
});
