/**
 * HashIndex: key hash → arena location, an open-addressing table of locations (one Uint32Array;
 * each key's hash is kept in its record and read through `hashAt`, which saves 4 bytes a slot).
 *
 * - A key's home slot is the TOP bits of its 32-bit hash, and probing is linear without
 *   wrap-around (the arrays have PROBE_SLACK extra slots at the end). So a slot never holds a key
 *   whose home is after it, and a run of occupied slots is what a lookup walks. This order is
 *   what SCAN relies on: the keys with hashes in [a, b) sit between home(a) and the first empty
 *   slot after home(b − 1), in every table size.
 * - Deletion shifts later members of the run back (no tombstones, so probe runs stay short).
 * - Growth is incremental: when the load passes MAX_LOAD a table twice the size is allocated and
 *   every later mutation moves a few runs of the old table into it; lookups see both. Old slots
 *   below the migration point are empty and the point always sits on an empty slot, so a key
 *   still in the old table has its home at or after the point.
 *
 * The index stores no keys: `matches(loc)` (given by the store) compares a candidate's key bytes.
 */

const MIN_CAPACITY = 1024;
const MAX_LOAD = 0.75;
/** Slots past the last home slot: a probe run that would cross them forces a synchronous grow. */
const PROBE_SLACK = 512;
/** Old slots moved per mutation while growing: finishes well before the new table fills. */
const MIGRATE_SLOTS_PER_STEP = 32;
export const EMPTY = 0;

class Table {
  readonly locs: Uint32Array;
  readonly shift: number;
  count = 0;
  constructor(readonly capacity: number) {
    if ((capacity & (capacity - 1)) !== 0) throw new Error('invariant: capacity not a power of two');
    this.locs = new Uint32Array(capacity + PROBE_SLACK);
    this.shift = 32 - Math.log2(capacity);
  }
  home(hash: number): number {
    // `>>> 32` is a no-op in JS, so a 1-slot table is not allowed (MIN_CAPACITY).
    return hash >>> this.shift;
  }
  get slots(): number {
    return this.locs.length;
  }
}

/** Receives a candidate location for a hash; true if it holds the key sought. */
export type LocMatcher = (loc: number) => boolean;
/** The hash of the key stored at a location. */
export type HashAt = (loc: number) => number;

export class HashIndex {
  private table = new Table(MIN_CAPACITY);
  /** The table being drained into `table` while growing, or null. */
  private old: Table | null = null;
  /** Old slots below this are migrated (empty); always an empty slot or the end. */
  private migrated = 0;

  constructor(private readonly hashAt: HashAt) {}

  get size(): number {
    return this.table.count + (this.old?.count ?? 0);
  }

  /** Bytes held by the typed arrays. */
  get bytes(): number {
    return (this.table.slots + (this.old?.slots ?? 0)) * 4;
  }

  get growing(): boolean {
    return this.old !== null;
  }

  /** Location of the key with this hash for which `matches` holds, or EMPTY. */
  find(hash: number, matches: LocMatcher): number {
    const inNew = this.findSlot(this.table, hash, matches, 0);
    if (inNew >= 0) return this.table.locs[inNew]!;
    const old = this.old;
    if (old !== null) {
      const s = this.findSlot(old, hash, matches, this.migrated);
      if (s >= 0) return old.locs[s]!;
    }
    return EMPTY;
  }

  /**
   * Points the key at `loc`: replaces the location of a present key (returns its old location)
   * or inserts it (returns EMPTY).
   */
  set(hash: number, loc: number, matches: LocMatcher): number {
    if (loc === EMPTY) throw new Error('invariant: location 0 is reserved');
    this.migrateStep();
    const t = this.table;
    const s = this.findSlot(t, hash, matches, 0);
    if (s >= 0) {
      const prev = t.locs[s]!;
      t.locs[s] = loc;
      return prev;
    }
    let prev = EMPTY;
    const old = this.old;
    if (old !== null) {
      const os = this.findSlot(old, hash, matches, this.migrated);
      if (os >= 0) {
        prev = old.locs[os]!;
        this.removeSlot(old, os);
      }
    }
    this.insertNew(hash, loc);
    return prev;
  }

