/**
 * Raised when the WAL holds damage that cannot be a torn last write: a bad record followed by
 * records of a later flush, a gap in the segment sequence, a segment whose header disagrees
 * with its name. Acknowledged data may be involved, so we refuse to start instead of guessing.
 */
export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`WAL corruption in ${file} at byte offset ${offset}: ${reason}`);
  }
}

/** A stored snapshot failed its checks (torn write, bad CRC, bad header). */
export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`snapshot corruption in ${file} at byte offset ${offset}: ${reason}`);
  }
}
