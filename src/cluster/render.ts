/**
 * Text rendering of cluster status shared by `kvctl cluster status|up` and the REPL's .status.
 */
import Table from 'cli-table3';

import { type ClusterStatus, type NodeMemory } from './status.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 312 MiB, 1.4 GiB, 900 B: powers of 1024, one decimal below 10 units, none above. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`invariant: byte count ${bytes}`);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${text.replace(/\.0$/, '')} ${UNITS[unit]}`;
}

/** Header of the memory column: which figures it shows. */
export const MEMORY_HEADER = 'mem used/max';

/**
 * "used / max": the bytes the node's --max-memory quota counts (usedBytes, not RSS) against that
 * quota (writes get -OOM past it); '-' for what the node did not report.
 */
export function memoryCell(memory: NodeMemory | null): string {
  if (memory === null || (memory.usedBytes === undefined && memory.maxMemoryBytes === undefined)) return '-';
  const used = memory.usedBytes === undefined ? '-' : formatBytes(memory.usedBytes);
  const max = memory.maxMemoryBytes === undefined ? '-' : formatBytes(memory.maxMemoryBytes);
  return `${used} / ${max}`;
}

/** Colors only for a terminal (and never with NO_COLOR): piped output must be plain text. */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && process.env.NO_COLOR === undefined;
}

export function statusTable(status: ClusterStatus, options: { color?: boolean } = {}): string {
  const color = options.color ?? useColor();
  const table = new Table({
    head: [
      'id',
      'role',
      'term',
      'commit',
      'applied',
      'keys',
      MEMORY_HEADER,
      'resp',
      'http',
      'peer',
      'pid',
      'where',
    ],
    style: color ? { compact: true } : { head: [], border: [], compact: true },
  });
  for (const node of status.nodes) {
    table.push([
      node.id,
      node.role,
      node.term ?? '-',
      node.commitIndex ?? '-',
      node.appliedIndex ?? '-',
      node.keys ?? '-',
      memoryCell(node.memory),
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
