import { writeSync } from 'node:fs';
import { open, statfs, type FileHandle } from 'node:fs/promises';

/**
 * Whether an I/O error means "no room": the file system is full (ENOSPC) or the user's quota is
 * used up (EDQUOT). Unlike EIO, such a write can be retried once space is freed: nothing the
 * kernel accepted was lost, the write was refused.
 */
export function isNoSpaceError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Bytes this process may still allocate on the file system holding `path` (statfs: free blocks
 * for root, which may use the reserved ones, available blocks for anyone else); undefined if
 * statfs fails.
 */
export async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const st = await statfs(path);
    const blocks = process.getuid?.() === 0 ? st.bfree : st.bavail;
    return blocks * st.bsize;
  } catch {
    return undefined;
  }
}

/**
 * fsync a directory so that file creations, renames and unlinks in it are durable.
 * Without it a crash can lose a freshly created segment or undo a snapshot rename.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Positional write of all of buf[0, length); loops because a write may be short. */
export async function writeFully(
  fh: FileHandle,
  buf: Uint8Array,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`invariant: write made no progress at ${position + done}`);
    done += bytesWritten;
  }
}

/** Positional write of all of `buf` on the calling thread; loops because a write may be short. */
export function writeFullySync(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const written = writeSync(fd, buf, done, buf.length - done, position + done);
    if (written <= 0) throw new Error(`invariant: write made no progress at ${position + done}`);
    done += written;
  }
}

/** Positional read of exactly `length` bytes into buf[offset, ...); returns bytes read (short only at EOF). */
export async function readFully(
  fh: FileHandle,
  buf: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Little-endian u64 helpers for integers up to 2^53 (indexes and terms). */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`invariant: u64 value ${value} not a safe integer`);
  buf.writeUInt32LE(value >>> 0, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1f_ffff) throw new RangeError(`u64 at ${offset} exceeds 2^53`);
  return hi * 0x1_0000_0000 + buf.readUInt32LE(offset);
}
