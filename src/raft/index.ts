export * from './types.js';
export { createRng } from './rng.js';
export { RaftCore, CAMPAIGN_TRANSFER_CONTEXT } from './raft.js';
export { encodeConfChange, decodeConfChange, applyConfChange } from './confchange.js';
