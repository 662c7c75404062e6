/**
 * Text rendering of cluster status shared by `kvctl cluster status|up` and the REPL's .status.
 */
import Table from 'cli-table3';

import { type ClusterStatus } from './status.js';

/** Colors only for a terminal (and never with NO_COLOR): piped output must be plain text. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && process.env.NO_COLOR === undefined;
}

export function statusTable(status: ClusterStatus, options: { color?: boolean } = {}): string {
  const color = options.color ?? useColor();
  const table = new Table({
    head: ['id', 'role', 'term', 'commit', 'applied', 'resp', 'http', 'peer', 'pid', 'where'],
    style: color ? { compact: true } : { head: [], border: [], compact: true },
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
