import { describe, expect, it } from 'vitest';
import { createRng, EntryType, MessageType, NO_NODE, Role } from '../../src/raft/index.js';
import { Cluster, ELECTION_TICKS, coreWithLog, drain, drainMessages, freshCore, msg } from './harness.js';

describe('§5.1/§5.2 leader election', () => {
  it('§5.2 a follower that hears nothing within the election timeout becomes a candidate', () => {
    const n = freshCore(1, [1, 2, 3]);
    for (let i = 0; i < ELECTION_TICKS - 1; i++) n.tick();
    expect(n.status().role).toBe(Role.Follower);
    for (let i = 0; i < ELECTION_TICKS; i++) n.tick();
    const st = n.status();
    expect(st.role).toBe(Role.Candidate);
    expect(st.term).toBe(1);
    expect(st.vote).toBe(1);
    const rd = drain(n);
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 3 });
    const votes = rd.messages.filter((m) => m.type === MessageType.Vote);
    expect(votes.map((m) => m.to).sort()).toEqual([2, 3]);
    // Last entry: the third bootstrap ConfChange (term 0).
    expect(votes.every((m) => m.term === 1 && m.index === 3 && m.logTerm === 0)).toBe(true);
  });

  it('§5.2 election timeouts are randomized in [e, 2e) from the injected rng', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const n = freshCore(1, [1, 2, 3], { rng: createRng(seed) });
      let ticks = 0;
      while (n.status().role === Role.Follower) {
        n.tick();
        ticks++;
        if (ticks > 3 * ELECTION_TICKS) throw new Error('never campaigned');
      }
      expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
      expect(ticks).toBeLessThan(2 * ELECTION_TICKS);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('§5.2 the same seed gives the same election timing (determinism)', () => {
    const timing = (seed: number): number => {
      const n = freshCore(1, [1, 2, 3], { rng: createRng(seed) });
      let ticks = 0;
      while (n.status().role === Role.Follower) {
        n.tick();
        ticks++;
      }
      return ticks;
    };
    for (let seed = 1; seed < 20; seed++) expect(timing(seed)).toBe(timing(seed));
  });

  it('§5.2 a candidate that receives votes from a majority becomes leader and appends a no-op of its term', () => {
    const n = freshCore(1, [1, 2, 3, 4, 5]);
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) n.tick();
    drain(n);
    n.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1 }));
    expect(n.status().role).toBe(Role.Candidate);
    n.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 1 }));
    expect(n.status().role).toBe(Role.Leader);
    const rd = drain(n);
    expect(rd.entries).toHaveLength(1);
    expect(rd.entries[0]).toMatchObject({ index: 6, term: 1, type: EntryType.Normal }); // after 5 bootstrap entries
    expect(rd.entries[0]!.data.byteLength).toBe(0);
    expect(rd.softState).toEqual({ leaderId: 1, role: Role.Leader });
  });

  it('§5.2 a candidate that is rejected by a majority returns to follower', () => {
    const n = freshCore(1, [1, 2, 3]);
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) n.tick();
    n.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 1, reject: true }));
    expect(n.status().role).toBe(Role.Candidate);
    n.step(msg({ type: MessageType.VoteResp, from: 3, to: 1, term: 1, reject: true }));
    expect(n.status().role).toBe(Role.Follower);
    expect(n.status().term).toBe(1);
  });

  it('§5.2 a candidate that receives AppendEntries from a leader of its term becomes follower', () => {
    const n = freshCore(1, [1, 2, 3]);
    for (let i = 0; i < 2 * ELECTION_TICKS; i++) n.tick();
    expect(n.status().role).toBe(Role.Candidate);
    n.step(msg({ type: MessageType.App, from: 2, to: 1, term: 1 }));
    expect(n.status()).toMatchObject({ role: Role.Follower, leaderId: 2, term: 1 });
  });

  it('§5.2 a candidate whose election times out starts a new one in a higher term', () => {
    const n = freshCore(1, [1, 2, 3]);
    while (n.status().role !== Role.Candidate) n.tick();
    expect(n.status().term).toBe(1);
    let ticks = 0;
    while (n.status().term === 1) {
      n.tick();
      ticks++;
    }
    expect(ticks).toBeGreaterThanOrEqual(ELECTION_TICKS);
    expect(ticks).toBeLessThan(2 * ELECTION_TICKS);
    expect(n.status()).toMatchObject({ role: Role.Candidate, term: 2, vote: 1 });
  });

  it('§5.2 each server votes for at most one candidate per term, first come first served', () => {
    const n = freshCore(1, [1, 2, 3]);
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1, index: 3 }));
    n.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 1, index: 3 }));
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1, index: 3 })); // duplicate: granted again
    const rd = drain(n);
    expect(rd.hardState).toMatchObject({ term: 1, vote: 2 });
    expect(rd.messages.map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
  });

  it('§5.1 a server that sees a higher term adopts it; a leader steps down', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const l = c.core(1);
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 5 }));
    expect(l.status()).toMatchObject({ role: Role.Follower, term: 5, vote: NO_NODE, leaderId: NO_NODE });
  });

  it('§5.1 a server ignores a vote request with a stale term', () => {
    const n = coreWithLog(1, [1, 2, 3], [], { term: 3 });
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 2 }));
    expect(n.status().term).toBe(3);
    expect(n.hasReady()).toBe(false);
  });

  it('§5.2 a leader sends heartbeats every heartbeat timeout and followers then do not campaign', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const before = c.countSent(MessageType.Heartbeat);
    c.tickAll(5 * ELECTION_TICKS);
    expect(c.countSent(MessageType.Heartbeat) - before).toBe(5 * ELECTION_TICKS * 2);
    expect(c.leader()).toBe(1);
    expect(c.core(2).status().term).toBe(1);
  });

  it('§5.2 a leader with a failed node still elects and makes progress with a majority', () => {
    const c = new Cluster([1, 2, 3, 4, 5]);
    c.crash(1);
    c.crash(2);
    c.elect(3);
    expect(c.propose(3, 'x').ok).toBe(true);
    c.stabilize();
    c.tickAll(1);
    expect(c.appliedData(4)).toEqual(['x']);
  });
});

