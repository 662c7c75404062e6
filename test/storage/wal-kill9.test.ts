import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wal } from '../../src/storage/wal.js';
import { makeTempDir, payload, removeDir, rng } from './helpers.js';
import { transpileTree } from './transpile.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const FIXTURE_TS = join(import.meta.dirname, 'fixtures', 'appender.ts');
const ROUNDS = 20;
const CONCURRENCY = 64;
const SEGMENT_SIZE_BYTES = 256 * 1024;

const children = new Set<ChildProcess>();
let buildDir: string;
let fixtureJs: string;
beforeAll(async () => {
  buildDir = await makeTempDir('kvctl-kill9-build-');
  fixtureJs = await transpileTree(FIXTURE_TS, REPO_ROOT, buildDir);
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await removeDir(buildDir);
});

interface RoundOutput {
  readyAt: number;
  acked: number[];
}

/** Starts the appender, SIGKILLs it `killAfterMs` after it is ready, returns what it printed. */
function runRound(dir: string, releaseLog: string, term: number, killAfterMs: number): Promise<RoundOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fixtureJs, dir, String(term), String(CONCURRENCY), String(SEGMENT_SIZE_BYTES), releaseLog],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(child);
    const out: RoundOutput = { readyAt: 0, acked: [] };
    let pending = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!; // only complete lines count: a line cut by the kill proves nothing
      for (const line of lines) {
        const [what, n] = line.split(' ');
        if (what === 'ready' && killTimer === undefined) {
          out.readyAt = Number(n);
          killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (what === 'ack') out.acked.push(Number(n));
      }
    });
    child.on('error', reject);
    // 'close', not 'exit': 'exit' can come before the last stdout data is read.
    child.on('close', (code, signal) => {
      children.delete(child);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL')
        reject(new Error(`appender exited ${code ?? signal} before the kill: ${stderr}`));
      else resolve(out);
    });
  });
}

describe('Wal under kill -9', () => {
  it(`every acknowledged append survives SIGKILL at random moments (${ROUNDS} rounds)`, async () => {
    const root = await makeTempDir('kvctl-kill9-');
    const dir = join(root, 'wal');
    const releaseLog = join(root, 'releases.log');
    await writeFile(releaseLog, '');
    const rand = rng(2024);
    const ackedTerm = new Map<number, number>();
    let maxRelease = 0;
    let totalAcked = 0;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const out = await runRound(dir, releaseLog, round, 20 + rand(250));
        for (const i of out.acked) ackedTerm.set(i, round);
        for (const r of (await readFile(releaseLog, 'utf8')).split('\n')) {
          if (r !== '') maxRelease = Math.max(maxRelease, Number(r));
        }
        totalAcked += out.acked.length;

        const { wal, recovered } = await Wal.open(dir, {
          segmentSizeBytes: SEGMENT_SIZE_BYTES,
          log: () => undefined,
        });
        await wal.close();
        const es = recovered.entries;
        const first = es[0]?.index ?? 1;
        expect(
          first,
          `round ${round}: log starts at ${first}, highest announced release ${maxRelease}`,
        ).toBeLessThanOrEqual(maxRelease + 1);
        for (let k = 0; k < es.length; k++) {
          const e = es[k]!;
          expect(e.index).toBe(first + k); // in order, contiguous
          expect(Buffer.from(e.data).equals(Buffer.from(payload(e.index, e.term, 100)))).toBe(true); // intact
        }
        const lastIndex = es.length > 0 ? es[es.length - 1]!.index : 0;
        let maxAcked = 0;
        for (const [i, term] of ackedTerm) {
          maxAcked = Math.max(maxAcked, i);
          if (i < first) continue; // compacted by a releaseTo the appender announced
          const where = `round ${round}: ack ${i} (round ${term}); recovered ${first}..${lastIndex}; child started at ${out.readyAt}`;
          expect(i, where).toBeLessThanOrEqual(lastIndex);
          expect(es[i - first]!.term, where).toBe(term);
        }
        // The hard state written with the highest acknowledged entry (or a later one) survived.
        expect(recovered.hardState.commit).toBeGreaterThanOrEqual(maxAcked);
        // Drop what can no longer be checked, to keep the map small.
        for (const i of ackedTerm.keys()) if (i < first) ackedTerm.delete(i);
      }
      // The test must have exercised something: acknowledgements before kills, and compaction.
      expect(totalAcked).toBeGreaterThan(ROUNDS * 10);
      expect(maxRelease).toBeGreaterThan(0);
    } finally {
      await removeDir(root);
    }
  });
});
