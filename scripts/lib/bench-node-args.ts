/**
 * kvnode flags for benchmarks that load a cluster hard (bench:capacity, bench:overwrite): the
 * timing of bench:node (a 500 ms election timeout, so a loaded 2-core box does not trigger
 * elections) and the node's default WAL segment size (the harness uses 4 MiB for tests), then
 * the user's --node-args, which win when a flag repeats.
 */
export function benchNodeArgs(userArgs: string): string[] {
  return [
    '--tick-ms',
    '20',
    '--election-ticks',
    '25',
    '--heartbeat-ticks',
    '5',
    '--wal-segment-bytes',
    String(64 * 1024 * 1024),
    ...userArgs.split(/\s+/).filter((a) => a !== ''),
  ];
}
