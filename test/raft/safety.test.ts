/**
 * Randomized safety checks on a small in-test network (the full simulator lives in src/sim):
 * messages are dropped, duplicated and reordered, nodes crash and restart from their disks, and
 * stale or malformed messages are injected. After every step: at most one leader per term
 * (Election Safety), and every applied entry agrees with what any other node applied at that
 * index (State Machine Safety). The core must never throw.
 */
import { describe, expect, it } from 'vitest';
import { createRng, MessageType, Role, type Entry, type Message, type Rng } from '../../src/raft/index.js';
import { Cluster, msg } from './harness.js';

interface Checker {
  leaderOfTerm: Map<number, number>;
  appliedAt: Map<number, string>;
}

function check(c: Cluster, chk: Checker): void {
  for (const [id, core] of c.cores) {
    if (c.isDown(id)) continue;
    const st = core.status();
    if (st.role === Role.Leader) {
      const prev = chk.leaderOfTerm.get(st.term);
      if (prev !== undefined && prev !== id)
        throw new Error(`two leaders in term ${st.term}: ${prev} and ${id}`);
      chk.leaderOfTerm.set(st.term, id);
    }
  }
  for (const [id, applied] of c.applied) {
    for (const e of applied) {
      const key = `${e.term}:${e.type}:${new TextDecoder().decode(e.data)}`;
      const prev = chk.appliedAt.get(e.index);
      if (prev !== undefined && prev !== key)
        throw new Error(`node ${id} applied ${key} at ${e.index}, another ${prev}`);
      chk.appliedAt.set(e.index, key);
    }
  }
}

/** Garbage a real network or a buggy peer could produce without forging a current leader's log. */
function garbage(rng: Rng, real: Message | undefined, ids: number[]): Message {
  const base: Message = real ?? msg({ type: MessageType.Heartbeat, from: 1, to: 2, term: 0 });
  const pick = rng.int(8);
  const to = ids[rng.int(ids.length)]!;
  switch (pick) {
    case 0:
      return { ...base, to, from: 0 };
    case 1:
      return { ...base, to, from: 99 }; // not a member, stale term
    case 2:
      return { ...base, to, index: -5 };
    case 3:
      return { ...base, to, term: Number.NaN };
    case 4:
      return { ...base, to, type: 42 as MessageType };
    case 5:
      // A response from the right peer with out-of-range indexes.
      return {
        ...base,
        type: rng.int(2) === 0 ? MessageType.AppResp : MessageType.HeartbeatResp,
        index: 1e9,
        rejectHint: 1e9,
        context: 1e9,
      };
    case 6:
      return { ...base, to, entries: [{ index: 1.5, term: 1, type: 0, data: new Uint8Array(0) }] as Entry[] };
    default:
      return { ...base, to, type: MessageType.Snapshot, snapshot: undefined };
  }
}

