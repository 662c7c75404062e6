export * from './types.js';
export { createRng } from './rng.js';
export { RaftCore, CAMPAIGN_TRANSFER_CONTEXT, MAX_INFLIGHT_READIES } from './raft.js';
export { encodeConfChange, decodeConfChange, applyConfChange } from './confchange.js';
