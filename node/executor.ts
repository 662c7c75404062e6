/**
 * Executes one client command (from RESP, HTTP, or forwarded by a follower) against the
 * replicated store: writes go through Raft (batched), reads through the configured read mode,
 * and a follower forwards writes to the leader (or redirects with -MOVED).
 */
import {
  adaptWriteResult,
  parseRedisCommand,
  type ParsedCommand,
  type WriteReplyStyle,
} from '../src/kv/parse-command.js';
import { encodedCommandBytes, type KvCommand } from '../src/kv/commands.js';
import type { KvRead, KvResult } from '../src/kv/store.js';
import { RespWriter } from '../src/resp/index.js';
import { Role } from '../src/raft/types.js';
import type { NodeConfig } from './config.js';
import { formatHostPort } from './config.js';
import type { Host } from './host.js';
import type { KvMachine } from './kv-machine.js';
import type { NodeMetrics } from './metrics.js';
import { OOM_ERROR, type MemoryGuard } from './memory-guard.js';
import { array, bulk, err, int, NIL, OK, simple, type Reply } from './reply.js';
import type { ConnState, RespExecutor } from './resp-server.js';
import { newConnState, writeReply } from './resp-server.js';
import { RequestError } from './waiters.js';
import { WriteBatcher } from './write-batcher.js';
import {
  ForwardBatcher,
  decodeCommands,
  encodeReplies,
  scalarReplyOf,
  type RequestTransport,
} from './forwarding.js';

const ROLE_NAMES: Record<Role, string> = {
  [Role.Follower]: 'follower',
  [Role.PreCandidate]: 'precandidate',
  [Role.Candidate]: 'candidate',
  [Role.Leader]: 'leader',
};

export function resultToReply(r: KvResult): Reply {
  switch (r.type) {
    case 'ok':
      return OK;
    case 'nil':
      return NIL;
    case 'integer':
      return int(r.value);
    case 'bulk':
      return bulk(r.value);
    case 'array':
      return array(r.items.map(resultToReply));
    case 'error':
      return err(r.message);
  }
}

function errorReply(e: unknown): Reply {
  if (e instanceof RequestError) return err(`${e.code === 'ERR' ? 'ERR' : e.code} ${e.message}`);
  const message = (e as Error).message ?? String(e);
  return err(/^[A-Z]+ /.test(message) ? message : `ERR ${message}`);
}

const startedAt = Date.now();

function assertNever(x: never): never {
  throw new Error(`invariant: unhandled command kind ${JSON.stringify(x)}`);
}

export class KvExecutor implements RespExecutor {
  private readonly batcher: WriteBatcher;
  private readonly forwarder: ForwardBatcher;

  constructor(
    private readonly config: NodeConfig,
    private readonly host: Host<KvResult[]>,
    private readonly machine: KvMachine,
    transport: RequestTransport,
    private readonly metrics: NodeMetrics,
    private readonly memory: MemoryGuard,
  ) {
    this.forwarder = new ForwardBatcher(transport, config.requestTimeoutMs);
    this.batcher = new WriteBatcher(
      (data) => host.propose(data),
      {
        maxCommandsPerEntry: 4096,
        maxBytesPerEntry: Math.max(1024 * 1024, config.maxValueBytes + 1024),
        maxQueued: 100_000,
        maxBlockedMs: config.requestTimeoutMs,
      },
      () => metrics.proposals.inc(),
      () => !host.proposalsBlocked,
    );
  }

  execute(args: Buffer[], conn: ConnState, forwarded = false): Reply | Promise<Reply> {
    const parsed: ParsedCommand = parseRedisCommand(args, { maxValueBytes: this.config.maxValueBytes });
    if (!conn.authed && !(parsed.kind === 'local' && (parsed.name === 'AUTH' || parsed.name === 'QUIT'))) {
      return err('NOAUTH Authentication required.');
    }
    switch (parsed.kind) {
      case 'error':
        return err(parsed.message);
      case 'write': {
        const reply = this.write(parsed.cmd, parsed.reply, args, forwarded);
        if (reply instanceof Promise) {
          conn.lastWrite = reply;
          void reply.then(() => {
            if (conn.lastWrite === reply) conn.lastWrite = undefined;
          });
        }
        return reply;
      }
      case 'read': {
        const pending = conn.lastWrite;
        return pending ? pending.then(() => this.read(parsed.read)) : this.read(parsed.read);
      }
      case 'local':
        return this.local(parsed.name, parsed.args, conn);
      default:
        return assertNever(parsed);
    }
  }

