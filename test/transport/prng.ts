import { EntryType, MessageType, type Entry, type Message } from '../../src/raft/types.js';

/** mulberry32: a tiny seeded PRNG, so every random test replays from its seed. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 2^32). */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  bool(): boolean {
    return (this.u32() & 1) === 1;
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty');
    return items[this.int(items.length)]!;
  }

  /** A non-negative safe integer drawn from several magnitudes (0, small, 2^32 edges, 2^53 - 1). */
  safeUint(): number {
    switch (this.int(6)) {
      case 0:
        return 0;
      case 1:
        return this.int(100);
      case 2:
        return this.u32();
      case 3:
        return 0xffff_ffff + this.int(3);
      case 4:
        return Number.MAX_SAFE_INTEGER - this.int(3);
      default:
        return this.u32() * 0x20_0000 + this.int(0x20_0000);
    }
  }
}

const messageTypes = Object.values(MessageType);

export function randomEntries(rng: Prng, maxCount: number, maxDataBytes: number): Entry[] {
  const count = rng.int(maxCount + 1);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({
      term: rng.safeUint(),
      index: rng.safeUint(),
      type: rng.bool() ? EntryType.Normal : EntryType.ConfChange,
      data: rng.bytes(rng.int(maxDataBytes + 1)),
    });
  }
  return entries;
}

export function randomMessage(rng: Prng): Message {
  const base: Message = {
    type: rng.pick(messageTypes),
    from: 1 + rng.int(1000),
    to: 1 + rng.int(1000),
    term: rng.safeUint(),
    logTerm: rng.safeUint(),
    index: rng.safeUint(),
    entries: rng.int(3) === 0 ? [] : randomEntries(rng, 8, 64),
    commit: rng.safeUint(),
    reject: rng.bool(),
    rejectHint: rng.safeUint(),
    rejectTerm: rng.safeUint(),
    context: rng.safeUint(),
  };
  if (rng.int(4) !== 0) return base;
  const ids = (n: number): number[] => Array.from({ length: n }, () => 1 + rng.int(1_000_000));
  return {
    ...base,
    snapshot: {
      index: rng.safeUint(),
      term: rng.safeUint(),
      confState: { voters: ids(rng.int(7)), learners: ids(rng.int(3)) },
    },
  };
}

/** A small valid message with the given overrides (tests of one field). */
export function message(overrides: Partial<Message> = {}): Message {
  return {
    type: MessageType.Heartbeat,
    from: 1,
    to: 2,
    term: 1,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    rejectTerm: 0,
    context: 0,
    ...overrides,
  };
}
