/**
 * Parses human durations for drill flags: "3s", "500ms", "1.5s", "2m"; a bare number is seconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };

export function parseDurationMs(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (match === null || match[1] === undefined) {
    throw new Error(`bad duration "${text}" (expected e.g. 500ms, 3s, 1.5s, 2m)`);
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
  if (!Number.isSafeInteger(ms)) throw new Error(`duration "${text}" is too large`);
  return ms;
}