  /** HTTP requests: same path as RESP, never unauthenticated-gated (HTTP sits behind Nginx). */
  async executeHttp(args: Buffer[]): Promise<Reply> {
    const reply = await this.execute(args, newConnState(true));
    return reply.t === 'raw' ? scalarReplyOf(reply.buf) : reply;
  }

  /**
   * A follower forwarded the commands its clients sent in one turn: execute them here (never
   * forward again; they join this leader's next Raft entry) and answer each in RESP, in order.
   */
  async handleForwarded(payload: Uint8Array): Promise<Uint8Array> {
    const commands = decodeCommands(payload, this.config.maxValueBytes);
    // One state for the batch: commands from one client connection keep their order.
    const conn = newConnState(true);
    const replies = await Promise.all(commands.map((args) => this.execute(args, conn, true)));
    return encodeReplies(
      replies.map((r) => {
        const w = new RespWriter();
        writeReply(w, r);
        return w.take();
      }),
    );
  }

  private write(
    cmd: KvCommand,
    style: WriteReplyStyle,
    args: Buffer[],
    forwarded: boolean,
  ): Reply | Promise<Reply> {
    this.metrics.writes.inc();
    // Out of disk space (here, or on the leader, which answers a forwarded write the same way):
    // nothing is proposed until the alarm clears by itself.
    const noSpace = this.host.noSpaceMessage;
    if (noSpace !== undefined) {
      this.metrics.noSpaceRefusals.inc();
      return err(`NOSPACE ${noSpace}`);
    }
    if (this.host.isLeader) {
      // Over the quota only DEL is proposed: it frees memory. Checked where writes are proposed
      // (the leader), so forwarded writes are checked too.
      if (cmd.type !== 'del' && !this.memory.admits(encodedCommandBytes(cmd))) {
        this.metrics.oomRefusals.inc();
        return err(OOM_ERROR);
      }
      return this.batcher.submit(cmd).then((r) => resultToReply(adaptWriteResult(r, style)), errorReply);
    }
    if (forwarded) return err('TRYAGAIN this node is no longer the leader');
    const leader = this.host.currentLeader;
    if (leader === 0) return err('TRYAGAIN no leader elected right now');
    if (this.config.followerMode === 'redirect') {
      const addr = this.config.peerResp.get(leader);
      return addr
        ? err(`MOVED 0 ${formatHostPort(addr)}`)
        : err(`TRYAGAIN leader is node ${leader} (address unknown)`);
    }
    this.metrics.forwarded.inc();
    return this.forwarder.forward(leader, args);
  }

  private read(r: KvRead): Reply | Promise<Reply> {
    this.metrics.reads.inc();
    const serve = (): Reply => resultToReply(this.machine.store.read(r));
    const mode = this.config.readMode;
    if (mode === 'stale' || (mode === 'lease' && this.host.isLeader)) return serve();
    return this.host.readBarrier().then(serve, errorReply);
  }

  private local(name: string, args: readonly Buffer[], conn: ConnState): Reply {
    switch (name) {
      case 'PING':
        return args.length > 0 ? bulk(args[0]!) : simple('PONG');
      case 'ECHO':
        return bulk(args[0] ?? null);
      case 'QUIT':
        conn.closeAfterReply = true;
        return OK;
      case 'AUTH': {
        const pass = args[args.length - 1]?.toString();
        if (this.config.requirepass === undefined) {
          return err('ERR AUTH <password> called without any password configured for the default user.');
        }
        if (pass !== this.config.requirepass)
          return err('WRONGPASS invalid username-password pair or user is disabled.');
        conn.authed = true;
        return OK;
      }
      case 'SELECT':
        return OK;
      case 'INFO':
        return bulk(this.info());
      case 'RAFT.STATUS':
        return bulk(JSON.stringify(this.statusJson()));
      case 'RAFT.LEADER': {
        const leader = this.host.currentLeader;
        const addr =
          this.config.peerResp.get(leader) ??
          (leader === this.config.id ? this.config.listenResp : undefined);
        return array([int(leader), addr ? bulk(formatHostPort(addr)) : NIL]);
      }
      case 'COMMAND':
        return array([]);
      case 'CONFIG': {
        // redis-benchmark asks for `save` and `appendonly`: answer that we persist every write.
        const key = args[1]?.toString().toLowerCase();
        if (key === 'appendonly') return array([bulk('appendonly'), bulk('yes')]);
        if (key === 'appendfsync') return array([bulk('appendfsync'), bulk('always')]);
        if (key === 'save') return array([bulk('save'), bulk('')]);
        return array([]);
      }
      case 'CLIENT':
        return args[0]?.toString().toUpperCase() === 'ID' ? int(conn.id) : OK;
      default:
        return err(`ERR unknown command '${name}'`);
    }
  }

