import { describe, expect, it } from 'vitest';
import { EntryType, MAX_INFLIGHT_READIES, MessageType, Role } from '../../src/raft/index.js';
import { Cluster, coreWithLog, drain, entry, freshCore, msg } from './harness.js';

describe('§5.4.2 committing entries from previous terms', () => {
  it('§5.4.2 a leader never commits an entry of a previous term by counting replicas', () => {
    // Figure 8: entry 2 (term 2) is on a majority, but the leader is in term 3.
    const l = coreWithLog(1, [1, 2, 3], [1, 2], { term: 2 });
    while (l.status().role !== Role.Candidate) l.tick();
    l.step(msg({ type: MessageType.VoteResp, from: 2, to: 1, term: 3 }));
    expect(l.status().role).toBe(Role.Leader);
    drain(l); // persists the no-op (index 3, term 3)
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 2 }));
    expect(l.status().commitIndex).toBe(0);
    expect(drain(l).committedEntries).toHaveLength(0);
    // Once the term-3 no-op is on a majority, it commits — and index 1..2 with it.
    l.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 3, index: 3 }));
    expect(l.status().commitIndex).toBe(3);
    expect(drain(l).committedEntries.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('§5.4.3 leader completeness: an entry committed in one term is in the log of every later leader', () => {
    const c = new Cluster([1, 2, 3, 4, 5]);
    c.elect(1);
    c.isolate(4);
    c.isolate(5);
    c.propose(1, 'committed');
    c.stabilize();
    expect(c.core(1).status().commitIndex).toBe(5 + 1 + 1); // bootstrap, no-op, entry
    c.crash(1);
    c.heal();
    // 4 and 5 lack the entry: neither can be elected; one of 2/3 must be.
    c.tick(4, 25);
    c.stabilize();
    c.tick(5, 25);
    c.stabilize();
    expect([4, 5].map((id) => c.core(id).status().role)).not.toContain(Role.Leader);
    c.elect(2);
    c.propose(2, 'next');
    c.stabilize();
    c.tickAll(2);
    for (const id of [2, 3, 4, 5]) expect(c.appliedData(id)).toEqual(['committed', 'next']);
  });
});