function run(seed: number, steps: number): void {
  const rng = createRng(seed);
  const ids = [1, 2, 3, 4, 5];
  const c = new Cluster(ids, {
    preVote: rng.int(2) === 0,
    checkQuorum: rng.int(2) === 0,
    maxInflightMsgs: 4,
  });
  const chk: Checker = { leaderOfTerm: new Map(), appliedAt: new Map() };
  let proposals = 0;
  const old: Message[] = [];
  for (let step = 0; step < steps; step++) {
    const action = rng.int(100);
    if (action < 30) {
      c.tick(ids[rng.int(ids.length)]!);
    } else if (action < 60) {
      // Deliver one random queued message (reordering), sometimes duplicating or dropping it.
      if (c.queue.length > 0) {
        const k = rng.int(c.queue.length);
        const m = c.queue[k]!;
        const fate = rng.int(10);
        if (fate !== 0) c.queue.splice(k, 1); // fate 0: leave a copy behind (duplicate)
        const delivered = fate !== 1 && !c.isDown(m.to) && !c.isDown(m.from) && c.cores.has(m.to);
        // The host always reports how a snapshot stream ended (here: with the delivery).
        if (m.type === MessageType.Snapshot && !c.isDown(m.from))
          c.core(m.from).reportSnapshotStatus(m.to, delivered);
        if (delivered) {
          c.core(m.to).step(m);
          if (old.length < 200) old.push(m);
          else old[rng.int(old.length)] = m;
        }
      }
    } else if (action < 80) {
      const id = ids[rng.int(ids.length)]!;
      c.processReady(id);
    } else if (action < 88) {
      const lead = c.leader();
      if (lead !== undefined) c.propose(lead, `p${proposals++}`);
    } else if (action < 92) {
      // Replay an old message (stale) or inject garbage.
      const m = rng.int(2) === 0 && old.length > 0 ? old[rng.int(old.length)]! : garbage(rng, old[0], ids);
      if (c.cores.has(m.to) && !c.isDown(m.to)) c.core(m.to).step(m);
    } else if (action < 94) {
      const id = ids[rng.int(ids.length)]!;
      if (c.isDown(id)) c.restart(id);
      else if (ids.filter((x) => c.isDown(x)).length < 2) c.crash(id);
    } else if (action < 96) {
      const lead = c.leader();
      if (lead !== undefined) c.core(lead).readIndex(step);
    } else if (action < 97) {
      const lead = c.leader();
      if (lead !== undefined) c.core(lead).transferLeadership(ids[rng.int(ids.length)]!);
    } else {
      const id = ids[rng.int(ids.length)]!;
      if (!c.isDown(id)) {
        const core = c.core(id);
        const applied = core.status().appliedIndex;
        if (applied > 0) core.compact(applied - rng.int(Math.min(applied, 5)));
      }
    }
    check(c, chk);
  }
  // Liveness smoke check: heal, restart everyone, and let the cluster settle on a leader.
  for (const id of ids) if (c.isDown(id)) c.restart(id);
  // A transfer started in the random phase may still be running: it ends (done or abandoned)
  // within an election timeout, so proposals must be accepted again soon.
  let lead: number | undefined;
  let accepted = false;
  for (let i = 0; i < 300 && !accepted; i++) {
    lead = c.leader();
    if (lead !== undefined) accepted = c.propose(lead, 'final').ok;
    if (!accepted) c.tickAll();
  }
  expect(accepted, `seed ${seed}: no leader accepting proposals after heal`).toBe(true);
  // Everyone converges on the final entry (a node that ran ahead in term may first have to
  // depose the leader when pre-vote is off: give it a few election timeouts).
  const converged = (): boolean => {
    const l = c.leader();
    if (l === undefined) return false;
    const last = c.core(l).status().lastIndex;
    return ids.every(
      (id) => c.core(id).status().commitIndex === last && c.core(id).status().appliedIndex === last,
    );
  };
  for (let i = 0; i < 300 && !converged(); i++) c.tickAll();
  check(c, chk);
  if (process.env.RAFT_DEBUG) for (const id of ids) console.log(JSON.stringify(c.core(id).status()));
  expect(converged(), `seed ${seed}: did not converge`).toBe(true);
  expect(chk.appliedAt.size).toBeGreaterThan(10);
}

describe('safety under a hostile network (randomized, seeded)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`Election Safety, Log Matching and State Machine Safety hold; step never throws (seed ${seed})`, () => {
      run(seed, 3000);
    });
  }
});

describe('determinism', () => {
  it('the same seeds give the same message trace (replayability)', () => {
    const trace = (): string => {
      const c = new Cluster([1, 2, 3], { preVote: true, checkQuorum: true });
      for (let i = 0; i < 60; i++) {
        c.tickAll();
        const l = c.leader();
        if (l !== undefined && i % 7 === 0) c.propose(l, `x${i}`);
        if (i === 30 && l !== undefined) c.crash(l);
      }
      return c.sent
        .map((m) => `${m.type}:${m.from}>${m.to}@${m.term}/${m.index}/${m.commit}/${m.entries.length}`)
        .join(',');
    };
    const a = trace();
    expect(a.length).toBeGreaterThan(1000);
    expect(trace()).toBe(a);
  });
});
