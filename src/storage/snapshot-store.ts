/**
 * Durable snapshots of the state machine: one file per snapshot index (`snap-<index>.snap`, see
 * snapshot-format.ts), written to a temp file, fsync'ed, renamed, directory fsync'ed. The newest
 * `keep` (2) are kept, so a snapshot found corrupt at startup falls back to the previous one.
 *
 * Body bytes are opaque here (the KV codec owns them); this layer owns their integrity:
 * per-chunk CRC-32C, a trailer with totals, and full verification before a snapshot is offered
 * by latest(). Verification results are remembered per file identity (inode, size, mtime) for
 * the life of the process, so latest() + readBody() read the body once with CRCs and once without.
 */
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta } from '../raft/types.js';
import { crc32c } from './crc32c.js';
import { SnapshotCorruptionError } from './errors.js';
import { fsyncDir, readFully, writeFully } from './fs-util.js';
import {
  CHUNK_HEADER_BYTES,
  FormatError,
  MAX_CHUNK_BYTES,
  SNAPSHOT_FIXED_HEADER_BYTES,
  TRAILER_BYTES,
  checkTrailer,
  encodeHeader,
  encodeTrailer,
  parseFixedHeader,
  parseHeader,
} from './snapshot-format.js';

export { SnapshotCorruptionError } from './errors.js';

export interface SnapshotStoreOptions {
  /** How many snapshots to keep (≥ 1). Default 2. */
  keep?: number;
  /** Where repairs are reported (a corrupt snapshot set aside). Default: stderr. */
  log?: (line: string) => void;
}

export interface StoredSnapshot {
  meta: SnapshotMeta;
  path: string;
  sizeBytes: number;
}

export interface SnapshotReceiver {
  /** Appends body bytes (copied: the caller may reuse `chunk`). Calls must not overlap. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the snapshot durable (fsync, rename, fsync dir) and returns its path. */
  finish(): Promise<string>;
  /** Drops the partial snapshot. Safe to call after a failed write or finish. */
  abort(): Promise<void>;
}

const SNAPSHOT_FILE_PATTERN = /^snap-(\d{20})\.snap$/;
const TEMP_MARKER = '.tmp-';
const CORRUPT_SUFFIX = '.corrupt';
/** Body bytes per stored chunk written by this store. */
const STORED_CHUNK_BYTES = 1024 * 1024;
/** Read size when streaming a body: big reads, few syscalls. */
const READ_BLOCK_BYTES = 8 * 1024 * 1024;
const DEFAULT_STREAM_CHUNK_BYTES = 1024 * 1024;

export function snapshotFileName(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`invariant: snapshot index ${index}`);
  return `snap-${String(index).padStart(20, '0')}.snap`;
}

let tempCounter = 0;

export class SnapshotStore {
  private readonly verified = new Map<string, string>();

  private constructor(
    private readonly dir: string,
    private readonly keep: number,
    private readonly log: (line: string) => void,
  ) {}

  static async open(dir: string, opts: SnapshotStoreOptions = {}): Promise<SnapshotStore> {
    const keep = opts.keep ?? 2;
    if (!Number.isSafeInteger(keep) || keep < 1) throw new Error('keep must be ≥ 1');
    await mkdir(dir, { recursive: true });
    // Temp files are snapshots that never finished: never valid, remove them.
    let removed = false;
    for (const name of await readdir(dir)) {
      if (name.includes(TEMP_MARKER)) {
        await unlink(join(dir, name));
        removed = true;
      }
    }
    if (removed) await fsyncDir(dir);
    return new SnapshotStore(dir, keep, opts.log ?? ((line) => process.stderr.write(`${line}\n`)));
  }

  /**
   * The newest snapshot that passes every check (header, every chunk CRC, trailer, size).
   * A snapshot that fails is renamed to `*.corrupt` (kept for inspection, out of rotation) and
   * the next older one is tried.
   */
  async latest(): Promise<StoredSnapshot | undefined> {
    for (const index of await this.indexes()) {
      const path = join(this.dir, snapshotFileName(index));
      try {
        const { meta, sizeBytes } = await this.verify(path);
        if (meta.index !== index)
          throw new SnapshotCorruptionError(
            path,
            SNAPSHOT_FIXED_HEADER_BYTES,
            `header says index ${meta.index}`,
          );
        return { meta, path, sizeBytes };
      } catch (err) {
        if (!(err instanceof SnapshotCorruptionError)) throw err;
        this.log(`snapshot: ${err.message}; set aside as ${path}${CORRUPT_SUFFIX}, trying the previous one`);
        await rename(path, path + CORRUPT_SUFFIX);
        await fsyncDir(this.dir);
      }
    }
    return undefined;
  }

