import type { Entry } from '../raft/types.js';
import { EntryType } from '../raft/types.js';
import { EMPTY_PREFIX_HASH, finish, mix } from './hash.js';

/** First byte of a simulated client write. */
const WRITE_TAG = 0x57;
const WRITE_HEADER_BYTES = 8;
export const MAX_WRITE_PADDING_BYTES = 256;

export interface WriteCommand {
  readonly writeId: number;
  readonly key: number;
}

/** A client write: tag u8 | writeId u32 LE | key u16 LE | pad u8 | padding bytes. */
export function encodeWrite(writeId: number, key: number, paddingBytes: number): Uint8Array {
  if (paddingBytes < 0 || paddingBytes > MAX_WRITE_PADDING_BYTES) {
    throw new Error(`invariant: write padding ${paddingBytes} out of range`);
  }
  const data = new Uint8Array(WRITE_HEADER_BYTES + paddingBytes);
  const view = new DataView(data.buffer);
  data[0] = WRITE_TAG;
  view.setUint32(1, writeId, true);
  view.setUint16(5, key, true);
  for (let i = WRITE_HEADER_BYTES; i < data.length; i++) data[i] = (writeId + i) & 0xff;
  return data;
}

export function decodeWrite(entry: Entry): WriteCommand | undefined {
  if (
    entry.type !== EntryType.Normal ||
    entry.data.length < WRITE_HEADER_BYTES ||
    entry.data[0] !== WRITE_TAG
  ) {
    return undefined;
  }
  const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
  return { writeId: view.getUint32(1, true), key: view.getUint16(5, true) };
}

/** What a register holds: the write that set it and that write's log index. */
export interface RegisterValue {
  readonly writeId: number;
  readonly index: number;
}

const NO_VALUE: RegisterValue = { writeId: 0, index: 0 };

function registerHash(key: number, value: RegisterValue): number {
  return finish(mix(mix(mix(0x2545f491, key), value.writeId), value.index));
}

/**
 * The replicated state machine of the simulation: a map of registers, each set by the last
 * write to its key. It carries the prefix hash of what it applied and an order-independent hash
 * of its contents, so two replicas (or a replica and a snapshot) can be compared in O(1).
 */
export class RegisterMachine {
  applied = 0;
  /** Prefix hash of the log up to `applied`. */
  appliedHash = EMPTY_PREFIX_HASH;
  /** XOR of registerHash over all registers (unsigned 32-bit). */
  stateHash = 0;
  private readonly registers = new Map<number, RegisterValue>();

  get(key: number): RegisterValue {
    return this.registers.get(key) ?? NO_VALUE;
  }

  /** Applies one committed entry; `prefixHash` is the log's prefix hash at entry.index. */
  apply(entry: Entry, prefixHash: number): WriteCommand | undefined {
    if (entry.index !== this.applied + 1) {
      throw new Error(`invariant: state machine applies ${entry.index} after ${this.applied}`);
    }
    this.applied = entry.index;
    this.appliedHash = prefixHash;
    const cmd = decodeWrite(entry);
    if (cmd === undefined) return undefined;
    const old = this.registers.get(cmd.key);
    if (old !== undefined) this.stateHash = (this.stateHash ^ registerHash(cmd.key, old)) >>> 0;
    const value: RegisterValue = { writeId: cmd.writeId, index: entry.index };
    this.registers.set(cmd.key, value);
    this.stateHash = (this.stateHash ^ registerHash(cmd.key, value)) >>> 0;
    return cmd;
  }

  /** applied u32 | appliedHash u32 | stateHash u32 | count u32 | (key u32, writeId u32, index u32)* */
  serialize(): Uint8Array {
    const bytes = new Uint8Array(16 + 12 * this.registers.size);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.applied, true);
    view.setUint32(4, this.appliedHash, true);
    view.setUint32(8, this.stateHash, true);
    view.setUint32(12, this.registers.size, true);
    let at = 16;
    for (const [key, value] of this.registers) {
      view.setUint32(at, key, true);
      view.setUint32(at + 4, value.writeId, true);
      view.setUint32(at + 8, value.index, true);
      at += 12;
    }
    return bytes;
  }

  static deserialize(bytes: Uint8Array): RegisterMachine {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const machine = new RegisterMachine();
    machine.applied = view.getUint32(0, true);
    const appliedHash = view.getUint32(4, true);
    const stateHash = view.getUint32(8, true);
    const count = view.getUint32(12, true);
    let at = 16;
    for (let i = 0; i < count; i++) {
      const key = view.getUint32(at, true);
      const value = { writeId: view.getUint32(at + 4, true), index: view.getUint32(at + 8, true) };
      machine.registers.set(key, value);
      machine.stateHash = (machine.stateHash ^ registerHash(key, value)) >>> 0;
      at += 12;
    }
    machine.appliedHash = appliedHash;
    if (machine.stateHash !== stateHash) {
      throw new Error('invariant: snapshot bytes do not match their own state hash');
    }
    return machine;
  }
}