  /**
   * Inserts the key at `loc` unless present (then returns false, changing nothing): one probe
   * walk instead of find() + set(), for bulk loads (snapshot restore).
   */
  insertIfAbsent(hash: number, loc: number, matches: LocMatcher): boolean {
    if (loc === EMPTY) throw new Error('invariant: location 0 is reserved');
    this.migrateStep();
    const old = this.old;
    if (old !== null && this.findSlot(old, hash, matches, this.migrated) >= 0) return false;
    if (this.old === null && this.table.count + 1 > this.table.capacity * MAX_LOAD) {
      if (this.findSlot(this.table, hash, matches, 0) >= 0) return false;
      this.insertNew(hash, loc);
      return true;
    }
    const t = this.table;
    const locs = t.locs;
    for (let s = t.home(hash); s < locs.length; s++) {
      const at = locs[s]!;
      if (at === EMPTY) {
        locs[s] = loc;
        t.count++;
        return true;
      }
      if (this.hashAt(at) === hash && matches(at)) return false;
    }
    // The run reached the end of the slack: let insertNew grow the table.
    this.insertNew(hash, loc);
    return true;
  }

  /** Removes the key; returns its location or EMPTY if absent. */
  delete(hash: number, matches: LocMatcher): number {
    this.migrateStep();
    const s = this.findSlot(this.table, hash, matches, 0);
    if (s >= 0) {
      const loc = this.table.locs[s]!;
      this.removeSlot(this.table, s);
      return loc;
    }
    const old = this.old;
    if (old !== null) {
      const os = this.findSlot(old, hash, matches, this.migrated);
      if (os >= 0) {
        const loc = old.locs[os]!;
        this.removeSlot(old, os);
        return loc;
      }
    }
    return EMPTY;
  }

  /** Changes the location of the entry at `from` (compaction moved its record). */
  relocate(hash: number, from: number, to: number): void {
    const isFrom: LocMatcher = (l) => l === from;
    let s = this.findSlot(this.table, hash, isFrom, 0);
    if (s >= 0) {
      this.table.locs[s] = to;
      return;
    }
    const old = this.old;
    if (old !== null) {
      s = this.findSlot(old, hash, isFrom, this.migrated);
      if (s >= 0) {
        old.locs[s] = to;
        return;
      }
    }
    throw new Error(`invariant: relocated record ${from} not in the index`);
  }

  /** Calls fn(loc) for every entry; no mutation may happen meanwhile. */
  forEach(fn: (loc: number) => void): void {
    for (const t of this.tables()) {
      const locs = t.locs;
      for (let i = 0; i < locs.length; i++) if (locs[i] !== EMPTY) fn(locs[i]!);
    }
  }

  /** A copy of every location, in table order (what a snapshot view iterates). */
  copyLocations(): Uint32Array {
    const out = new Uint32Array(this.size);
    let n = 0;
    for (const t of this.tables()) {
      const locs = t.locs;
      for (let i = 0; i < locs.length; i++) {
        const loc = locs[i]!;
        if (loc !== EMPTY) out[n++] = loc;
      }
    }
    if (n !== out.length) throw new Error(`invariant: index counted ${out.length}, found ${n}`);
    return out;
  }

  /**
   * Calls fn(loc) for every entry whose hash lies in [from, to) (hash space is 0..2^32), visiting
   * each exactly once. Correct in any table size and mid-growth: see the file comment.
   */
  forEachInHashRange(from: number, to: number, fn: (loc: number) => void): void {
    if (!(from >= 0 && to <= 2 ** 32 && from < to)) throw new Error(`invariant: hash range [${from}, ${to})`);
    for (const t of this.tables()) {
      const lastHome = t.home(to - 1);
      const locs = t.locs;
      for (let s = t.home(from); s < t.slots; s++) {
        const loc = locs[s]!;
        if (loc === EMPTY) {
          if (s > lastHome) break;
          continue;
        }
        const h = this.hashAt(loc);
        if (h >= from && h < to) fn(loc);
      }
    }
  }

  /** Longest run of occupied slots in any table: the worst probe length (diagnostics, tests). */
  longestRun(): number {
    let longest = 0;
    for (const t of this.tables()) {
      let run = 0;
      for (let s = 0; s < t.slots; s++) {
        run = t.locs[s] === EMPTY ? 0 : run + 1;
        if (run > longest) longest = run;
      }
    }
    return longest;
  }

