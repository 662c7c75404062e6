/**
 * Arena: the byte home of every key and value of the state machine, so that the store holds a
 * few hundred large Buffers instead of millions of small objects for the GC to trace.
 *
 * Memory is a list of slabs (SLAB_BYTES each). A record or a free chunk starts on a 4-byte
 * boundary and is addressed by a location: a 32-bit word address, `slab * SLAB_WORDS + word`,
 * never 0 (word 0 of slab 0 is reserved, so 0 can mean "empty" in the index).
 *
 * Record (live):  w0 = flags << 28 | keyLength (bit 31 clear; keys < 256 MiB) | w1 = valueLength
 *                 | w2 = the key's hash (the index keeps only locations) | w3 = version
 *                 [w4..w5 = expiry ms as f64, when FLAG_EXPIRY — reserved for TTL]
 *                 then key bytes + value bytes, or (FLAG_LARGE) one word: the id of an
 *                 out-of-line Buffer holding key + value (records larger than INLINE_MAX_BYTES).
 * Free chunk:     w0 = FREE_BIT | sizeWords | w1 = next | w2 = prev (chunks of ≥ 3 words are on
 *                 the doubly linked free list of their exact size; 1–2 word chunks are padding).
 *
 * Every slab is walkable record by record (sizes are derivable from w0..w2), which is what
 * compaction needs: it empties the emptiest slab a few records at a time, moving each live record
 * elsewhere and telling the index its new location.
 */

export const SLAB_BYTES = 1024 * 1024;
export const SLAB_WORDS = SLAB_BYTES / 4;
/** Records larger than this live out of line (own Buffer): bounds a slab's unusable tail. */
export const INLINE_MAX_BYTES = 4096;
const INLINE_MAX_WORDS = INLINE_MAX_BYTES / 4;
export const HEADER_WORDS = 4;
const FREE_BIT = 0x80000000;
const SIZE_MASK = 0x7fffffff;
export const FLAG_LARGE = 1;
export const FLAG_EXPIRY = 2;
const FLAGS_SHIFT = 28;
const KEY_LENGTH_MASK = (1 << FLAGS_SHIFT) - 1;
/** Longest key a record can hold (28 bits of w0). */
export const MAX_KEY_BYTES = KEY_LENGTH_MASK;

/** w0 of a live record. */
export function headWord(keyLength: number, flags: number): number {
  if (keyLength > KEY_LENGTH_MASK) throw new Error(`invariant: key of ${keyLength} bytes`);
  return ((flags << FLAGS_SHIFT) | keyLength) >>> 0;
}
export function keyLengthOf(w0: number): number {
  return w0 & KEY_LENGTH_MASK;
}
export function flagsOf(w0: number): number {
  return (w0 >>> FLAGS_SHIFT) & 7;
}
/** Words of the live record whose first two words are w0, w1. */
export function liveRecordWords(w0: number, w1: number): number {
  return recordWords(keyLengthOf(w0), w1, flagsOf(w0));
}
/** A free chunk needs w0..w2 to be linked. */
const MIN_LISTED_WORDS = 3;
const NIL = 0;

export interface ArenaStats {
  /** Bytes of slabs allocated (including free space) plus out-of-line buffers. */
  readonly reservedBytes: number;
  /** Bytes of live records (inline) and out-of-line buffers. */
  readonly liveBytes: number;
  /** Bytes of free chunks inside slabs (reusable; compaction returns them). */
  readonly freeBytes: number;
  readonly slabs: number;
  readonly largeValues: number;
}

/** Words a live record occupies, from its lengths and flags. */
export function recordWords(keyLength: number, valueLength: number, flags: number): number {
  const head = HEADER_WORDS + ((flags & FLAG_EXPIRY) !== 0 ? 2 : 0);
  return (flags & FLAG_LARGE) !== 0 ? head + 1 : head + ((keyLength + valueLength + 3) >>> 2);
}

/** Whether a record with these lengths must live out of line. */
export function needsLarge(keyLength: number, valueLength: number): boolean {
  return (HEADER_WORDS << 2) + keyLength + valueLength > INLINE_MAX_BYTES;
}

export class Arena {
  /** Slab bytes; null for a slab released by compaction (its index is reused first). */
  private readonly slabs: (Buffer | null)[] = [];
  /** Word views of the same slabs. */
  private readonly words: (Uint32Array | null)[] = [];
  /** Live bytes per slab: compaction picks the emptiest. */
  private slabLive: number[] = [];
  private readonly largeValues: (Buffer | undefined)[] = [];
  private readonly largeFreeIds: number[] = [];
  private largeBytes = 0;
  /** Head location of the free list of each exact chunk size in words (index = words). */
  private readonly freeHeads = new Uint32Array(INLINE_MAX_WORDS + 8);
  private freeWords = 0;
  private liveWords = 0;
  /** Bump pointer: slab and next free word in it. */
  private bumpSlab = -1;
  private bumpWord = SLAB_WORDS;
  private slabCount = 0;
  /** Slab being emptied by compaction (-1 if none) and the next word to look at in it. */
  private evacuating = -1;
  private evacuateWord = 0;

