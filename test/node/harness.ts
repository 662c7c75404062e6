/**
 * Starts real kvnode processes on 127.0.0.1 for integration tests, and always cleans them up.
 * Needs `npm run build` (npm test runs it first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KVNODE_NODE_FLAGS } from '../../src/cluster/runtime-flags.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const kvnodeMain = join(repoRoot, 'dist/node/main.js');

export interface TestNode {
  readonly id: number;
  readonly peerPort: number;
  readonly respPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly logPath: string;
  proc: ChildProcess | undefined;
}

export interface NodeStatus {
  id: number;
  role: string;
  term: number;
  leader: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  firstIndex: number;
}

const live = new Set<TestCluster>();
process.on('exit', () => {
  for (const c of live) c.killAllSync();
});

export class TestCluster {
  readonly nodes: TestNode[] = [];
  readonly root: string;

  private constructor(
    readonly basePort: number,
    count: number,
    private readonly extraArgs: readonly string[],
  ) {
    if (!existsSync(kvnodeMain)) throw new Error(`${kvnodeMain} missing: run npm run build first`);
    this.root = mkdtempSync(join(tmpdir(), 'kvnode-test-'));
    for (let id = 1; id <= count; id++) {
      this.nodes.push({
        id,
        peerPort: basePort + id,
        respPort: basePort + 100 + id,
        httpPort: basePort + 200 + id,
        dataDir: join(this.root, `node${id}`),
        logPath: join(this.root, `node${id}.log`),
        proc: undefined,
      });
    }
    live.add(this);
  }

  /** Starts `count` nodes with ports basePort+{1..}, +100, +200. */
  static async start(opts: { basePort: number; nodes?: number; extraArgs?: string[] }): Promise<TestCluster> {
    const cluster = new TestCluster(opts.basePort, opts.nodes ?? 3, opts.extraArgs ?? []);
    for (const n of cluster.nodes) cluster.spawnNode(n);
    await cluster.waitForLeader();
    return cluster;
  }

  node(id: number): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  args(n: TestNode): string[] {
    const list = (port: (x: TestNode) => number) =>
      this.nodes.map((x) => `${x.id}=127.0.0.1:${port(x)}`).join(',');
    return [
      '--id', String(n.id),
      '--data-dir', n.dataDir,
      '--peers', list((x) => x.peerPort),
      '--peer-resp', list((x) => x.respPort),
      '--peer-http', list((x) => x.httpPort),
      '--listen-peer', `127.0.0.1:${n.peerPort}`,
      '--listen-resp', `127.0.0.1:${n.respPort}`,
      '--listen-http', `127.0.0.1:${n.httpPort}`,
      '--cluster-secret', 'test-secret-0123456789',
      '--tick-ms', '10',
      '--election-ticks', '20',
      '--heartbeat-ticks', '3',
      '--wal-segment-bytes', String(4 * 1024 * 1024),
      ...this.extraArgs,
    ]; // prettier-ignore
  }

  spawnNode(n: TestNode): void {
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null)
      throw new Error(`node ${n.id} already running`);
    const log = createWriteStream(n.logPath, { flags: 'a' });
    const proc = spawn(process.execPath, [...KVNODE_NODE_FLAGS, kvnodeMain, ...this.args(n)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    n.proc = proc;
  }

  async restart(id: number): Promise<void> {
    const n = this.node(id);
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) await this.kill(id, 'SIGKILL');
    this.spawnNode(n);
    await waitFor(async () => (await this.status(id)) !== undefined, 15_000, `node ${id} to serve HTTP`);
  }

  /** Sends `signal` and waits for the process to exit. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(id);
    const proc = n.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((res) => proc.once('exit', () => res()));
    proc.kill(signal);
    await exited;
  }

  async status(id: number): Promise<NodeStatus | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.node(id).httpPort}/v1/status`, {
        signal: AbortSignal.timeout(1000),
      });
      if (!res.ok) return undefined;
      return (await res.json()) as NodeStatus;
    } catch {
      return undefined;
    }
  }

  isRunning(id: number): boolean {
    const p = this.node(id).proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** Waits until the running nodes agree on one leader; returns its id. */
  async waitForLeader(timeoutMs = 20_000, exclude?: number): Promise<number> {
    let leader = 0;
    await waitFor(
      async () => {
        const running = this.nodes.filter((n) => this.isRunning(n.id));
        const statuses = await Promise.all(running.map((n) => this.status(n.id)));
        const leaders = statuses.filter((s) => s?.role === 'leader');
        if (leaders.length !== 1) return false;
        const l = leaders[0]!;
        if (l.id === exclude) return false;
        // Everyone reachable follows it.
        if (!statuses.every((s) => s && s.leader === l.id)) return false;
        leader = l.id;
        return true;
      },
      timeoutMs,
      'a single agreed leader',
    );
    return leader;
  }

  killAllSync(): void {
    for (const n of this.nodes) {
      if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill('SIGKILL');
    }
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id, 'SIGKILL')));
    live.delete(this);
    rmSync(this.root, { recursive: true, force: true });
  }

  logs(id: number): string {
    try {
      return readFileSync(this.node(id).logPath, 'utf8');
    } catch {
      return '';
    }
  }
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
