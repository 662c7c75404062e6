/**
 * MemoryGuard: the node's memory quota (--max-memory). A write that would take the node's
 * accounted memory past the quota is refused with -OOM (HTTP 507) on the leader; reads, DEL
 * and admin commands keep working, so an operator can always free space. Like Redis's
 * maxmemory with the noeviction policy.
 *
 * Accounted memory = the store's arenas + index + out-of-line values, the in-memory Raft log,
 * and the V8 heap in use (connections, queues, pending requests). The heap figure is sampled
 * (every HEAP_SAMPLE_MS: reading it costs microseconds); store and log bytes are read live.
 * What is not accounted — code, V8's free heap pages, allocator slack — is the headroom the
 * default leaves (see defaultMaxMemoryBytes).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

const HEAP_SAMPLE_MS = 100;
/** Share of the memory limit the quota may use: the rest is RSS that is not accounted. */
const DEFAULT_QUOTA_SHARE = 0.6;

export const OOM_ERROR = "OOM command not allowed when used memory > 'maxmemory'.";

export interface MemorySources {
  /** Bytes the state machine holds. */
  storeBytes(): number;
  /** Bytes of the in-memory Raft log. */
  logBytes(): number;
}

export interface MemoryReport {
  readonly usedBytes: number;
  readonly storeBytes: number;
  readonly raftLogBytes: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
  readonly maxMemoryBytes: number;
}

/** The cgroup (v2, then v1) memory limit of this process, if one is set. */
export function cgroupMemoryLimitBytes(): number | undefined {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const text = readFileSync(path, 'utf8').trim();
      if (text === 'max') return undefined;
      const n = Number(text);
      // cgroup v1 reports "no limit" as a huge number (page-rounded LONG_MAX).
      if (Number.isSafeInteger(n) && n > 0 && n < 2 ** 50) return n;
    } catch {
      // not mounted here: try the next one
    }
  }
  return undefined;
}

/**
 * The default quota: 60 % of the smaller of the cgroup limit (systemd's MemoryMax) and physical
 * memory. The remaining 40 % covers what is not accounted (about 60 MB of runtime, V8's free
 * pages, a snapshot's copy-on-write records) — measured by npm run bench:capacity.
 */
export function defaultMaxMemoryBytes(): number {
  const limit = Math.min(cgroupMemoryLimitBytes() ?? Infinity, totalmem());
  return Math.floor(limit * DEFAULT_QUOTA_SHARE);
}

export class MemoryGuard {
  private heapUsedBytes = getHeapStatistics().used_heap_size;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly maxMemoryBytes: number,
    private readonly sources: MemorySources,
  ) {
    if (!(maxMemoryBytes > 0)) throw new Error(`invariant: max memory ${maxMemoryBytes}`);
    this.timer = setInterval(() => {
      this.heapUsedBytes = getHeapStatistics().used_heap_size;
    }, HEAP_SAMPLE_MS);
    this.timer.unref();
  }

  usedBytes(): number {
    return this.sources.storeBytes() + this.sources.logBytes() + this.heapUsedBytes;
  }

  /** Whether a write adding about `bytes` may be proposed now. */
  admits(bytes: number): boolean {
    return this.usedBytes() + bytes <= this.maxMemoryBytes;
  }

  report(): MemoryReport {
    const storeBytes = this.sources.storeBytes();
    const raftLogBytes = this.sources.logBytes();
    return {
      usedBytes: storeBytes + raftLogBytes + this.heapUsedBytes,
      storeBytes,
      raftLogBytes,
      heapUsedBytes: this.heapUsedBytes,
      rssBytes: process.memoryUsage.rss(),
      maxMemoryBytes: this.maxMemoryBytes,
    };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
