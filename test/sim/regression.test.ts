/**
 * Seeds that once exposed a bug in the core (see .notes/raft-bugs.md) or in the harness. Harness changes shift
 * what a seed does, so each entry also says what it caught at the time.
 */
import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../src/sim/index.js';

interface Regression {
  readonly seed: number;
  readonly nodes: 3 | 5;
  readonly bug: string;
}

const REGRESSIONS: readonly Regression[] = [
  { seed: 38, nodes: 3, bug: 'SIM-1 follower stuck after lost pipelined Apps' },
  { seed: 195, nodes: 3, bug: 'SIM-1' },
  { seed: 271, nodes: 3, bug: 'SIM-1' },
  { seed: 552, nodes: 3, bug: 'SIM-1' },
  { seed: 798, nodes: 3, bug: 'SIM-1' },
  { seed: 941, nodes: 3, bug: 'SIM-1' },
  { seed: 17, nodes: 5, bug: 'SIM-1' },
  { seed: 37, nodes: 5, bug: 'SIM-1' },
  { seed: 121, nodes: 5, bug: 'SIM-1' },
  { seed: 131, nodes: 5, bug: 'SIM-1' },
  { seed: 237, nodes: 5, bug: 'SIM-1' },
  { seed: 255, nodes: 5, bug: 'SIM-1' },
  { seed: 730, nodes: 3, bug: 'SIM-2 restart refused a torn write (entries kept, hard state lost)' },
  { seed: 871, nodes: 3, bug: 'SIM-2' },
  { seed: 2283, nodes: 3, bug: 'SIM-3 deadlock after a leader appended its own removal and lost leadership' },
  // Harness (not core) bugs found when the simulated host began pipelining Readies:
  { seed: 1016, nodes: 5, bug: 'harness: a Snapshot message named an older snapshot than the host streams' },
  { seed: 2669, nodes: 5, bug: 'harness: same' },
];

describe('regression seeds', () => {
  for (const r of REGRESSIONS) {
    it(`seed ${r.seed}, ${r.nodes} nodes (${r.bug})`, () => {
      expect(runSimulation({ seed: r.seed, nodes: r.nodes }).stats.recoveryTicks).toBeGreaterThanOrEqual(0);
    });
  }
});
