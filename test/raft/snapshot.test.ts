import { describe, expect, it } from 'vitest';
import { MessageType, RaftCore, Role } from '../../src/raft/index.js';
import { Cluster, config, coreWithLog, drain, drainMessages, msg } from './harness.js';

describe('snapshots (InstallSnapshot, §7)', () => {
  it('snapshot: compact() drops applied entries; appliedSnapshotMeta names the applied state', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, `v${i}`);
    c.stabilize();
    const l = c.core(1);
    const meta = l.appliedSnapshotMeta();
    expect(meta).toEqual({ index: 9, term: 1, confState: { voters: [1, 2, 3], learners: [] } });
    expect(() => l.compact(10)).toThrow(/invariant/);
    l.compact(7);
    expect(l.status().firstIndex).toBe(8);
    l.compact(6); // older than the compaction point: no-op
    expect(l.status().firstIndex).toBe(8);
  });

  it('snapshot: a follower that needs compacted entries gets a Snapshot message, installs it, then catches up', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.propose(1, `v${i}`);
    c.stabilize();
    const l = c.core(1);
    l.compact(11);
    c.heal();
    c.propose(1, 'tail');
    c.stabilize();
    c.tickAll(3);
    const snaps = c.sent.filter((m) => m.type === MessageType.Snapshot);
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.snapshot).toEqual({
      index: 11,
      term: 1,
      confState: { voters: [1, 2, 3], learners: [] },
    });
    expect(c.snapshotsInstalled.get(3)).toEqual([snaps[0]!.snapshot]);
    const f = c.core(3).status();
    expect(f.commitIndex).toBe(15);
    expect(f.appliedIndex).toBe(15);
    expect(f.firstIndex).toBe(12);
    // Index 1-3 bootstrap, 4 no-op, 5-14 v0..v9, 15 tail: after the snapshot at 11 come v7.. .
    expect(c.appliedData(3)).toEqual(['v7', 'v8', 'v9', 'tail']);
    expect(l.status().progress!.find((p) => p.id === 3)!.state).toBe('replicate');
  });

  it("snapshot: a follower receiving one resets its log, surfaces Ready.snapshot and takes the snapshot's configuration", () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1, 2, 2], { term: 2, commit: 1 });
    const snapshot = { index: 10, term: 3, confState: { voters: [1, 2, 3, 4], learners: [5] } };
    f.step(msg({ type: MessageType.Snapshot, from: 1, to: 2, term: 3, index: 10, logTerm: 3, snapshot }));
    const st = f.status();
    expect(st).toMatchObject({ commitIndex: 10, lastIndex: 10, firstIndex: 11, leaderId: 1 });
    expect(st.confState).toEqual(snapshot.confState);
    const rd = f.ready();
    expect(rd.snapshot).toEqual(snapshot);
    expect(rd.entries).toHaveLength(0);
    expect(rd.committedEntries).toHaveLength(0);
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppResp, index: 10, reject: false });
    f.advance(rd);
    expect(f.status().appliedIndex).toBe(10);
    expect(f.appliedSnapshotMeta()).toEqual(snapshot);
  });

  it('snapshot: a stale snapshot (index ≤ commit) is not installed', () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1, 1], { term: 1, commit: 3 });
    const snapshot = { index: 2, term: 1, confState: { voters: [1, 2, 3], learners: [] } };
    f.step(msg({ type: MessageType.Snapshot, from: 1, to: 2, term: 1, snapshot }));
    const rd = drain(f);
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages[0]).toMatchObject({ type: MessageType.AppResp, index: 3 });
    expect(f.status().lastIndex).toBe(3);
  });

  it("snapshot: when the follower already holds the snapshot's last entry it only moves its commit", () => {
    const f = coreWithLog(2, [1, 2, 3], [1, 1, 1, 1], { term: 1, commit: 1 });
    const snapshot = { index: 3, term: 1, confState: { voters: [1, 2, 3], learners: [] } };
    f.step(msg({ type: MessageType.Snapshot, from: 1, to: 2, term: 1, snapshot }));
    const rd = drain(f);
    expect(rd.snapshot).toBeUndefined();
    expect(f.status()).toMatchObject({ commitIndex: 3, lastIndex: 4 });
  });

  it('snapshot: a failed stream (reportSnapshotStatus false) returns the follower to probe and retries later', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 4; i++) c.propose(1, `v${i}`);
    c.stabilize();
    c.core(1).compact(8);
    c.heal();
    let failOnce = true;
    c.dropIf = (m) => {
      if (m.type === MessageType.Snapshot && failOnce) {
        failOnce = false;
        return true;
      }
      return false;
    };
    c.tickAll(5);
    expect(c.countSent(MessageType.Snapshot)).toBe(2);
    expect(c.core(3).status().commitIndex).toBe(8);
  });

  it('snapshot: a node restarted from a snapshot boots at its index with its configuration', () => {
    const n = new RaftCore(config(2), {
      hardState: { term: 3, vote: 1, commit: 10 },
      snapshot: { index: 10, term: 3, confState: { voters: [1, 2, 3], learners: [] } },
      confState: { voters: [], learners: [] },
      entries: [],
      applied: 0,
    });
    expect(n.status()).toMatchObject({ commitIndex: 10, appliedIndex: 10, firstIndex: 11, lastIndex: 10 });
    expect(drain(n).committedEntries).toHaveLength(0);
    // And it can accept the next App right after the snapshot.
    n.step(msg({ type: MessageType.App, from: 1, to: 2, term: 3, index: 10, logTerm: 3, commit: 10 }));
    expect(drainMessages(n)[0]).toMatchObject({ reject: false, index: 10 });
    expect(n.status().role).toBe(Role.Follower);
  });
});