  /**
   * The highest index the WAL may be released to while keeping the fallback useful: the OLDEST
   * kept snapshot (0 if fewer than `keep` exist). Releasing the WAL only to the newest snapshot
   * would leave nothing to replay on top of the previous one if the newest turns out corrupt.
   */
  async releasableIndex(): Promise<number> {
    const kept = await this.indexes();
    return kept.length >= this.keep ? kept[this.keep - 1]! : 0;
  }

  /** Writes a snapshot durably (temp file, fsync, rename, fsync dir) and prunes to the newest `keep`. */
  async write(
    meta: SnapshotMeta,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<{ path: string; sizeBytes: number }> {
    const writer = new SnapshotWriter(this, meta);
    try {
      for await (const chunk of chunks) await writer.write(chunk);
      const path = await writer.finish();
      return { path, sizeBytes: writer.sizeBytes };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  /** Receives a snapshot streamed from the leader. Nothing is visible until finish(). */
  beginReceive(meta: SnapshotMeta): SnapshotReceiver {
    const writer = new SnapshotWriter(this, meta);
    return {
      write: (chunk) => writer.write(chunk),
      finish: () => writer.finish(),
      abort: () => writer.abort(),
    };
  }

  /** Body chunks of the stored snapshot at `index`, re-cut to chunkSizeBytes, for streaming to a follower. */
  async *readChunks(index: number, chunkSizeBytes = DEFAULT_STREAM_CHUNK_BYTES): AsyncIterable<Uint8Array> {
    if (!Number.isSafeInteger(chunkSizeBytes) || chunkSizeBytes < 1)
      throw new Error(`chunkSizeBytes ${chunkSizeBytes}`);
    yield* rechunk(this.readBody(join(this.dir, snapshotFileName(index))), chunkSizeBytes);
  }

  /**
   * Body chunks of a stored snapshot, for restoring the state machine. Chunks are views of
   * fresh read buffers (never reused), so a decoder may keep them. CRCs are checked unless this
   * process already verified this very file; structure and trailer are always checked.
   * Throws SnapshotCorruptionError on damage.
   */
  async *readBody(path: string): AsyncIterable<Uint8Array> {
    const known = this.verified.get(path);
    const verifyCrc = known === undefined || known !== identity(await stat(path));
    for await (const chunk of readStored(path, verifyCrc, false)) if (chunk.data.length > 0) yield chunk.data;
  }

  // ---- internals used by SnapshotWriter ----------------------------------------------------

  /** @internal */
  tempPathFor(index: number): string {
    return join(this.dir, `${snapshotFileName(index)}${TEMP_MARKER}${process.pid}-${++tempCounter}`);
  }

  /** @internal */
  finalPathFor(index: number): string {
    return join(this.dir, snapshotFileName(index));
  }

  /** @internal Called after a snapshot became durable under `path`. */
  async committed(path: string, index: number): Promise<void> {
    this.verified.set(path, identity(await stat(path))); // we computed its CRCs while writing it
    const doomed = (await this.indexes()).slice(this.keep).filter((i) => i !== index);
    if (doomed.length === 0) return;
    for (const i of doomed) {
      const p = join(this.dir, snapshotFileName(i));
      this.verified.delete(p);
      await unlink(p);
    }
    await fsyncDir(this.dir);
  }

  /** @internal */
  get directory(): string {
    return this.dir;
  }

  private async indexes(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdir(this.dir)) {
      const m = SNAPSHOT_FILE_PATTERN.exec(name);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => b - a);
  }

  private async verify(path: string): Promise<{ meta: SnapshotMeta; sizeBytes: number }> {
    const st = await stat(path);
    const id = identity(st);
    let meta: SnapshotMeta | undefined;
    if (this.verified.get(path) === id) {
      meta = await readMeta(path);
    } else {
      for await (const chunk of readStored(path, true, true)) meta = chunk.meta;
      if (meta === undefined) throw new Error('invariant: readStored yielded no header');
      this.verified.set(path, id);
    }
    return { meta, sizeBytes: st.size };
  }
}

function identity(st: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/** Writes one snapshot file: staged 1 MiB chunks, each `length | crc | data`, then the trailer. */
class SnapshotWriter {
  private readonly tempPath: string;
  private readonly finalPath: string;
  private readonly header: Buffer;
  private readonly metaCrc: number;
  private readonly opened: Promise<FileHandle>;
  private readonly stage = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + STORED_CHUNK_BYTES);
  private stageBytes = 0;
  private filePos: number;
  private bodyBytes = 0;
  private chunkCount = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';
  /** Serialises write/finish/abort: a receiver driven by network callbacks must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SnapshotStore,
    private readonly meta: SnapshotMeta,
  ) {
    this.tempPath = store.tempPathFor(meta.index);
    this.finalPath = store.finalPathFor(meta.index);
    this.header = encodeHeader(meta);
    this.metaCrc = this.header.readUInt32LE(12);
    this.filePos = this.header.length;
    this.opened = open(this.tempPath, 'wx').then(async (fh) => {
      try {
        await writeFully(fh, this.header, this.header.length, 0);
      } catch (err) {
        await fh.close().catch(() => undefined); // abort() removes the file
        throw err;
      }
      return fh;
    });
    this.opened.catch(() => undefined); // surfaced by the first write/finish
  }

  get sizeBytes(): number {
    return this.filePos;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'open') throw new Error(`snapshot ${this.meta.index}: write after ${this.state}`);
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(STORED_CHUNK_BYTES - this.stageBytes, chunk.length - off);
        this.stage.set(chunk.subarray(off, off + n), CHUNK_HEADER_BYTES + this.stageBytes);
        this.stageBytes += n;
        off += n;
        if (this.stageBytes === STORED_CHUNK_BYTES) await this.flushStage();
      }
    });
  }

  finish(): Promise<string> {
    return this.serial(async () => {
      if (this.state !== 'open') throw new Error(`snapshot ${this.meta.index}: finish after ${this.state}`);
      await this.flushStage();
      const fh = await this.opened;
      const trailer = encodeTrailer(this.metaCrc, this.bodyBytes, this.chunkCount);
      await writeFully(fh, trailer, trailer.length, this.filePos);
      this.filePos += trailer.length;
      await fh.sync();
      await fh.close();
      this.state = 'finished';
      try {
        await rename(this.tempPath, this.finalPath);
      } catch (err) {
        await unlink(this.tempPath).catch(() => undefined); // abort() is a no-op once finished
        throw err;
      }
      await fsyncDir(this.store.directory);
      await this.store.committed(this.finalPath, this.meta.index);
      return this.finalPath;
    });
  }

  /** Drops the partial snapshot: closes and removes the temp file (out of space must not keep its bytes). */
  abort(): Promise<void> {
    // Not serialised behind a stuck write: abort is how a caller gives up.
    if (this.state !== 'open') return Promise.resolve();
    this.state = 'aborted';
    const removeTemp = (): Promise<void> => unlink(this.tempPath).catch(() => undefined);
    return this.opened.then(
      async (fh) => {
        await this.chain.catch(() => undefined);
        await fh.close().catch(() => undefined);
        await removeTemp();
      },
      // The file may exist even though opening failed (its header did not fit).
      removeTemp,
    );
  }

  private async flushStage(): Promise<void> {
    if (this.stageBytes === 0) return;
    const fh = await this.opened;
    const n = this.stageBytes;
    this.stage.writeUInt32LE(n, 0);
    this.stage.writeUInt32LE(crc32c(this.stage, 0, CHUNK_HEADER_BYTES, CHUNK_HEADER_BYTES + n), 4);
    await writeFully(fh, this.stage, CHUNK_HEADER_BYTES + n, this.filePos);
    this.filePos += CHUNK_HEADER_BYTES + n;
    this.bodyBytes += n;
    this.chunkCount++;
    this.stageBytes = 0;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

interface StoredChunk {
  meta: SnapshotMeta;
  data: Buffer;
}

/**
 * Streams a snapshot file: header, every chunk (CRC-checked when verifyCrc), trailer, and that
 * nothing follows it. Reads READ_BLOCK_BYTES at a time; yielded data are views into the read
 * buffers. With reuseBuffers (verification only: the caller keeps nothing) two buffers take
 * turns, which saves the page faults of fresh 8 MiB allocations; otherwise every block is a
 * fresh buffer, so consumers (the KV decoder keeps values as views) may hold on to chunks.
 * The meta rides on every yielded item; a final empty item follows the verified trailer.
 */
async function* readStored(
  path: string,
  verifyCrc: boolean,
  reuseBuffers: boolean,
): AsyncGenerator<StoredChunk> {
  const fh = await open(path, 'r');
  try {
    const fileBytes = (await fh.stat()).size;
    let block: Buffer = Buffer.allocUnsafe(Math.max(1, Math.min(READ_BLOCK_BYTES, fileBytes)));
    let spare: Buffer | undefined;
    let blockStart = 0; // file offset of block[0]
    let blockLen = await readFully(fh, block, 0, block.length, 0);
    let pos = 0;
    const fail = (offset: number, reason: string): never => {
      throw new SnapshotCorruptionError(path, offset, reason);
    };
    /** Makes block[pos, pos + need) available, carrying the unread rest into a fresh block. */
    const ensure = async (need: number): Promise<void> => {
      if (blockLen - pos >= need) return;
      const rest = blockLen - pos;
      const size = Math.max(READ_BLOCK_BYTES, need);
      const next =
        reuseBuffers && spare !== undefined && spare.length >= size ? spare : Buffer.allocUnsafe(size);
      if (reuseBuffers) spare = block;
      block.copy(next, 0, pos, blockLen);
      const fileOffset = blockStart + blockLen;
      const got = await readFully(
        fh,
        next,
        rest,
        Math.min(next.length - rest, fileBytes - fileOffset),
        fileOffset,
      );
      blockStart += pos;
      block = next;
      pos = 0;
      blockLen = rest + got;
      if (blockLen < need)
        fail(blockStart, `file ends after ${blockLen} of ${need} needed bytes (torn write)`);
    };

    let header: ReturnType<typeof parseHeader>;
    try {
      await ensure(SNAPSHOT_FIXED_HEADER_BYTES);
      const { metaBytes } = parseFixedHeader(block);
      await ensure(SNAPSHOT_FIXED_HEADER_BYTES + metaBytes);
      header = parseHeader(block);
    } catch (err) {
      if (err instanceof FormatError) fail(err.offset, err.message);
      throw err;
    }
    const { meta, metaCrc } = header;
    pos = header.bodyOffset;
    let bodyBytes = 0;
    let chunkCount = 0;
    for (;;) {
      await ensure(CHUNK_HEADER_BYTES);
      const len = block.readUInt32LE(pos);
      const at = blockStart + pos;
      if (len === 0) {
        await ensure(TRAILER_BYTES);
        try {
          checkTrailer(block, pos, at, metaCrc, bodyBytes, chunkCount);
        } catch (err) {
          if (err instanceof FormatError) fail(err.offset, err.message);
          throw err;
        }
        if (at + TRAILER_BYTES !== fileBytes) fail(at + TRAILER_BYTES, 'bytes after the trailer');
        yield { meta, data: block.subarray(0, 0) };
        return;
      }
      if (len > MAX_CHUNK_BYTES) fail(at, `chunk length ${len} exceeds ${MAX_CHUNK_BYTES}`);
      await ensure(CHUNK_HEADER_BYTES + len);
      const start = pos + CHUNK_HEADER_BYTES;
      if (verifyCrc && crc32c(block, 0, start, start + len) !== block.readUInt32LE(pos + 4)) {
        fail(at, 'chunk CRC mismatch');
      }
      bodyBytes += len;
      chunkCount++;
      pos = start + len;
      yield { meta, data: block.subarray(start, start + len) };
    }
  } finally {
    await fh.close();
  }
}

/** Only the metadata of a snapshot already verified in this process. */
async function readMeta(path: string): Promise<SnapshotMeta> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.allocUnsafe(SNAPSHOT_FIXED_HEADER_BYTES);
    await readFully(fh, head, 0, head.length, 0);
    const { metaBytes } = parseFixedHeader(head);
    const buf = Buffer.allocUnsafe(SNAPSHOT_FIXED_HEADER_BYTES + metaBytes);
    await readFully(fh, buf, 0, buf.length, 0);
    return parseHeader(buf).meta;
  } catch (err) {
    if (err instanceof FormatError) throw new SnapshotCorruptionError(path, err.offset, err.message);
    throw err;
  } finally {
    await fh.close();
  }
}

/** Re-cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* rechunk(src: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let parts: Uint8Array[] = [];
  let partsBytes = 0;
  for await (const c of src) {
    let off = 0;
    while (off < c.length) {
      if (partsBytes === 0 && c.length - off >= size) {
        yield c.subarray(off, off + size);
        off += size;
        continue;
      }
      const take = Math.min(size - partsBytes, c.length - off);
      parts.push(c.subarray(off, off + take));
      partsBytes += take;
      off += take;
      if (partsBytes === size) {
        yield Buffer.concat(parts, partsBytes);
        parts = [];
        partsBytes = 0;
      }
    }
  }
  if (partsBytes > 0) yield Buffer.concat(parts, partsBytes);
}