  constructor() {
    this.newBumpSlab();
    // Reserve word 0 of slab 0: location 0 means "empty" to the index.
    this.bumpWord = 1;
    this.markPadding(0, 0, 1);
  }

  // ---- addressing ---------------------------------------------------------------------------

  /** The slab's bytes and the byte offset of location `loc` in it. */
  slabOf(loc: number): Buffer {
    return this.slabs[Math.floor(loc / SLAB_WORDS)]!;
  }

  wordsOf(loc: number): Uint32Array {
    return this.words[Math.floor(loc / SLAB_WORDS)]!;
  }

  /** Word offset of `loc` in its slab. */
  static wordIn(loc: number): number {
    return loc % SLAB_WORDS;
  }

  largeValue(id: number): Buffer {
    const b = this.largeValues[id];
    if (b === undefined) throw new Error(`invariant: out-of-line value ${id} missing`);
    return b;
  }

  // ---- allocation ---------------------------------------------------------------------------

  /**
   * Allocates a record of `sizeWords` (≤ INLINE_MAX_WORDS + 2) and returns its location. The
   * caller writes the header at once (a slab must stay walkable).
   */
  alloc(sizeWords: number): number {
    if (sizeWords < MIN_LISTED_WORDS || sizeWords > INLINE_MAX_WORDS + 6)
      throw new Error(`invariant: record of ${sizeWords} words`);
    const head = this.freeHeads[sizeWords]!;
    if (head !== NIL) {
      this.unlink(head, sizeWords);
      this.freeWords -= sizeWords;
      this.liveWords += sizeWords;
      this.slabLive[Math.floor(head / SLAB_WORDS)]! += sizeWords;
      return head;
    }
    if (this.bumpWord + sizeWords > SLAB_WORDS) {
      // Leave the tail as a free chunk (or padding) so the slab stays walkable.
      const rest = SLAB_WORDS - this.bumpWord;
      if (rest > 0) this.release(this.bumpSlab * SLAB_WORDS + this.bumpWord, rest, false);
      this.newBumpSlab();
    }
    const loc = this.bumpSlab * SLAB_WORDS + this.bumpWord;
    this.bumpWord += sizeWords;
    this.liveWords += sizeWords;
    this.slabLive[this.bumpSlab]! += sizeWords;
    return loc;
  }

  /** Frees a live record (and its out-of-line buffer, if any). */
  free(loc: number): void {
    const w = this.wordsOf(loc);
    const o = Arena.wordIn(loc);
    if ((w[o]! & FREE_BIT) !== 0) throw new Error(`invariant: double free at ${loc}`);
    const size = liveRecordWords(w[o]!, w[o + 1]!);
    if ((flagsOf(w[o]!) & FLAG_LARGE) !== 0) this.freeLarge(w[o + size - 1]!);
    this.liveWords -= size;
    this.release(loc, size, true);
  }

  /** Stores an out-of-line key + value buffer and returns its id. */
  addLarge(bytes: Buffer): number {
    this.largeBytes += bytes.length;
    const id = this.largeFreeIds.pop();
    if (id !== undefined) {
      this.largeValues[id] = bytes;
      return id;
    }
    this.largeValues.push(bytes);
    return this.largeValues.length - 1;
  }

  private freeLarge(id: number): void {
    const b = this.largeValue(id);
    this.largeBytes -= b.length;
    this.largeValues[id] = undefined;
    this.largeFreeIds.push(id);
  }

  /** Bytes of slabs allocated (free space included) plus out-of-line buffers: O(1), no allocation. */
  get reservedBytes(): number {
    return this.slabCount * SLAB_BYTES + this.largeBytes;
  }

  stats(): ArenaStats {
    return {
      reservedBytes: this.reservedBytes,
      liveBytes: this.liveWords * 4 + this.largeBytes,
      freeBytes: this.freeWords * 4,
      slabs: this.slabCount,
      largeValues: this.largeValues.length - this.largeFreeIds.length,
    };
  }

  // ---- compaction ---------------------------------------------------------------------------

  /** Whether free space is worth returning: more than a quarter of the slabs, and ≥ 4 slabs. */
  get fragmented(): boolean {
    const freeBytes = this.freeWords * 4;
    return (
      this.evacuating >= 0 || (freeBytes >= 4 * SLAB_BYTES && freeBytes * 4 > this.slabCount * SLAB_BYTES)
    );
  }

