/**
 * Rebuilds a node's state after a restart, kill -9 or power loss: the newest valid snapshot
 * restores the Map, the WAL replays everything after it, and the Raft core boots from the
 * durable hard state and log (committed entries after the snapshot are re-applied by the core).
 */
import type { Entry, RaftBootState } from '../src/raft/types.js';
import { Wal } from '../src/storage/wal.js';
import { SnapshotStore } from '../src/storage/snapshot-store.js';
import type { NodeConfig } from './config.js';
import type { Logger } from './log.js';
import { KvMachine } from './kv-machine.js';

export interface Recovered {
  wal: Wal;
  snapshots: SnapshotStore;
  boot: RaftBootState;
  machine: KvMachine;
}

export async function recover(
  config: NodeConfig,
  walDir: string,
  snapDir: string,
  log: Logger,
): Promise<Recovered> {
  const started = performance.now();
  const snapshots = await SnapshotStore.open(snapDir);
  const latest = await snapshots.latest();
  const machine = new KvMachine();
  if (latest) await machine.restore(snapshots.readBody(latest.path));
  const snapIndex = latest?.meta.index ?? 0;

  const { wal, recovered } = await Wal.open(walDir, {
    groupCommitWindowMs: config.groupCommitWindowMs,
    segmentSizeBytes: config.walSegmentBytes,
    log: (line) => log.warn(line),
  });
  if (recovered.snapshotIndex > snapIndex) {
    await wal.close();
    throw new Error(
      `the WAL in ${walDir} records an installed snapshot at index ${recovered.snapshotIndex}, ` +
        `but the newest valid snapshot in ${snapDir} is at ${snapIndex}: refusing to start without it`,
    );
  }
  const entries: Entry[] = recovered.entries.filter((e) => e.index > snapIndex);
  const first = entries[0];
  if (first && first.index !== snapIndex + 1) {
    await wal.close();
    throw new Error(
      `the WAL in ${walDir} starts at index ${first.index} but the newest snapshot ends at ${snapIndex}: ` +
        `entries ${snapIndex + 1}..${first.index - 1} are missing`,
    );
  }
  const hardState = recovered.hardState;
  const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : snapIndex;
  const boot: RaftBootState = {
    // A commit index beyond the durable log can only come from a torn tail; cap it (the leader
    // will tell us again).
    hardState: { ...hardState, commit: Math.min(Math.max(hardState.commit, snapIndex), lastIndex) },
    ...(latest ? { snapshot: latest.meta } : {}),
    confState: { voters: [...config.peers.keys()].sort((a, b) => a - b), learners: [] },
    entries,
    applied: snapIndex,
  };
  log.info('recovered', {
    snapshotIndex: snapIndex,
    keys: machine.store.size,
    walEntries: entries.length,
    lastIndex,
    term: hardState.term,
    commit: boot.hardState.commit,
    ms: Math.round(performance.now() - started),
    ...(recovered.tornTail ? { tornTailCut: `${recovered.tornTail.file}@${recovered.tornTail.offset}` } : {}),
  });
  return { wal, snapshots, boot, machine };
}
