/**
 * kvnode: one process = Raft core + WAL + in-memory Map, served over RESP and HTTP.
 * Startup: flags → data dir (lock) → snapshot + WAL recovery → peer transport → RESP + HTTP →
 * tick. Errors a user can fix print one line `kvnode: error: ...` and exit non-zero.
 */
import type { Server } from 'node:net';
import { join } from 'node:path';
import {
  ConfigError,
  formatHostPort,
  parseNodeConfig,
  usage,
  type HostPort,
  type NodeConfig,
} from './config.js';
import { DataDirError, prepareDataDir } from './data-dir.js';
import { createLogger, type Logger } from './log.js';
import { startLoopWatchdog } from './loop-watchdog.js';
import { NodeMetrics } from './metrics.js';
import { Host } from './host.js';
import { KvMachine } from './kv-machine.js';
import { KvExecutor } from './executor.js';
import { MemoryGuard } from './memory-guard.js';
import { createRespServer } from './resp-server.js';
import { createHttpServer } from './http-server.js';
import { recover } from './recovery.js';
import { PeerTransport } from '../src/transport/index.js';
import type { Message } from '../src/raft/types.js';

const EXIT_CONFIG = 2;
const EXIT_RUNTIME = 1;

function fail(message: string, code: number): never {
  process.stderr.write(`kvnode: error: ${message}\n`);
  process.exit(code);
}

function listen(server: Server | import('node:http').Server, addr: HostPort, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `${what} address ${formatHostPort(addr)} is already in use`
            : `cannot listen for ${what} on ${formatHostPort(addr)}: ${err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function run(config: NodeConfig, log: Logger): Promise<void> {
  const lock = await prepareDataDir(config.dataDir);
  const metrics = new NodeMetrics();

  const recovered = await recover(config, join(config.dataDir, 'wal'), join(config.dataDir, 'snap'), log);
  const { wal, snapshots, boot, machine } = recovered;

  // The transport's callbacks need the host and executor, which need the transport: wire late.
  const late: { host?: Host<ReturnType<KvMachine['apply']>>; executor?: KvExecutor } = {};
  const pendingMessages: Message[] = [];
  const transport = new PeerTransport({
    selfId: config.id,
    listen: config.listenPeer,
    peers: config.peers,
    secret: config.clusterSecret,
    // Followers batch forwarded writes per turn, so a few concurrent requests per peer suffice;
    // the bound is generous for bursts across many connections.
    maxConcurrentRequestsPerPeer: 1024,
    log: (line: string) => log.debug(line),
    onMessage: (msg: Message) => {
      if (late.host) late.host.step(msg);
      else if (pendingMessages.length < 1024) pendingMessages.push(msg);
    },
    onUnreachable: (peer: number) => late.host?.reportUnreachable(peer),
    onSnapshot: async (_from: number, msg: Message, chunks: AsyncIterable<Uint8Array>) => {
      const meta = msg.snapshot;
      if (!meta || !late.host) return;
      const receiver = snapshots.beginReceive(meta);
      try {
        for await (const chunk of chunks) await receiver.write(chunk);
        await receiver.finish();
      } catch (err) {
        await receiver.abort();
        throw err;
      }
      // Only now, with the bytes durable, may the core learn of the snapshot.
      late.host.step(msg);
    },
    onRequest: (_from: number, payload: Uint8Array): Promise<Uint8Array> =>
      late.executor
        ? late.executor.handleForwarded(payload)
        : Promise.reject(new Error('TRYAGAIN node is starting')),
  });

  const hostRef = new Host(
    {
      id: config.id,
      tickMs: config.tickMs,
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
      snapshotEntries: config.snapshotEntries,
      snapshotWalBytes: config.snapshotWalBytes,
      maxLogBytes: config.maxLogBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      maxPendingRequests: 100_000,
    },
    boot,
    wal,
    snapshots,
    machine,
    transport,
    log,
    metrics.hostEvents(),
    (err) => {
      process.stderr.write(`kvnode: error: ${err.message}\n`);
      process.exit(EXIT_RUNTIME);
    },
  );
  const memory = new MemoryGuard(config.maxMemoryBytes, {
    storeBytes: () => machine.store.usedBytes,
    logBytes: () => hostRef.logBytes,
  });
  const exec = new KvExecutor(config, hostRef, machine, transport, metrics, memory);
  metrics.watchRaftLog(() => hostRef.logBytes);
  metrics.watchMemory(() => memory.report());
  late.host = hostRef;
  late.executor = exec;

  const resp = createRespServer(exec, {
    maxBulkBytes: config.maxValueBytes,
    maxClients: config.maxClients,
    maxPendingReplies: 10_000,
    requirePassword: config.requirepass !== undefined,
    onConnectionsChanged: (n) => metrics.connections.set(n),
    onProtocolError: () => metrics.protocolErrors.inc(),
  });
  const httpServer = createHttpServer({
    execute: (args) => exec.executeHttp(args),
    status: () => exec.statusJson(),
    ready: () => exec.isReady(),
    metricsText: () => metrics.registry.metrics(),
    metricsContentType: metrics.registry.contentType,
    maxValueBytes: config.maxValueBytes,
    leaderHttp: () => config.peerHttp.get(hostRef.currentLeader),
  });

  await transport.start();
  await listen(resp, config.listenResp, 'RESP');
  await listen(httpServer, config.listenHttp, 'HTTP');
  for (const m of pendingMessages.splice(0)) hostRef.step(m);
  hostRef.start();
  // A stall of a third of the election timeout is worth a line: a few of them, or one of the
  // whole timeout, and followers start an election (or the leader steps down).
  const electionTimeoutMs = config.tickMs * config.electionTicks;
  const watchdog = startLoopWatchdog(log, Math.max(10, config.tickMs), Math.max(50, electionTimeoutMs / 3));
  log.info(`kvnode ready id=${config.id}`, {
    peer: formatHostPort(config.listenPeer),
    resp: formatHostPort(config.listenResp),
    http: formatHostPort(config.listenHttp),
    applied: hostRef.applied,
  });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    resp.close();
    httpServer.close();
    httpServer.closeAllConnections();
    await hostRef.stop();
    await transport.close();
    await wal.close();
    await lock.release();
    memory.close();
    watchdog.stop();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function main(): Promise<void> {
  let config: NodeConfig | 'help';
  try {
    config = parseNodeConfig(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, EXIT_CONFIG);
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(usage + '\n');
    return;
  }
  const log = createLogger({ debug: config.logLevel === 'debug', prefix: `[${config.id}] ` });
  try {
    await run(config, log);
  } catch (err) {
    if (err instanceof DataDirError) fail(err.message, EXIT_RUNTIME);
    fail((err as Error).message, EXIT_RUNTIME);
  }
}

await main();
