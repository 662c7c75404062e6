/**
 * Long simulation runs: `npm run sim -- --seeds N [--from S] [--nodes 3|5] [--steps K] [--verbose]`.
 * Runs seeds S..S+N-1; on a violation prints the seed and the command that replays it, and
 * exits 1. The last line is always `sim: seeds=N violations=V`.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SIM_STEPS, SimViolation, replayCommand, runSimulation } from '../src/sim/index.js';

function parseCount(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`sim: --${name} must be an integer ≥ ${min}, got ${raw}`);
    process.exit(2);
  }
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      nodes: { type: 'string' },
      steps: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'keep-going': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const seeds = parseCount('seeds', values.seeds, 100, 1);
  const from = parseCount('from', values.from, 1, 0);
  const nodes = parseCount('nodes', values.nodes, 3, 3);
  if (nodes !== 3 && nodes !== 5) {
    console.error(`sim: --nodes must be 3 or 5, got ${nodes}`);
    process.exit(2);
  }
  const steps = parseCount('steps', values.steps, DEFAULT_SIM_STEPS, 1);
  const verbose = values.verbose === true;
  const log = verbose ? (line: string) => console.log(line) : undefined;

  const started = performance.now();
  let violations = 0;
  let ran = 0;
  let totalSteps = 0;
  let worstRecoveryTicks = 0;
  for (let seed = from; seed < from + seeds; seed++) {
    ran++;
    try {
      const result = runSimulation({ seed, nodes, steps, log });
      totalSteps += result.stats.steps;
      worstRecoveryTicks = Math.max(worstRecoveryTicks, result.stats.recoveryTicks);
      if (verbose)
        console.log(`seed ${seed}: ${JSON.stringify(result.stats)} trace ${result.traceHash.toString(16)}`);
    } catch (err) {
      violations++;
      if (err instanceof SimViolation) {
        console.error(
          `VIOLATION seed=${err.seed} nodes=${err.nodes} step=${err.step} invariant=${err.invariant}`,
        );
        console.error(err.detail);
        console.error(`replay: ${replayCommand(err.seed, err.nodes, steps)}`);
      } else {
        console.error(`sim: seed ${seed} crashed the harness:`, err);
        console.error(`replay: ${replayCommand(seed, nodes, steps)}`);
      }
      if (values['keep-going'] !== true) break;
    }
    if (!verbose && ran % 100 === 0) {
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`sim: ${ran}/${seeds} seeds, ${violations} violations, ${secs}s`);
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `sim: ${ran} seeds from ${from}, ${nodes} nodes, ${totalSteps} steps in ${secs}s; worst recovery ${worstRecoveryTicks} ticks`,
  );
  console.log(`sim: seeds=${ran} violations=${violations}`);
  process.exitCode = violations > 0 ? 1 : 0;
}

main();
