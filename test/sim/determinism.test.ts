import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/sim/index.js';

describe('simulator determinism', () => {
  it('replays a seed step for step (same trace hash, same stats)', () => {
    for (const nodes of [3, 5] as const) {
      const first = runSimulation({ seed: 4242, nodes });
      const second = runSimulation({ seed: 4242, nodes });
      expect(second.traceHash).toBe(first.traceHash);
      expect(second.stats).toEqual(first.stats);
    }
  });

  it('the verbose trace is identical across replays and does not change the run', () => {
    const linesA: string[] = [];
    const linesB: string[] = [];
    const a = runSimulation({ seed: 99, nodes: 3, steps: 1500, log: (l) => linesA.push(l) });
    const b = runSimulation({ seed: 99, nodes: 3, steps: 1500, log: (l) => linesB.push(l) });
    const quiet = runSimulation({ seed: 99, nodes: 3, steps: 1500 });
    expect(linesB).toEqual(linesA);
    expect(linesA.length).toBeGreaterThan(1000);
    expect(a.traceHash).toBe(b.traceHash);
    expect(quiet.traceHash).toBe(a.traceHash);
  });

  it('different seeds give different runs', () => {
    const hashes = new Set<number>();
    for (let seed = 1; seed <= 5; seed++)
      hashes.add(runSimulation({ seed, nodes: 3, steps: 1000 }).traceHash);
    expect(hashes.size).toBe(5);
  });

  it('exercises the faults it claims to (elections, crashes, snapshots, conf changes, reads, pipelined Readies)', () => {
    const totals = {
      readiesPipelined: 0,
      fsyncsSkipped: 0,
      elections: 0,
      crashes: 0,
      snapshotsSent: 0,
      confChanges: 0,
      transfers: 0,
      readsServed: 0,
    };
    for (let seed = 1; seed <= 10; seed++) {
      const { stats } = runSimulation({ seed, nodes: 5 });
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += stats[k];
    }
    for (const [k, v] of Object.entries(totals)) expect(v, k).toBeGreaterThan(5);
    // Some runs keep one Ready at a time (depth 1), others keep several in flight.
    const depths = new Set<number>();
    for (let seed = 1; seed <= 10; seed++)
      depths.add(runSimulation({ seed, nodes: 3, steps: 1000 }).stats.maxPipelineDepth);
    expect(depths.has(1)).toBe(true);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(4);
  });
});