  statusJson(): object {
    const s = this.host.status();
    return {
      id: this.config.id,
      role: ROLE_NAMES[s.role],
      term: s.term,
      leader: s.leaderId,
      commitIndex: s.commitIndex,
      appliedIndex: this.host.applied,
      lastIndex: s.lastIndex,
      firstIndex: s.firstIndex,
      voters: s.confState.voters,
      learners: s.confState.learners,
      peers: (s.progress ?? [])
        .filter((p) => p.id !== this.config.id)
        .map((p) => ({ id: p.id, match: p.match, next: p.next, state: p.state })),
      keys: this.machine.store.size,
      memory: this.memoryJson(),
      /** Set while writes are refused for lack of disk space (the NOSPACE error's text). */
      noSpace: this.host.noSpaceMessage ?? null,
      resp: formatHostPort(this.config.listenResp),
      http: formatHostPort(this.config.listenHttp),
      peer: formatHostPort(this.config.listenPeer),
      pid: process.pid,
    };
  }

  private memoryJson(): object {
    const m = this.memory.report();
    const store = this.machine.store.memory();
    return {
      usedBytes: m.usedBytes,
      rssBytes: m.rssBytes,
      maxMemoryBytes: m.maxMemoryBytes,
      storeBytes: m.storeBytes,
      datasetBytes: store.dataBytes,
      raftLogBytes: m.raftLogBytes,
      heapUsedBytes: m.heapUsedBytes,
      keys: store.keys,
      bytesPerKey: Math.round(store.bytesPerKey),
    };
  }

  isReady(): boolean {
    const s = this.host.status();
    return s.leaderId !== 0 && this.host.applied >= s.commitIndex;
  }

  /** INFO memory: Redis's field names where they mean the same, kvctl_* for the rest. */
  private memoryInfo(): string[] {
    const m = this.memory.report();
    const store = this.machine.store.memory();
    // process.memoryUsage() walks the heap's spaces (tens of µs): fine for INFO, not per write.
    const usage = process.memoryUsage();
    return [
      `used_memory:${m.usedBytes}`,
      `used_memory_human:${(m.usedBytes / 1024 / 1024).toFixed(2)}M`,
      `used_memory_rss:${m.rssBytes}`,
      `used_memory_dataset:${store.dataBytes}`,
      `maxmemory:${m.maxMemoryBytes}`,
      `maxmemory_human:${(m.maxMemoryBytes / 1024 / 1024).toFixed(2)}M`,
      'maxmemory_policy:noeviction',
      `kvctl_store_bytes:${m.storeBytes}`,
      `kvctl_store_index_bytes:${store.indexBytes}`,
      `kvctl_store_free_bytes:${store.arena.freeBytes}`,
      `kvctl_keys:${store.keys}`,
      `kvctl_bytes_per_key:${store.bytesPerKey.toFixed(1)}`,
      `kvctl_heap_used:${m.heapUsedBytes}`,
      `kvctl_heap_total:${usage.heapTotal}`,
      `kvctl_external:${usage.external}`,
      `kvctl_array_buffers:${usage.arrayBuffers}`,
      `raft_log_bytes:${m.raftLogBytes}`,
    ];
  }

  private info(): string {
    const s = this.host.status();
    const lines = [
      '# Server',
      'redis_version:7.0.0',
      'kvctl_version:0.1.0',
      `process_id:${process.pid}`,
      `tcp_port:${this.config.listenResp.port}`,
      `uptime_in_seconds:${Math.floor((Date.now() - startedAt) / 1000)}`,
      '',
      '# Replication',
      `role:${s.role === Role.Leader ? 'leader' : s.role === Role.Follower ? 'follower' : 'candidate'}`,
      `raft_id:${this.config.id}`,
      `raft_term:${s.term}`,
      `raft_leader:${s.leaderId}`,
      `raft_commit_index:${s.commitIndex}`,
      `raft_applied_index:${this.host.applied}`,
      `raft_last_index:${s.lastIndex}`,
      `raft_voters:${s.confState.voters.join(',')}`,
      '',
      '# Persistence',
      'aof_enabled:1',
      'fsync:always (group commit, majority fdatasync before acknowledge)',
      '',
      '# Memory',
      ...this.memoryInfo(),
      '',
      '# Keyspace',
      `db0:keys=${this.machine.store.size},expires=0`,
      '',
    ];
    return lines.join('\r\n');
  }
}