describe('persistence contract (Ready ordering)', () => {
  it('a leader counts itself in the commit quorum only for entries acknowledged durable through advance()', () => {
    const n = freshCore(1, [1]);
    while (n.status().role !== Role.Leader) n.tick();
    const rd = n.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]); // the no-op after the bootstrap entry
    expect(n.status().commitIndex).toBe(1);
    n.advance(rd);
    expect(n.status().commitIndex).toBe(2);
    n.propose(new Uint8Array([7]));
    const rd2 = n.ready();
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([2]);
    expect(n.status().commitIndex).toBe(2);
    n.advance(rd2);
    expect(n.status().commitIndex).toBe(3);
  });

  it('committedEntries never exceed what is durable locally, even when the leader says they are committed', () => {
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
        commit: 2,
      }),
    );
    expect(f.status().commitIndex).toBe(2);
    const rd = f.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1]); // entry 2 is not durable yet
    f.advance(rd);
    expect(drain(f).committedEntries.map((e) => e.index)).toEqual([2]);
  });

  it('votes and follower responses go in Ready.messages (after persist), with the hard state they depend on', () => {
    const f = freshCore(2, [1, 2, 3]);
    f.step(msg({ type: MessageType.Vote, from: 1, to: 2, term: 1, index: 3 }));
    const rd = drain(f);
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 3 });
    expect(rd.messagesBeforePersist).toHaveLength(0);
    expect(rd.messages.map((m) => m.type)).toEqual([MessageType.VoteResp]);
    f.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 3, entries: [entry(4, 1)] }));
    const rd2 = drain(f);
    expect(rd2.entries).toHaveLength(1);
    expect(rd2.messagesBeforePersist).toHaveLength(0);
    expect(rd2.messages.map((m) => m.type)).toEqual([MessageType.AppResp]);
  });

  it('a follower answers a heartbeat before persisting the entries it is still writing', () => {
    const f = freshCore(2, [1, 2, 3]);
    f.step(msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 3, entries: [entry(4, 1)] }));
    const first = f.ready();
    // Its term is not durable yet: even a heartbeat response waits for the hard state.
    f.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, context: 6 }));
    const early = f.ready();
    expect(early.messagesBeforePersist).toHaveLength(0);
    expect(early.messages.map((m) => m.type)).toEqual([MessageType.HeartbeatResp]);
    f.advance(first);
    f.advance(early);
    // Entry 5 is being written (no advance): its AppResp waits, a heartbeat's answer does not.
    f.step(
      msg({ type: MessageType.App, from: 1, to: 2, term: 1, index: 4, logTerm: 1, entries: [entry(5, 1)] }),
    );
    const big = f.ready();
    expect(big.messages.map((m) => m.type)).toEqual([MessageType.AppResp]);
    f.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, context: 7 }));
    const hb = f.ready();
    expect(hb.messagesBeforePersist.map((m) => [m.type, m.context])).toEqual([
      [MessageType.HeartbeatResp, 7],
    ]);
    expect(hb.messages).toHaveLength(0);
    f.advance(big);
    f.advance(hb);
  });

  it('a candidate sends its Vote requests only after its term and vote are durable', () => {
    const n = freshCore(1, [1, 2, 3]);
    while (n.status().role !== Role.Candidate) n.tick();
    const rd = drain(n);
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(rd.messagesBeforePersist).toHaveLength(0);
    expect(rd.messages.filter((m) => m.type === MessageType.Vote)).toHaveLength(2);
  });

  it('messagesBeforePersist holds only leader App/Heartbeat/Snapshot/TimeoutNow and HeartbeatResp', () => {
    const c = new Cluster([1, 2, 3], { preVote: true, checkQuorum: true });
    const early: number[] = [];
    const orig = c.processReady.bind(c);
    c.processReady = (id) => {
      const core = c.core(id);
      if (!c.isDown(id) && core.hasReady()) {
        // Peek at the Ready through a wrapper that records before-persist message types.
        const ready = core.ready.bind(core);
        core.ready = () => {
          const rd = ready();
          for (const m of rd.messagesBeforePersist) {
            early.push(m.type);
            if (m.type !== MessageType.HeartbeatResp) expect(core.status().role).toBe(Role.Leader);
          }
          return rd;
        };
        const r = orig(id);
        core.ready = ready;
        return r;
      }
      return orig(id);
    };
    for (let i = 0; i < 30 && c.leader() === undefined; i++) c.tickAll();
    const lead = c.leader()!;
    for (let i = 0; i < 10; i++) c.propose(lead, `v${i}`);
    c.stabilize();
    c.core(lead).transferLeadership(lead === 1 ? 2 : 1);
    c.tickAll(5);
    expect(early.length).toBeGreaterThan(0);
    const allowed = new Set<number>([
      MessageType.App,
      MessageType.Heartbeat,
      MessageType.Snapshot,
      MessageType.TimeoutNow,
      MessageType.HeartbeatResp,
    ]);
    for (const t of early) expect(allowed.has(t)).toBe(true);
    expect(early).toContain(MessageType.TimeoutNow);
  });

  it('a leader whose term is not yet durable sends nothing before persisting (single voter + learner)', () => {
    const n = freshCore(1, [1], {}, [2]);
    while (n.status().role !== Role.Leader) n.tick();
    const rd = drain(n);
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(rd.messagesBeforePersist).toHaveLength(0);
    expect(rd.messages.some((m) => m.type === MessageType.App && m.to === 2)).toBe(true);
    // Once the term is durable, Apps may leave before the entries are persisted.
    n.propose(new Uint8Array([1]));
    n.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term: 1, index: 1 }));
    const rd2 = drain(n);
    expect(rd2.messagesBeforePersist.some((m) => m.type === MessageType.App)).toBe(true);
  });

  it('Readies may be outstanding together but are advanced in order, and never beyond the bound', () => {
    const n = freshCore(1, [1, 2, 3]);
    while (n.status().role !== Role.Candidate) n.tick();
    const rd1 = n.ready();
    expect(n.hasReady()).toBe(false); // nothing new happened
    n.tick();
    while (!n.hasReady()) n.tick(); // a new election round: more work
    const rd2 = n.ready();
    expect(() => n.advance(rd2)).toThrow(/invariant: advance\(\) with a Ready that is not the oldest/);
    expect(() => n.advance({ ...rd1 })).toThrow(/invariant/);
    n.advance(rd1);
    n.advance(rd2);
    expect(n.hasReady()).toBe(false);
    // Bounded: a host that never advances stops getting Readies.
    let taken = 0;
    for (let i = 0; i < 10_000 && taken <= MAX_INFLIGHT_READIES; i++) {
      n.tick();
      if (n.hasReady()) {
        n.ready();
        taken++;
      }
    }
    expect(taken).toBe(MAX_INFLIGHT_READIES);
    expect(() => n.ready()).toThrow(/invariant: more than/);
  });

  it('entries overwritten while their Ready is being persisted are not counted durable by its advance', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const f = c.core(2);
    // Leader 1 sends entries; follower 2 takes a Ready with them but has not persisted yet.
    c.propose(1, 'a');
    c.processReady(1);
    c.deliverAll();
    const rdOld = f.ready();
    const oldLast = rdOld.entries[rdOld.entries.length - 1]!;
    // A new leader (term + 2) overwrites that suffix before the old Ready is advanced.
    f.step(
      msg({
        type: MessageType.App,
        from: 3,
        to: 2,
        term: oldLast.term + 2,
        index: oldLast.index - 1,
        logTerm: oldLast.term, // the entry before 'a' is the leader's no-op, same term
        entries: [entry(oldLast.index, oldLast.term + 2, 'b')],
        commit: 0,
      }),
    );
    const rdNew = f.ready();
    expect(rdNew.entries.map((e) => e.term)).toEqual([oldLast.term + 2]);
    f.advance(rdOld);
    // The old entry at oldLast.index was replaced: only the new Ready can make it durable.
    expect(f.status().lastIndex).toBe(oldLast.index);
    f.advance(rdNew);
    expect(f.hasReady()).toBe(false);
  });

  it('SIM-4: a suffix overwritten and written back (A→B→A) while its first Ready persists is not counted durable early', () => {
    // Follower 2 holds [1/1]. Three Readies are taken before the first one is advanced:
    //   rd1: 2/2 3/2 (leader of term 2)   rd2: 2/3 (term 3 overwrites)   rd3: 2/2 3/2 4/4 (term 4 writes A back)
    // When rd1 lands, the disk holds 2/2 3/2 — but rd2 is about to replace them (it may even
    // have landed with rd1's fsync). Matching (index, term) says 3/2 is durable; it is not.
    const f = coreWithLog(2, [1, 2, 3], [1], { term: 1 });
    const app = (from: number, term: number, entries: ReturnType<typeof entry>[], commit = 0) =>
      f.step(msg({ type: MessageType.App, from, to: 2, term, index: 1, logTerm: 1, entries, commit }));
    app(1, 2, [entry(2, 2), entry(3, 2)]);
    const rd1 = f.ready();
    app(3, 3, [entry(2, 3)]);
    const rd2 = f.ready();
    app(1, 4, [entry(2, 2), entry(3, 2), entry(4, 4)], 4);
    const rd3 = f.ready();
    expect([rd1, rd2, rd3].map((rd) => rd.entries.map((e) => `${e.index}/${e.term}`))).toEqual([
      ['2/2', '3/2'],
      ['2/3'],
      ['2/2', '3/2', '4/4'],
    ]);
    f.advance(rd1);
    // Entries 2..4 are committed, but only index 1 is known durable as it stands now.
    expect(f.ready().committedEntries.map((e) => e.index)).toEqual([]);
    f.advance(rd2);
    expect(f.ready().committedEntries.map((e) => e.index)).toEqual([]);
    f.advance(rd3);
    const rd5 = f.ready();
    expect(rd5.committedEntries.map((e) => `${e.index}/${e.term}`)).toEqual(['2/2', '3/2', '4/4']);
  });

  it('the hard state appears in a Ready exactly when term, vote or commit changed', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const f = c.core(2);
    expect(f.hasReady()).toBe(false);
    f.tick();
    expect(f.hasReady()).toBe(false);
    c.propose(1, 'a');
    c.processReady(1);
    c.deliverAll();
    const rd = drain(f);
    expect(rd.hardState).toBeUndefined(); // entry 2 arrived, commit not yet moved
    expect(rd.entries.map((e) => e.type)).toEqual([EntryType.Normal]);
  });
});
