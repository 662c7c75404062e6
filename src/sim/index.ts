/** Deterministic simulator of a Raft cluster built from the pure core (see simulator.ts). */
export {
  DEFAULT_SIM_STEPS,
  LIVENESS_BOUND_TICKS,
  SimViolation,
  Simulation,
  replayCommand,
  runSimulation,
  type SimOptions,
  type SimResult,
  type SimStats,
} from './simulator.js';
export { InvariantChecker, InvariantViolation, type InvariantName } from './checker.js';
export { LogStore, type LogView } from './log-store.js';
export { SimDisk, type StoredSnapshot } from './disk.js';
export { SimNetwork, HEALTHY_NETWORK, type NetworkFaults } from './network.js';
export {
  RegisterMachine,
  encodeWrite,
  decodeWrite,
  type WriteCommand,
  type RegisterValue,
} from './state-machine.js';
export { EventQueue } from './event-queue.js';
export { chainEntry, EMPTY_PREFIX_HASH } from './hash.js';
export { SimNode, createRaftCore, type SimCore, type CoreFactory } from './sim-node.js';
