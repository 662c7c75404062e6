/** Peer transport: what node/host.ts uses to move Raft traffic between nodes. */
export {
  PeerTransport,
  type PeerAddress,
  type PeerStats,
  type PeerTransportOptions,
} from './peer-transport.js';
export { FrameError, type FrameErrorCode } from './frame-error.js';
export { decodeMessage, encodeMessage, entriesBlockCacheStats } from './codec.js';
export { HandshakeError, PROTOCOL_VERSION } from './handshake.js';
