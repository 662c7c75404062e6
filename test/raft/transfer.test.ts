import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../src/raft/index.js';
import { Cluster, ELECTION_TICKS } from './harness.js';

describe('leadership transfer (dissertation §3.10)', () => {
  it('transfer: an up-to-date target gets TimeoutNow at once and wins the next term', () => {
    const c = new Cluster([1, 2, 3], { checkQuorum: true, preVote: true });
    c.elect(1);
    c.core(1).transferLeadership(2);
    c.stabilize();
    expect(c.countSent(MessageType.TimeoutNow)).toBe(1);
    expect(c.leader()).toBe(2);
    expect(c.core(2).status().term).toBe(2);
    expect(c.core(1).status()).toMatchObject({ role: Role.Follower, leaderId: 2 });
  });

  it('transfer: a lagging target is caught up first, then gets TimeoutNow', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.stabilize();
    c.heal();
    c.core(1).transferLeadership(3);
    c.stabilize();
    const idx = c.sent.findIndex((m) => m.type === MessageType.TimeoutNow);
    expect(idx).toBeGreaterThan(0);
    // Before TimeoutNow, node 3 acknowledged the leader's whole log.
    const acks = c.sent
      .slice(0, idx)
      .filter((m) => m.type === MessageType.AppResp && m.from === 3 && !m.reject);
    expect(Math.max(...acks.map((m) => m.index))).toBe(3 + 1 + 5);
    expect(c.leader()).toBe(3);
    c.propose(3, 'after');
    c.stabilize();
    c.tickAll(2);
    expect(c.appliedData(1)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'after']);
  });

  it('transfer: proposals are refused while transferring, and the transfer is abandoned after an election timeout', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.propose(1, 'x');
    c.stabilize();
    c.core(1).transferLeadership(3); // 3 is unreachable: it can never catch up
    expect(c.propose(1, 'y')).toEqual({ ok: false, reason: 'transferring' });
    c.tickAll(ELECTION_TICKS);
    expect(c.leader()).toBe(1);
    expect(c.propose(1, 'z').ok).toBe(true);
  });

  it('transfer: requests to self, to a non-member, or on a follower are ignored', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.core(1).transferLeadership(1);
    c.core(1).transferLeadership(9);
    c.core(2).transferLeadership(3);
    expect(c.propose(1, 'ok').ok).toBe(true);
    c.stabilize();
    expect(c.countSent(MessageType.TimeoutNow)).toBe(0);
    expect(c.leader()).toBe(1);
  });
});