  /**
   * Makes room for `keys` keys at once (growing synchronously if needed): for bulk loads such as
   * a snapshot restore, which then run without growth steps.
   */
  reserve(keys: number): void {
    let capacity = this.table.capacity;
    while (keys > capacity * MAX_LOAD) capacity *= 2;
    if (capacity === this.table.capacity) return;
    this.finishGrowth();
    this.old = this.table;
    this.table = new Table(capacity);
    this.migrated = 0;
    this.finishGrowth();
  }

  // ---- internals ----------------------------------------------------------------------------

  private *tables(): Generator<Table> {
    yield this.table;
    if (this.old !== null) yield this.old;
  }

  private findSlot(t: Table, hash: number, matches: LocMatcher, minHome: number): number {
    const home = t.home(hash);
    if (home < minHome) return -1;
    const locs = t.locs;
    const hashAt = this.hashAt;
    for (let s = home; s < locs.length; s++) {
      const loc = locs[s]!;
      if (loc === EMPTY) return -1;
      if (hashAt(loc) === hash && matches(loc)) return s;
    }
    return -1;
  }

  /** Backward-shift deletion: later members of the run whose home allows it move up. */
  private removeSlot(t: Table, slot: number): void {
    const locs = t.locs;
    let hole = slot;
    for (let s = slot + 1; s < locs.length; s++) {
      const loc = locs[s]!;
      if (loc === EMPTY) break;
      if (t.home(this.hashAt(loc)) <= hole) {
        locs[hole] = loc;
        hole = s;
      }
    }
    locs[hole] = EMPTY;
    t.count--;
  }

  private insertNew(hash: number, loc: number): void {
    let t = this.table;
    if (this.old === null && t.count + 1 > t.capacity * MAX_LOAD) {
      this.startGrowth();
      t = this.table;
    }
    if (!this.place(t, hash, loc)) {
      // A probe run reached the end of the slack: extremely unlikely with a good hash; grow now.
      this.finishGrowth();
      this.startGrowth();
      this.finishGrowth();
      if (!this.place(this.table, hash, loc)) throw new Error('invariant: no slot after growth');
    }
  }

  private place(t: Table, hash: number, loc: number): boolean {
    const locs = t.locs;
    for (let s = t.home(hash); s < locs.length; s++) {
      if (locs[s] === EMPTY) {
        locs[s] = loc;
        t.count++;
        return true;
      }
    }
    return false;
  }

  private startGrowth(): void {
    if (this.old !== null) this.finishGrowth();
    this.old = this.table;
    this.table = new Table(this.old.capacity * 2);
    this.migrated = 0;
  }

  private finishGrowth(): void {
    while (this.old !== null) this.migrateSlots(Number.MAX_SAFE_INTEGER);
  }

  /** One bounded step of growth, run by every mutation. */
  private migrateStep(): void {
    if (this.old !== null) this.migrateSlots(MIGRATE_SLOTS_PER_STEP);
  }

  /** Moves at least `slots` old slots, then on to the next empty slot (a run boundary). */
  private migrateSlots(slots: number): void {
    const old = this.old!;
    const end = Math.min(old.slots, this.migrated + slots);
    let s = this.migrated;
    const locs = old.locs;
    for (; s < old.slots && (s < end || locs[s] !== EMPTY); s++) {
      const loc = locs[s]!;
      if (loc === EMPTY) continue;
      if (!this.place(this.table, this.hashAt(loc), loc))
        throw new Error('invariant: a doubled table has no slot for a migrated key');
      locs[s] = EMPTY;
      old.count--;
    }
    this.migrated = s;
    if (s >= old.slots) {
      if (old.count !== 0) throw new Error(`invariant: ${old.count} keys left in the old table`);
      this.old = null;
      this.migrated = 0;
    }
  }
}

/**
 * 32-bit hash of bytes[start, end): FNV-1a, then murmur3's finalizer so the top bits (the home
 * slot) depend on every byte. Fixed (unseeded) so every replica lays keys out alike and a SCAN
 * cursor means the same on every node.
 */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
