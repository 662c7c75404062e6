import { expect } from 'vitest';
import { SimViolation, runSimulation } from '../../src/sim/index.js';

/**
 * Runs seeds [from, from + count) and fails with every violation's message (each names its
 * seed, step and replay command). Split over several test files so vitest's forks run them in
 * parallel.
 */
export function expectSeedsPass(nodes: 3 | 5, from: number, count: number): void {
  const failures: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    try {
      runSimulation({ seed, nodes });
    } catch (err) {
      if (!(err instanceof SimViolation)) throw err;
      failures.push(err.message);
    }
  }
  expect(failures).toEqual([]);
}