describe('§5.4.1 election restriction', () => {
  it('§5.4.1 a voter denies a candidate whose last log term is lower', () => {
    const n = coreWithLog(1, [1, 2, 3], [1, 2]);
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: 5, logTerm: 1 }));
    const [resp] = drainMessages(n);
    expect(resp).toMatchObject({ type: MessageType.VoteResp, reject: true, term: 3 });
    expect(n.status().vote).toBe(NO_NODE);
  });

  it('§5.4.1 a voter denies a candidate with the same last term but a shorter log', () => {
    const n = coreWithLog(1, [1, 2, 3], [1, 2, 2]);
    n.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: 2, logTerm: 2 }));
    expect(drainMessages(n)[0]).toMatchObject({ reject: true });
  });

  it('§5.4.1 a voter grants a candidate whose log is at least as up-to-date (higher last term, even if shorter)', () => {
    const a = coreWithLog(1, [1, 2, 3], [1, 1, 1, 1]);
    a.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: 2, logTerm: 2 }));
    expect(drainMessages(a)[0]).toMatchObject({ reject: false, term: 3 });
    expect(a.status().vote).toBe(2);
    const b = coreWithLog(1, [1, 2, 3], [1, 2]);
    b.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 3, index: 2, logTerm: 2 }));
    expect(drainMessages(b)[0]).toMatchObject({ reject: false });
  });

  it('§5.4.1 a node with a stale log cannot win an election in a real cluster', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'a');
    c.stabilize();
    c.heal();
    // 3 missed entry 2; it may campaign but 1 and 2 refuse it.
    c.crash(1);
    c.tick(3, 2 * ELECTION_TICKS);
    c.stabilize();
    expect(c.core(3).status().role).not.toBe(Role.Leader);
    c.elect(2);
    expect(c.leader()).toBe(2);
  });
});
