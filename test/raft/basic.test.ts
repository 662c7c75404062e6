import { describe, expect, it } from 'vitest';
import { Role } from '../../src/raft/index.js';
import { Cluster } from './harness.js';

describe('basic cluster behaviour', () => {
  it('elects one leader and replicates + applies proposals on every node in order', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    expect(c.leader()).toBe(1);
    for (let i = 0; i < 50; i++) expect(c.propose(1, `v${i}`).ok).toBe(true);
    c.stabilize();
    c.tickAll(2);
    const want = Array.from({ length: 50 }, (_, i) => `v${i}`);
    for (const id of [1, 2, 3]) {
      expect(c.appliedData(id)).toEqual(want);
      expect(c.core(id).status().commitIndex).toBe(3 + 1 + 50); // bootstrap, no-op, proposals
    }
    expect(c.core(2).status().role).toBe(Role.Follower);
    expect(c.core(2).status().leaderId).toBe(1);
  });

  it('elects a leader from ticking every node with randomized timeouts (pre-vote + check-quorum on)', () => {
    const c = new Cluster([1, 2, 3, 4, 5], { preVote: true, checkQuorum: true });
    for (let i = 0; i < 40 && c.leader() === undefined; i++) c.tickAll();
    const lead = c.leader();
    expect(lead).toBeDefined();
    const leaders = [...c.cores.values()].filter((x) => x.status().role === Role.Leader);
    expect(leaders).toHaveLength(1);
    expect(c.propose(lead!, 'a').ok).toBe(true);
    c.stabilize();
    c.tickAll(2);
    for (const id of c.ids) expect(c.appliedData(id)).toEqual(['a']);
  });
});
