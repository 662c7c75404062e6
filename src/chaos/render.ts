/**
 * Text rendering of a drill report (cli-table3): a summary table and a per-round table.
 */
import Table from 'cli-table3';

import { useColor } from '../cluster/render.js';
import { type DrillReport } from './drill.js';

const ms = (value: number | null): string => (value === null ? '-' : `${value} ms`);

export function drillTables(report: DrillReport, options: { color?: boolean } = {}): string {
  const color = options.color ?? useColor();
  const style = color ? {} : { head: [], border: [] };
  const summary = new Table({ style });
  const h = report.history;
  const durability =
    report.durability === null
      ? 'not checked'
      : report.durability.missingCount === 0
        ? `all ${report.durability.checked} acked ledger writes on all ${report.durability.nodes} nodes`
        : `${report.durability.missingCount} MISSING`;
  summary.push(
    { drill: `${report.drill} (run ${report.runId})` },
    { rounds: report.rounds.length },
    { clients: report.clients },
    { duration: ms(report.durationMs) },
    {
      ops: `${h.ops + report.ledger.acked + report.ledger.unknown} (${h.reads} get, ${h.writes} set, ${h.cas} cas, ${report.ledger.acked + report.ledger.unknown} ledger set)`,
    },
    { 'acked writes': h.ackedWrites + report.ledger.acked },
    { 'unknown outcomes': h.unknownOutcomes + report.ledger.unknown },
    { 'gave up (not applied)': report.unavailableOps },
    { 'leader changes': report.leaderChanges },
    { 'max unavailability': ms(report.maxUnavailabilityMs) },
    {
      linearizable: `${report.linearizability.verdict} (${report.linearizability.keys} keys, ${report.linearizability.elapsedMs} ms)`,
    },
    { durability },
    { verdict: report.verdict.toUpperCase() },
  );
  const rounds = new Table({
    head: ['round', 'leader', 'killed', 'new leader', 'election', 'writes unavailable', 'node back'],
    style,
  });
  for (const round of report.rounds) {
    rounds.push([
      round.round,
      round.leaderBefore ?? '-',
      round.killed.join(','),
      round.leaderAfter ?? '-',
      ms(round.electionMs),
      ms(round.unavailableMs),
      ms(round.recoveredMs),
    ]);
  }
  const failures = report.failures.length === 0 ? '' : `\n${report.failures.join('\n')}`;
  return `${rounds.toString()}\n${summary.toString()}${failures}`;
}
