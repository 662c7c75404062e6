/**
 * Sizing a node from the memory model (README "Memory model"), measured by npm run
 * bench:capacity: how much of a VM the unit may use, the node's --max-memory quota, and how many
 * keys of a given size fit under it.
 *
 * A key costs its bytes (4-byte aligned) + a 16-byte record header (which also holds the key's
 * hash) + its index slot: 4 bytes a slot at a load of 0.375–0.75, so at most 4 / 0.375 ≈ 10.7
 * bytes (the index doubles at 0.75), and 16 bytes while it grows (the old table at 0.75 and the
 * new at 0.375 both exist; the model takes this peak).
 * Beyond the keys the quota (store + raft log + V8 heap in use) holds the raft log (≤
 * --max-log-bytes) and ~40 MB of heap (connections, queues). What the quota does not count —
 * Node's own ~60 MB, V8's free heap pages, buffers awaiting a late GC, malloc slack — is the
 * headroom between --max-memory and systemd's MemoryMax (measured: 105–190 MB at 2 M keys).
 */

import { RECORD_HEADER_BYTES } from '../kv/store.js';

export const INDEX_BYTES_PER_KEY_MAX = 4 / 0.375 + 4 / 0.75;
/** Not accounted by --max-memory: runtime, free heap pages, late-GC buffers (measured ≤ 190 MB). */
export const UNACCOUNTED_HEADROOM_MB = 200;
/** Kept for the kernel, sshd, Nginx and the page cache the WAL writes through. */
export const OS_RESERVE_SHARE = 0.17;
const HEAP_IN_USE_MB = 40;
const MB = 1024 * 1024;

export interface SizingInput {
  readonly vmMemoryMb: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly maxLogBytes: number;
}

export interface NodeSizing {
  /** systemd MemoryMax of the unit. */
  readonly memoryMaxMb: number;
  /** kvnode --max-memory: writes are refused past it. */
  readonly maxMemoryBytes: number;
  /** V8 old-space cap: a backstop; the data lives outside the V8 heap. */
  readonly maxOldSpaceMb: number;
  readonly bytesPerKey: number;
  /** Keys of keyBytes + valueBytes that fit under maxMemoryBytes. */
  readonly keysCapacity: number;
}

export function bytesPerKey(keyBytes: number, valueBytes: number): number {
  return Math.ceil((keyBytes + valueBytes) / 4) * 4 + RECORD_HEADER_BYTES + INDEX_BYTES_PER_KEY_MAX;
}

export function sizeNode(input: SizingInput): NodeSizing {
  const memoryMaxMb = Math.round(input.vmMemoryMb * (1 - OS_RESERVE_SHARE));
  const quotaMb = memoryMaxMb - UNACCOUNTED_HEADROOM_MB;
  if (quotaMb < 128) {
    throw new Error(
      `a ${input.vmMemoryMb} MB VM leaves ${quotaMb} MB for data after the OS and the runtime: use at least 512 MB`,
    );
  }
  const perKey = bytesPerKey(input.keyBytes, input.valueBytes);
  const forKeys = quotaMb * MB - input.maxLogBytes - HEAP_IN_USE_MB * MB;
  return {
    memoryMaxMb,
    maxMemoryBytes: quotaMb * MB,
    maxOldSpaceMb: 256,
    bytesPerKey: perKey,
    keysCapacity: Math.max(0, Math.floor(forKeys / perKey)),
  };
}
