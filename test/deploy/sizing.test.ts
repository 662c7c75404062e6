import { describe, expect, it } from 'vitest';
import { bytesPerKey, sizeNode } from '../../src/deploy/sizing.js';
import { KvStore } from '../../src/kv/store.js';

describe('memory model (deploy sizing)', () => {
  it("bounds the store's own measured bytes per key from above, closely", () => {
    // The store reports its real footprint (slabs + index arrays); the model is its worst case.
    for (const [keyBytes, valueBytes] of [
      [16, 100],
      [10, 1000],
      [40, 8],
    ] as const) {
      const store = new KvStore();
      const value = Buffer.alloc(valueBytes, 0x61);
      for (let i = 0; i < 300_000; i++) {
        const key = Buffer.from(String(i).padStart(keyBytes, 'k'));
        store.apply({ type: 'set', key, value, mode: 'none', get: false });
      }
      const measured = store.memory().bytesPerKey;
      const model = bytesPerKey(keyBytes, valueBytes);
      expect(measured, `${keyBytes}+${valueBytes}`).toBeLessThanOrEqual(model * 1.02); // slab tails
      expect(measured, `${keyBytes}+${valueBytes}`).toBeGreaterThan(model - 16);
    }
  });

  it('sizes a 1 GB VM: 850 MB unit, 650 MB quota, ~3.5 M keys of 16 + 100 bytes; refuses tiny VMs', () => {
    const s = sizeNode({ vmMemoryMb: 1024, keyBytes: 16, valueBytes: 100, maxLogBytes: 64 * 1024 * 1024 });
    expect(s.memoryMaxMb).toBe(850);
    expect(s.maxMemoryBytes).toBe(650 * 1024 * 1024);
    expect(s.keysCapacity).toBeGreaterThan(3_300_000);
    expect(s.keysCapacity).toBeLessThan(4_000_000);
    expect(() => sizeNode({ vmMemoryMb: 256, keyBytes: 16, valueBytes: 100, maxLogBytes: 1 })).toThrow(
      /use at least 512 MB/,
    );
  });
});
