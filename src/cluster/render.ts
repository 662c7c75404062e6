/**
 * Text rendering of cluster status shared by `kvctl cluster status|up` and the REPL's .status.
 */
import Table from 'cli-table3';

import { type ClusterStatus } from './status.js';

export function statusTable(status: ClusterStatus, options: { color?: boolean } = {}): string {
  const table = new Table({
    head: ['id', 'role', 'term', 'commit', 'applied', 'resp', 'http', 'peer', 'pid', 'where'],
    style: options.color === false ? { head: [], border: [] } : {},
  });
  for (const node of status.nodes) {
    table.push([
      node.id,
      node.role,
      node.term ?? '-',
      node.commitIndex ?? '-',
      node.appliedIndex ?? '-',
      node.resp,
      node.http,
      node.peer,
      node.pid ?? '-',
      node.location,
    ]);
  }
  const leader = status.leader === null ? 'no leader' : `leader: node ${status.leader}`;
  return `${table.toString()}\n${leader}`;
}
