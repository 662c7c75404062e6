/**
 * Throughput of the pure core alone: 3 in-memory RaftCores, no I/O, messages delivered
 * instantly in-process, 100-byte proposals with many in flight. Prints committed entries/s
 * (entries the leader handed out as committed, also applied by both followers). Measures, does
 * not assert.
 *
 *   npm run bench:raft [-- --entries N] [--payload BYTES] [--batch N]
 */
import { parseArgs } from 'node:util';
import { RaftCore } from '../src/raft/raft.js';
import { createRng } from '../src/raft/rng.js';
import { Role, type Message, type NodeId, type RaftConfig } from '../src/raft/types.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    payload: { type: 'string', default: '100' },
    batch: { type: 'string', default: '256' },
    inflight: { type: 'string', default: '64' },
  },
});
const totalEntries = Number(values.entries);
const payloadBytes = Number(values.payload);
/** Proposals per round before the cluster is pumped. */
const batch = Number(values.batch);
const maxInflightMsgs = Number(values.inflight);

const ids: NodeId[] = [1, 2, 3];
/** Entries kept behind the applied index when compacting. */
const COMPACT_LAG_ENTRIES = 10_000;
const config = (id: NodeId): RaftConfig => ({
  id,
  electionTimeoutTicks: 10,
  heartbeatTimeoutTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxInflightMsgs,
  maxEntriesPerMsg: 1024,
  maxBytesPerMsg: 1 << 20,
  maxUncommittedEntries: 8 * batch,
  maxCommittedEntriesPerReady: 4096,
  rng: createRng(id),
});
const cores = new Map<NodeId, RaftCore>();
for (const id of ids) {
  cores.set(
    id,
    new RaftCore(config(id), {
      hardState: { term: 0, vote: 0, commit: 0 },
      confState: { voters: ids, learners: [] },
      entries: [],
      applied: 0,
    }),
  );
}

/** Bounded by construction: one round's messages (≤ 2 per follower per Ready). */
let queue: Message[] = [];
const applied = new Map<NodeId, number>(ids.map((id) => [id, 0]));

/** Drains every core's Ready (persistence is free here) and delivers messages until quiet. */
function pump(): void {
  for (;;) {
    let progressed = false;
    for (const [id, core] of cores) {
      while (core.hasReady()) {
        progressed = true;
        const rd = core.ready();
        for (const m of rd.messagesBeforePersist) queue.push(m);
        for (const m of rd.messages) queue.push(m);
        const last = rd.committedEntries[rd.committedEntries.length - 1];
        if (last !== undefined) applied.set(id, last.index);
        core.advance(rd);
      }
    }
    if (queue.length === 0 && !progressed) return;
    const batchOfMessages = queue;
    queue = [];
    for (const m of batchOfMessages) cores.get(m.to)!.step(m);
  }
}

function leader(): RaftCore | undefined {
  for (const core of cores.values()) if (core.status().role === Role.Leader) return core;
  return undefined;
}

// Elect node 1.
for (let t = 0; t < 100 && leader() === undefined; t++) {
  cores.get(1)!.tick();
  pump();
}
const lead = leader();
if (lead === undefined) throw new Error('bench: no leader elected');
const leaderId = lead.status().id;
const startIndex = applied.get(leaderId)!;

const payload = new Uint8Array(payloadBytes).fill(7);
let proposed = 0;
let busy = 0;
let rounds = 0;
const started = performance.now();
while (applied.get(leaderId)! - startIndex < totalEntries) {
  for (let i = 0; i < batch && proposed < totalEntries; i++) {
    const r = lead.propose(payload);
    if (!r.ok) {
      busy++;
      break;
    }
    proposed++;
  }
  pump();
  // Logical time moves too (heartbeats, check-quorum), about once per 16 rounds; and like a real
  // host, compact the log behind the applied index now and then (bounded memory).
  if ((++rounds & 15) === 0) {
    for (const [id, core] of cores) {
      core.tick();
      const upTo = applied.get(id)! - COMPACT_LAG_ENTRIES;
      if (upTo > 0) core.compact(upTo);
    }
  }
}
const elapsedMs = performance.now() - started;
const committed = applied.get(leaderId)! - startIndex;
const minFollower = Math.min(
  ...ids.filter((id) => id !== leaderId).map((id) => applied.get(id)! - startIndex),
);
const perSec = Math.round((committed / elapsedMs) * 1000);
console.log(
  `bench:raft: 3 cores, ${payloadBytes}-byte payloads, batch ${batch}, inflight ${maxInflightMsgs}: ` +
    `${committed} entries committed in ${elapsedMs.toFixed(0)} ms (followers applied ≥ ${minFollower}), ${busy} busy refusals`,
);
console.log(`bench:raft: ${perSec.toLocaleString('en-US')} committed entries/s`);
