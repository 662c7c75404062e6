import { describe, expect, it } from 'vitest';

import { MEMORY_HEADER, formatBytes, memoryCell, statusTable } from '../../src/cluster/render.js';
import { type ClusterStatus, type NodeStatus, parseNodeMemory } from '../../src/cluster/status.js';

const MiB = 1024 * 1024;

function node(id: number, extra: Partial<NodeStatus>): NodeStatus {
  return {
    id,
    role: 'follower',
    term: 2,
    commitIndex: 9,
    appliedIndex: 9,
    pid: 100 + id,
    keys: null,
    memory: null,
    alive: true,
    ready: true,
    resp: `127.0.0.1:${7010 + id - 1}`,
    http: `127.0.0.1:${7020 + id - 1}`,
    peer: `127.0.0.1:${7000 + id - 1}`,
    location: 'local',
    ...extra,
  };
}

describe('cluster status memory column', () => {
  it('formatBytes: powers of 1024, one decimal below 10 units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(312 * MiB + 123_456)).toBe('312 MiB');
    expect(formatBytes(9.96 * MiB)).toBe('10 MiB');
    expect(formatBytes(1.44 * 1024 * MiB)).toBe('1.4 GiB');
    expect(() => formatBytes(-1)).toThrow(/invariant/);
  });

  it('memoryCell: used / max, "-" for what was not reported', () => {
    expect(memoryCell({ usedBytes: 312 * MiB, maxMemoryBytes: 510 * MiB, rssBytes: 400 * MiB })).toBe(
      '312 MiB / 510 MiB',
    );
    expect(memoryCell({ usedBytes: 312 * MiB })).toBe('312 MiB / -');
    expect(memoryCell({ keys: 5 })).toBe('-');
    expect(memoryCell(null)).toBe('-');
  });

  it('the table shows keys and used/max per node, "-" for a node that is down or reports none', () => {
    const status: ClusterStatus = {
      dir: '/tmp/x',
      leader: 1,
      nodes: [
        node(1, {
          role: 'leader',
          keys: 2500,
          memory: { usedBytes: 312 * MiB, rssBytes: 420 * MiB, maxMemoryBytes: 510 * MiB, keys: 2500 },
        }),
        node(2, { keys: 2500 }),
        node(3, { role: 'down', term: null, commitIndex: null, appliedIndex: null, pid: null, alive: false }),
      ],
    };
    const lines = statusTable(status, { color: false }).split('\n');
    const cells = (line: string) =>
      line
        .split('│')
        .slice(1, -1)
        .map((cell) => cell.trim());
    const header = cells(lines.find((line) => line.includes('│ id'))!);
    expect(header.slice(0, 7)).toEqual(['id', 'role', 'term', 'commit', 'applied', 'keys', MEMORY_HEADER]);
    expect(MEMORY_HEADER).toBe('mem used/max');
    const rows = lines.filter((line) => /^│ \d/.test(line)).map(cells);
    expect(rows.map((row) => row.slice(0, 7))).toEqual([
      ['1', 'leader', '2', '9', '9', '2500', '312 MiB / 510 MiB'],
      ['2', 'follower', '2', '9', '9', '2500', '-'],
      ['3', 'down', '-', '-', '-', '-', '-'],
    ]);
    expect(lines.at(-1)).toBe('leader: node 1');
  });

  it('parseNodeMemory keeps numeric fields only, and nothing when there is no memory object', () => {
    expect(
      parseNodeMemory({
        usedBytes: 10,
        rssBytes: 20,
        maxMemoryBytes: 30,
        heapUsedBytes: 5,
        note: 'x',
        bad: -1,
      }),
    ).toEqual({ usedBytes: 10, rssBytes: 20, maxMemoryBytes: 30, heapUsedBytes: 5 });
    expect(parseNodeMemory(undefined)).toBeUndefined();
    expect(parseNodeMemory({ note: 'x' })).toBeUndefined();
    expect(parseNodeMemory([1, 2])).toBeUndefined();
  });
});
