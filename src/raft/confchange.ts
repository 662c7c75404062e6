import { ConfChangeType, type ConfChange, type ConfState, type NodeId } from './types.js';

/** Wire/log format of a ConfChange: `type u8 | nodeId u32 little-endian` (5 bytes). */
const CONF_CHANGE_BYTES = 5;

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (!isValidNodeId(cc.nodeId))
    throw new Error(`invariant: conf change node id must be a u32 > 0, got ${cc.nodeId}`);
  const out = new Uint8Array(CONF_CHANGE_BYTES);
  out[0] = cc.type;
  new DataView(out.buffer).setUint32(1, cc.nodeId, true);
  return out;
}

/** Decodes a ConfChange; throws on bytes that encodeConfChange cannot have produced. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const cc = tryDecodeConfChange(data);
  if (cc === undefined) throw new Error(`invalid conf change encoding (${data.byteLength} bytes)`);
  return cc;
}

/** Like decodeConfChange but returns undefined instead of throwing (the core treats such entries as no-ops). */
export function tryDecodeConfChange(data: Uint8Array): ConfChange | undefined {
  if (data.byteLength !== CONF_CHANGE_BYTES) return undefined;
  const type = data[0];
  if (
    type !== ConfChangeType.AddVoter &&
    type !== ConfChangeType.RemoveNode &&
    type !== ConfChangeType.AddLearner
  ) {
    return undefined;
  }
  const nodeId = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1, true);
  if (!isValidNodeId(nodeId)) return undefined;
  return { type, nodeId };
}

function isValidNodeId(id: number): boolean {
  return Number.isInteger(id) && id > 0 && id <= 0xffff_ffff;
}

/**
 * The configuration after `cc`. Deterministic and total: a change that would remove the last
 * voter is ignored (returns `conf` unchanged), so every node computes the same configuration
 * from the same log. Returned arrays are new and sorted; `conf` is never mutated.
 */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  const id = cc.nodeId;
  const voters = conf.voters.filter((v) => v !== id);
  const learners = conf.learners.filter((l) => l !== id);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      voters.push(id);
      break;
    case ConfChangeType.AddLearner:
      learners.push(id);
      break;
    case ConfChangeType.RemoveNode:
      break;
  }
  // Never leave a configuration without voters (a node would have no quorum to reach). A
  // configuration that had none yet (a node bootstrapping or joining) may gain learners first.
  if (voters.length === 0 && conf.voters.length > 0) return conf;
  voters.sort((x, y) => x - y);
  learners.sort((x, y) => x - y);
  return { voters, learners };
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}
