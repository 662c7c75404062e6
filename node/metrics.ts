import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { MemoryReport } from './memory-guard.js';
import type { HostEvents } from './host.js';
import { Role } from '../src/raft/types.js';

/** Prometheus metrics of one node, served at GET /metrics. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly proposals = new Counter({
    name: 'kvnode_proposals_total',
    help: 'Raft entries proposed by this node (one entry carries a batch of client writes)',
    registers: [this.registry],
  });
  readonly writes = new Counter({
    name: 'kvnode_client_writes_total',
    help: 'Client write commands accepted',
    registers: [this.registry],
  });
  readonly reads = new Counter({
    name: 'kvnode_client_reads_total',
    help: 'Client read commands served',
    registers: [this.registry],
  });
  readonly commits = new Counter({
    name: 'kvnode_applied_entries_total',
    help: 'Committed entries applied to the state machine',
    registers: [this.registry],
  });
  readonly applyLag = new Gauge({
    name: 'kvnode_apply_lag_entries',
    help: 'Commit index minus applied index',
    registers: [this.registry],
  });
  readonly fsyncLatency = new Histogram({
    name: 'kvnode_wal_fsync_seconds',
    help: 'Latency of one WAL write + fdatasync (a group commit)',
    buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5],
    registers: [this.registry],
  });
  readonly groupCommitEntries = new Histogram({
    name: 'kvnode_group_commit_entries',
    help: 'Raft entries persisted per fdatasync',
    buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
    registers: [this.registry],
  });
  readonly elections = new Counter({
    name: 'kvnode_elections_total',
    help: 'Elections this node started (became candidate)',
    registers: [this.registry],
  });
  readonly leaderChanges = new Counter({
    name: 'kvnode_leader_changes_total',
    help: 'Times this node saw the leader change',
    registers: [this.registry],
  });
  readonly forwarded = new Counter({
    name: 'kvnode_forwarded_requests_total',
    help: 'Client requests this follower forwarded to the leader',
    registers: [this.registry],
  });
  readonly oomRefusals = new Counter({
    name: 'kvnode_oom_refusals_total',
    help: 'Writes refused with -OOM because the node was at its --max-memory quota',
    registers: [this.registry],
  });
  readonly noSpaceRefusals = new Counter({
    name: 'kvnode_nospace_refusals_total',
    help: 'Writes refused with -NOSPACE because the data dir was out of space',
    registers: [this.registry],
  });
  readonly noSpace = new Gauge({
    name: 'kvnode_disk_full',
    help: '1 while the no-space alarm is raised (writes refused until space is freed), else 0',
    registers: [this.registry],
  });
  readonly snapshots = new Counter({
    name: 'kvnode_snapshots_total',
    help: 'Snapshots written',
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'kvnode_client_connections',
    help: 'Open RESP client connections',
    registers: [this.registry],
  });
  readonly protocolErrors = new Counter({
    name: 'kvnode_protocol_errors_total',
    help: 'Client connections closed for malformed input',
    registers: [this.registry],
  });

  /** Read at scrape time (set by watchRaftLog): the log changes on every Ready, scrapes are rare. */
  private raftLogBytesSource: (() => number) | undefined;
  readonly raftLogBytes = new Gauge({
    name: 'kvnode_raft_log_bytes',
    help: 'Bytes of Raft log entries held in memory (data + per-entry overhead), bounded by --max-log-bytes',
    registers: [this.registry],
    collect: () => {
      if (this.raftLogBytesSource) this.raftLogBytes.set(this.raftLogBytesSource());
    },
  });

  /** Read at scrape time (set by watchMemory): the quota's view of memory, see memory-guard.ts. */
  private memorySource: (() => MemoryReport) | undefined;
  private memoryGauge(name: string, help: string, pick: (m: MemoryReport) => number): Gauge {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: () => {
        if (this.memorySource) gauge.set(pick(this.memorySource()));
      },
    });
    return gauge;
  }
  readonly memoryUsed = this.memoryGauge(
    'kvnode_memory_used_bytes',
    'Memory counted against --max-memory: store + raft log + V8 heap in use',
    (m) => m.usedBytes,
  );
  readonly memoryMax = this.memoryGauge(
    'kvnode_memory_max_bytes',
    'The --max-memory quota',
    (m) => m.maxMemoryBytes,
  );
  readonly storeBytes = this.memoryGauge(
    'kvnode_store_bytes',
    'Bytes the state machine holds (slabs, out-of-line values, index)',
    (m) => m.storeBytes,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  watchRaftLog(logBytes: () => number): void {
    this.raftLogBytesSource = logBytes;
  }

  watchMemory(report: () => MemoryReport): void {
    this.memorySource = report;
  }

  hostEvents(): HostEvents {
    return {
      onFsync: (latencyMs, entries) => {
        this.fsyncLatency.observe(latencyMs / 1000);
        this.groupCommitEntries.observe(entries);
      },
      onCommit: (entries) => this.commits.inc(entries),
      onLeaderChange: () => this.leaderChanges.inc(),
      onRoleChange: (role) => {
        if (role === Role.Candidate) this.elections.inc();
      },
      onSnapshot: () => this.snapshots.inc(),
      onNoSpace: (raised) => this.noSpace.set(raised ? 1 : 0),
    };
  }
}
