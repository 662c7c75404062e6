/**
 * Text rendering of a bench result (cli-table3).
 */
import Table from 'cli-table3';

import { useColor } from '../cluster/render.js';
import { type LoadResult } from './load.js';

export function benchTable(
  result: LoadResult & { readonly nodeId: number },
  options: { color?: boolean } = {},
) {
  const color = options.color ?? useColor();
  const table = new Table({
    head: ['op', 'node', 'clients', 'pipeline', 'requests', 'errors', 'req/s', 'p50', 'p95', 'p99', 'max'],
    style: color ? {} : { head: [], border: [] },
  });
  const l = result.latencyMs;
  table.push([
    result.op,
    `${result.nodeId} (${result.address})`,
    result.clients,
    result.pipeline,
    result.requests,
    result.errors,
    result.requestsPerSec,
    `${l.p50} ms`,
    `${l.p95} ms`,
    `${l.p99} ms`,
    `${l.max} ms`,
  ]);
  const samples =
    result.errorSamples.length === 0 ? '' : `\nerrors, e.g.: ${result.errorSamples.join(' | ')}`;
  return `${table.toString()}${samples}`;
}
