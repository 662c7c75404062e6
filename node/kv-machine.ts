/**
 * Adapts the KV store to the host's StateMachine: a committed entry is a batch of client
 * writes, its result the per-command results in order.
 */
import { decodeBatch } from '../src/kv/commands.js';
import { KvStore, type KvResult } from '../src/kv/store.js';
import { SNAPSHOT_CHUNK_BYTES, decodeKvSnapshot, encodeView } from '../src/kv/snapshot.js';
import type { MachineSnapshot, StateMachine } from './host.js';

export class KvMachine implements StateMachine<KvResult[]> {
  /** Replaced wholesale when a snapshot is installed: always read it through this property. */
  store = new KvStore();

  apply(data: Uint8Array): KvResult[] {
    return this.store.applyBatch(decodeBatch(data));
  }

  beginSnapshot(): MachineSnapshot {
    // The view is taken now, at the applied index the host just read; applies continue while
    // the chunks stream (copy-on-write).
    const view = this.store.beginSnapshot();
    // Chunks are reused (valid until the next is pulled): the host hands them to
    // SnapshotStore.write, which copies each before pulling the next.
    return { chunks: encodeView(view, SNAPSHOT_CHUNK_BYTES, true), release: () => view.close() };
  }

  async restore(chunks: AsyncIterable<Uint8Array>): Promise<void> {
    this.store = await decodeKvSnapshot(chunks);
  }
}
