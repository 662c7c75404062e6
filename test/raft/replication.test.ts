import { describe, expect, it } from 'vitest';
import { MessageType, Role, type Message } from '../../src/raft/index.js';
import { Cluster, coreWithLog, drain, drainMessages, entry, freshCore, msg } from './harness.js';

/** Makes node 1 (booted with a log) leader of a 3-voter config by feeding it votes directly. */
function leaderFrom(terms: number[], term: number, overrides = {}) {
  if (term < 2) throw new Error('term ≥ 2: hard state term 0 with an empty log would bootstrap');
  const l = coreWithLog(1, [1, 2, 3], terms, { term: term - 1 }, overrides);
  while (l.status().role !== Role.Candidate) l.tick();
  l.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term }));
  expect(l.status().role).toBe(Role.Leader);
  return l;
}

describe('§5.3 log replication', () => {
  it('§5.3 a follower rejects AppendEntries when its log has no entry at prevLogIndex with prevLogTerm', () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1]);
    f.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 2, index: 3, logTerm: 2, entries: [entry(4, 2)] }),
    );
    const [r1] = drainMessages(f);
    expect(r1).toMatchObject({
      type: MessageType.AppResp,
      reject: true,
      index: 3,
      rejectHint: 2,
      rejectTerm: 1,
    });
    // Entry at prevLogIndex exists but with another term.
    const g = coreWithLog(2, [1, 2, 3], [1, 2, 2]);
    g.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 3, index: 3, logTerm: 3, entries: [entry(4, 3)] }),
    );
    const [r2] = drainMessages(g);
    expect(r2).toMatchObject({ reject: true, index: 3, rejectHint: 3, rejectTerm: 2 });
    expect(g.status().lastIndex).toBe(3);
  });

  it('§5.3 a follower deletes a conflicting entry and all that follow it, then appends the new ones', () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1, 2, 2]);
    const ents = [entry(2, 1), entry(3, 3)];
    f.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 3, index: 1, logTerm: 1, entries: ents, commit: 2 }),
    );
    const rd = drain(f);
    expect(rd.entries.map((e) => [e.index, e.term])).toEqual([[3, 3]]);
    expect(f.status().lastIndex).toBe(3);
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppResp, reject: false, index: 3 });
  });

  it('§5.3 a stale or duplicated AppendEntries does not truncate entries that follow it', () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1, 1], { term: 1 });
    f.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)] }),
    );
    const rd = drain(f);
    expect(rd.entries).toHaveLength(0);
    expect(f.status().lastIndex).toBe(3);
    expect(rd.messages[0]).toMatchObject({ reject: false, index: 2 });
  });

  it('§5.3 a follower sets its commit index to min(leaderCommit, index of last new entry)', () => {
    const f = coreWithLog(2, [1, 2, 3], [1], { term: 1 });
    f.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 1,
        index: 1,
        logTerm: 1,
        entries: [entry(2, 1)],
        commit: 5,
      }),
    );
    expect(f.status().commitIndex).toBe(2);
    f.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term: 1,
        index: 2,
        logTerm: 1,
        entries: [entry(3, 1)],
        commit: 2,
      }),
    );
    expect(f.status().commitIndex).toBe(2);
  });

  it('§5.3 log matching: a new leader brings every divergent follower of Figure 7 to its own log', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    for (const [name, flog] of Object.entries(followers)) {
      // Node 3 holds the leader's log so that node 1 can win term 8 even against d.
      const c = Cluster.fromLogs({ 1: leaderLog, 2: flog, 3: leaderLog }, 7);
      c.isolateLink(1, 2);
      c.elect(1);
      c.heal();
      expect(c.core(1).status().term, name).toBe(8);
      c.propose(1, 'new');
      c.stabilize();
      c.tickAll(3);
      const want = [...leaderLog, 8, 8];
      expect(c.logTerms(1), name).toEqual(want);
      expect(c.logTerms(2), name).toEqual(want);
      expect(c.core(2).status().commitIndex, name).toBe(12);
      const rejections = c.sent.filter(
        (m) => m.type === MessageType.AppResp && m.reject && m.from === 2,
      ).length;
      // Fast backtracking: at most a few round trips, never one per conflicting entry.
      expect(rejections, name).toBeLessThanOrEqual(3);
    }
  });

  it('§5.3 leader append-only: a leader never overwrites or deletes entries in its log', () => {
    const c = Cluster.fromLogs({ 1: [1, 1, 2], 2: [1, 3, 3, 3], 3: [1, 1, 2] }, 3);
    c.isolateLink(1, 2);
    c.elect(1);
    const before = c.logTerms(1);
    c.heal();
    // Node 2's conflicting log is in a newer term-entry order, but it cannot change the leader's log.
    for (let i = 0; i < 3; i++) c.propose(1, `v${i}`);
    c.stabilize();
    c.tickAll(3);
    expect(c.logTerms(1).slice(0, before.length)).toEqual(before);
    expect(c.logTerms(2)).toEqual(c.logTerms(1));
  });

  it('§5.3 an entry replicated on a majority is committed and applied in log order on every node', () => {
    const c = new Cluster([1, 2, 3, 4, 5]);
    c.elect(1);
    c.isolate(4);
    c.isolate(5);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.stabilize();
    c.tickAll(1);
    expect(c.core(1).status().commitIndex).toBe(5 + 3); // bootstrap, no-op, a, b
    expect(c.appliedData(2)).toEqual(['a', 'b']);
    c.heal();
    c.tickAll(3);
    expect(c.appliedData(5)).toEqual(['a', 'b']);
  });

  it('batching: App messages carry at most maxEntriesPerMsg entries and maxBytesPerMsg bytes (but at least one entry)', () => {
    const c = new Cluster([1, 2], { maxEntriesPerMsg: 3, maxBytesPerMsg: 10 });
    c.elect(1);
    for (let i = 0; i < 7; i++) c.propose(1, 'abcd'); // 4 bytes each: the byte bound allows 2
    c.propose(1, 'x'.repeat(50)); // larger than maxBytesPerMsg: still sent, alone
    c.stabilize();
    const apps = c.sent.filter(
      (m) => m.type === MessageType.App && m.entries.length > 0 && m.entries[0]!.index > 1,
    );
    for (const a of apps) {
      expect(a.entries.length).toBeLessThanOrEqual(3);
      const bytes = a.entries.reduce((s, e) => s + e.data.byteLength, 0);
      if (a.entries.length > 1) expect(bytes).toBeLessThanOrEqual(10);
    }
    expect(apps.some((a) => a.entries.length === 1 && a.entries[0]!.data.byteLength === 50)).toBe(true);
    expect(c.appliedData(2)).toHaveLength(8);
  });

  it('pipelining: a follower in replicate state gets several Apps without waiting, bounded by maxInflightMsgs', () => {
    const l = leaderFrom([], 2, { maxInflightMsgs: 4, maxEntriesPerMsg: 1 });
    drain(l);
    // Follower 2 acknowledges the no-op: it moves to replicate.
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 1 }));
    drain(l);
    expect(l.status().progress!.find((p) => p.id === 2)!.state).toBe('replicate');
    for (let i = 0; i < 10; i++) l.propose(new Uint8Array([i]));
    const apps = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 2);
    expect(apps).toHaveLength(4);
    expect(apps.map((m) => m.index)).toEqual([1, 2, 3, 4]);
    expect(l.status().progress!.find((p) => p.id === 2)!.inflight).toBe(4);
    // One acknowledgement frees two slots: two more Apps go out.
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 3 }));
    const more = drainMessages(l).filter(
      (m) => m.type === MessageType.App && m.to === 2 && m.entries.length > 0,
    );
    expect(more.map((m) => m.entries[0]!.index)).toEqual([6, 7]);
  });

  it('lazyCommitBroadcast: a commit advance rides on the next App with entries, or goes out at the next tick', () => {
    const commitOnlyApps = (ms: Message[]) =>
      ms.filter((m) => m.type === MessageType.App && m.to === 2 && m.entries.length === 0);
    for (const lazy of [false, true]) {
      const l = leaderFrom([], 2, { lazyCommitBroadcast: lazy, heartbeatTimeoutTicks: 5 });
      drain(l);
      // Follower 2 holds the no-op: the commit advances to 1.
      l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 1 }));
      const afterAck = drainMessages(l);
      expect(l.status().commitIndex).toBe(1);
      expect(commitOnlyApps(afterAck).map((m) => m.commit)).toEqual(lazy ? [] : [1]);
      // The next proposal's App carries the new commit either way.
      l.propose(new Uint8Array([7]));
      const withEntries = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 2);
      expect(withEntries.map((m) => [m.entries.length, m.commit])).toEqual([[1, 1]]);
      // Its acknowledgement commits entry 2; lazily, followers hear of it at the next tick.
      l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 2 }));
      expect(commitOnlyApps(drainMessages(l)).map((m) => m.commit)).toEqual(lazy ? [] : [2]);
      l.tick();
      expect(commitOnlyApps(drainMessages(l)).map((m) => m.commit)).toEqual(lazy ? [2] : []);
    }
  });

  it('probe: a follower in probe state gets one App at a time until it answers', () => {
    const l = leaderFrom([], 2);
    const first = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 3);
    expect(first).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      l.propose(new Uint8Array([i]));
      expect(drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 3)).toHaveLength(0);
    }
    // A heartbeat response unpauses the probe.
    l.step(msg({ type: MessageType.HeartbeatResp, from: 3, to: 1, term: 2 }));
    expect(drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 3)).toHaveLength(1);
  });

  it('fast backtracking: a rejection with rejectHint/rejectTerm skips a whole conflicting term', () => {
    const l = leaderFrom([1, 1, 1, 4, 4, 5, 5, 6, 6, 6], 8);
    drain(l);
    // Follower (Figure 7 f) at 11 terms [1,1,1,2,2,2,3,3,3,3,3] rejects the probe at 10 with hint (10, 3).
    l.step(
      msg({
        type: MessageType.AppResp,
        from: 2,
        to: 1,
        term: 8,
        index: 10,
        reject: true,
        rejectHint: 10,
        rejectTerm: 3,
      }),
    );
    const [app] = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 2);
    // Leader's largest index with term ≤ 3 is 3: it probes right there.
    expect(app).toMatchObject({ index: 3, logTerm: 1 });
  });

  it('SIM-1: after pipelined Apps are lost, a heartbeat response makes the leader send an App that exposes the gap', () => {
    const l = leaderFrom([], 2, { maxEntriesPerMsg: 1 });
    drain(l);
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 1 }));
    for (let i = 0; i < 4; i++) l.propose(new Uint8Array([i]));
    drain(l); // Apps 2..5 to node 2 are "lost"
    expect(l.status().progress!.find((p) => p.id === 2)).toMatchObject({
      state: 'replicate',
      match: 1,
      next: 6,
    });
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 1 })); // duplicate, stale
    l.step(msg({ type: MessageType.HeartbeatResp, from: 2, to: 1, term: 2 }));
    const [probe] = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 2);
    expect(probe).toMatchObject({ index: 5, logTerm: 2 });
    // The follower (last index 1) rejects it; the leader falls back to probing from match + 1.
    l.step(
      msg({
        type: MessageType.AppResp,
        from: 2,
        to: 1,
        term: 2,
        index: 5,
        reject: true,
        rejectHint: 1,
        rejectTerm: 2,
      }),
    );
    const [resend] = drainMessages(l).filter((m) => m.type === MessageType.App && m.to === 2);
    expect(resend).toMatchObject({ index: 1, logTerm: 2 });
    expect(resend!.entries[0]!.index).toBe(2);
    expect(l.status().progress!.find((p) => p.id === 2)!.state).toBe('probe');
  });

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const l = leaderFrom([], 2);
    drain(l);
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 2, index: 1 }));
    expect(l.status().progress!.find((p) => p.id === 2)!.state).toBe('replicate');
    l.reportUnreachable(2);
    expect(l.status().progress!.find((p) => p.id === 2)!.state).toBe('probe');
  });

  it('a lost App in the pipeline is repaired: the follower rejects the gap and the leader resends', () => {
    const c = new Cluster([1, 2, 3], { maxEntriesPerMsg: 1 });
    c.elect(1);
    let dropped = false;
    c.dropIf = (m: Message) => {
      if (!dropped && m.type === MessageType.App && m.to === 2 && m.entries.length > 0) {
        dropped = true;
        return true;
      }
      return false;
    };
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.stabilize();
    c.tickAll(3);
    expect(dropped).toBe(true);
    expect(c.appliedData(2)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('a follower refuses proposals and names the leader; a leader bounds uncommitted entries (busy)', () => {
    const c = new Cluster([1, 2, 3], { maxUncommittedEntries: 3 });
    c.elect(1);
    expect(c.propose(2, 'x')).toEqual({ ok: false, reason: 'not-leader', leaderId: 1 });
    c.isolate(1);
    const results = [0, 1, 2, 3].map(() => c.propose(1, 'y'));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(results[3]).toEqual({ ok: false, reason: 'busy' });
    expect(freshCore(9, [9]).propose(new Uint8Array(1))).toEqual({
      ok: false,
      reason: 'not-leader',
      leaderId: 0,
    });
  });
});
