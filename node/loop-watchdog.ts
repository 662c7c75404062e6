/**
 * Event-loop stall watchdog: a timer that notices when it fires late. Every heartbeat, vote and
 * acknowledgement of this node waits while one turn of the loop runs, so a turn longer than the
 * election timeout costs the cluster its leader. A late timer is logged (warn, with how late) so
 * such stalls show up in the node's log, e.g. around a very large write or a snapshot.
 */
import type { Logger } from './log.js';

export interface LoopWatchdog {
  /** Longest stall seen so far, in ms (0 when none passed the threshold). */
  readonly maxStallMs: number;
  stop(): void;
}

/**
 * Checks every `intervalMs`; a check that runs `thresholdMs` or more late is a stall. The timer
 * is unref'd: it never keeps the process alive.
 */
export function startLoopWatchdog(log: Logger, intervalMs: number, thresholdMs: number): LoopWatchdog {
  let expected = performance.now() + intervalMs;
  let maxStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = now - expected;
    expected = now + intervalMs;
    if (lateMs < thresholdMs) return;
    maxStallMs = Math.max(maxStallMs, lateMs);
    log.warn('event loop stalled', { ms: Math.round(lateMs) });
  }, intervalMs);
  timer.unref();
  return {
    get maxStallMs() {
      return maxStallMs;
    },
    stop: () => clearInterval(timer),
  };
}
