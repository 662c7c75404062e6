import { describe, it } from 'vitest';
import { expectSeedsPass } from './seeds.js';

describe('simulation, 3 nodes', () => {
  it('seeds 301..600 keep every invariant', { timeout: 180_000 }, () => {
    expectSeedsPass(3, 301, 300);
  });
});
