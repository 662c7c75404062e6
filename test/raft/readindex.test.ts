import { describe, expect, it } from 'vitest';
import { MessageType, Role } from '../../src/raft/index.js';
import { Cluster, drain, freshCore } from './harness.js';

function settled(): Cluster {
  const c = new Cluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  c.stabilize();
  c.tickAll(1);
  return c;
}

describe('ReadIndex (dissertation §6.4)', () => {
  it('ReadIndex: the leader answers a read only after a quorum acknowledged a heartbeat sent after it', () => {
    const c = settled();
    const l = c.core(1);
    expect(l.readIndex(42)).toBe(true);
    c.processReady(1); // heartbeat round goes out
    expect(c.readStates.get(1)).toEqual([]);
    c.deliverAll(); // followers get the heartbeat
    c.processReady(2);
    c.processReady(3);
    c.deliverAll(); // acks come back
    c.processReady(1);
    expect(c.readStates.get(1)).toEqual([{ index: 5, context: 42 }]);
  });

  it('ReadIndex: many pending reads are confirmed by one heartbeat round', () => {
    const c = settled();
    const hbBefore = c.countSent(MessageType.Heartbeat);
    for (let i = 1; i <= 10; i++) expect(c.core(1).readIndex(i)).toBe(true);
    c.stabilize();
    expect(c.countSent(MessageType.Heartbeat) - hbBefore).toBe(2); // one round to 2 followers
    expect(c.readStates.get(1)!.map((r) => r.context)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.readStates.get(1)!.every((r) => r.index === 5)).toBe(true);
  });

  it('ReadIndex: reads arriving while a round is in flight ride the next round', () => {
    const c = settled();
    c.core(1).readIndex(1);
    c.processReady(1);
    c.core(1).readIndex(2); // round 1 outstanding
    c.stabilize();
    expect(c.readStates.get(1)!.map((r) => r.context)).toEqual([1, 2]);
  });

  it('ReadIndex: a new leader serves no read before it has committed an entry of its term', () => {
    const c = settled();
    // Elect 2 but keep its no-op from committing: drop every AppResp to it.
    c.dropIf = (m) => m.type === MessageType.AppResp && m.to === 2;
    c.elect(2);
    const l = c.core(2);
    expect(l.status().commitIndex).toBeLessThan(l.status().lastIndex);
    expect(l.readIndex(7)).toBe(true);
    c.tickAll(3);
    expect(c.readStates.get(2)).toEqual([]);
    c.dropIf = undefined;
    c.tickAll(3);
    expect(c.readStates.get(2)).toEqual([{ index: 6, context: 7 }]);
  });

  it("ReadIndex: a follower forwards the read to the leader and gets the leader's commit index", () => {
    const c = settled();
    expect(c.core(2).readIndex(99)).toBe(true);
    c.stabilize();
    expect(c.readStates.get(2)).toEqual([{ index: 5, context: 99 }]);
    expect(c.readStates.get(1)).toEqual([]);
    expect(c.sent.some((m) => m.type === MessageType.ReadIndex && m.from === 2 && m.to === 1)).toBe(true);
  });

  it('ReadIndex with lazyCommitBroadcast: a follower learns the commit it must apply before its read index', () => {
    const c = new Cluster([1, 2, 3], { lazyCommitBroadcast: true, heartbeatTimeoutTicks: 5 });
    c.elect(1);
    c.stabilize();
    c.propose(1, 'x');
    c.processReady(1);
    // Follower 2's App is held back (slow link): 3 alone completes the quorum for 'x'.
    const held = c.queue.filter((m) => m.to === 2);
    c.queue = c.queue.filter((m) => m.to !== 2);
    c.stabilize();
    const x = c.core(1).status().commitIndex;
    expect(c.appliedData(1)).toContain('x');
    expect(c.core(2).status().commitIndex).toBeLessThan(x);
    // 2 reads; its App arrives just before the read round, so the round's heartbeat to 2 still
    // carries a commit capped below 'x'. No tick follows: the leader must tell 2 the commit.
    expect(c.core(2).readIndex(7)).toBe(true);
    c.processReady(2);
    c.queue = [...held, ...c.queue];
    c.stabilize();
    expect(c.readStates.get(2)).toEqual([{ index: x, context: 7 }]);
    expect(c.core(2).status().appliedIndex).toBeGreaterThanOrEqual(x);
  });

  it('ReadIndex: equal contexts from different nodes are answered separately', () => {
    const c = settled();
    c.core(1).readIndex(5);
    c.core(2).readIndex(5);
    c.core(3).readIndex(5);
    c.stabilize();
    for (const id of [1, 2, 3]) expect(c.readStates.get(id)).toEqual([{ index: 5, context: 5 }]);
  });

  it('ReadIndex: returns false when no leader is known', () => {
    const n = freshCore(1, [1, 2, 3]);
    expect(n.readIndex(1)).toBe(false);
  });

  it('ReadIndex: a partitioned stale leader never confirms a read', () => {
    const c = settled();
    c.isolate(1);
    expect(c.core(1).readIndex(1)).toBe(true);
    c.tickAll(5);
    expect(c.readStates.get(1)).toEqual([]);
    expect(c.core(1).status().role).toBe(Role.Leader); // check-quorum is off: it still believes
  });

  it('ReadIndex: a single-voter leader answers at once (after committing in its term)', () => {
    const n = freshCore(1, [1]);
    while (n.status().role !== Role.Leader) n.tick();
    expect(n.readIndex(3)).toBe(true);
    expect(drain(n).readStates).toEqual([]); // no-op not durable/committed yet
    expect(drain(n).readStates).toEqual([{ index: 2, context: 3 }]);
    n.readIndex(4);
    expect(drain(n).readStates).toEqual([{ index: 2, context: 4 }]);
  });

  it('ReadIndex: the leader queue is bounded (maxPendingReads)', () => {
    const c = new Cluster([1, 2, 3], { maxPendingReads: 2 });
    c.elect(1);
    c.isolate(1);
    expect([1, 2, 3].map((ctx) => c.core(1).readIndex(ctx))).toEqual([true, true, false]);
  });
});