  /**
   * Moves up to `maxRecords` live records out of the emptiest slab (chosen on the first call of a
   * round), calling `moved(oldLoc, newLoc)` for each so the index can follow; when the slab is
   * empty it is released. Returns the number of records moved. Must not run while a snapshot
   * view relies on record locations staying put.
   */
  compactStep(maxRecords: number, moved: (from: number, to: number) => void): number {
    if (this.evacuating < 0 && !this.pickVictim()) return 0;
    const slab = this.evacuating;
    const w = this.words[slab]!;
    const buf = this.slabs[slab]!;
    let n = 0;
    let o = this.evacuateWord;
    while (o < SLAB_WORDS && n < maxRecords) {
      const w0 = w[o]!;
      if ((w0 & FREE_BIT) !== 0) {
        const size = w0 & SIZE_MASK;
        if (size === 0) break; // never-written tail of the bump slab (cannot be the victim)
        o += size;
        continue;
      }
      const size = liveRecordWords(w0, w[o + 1]!);
      const to = this.alloc(size);
      const tw = this.wordsOf(to);
      const to0 = Arena.wordIn(to);
      buf.copy(this.slabOf(to), to0 * 4, o * 4, (o + size) * 4);
      if (tw[to0] !== w0) throw new Error('invariant: record copy mismatch');
      // The index follows first (it reads the key's hash in the source's header), then the
      // source becomes padding (not listed: the whole slab goes away).
      moved(slab * SLAB_WORDS + o, to);
      w[o] = FREE_BIT | size;
      this.liveWords -= size;
      this.slabLive[slab]! -= size;
      o += size;
      n++;
    }
    this.evacuateWord = o;
    if (o >= SLAB_WORDS) {
      if (this.slabLive[slab] !== 0) throw new Error(`invariant: evacuated slab ${slab} still live`);
      this.slabs[slab] = null;
      this.words[slab] = null;
      this.slabCount--;
      this.evacuating = -1;
    }
    return n;
  }

  private pickVictim(): boolean {
    let best = -1;
    for (let s = 0; s < this.slabs.length; s++) {
      if (this.slabs[s] === null || s === this.bumpSlab || s === 0) continue;
      if (best < 0 || this.slabLive[s]! < this.slabLive[best]!) best = s;
    }
    // Only worth it if the slab is at most 3/4 full.
    if (best < 0 || this.slabLive[best]! * 4 > SLAB_WORDS * 3) return false;
    // Its free chunks stop being allocatable: take them off their lists now.
    const w = this.words[best]!;
    for (let o = 0; o < SLAB_WORDS;) {
      const w0 = w[o]!;
      if ((w0 & FREE_BIT) !== 0) {
        const size = w0 & SIZE_MASK;
        if (size === 0) throw new Error(`invariant: unwritten space in full slab ${best} at word ${o}`);
        if (size >= MIN_LISTED_WORDS) this.unlink(best * SLAB_WORDS + o, size);
        this.freeWords -= size >= MIN_LISTED_WORDS ? size : 0;
        o += size;
      } else {
        o += liveRecordWords(w0, w[o + 1]!);
      }
    }
    this.evacuating = best;
    this.evacuateWord = 0;
    return true;
  }

  // ---- internals ----------------------------------------------------------------------------

  private newBumpSlab(): void {
    let s = this.slabs.indexOf(null);
    const buf = Buffer.allocUnsafeSlow(SLAB_BYTES);
    const words = new Uint32Array(buf.buffer, buf.byteOffset, SLAB_WORDS);
    // Word 0 of the unwritten rest reads as "free, size 0": a walker stops there.
    words.fill(0);
    words[0] = FREE_BIT;
    if (s < 0) {
      s = this.slabs.length;
      this.slabs.push(buf);
      this.words.push(words);
      this.slabLive.push(0);
    } else {
      this.slabs[s] = buf;
      this.words[s] = words;
      this.slabLive[s] = 0;
    }
    this.slabCount++;
    this.bumpSlab = s;
    this.bumpWord = 0;
  }

  private markPadding(slab: number, word: number, size: number): void {
    this.words[slab]![word] = FREE_BIT | size;
  }

  /** Turns [loc, loc+size) into a free chunk; wasLive: it held a live record of this slab. */
  private release(loc: number, size: number, wasLive: boolean): void {
    const slab = Math.floor(loc / SLAB_WORDS);
    const o = loc % SLAB_WORDS;
    const w = this.words[slab]!;
    if (wasLive) this.slabLive[slab]! -= size;
    w[o] = FREE_BIT | size;
    if (slab === this.evacuating) return; // the slab is on its way out: no list
    if (size < MIN_LISTED_WORDS || size >= this.freeHeads.length) return; // padding
    const head = this.freeHeads[size]!;
    w[o + 1] = head;
    w[o + 2] = NIL;
    if (head !== NIL) this.wordsOf(head)[Arena.wordIn(head) + 2] = loc;
    this.freeHeads[size] = loc;
    this.freeWords += size;
  }

  private unlink(loc: number, size: number): void {
    const w = this.wordsOf(loc);
    const o = Arena.wordIn(loc);
    const next = w[o + 1]!;
    const prev = w[o + 2]!;
    if (prev === NIL) {
      if (this.freeHeads[size] !== loc) throw new Error(`invariant: free chunk ${loc} not at its list head`);
      this.freeHeads[size] = next;
    } else {
      this.wordsOf(prev)[Arena.wordIn(prev) + 1] = next;
    }
    if (next !== NIL) this.wordsOf(next)[Arena.wordIn(next) + 2] = prev;
  }
}
