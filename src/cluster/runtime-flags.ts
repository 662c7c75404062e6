/**
 * Node.js flags every kvnode process runs with, wherever it is started (kvctl locally or over
 * ssh, the systemd unit, the test harness, bin/kvnode.js's shebang).
 *
 * --max-semi-space-size=4: V8's young generation defaults to 16 MiB semi-spaces (up to 48 MiB of
 * new space, kept once grown). kvnode's young objects are short-lived request state, so 4 MiB
 * cost no measurable throughput (npm run bench:node A/B: SET -c 50 14.6k vs 13.9–15.0k, SET -P 16
 * 85.6k vs 81.7–100.4k, GET 42.2k vs 39.9–41.4k) and save 30–45 MB of RSS per node (2 M keys:
 * followers 467 → 430 MB with 2 MiB semi-spaces). V8 reads it only at start-up: it must be a
 * command-line flag (v8.setFlagsFromString at run time has no effect on the heap's layout).
 */
export const KVNODE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
