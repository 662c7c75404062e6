import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, RaftLog } from '../../src/raft/log.js';
import type { Entry } from '../../src/raft/types.js';
import { EntryType, MessageType } from '../../src/raft/types.js';
import { Cluster, entry, msg } from './harness.js';

/** An entry whose data is `dataBytes` long. */
function sized(index: number, term: number, dataBytes: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(dataBytes) };
}

/** What the log should account for `ents`, summed independently of the log's running totals. */
function expectedBytes(ents: readonly Entry[]): number {
  return ents.reduce((n, e) => n + e.data.byteLength + ENTRY_OVERHEAD_BYTES, 0);
}

/** Every index in [lo, hi] with its entry size in bytes `10 * index`, term 1. */
function run(lo: number, hi: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(sized(i, term, 10 * i));
  return out;
}

describe('raft log byte accounting', () => {
  it('log bytes: an empty log holds 0 bytes; appends add data + ENTRY_OVERHEAD_BYTES each', () => {
    const log = new RaftLog(0, 0, [], 0, 0);
    expect(log.bytes()).toBe(0);
    log.appendOne(sized(1, 1, 100));
    expect(log.bytes()).toBe(100 + ENTRY_OVERHEAD_BYTES);
    log.truncateAndAppend(run(2, 5));
    expect(log.bytes()).toBe(expectedBytes([sized(1, 1, 100), ...run(2, 5)]));
    // Empty data (the leader's no-op) still costs the overhead.
    log.appendOne(sized(6, 1, 0));
    expect(log.bytes()).toBe(expectedBytes([sized(1, 1, 100), ...run(2, 5), sized(6, 1, 0)]));
  });

  it('log bytes: boot counts only entries after the snapshot index', () => {
    const log = new RaftLog(3, 1, run(1, 6), 0, 0);
    expect(log.bytes()).toBe(expectedBytes(run(4, 6)));
  });

  it('log bytes: a conflicting append subtracts the truncated suffix exactly', () => {
    const log = new RaftLog(0, 0, run(1, 10), 0, 0);
    log.truncateAndAppend([sized(6, 2, 1)]);
    expect(log.lastIndex()).toBe(6);
    expect(log.bytes()).toBe(expectedBytes([...run(1, 5), sized(6, 2, 1)]));
    // Truncating right after the last kept entry, then appending more: still exact.
    log.truncateAndAppend(run(6, 8, 3));
    expect(log.bytes()).toBe(expectedBytes([...run(1, 5), ...run(6, 8, 3)]));
  });

  it('log bytes: compact subtracts exactly the compacted prefix; bytesThrough predicts it', () => {
    const log = new RaftLog(0, 0, run(1, 10), 10, 10);
    expect(log.bytesThrough(0)).toBe(0);
    expect(log.bytesThrough(4)).toBe(expectedBytes(run(1, 4)));
    expect(log.bytesThrough(99)).toBe(log.bytes()); // clamped to the last index
    const freed = log.bytesThrough(4);
    const before = log.bytes();
    log.compact(4);
    expect(log.bytes()).toBe(before - freed);
    expect(log.bytes()).toBe(expectedBytes(run(5, 10)));
    expect(log.bytesThrough(4)).toBe(0); // already compacted
    log.compact(4); // no-op
    expect(log.bytes()).toBe(expectedBytes(run(5, 10)));
    log.compact(10);
    expect(log.bytes()).toBe(0);
    // After compacting everything the totals restart cleanly.
    log.appendOne(sized(11, 1, 7));
    expect(log.bytes()).toBe(7 + ENTRY_OVERHEAD_BYTES);
  });

  it('log bytes: restore (follower snapshot install) empties the accounting', () => {
    const log = new RaftLog(0, 0, run(1, 5), 2, 2);
    log.restore({ index: 20, term: 3, confState: { voters: [1], learners: [] } });
    expect(log.bytes()).toBe(0);
    log.appendOne(sized(21, 3, 50));
    expect(log.bytes()).toBe(50 + ENTRY_OVERHEAD_BYTES);
  });

  it('log bytes: stay exact and non-negative over a long random mix of append, truncate and compact', () => {
    // Deterministic LCG so a failure replays.
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const log = new RaftLog(0, 0, [], 0, 0);
    const model: Entry[] = []; // entries in memory, independently tracked
    let term = 1;
    for (let step = 0; step < 2000; step++) {
      const op = rnd(10);
      if (op < 6) {
        const n = 1 + rnd(4);
        const ents: Entry[] = [];
        for (let k = 0; k < n; k++) ents.push(sized(log.lastIndex() + 1 + k, term, rnd(300)));
        log.truncateAndAppend(ents);
        model.push(...ents);
      } else if (op < 8 && log.lastIndex() > log.commit) {
        // Overwrite an uncommitted suffix with a newer term.
        term++;
        const from = log.commit + 1 + rnd(log.lastIndex() - log.commit);
        const replacement = sized(from, term, rnd(300));
        log.truncateAndAppend([replacement]);
        model.length = from - log.snapIndex - 1;
        model.push(replacement);
      } else if (log.lastIndex() > log.snapIndex) {
        const to = log.snapIndex + 1 + rnd(log.lastIndex() - log.snapIndex);
        log.commitTo(to);
        log.appliedTo(to);
        const cut = to - log.snapIndex;
        const freed = log.bytesThrough(to);
        expect(freed).toBe(expectedBytes(model.slice(0, cut)));
        log.compact(to);
        model.splice(0, cut);
      }
      expect(log.bytes()).toBeGreaterThanOrEqual(0);
      expect(log.bytes()).toBe(expectedBytes(model));
    }
  });

  it('log bytes: the core reports them in status() and logBytes(); compact() frees them', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const l = c.core(1);
    const base = l.logBytes();
    for (let i = 0; i < 5; i++) c.propose(1, 'x'.repeat(1000));
    c.stabilize();
    expect(l.logBytes()).toBe(base + 5 * (1000 + ENTRY_OVERHEAD_BYTES));
    expect(l.status().logBytes).toBe(l.logBytes());
    // Everything is applied: a snapshot now would free it all.
    expect(l.compactableLogBytes()).toBe(l.logBytes());
    // Followers hold the same entries.
    expect(c.core(2).logBytes()).toBe(l.logBytes());
    l.compact(l.status().appliedIndex);
    expect(l.logBytes()).toBe(0);
    expect(l.compactableLogBytes()).toBe(0);
  });

  it('log bytes: compactableLogBytes leaves out entries not yet committed', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const l = c.core(1);
    l.compact(l.status().appliedIndex);
    c.isolate(2);
    c.isolate(3);
    c.propose(1, 'y'.repeat(500));
    c.stabilize();
    expect(l.logBytes()).toBe(500 + ENTRY_OVERHEAD_BYTES);
    expect(l.compactableLogBytes()).toBe(0);
  });

  it('log bytes: a follower accounts a leader overwriting its uncommitted suffix', () => {
    const c = new Cluster([1, 2, 3]);
    c.elect(1);
    const f = c.core(2);
    const term = f.status().term;
    const last = f.status().lastIndex;
    f.compact(f.status().appliedIndex);
    expect(f.logBytes()).toBe(0);
    // A leader of the same term sends two uncommitted entries, then (as a new leader would)
    // a conflicting single entry at the first of them.
    f.step(
      msg({
        type: MessageType.App,
        from: 1,
        to: 2,
        term,
        index: last,
        logTerm: term,
        entries: [entry(last + 1, term, 'aaaa'), entry(last + 2, term, 'bbbb')],
        commit: last,
      }),
    );
    expect(f.logBytes()).toBe(2 * (4 + ENTRY_OVERHEAD_BYTES));
    f.step(
      msg({
        type: MessageType.App,
        from: 3,
        to: 2,
        term: term + 1,
        index: last,
        logTerm: term,
        entries: [entry(last + 1, term + 1, 'cc')],
        commit: last,
      }),
    );
    expect(f.status().lastIndex).toBe(last + 1);
    expect(f.logBytes()).toBe(2 + ENTRY_OVERHEAD_BYTES);
  });
});

describe('committed entries per Ready bounded in bytes', () => {
  it('takeCommitted hands out at most maxBytes of data (always at least one entry), in order', () => {
    // Boot entries are durable: entries 1..6 of 10·i bytes, all committed.
    const log = new RaftLog(0, 0, run(1, 6), 0, 0);
    log.commitTo(6);
    const taken: number[][] = [];
    for (;;) {
      const ents = log.takeCommitted(100, 25);
      if (ents.length === 0) break;
      taken.push(ents.map((e) => e.index));
    }
    // 10 + 20 > 25, so 1 alone; 20 alone; 30, 40, 50, 60 each exceed it alone.
    expect(taken).toEqual([[1], [2], [3], [4], [5], [6]]);
    const again = new RaftLog(0, 0, run(1, 6), 0, 0);
    again.commitTo(6);
    expect(again.takeCommitted(100, 1000).map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
