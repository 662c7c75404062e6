/**
 * The simulator must notice a broken core. Each test wraps the real core to inject one bug and
 * checks that some seed among the first few reports the right invariant.
 */
import { describe, expect, it } from 'vitest';
import { MessageType, type Ready, type ReadState } from '../../src/raft/types.js';
import {
  SimViolation,
  createRaftCore,
  runSimulation,
  type CoreFactory,
  type SimCore,
} from '../../src/sim/index.js';

/** A core whose Ready passes through `mapReady` (advance() gets the original back). */
function wrapReady(
  mapReady: (rd: Ready, core: SimCore) => Ready,
  extra?: (core: SimCore) => Partial<SimCore>,
): CoreFactory {
  return (config, boot) => {
    const core = createRaftCore(config, boot);
    const originals = new Map<Ready, Ready>();
    const wrapped: SimCore = {
      ...bindAll(core),
      ready: () => {
        const rd = core.ready();
        const mapped = mapReady(rd, core);
        originals.set(mapped, rd);
        return mapped;
      },
      advance: (rd) => {
        const original = originals.get(rd);
        originals.delete(rd);
        core.advance(original ?? rd);
      },
      status: () => core.status(),
      ...extra?.(core),
    };
    return wrapped;
  };
}

/** Runs seeds until one fails; returns the first violation (or undefined if all pass). */
function firstViolation(
  createCore: CoreFactory,
  nodes: 3 | 5,
  seeds: number,
  steps = 2000,
): SimViolation | undefined {
  for (let seed = 1; seed <= seeds; seed++) {
    try {
      runSimulation({ seed, nodes, steps, createCore });
    } catch (err) {
      if (err instanceof SimViolation) return err;
      throw err;
    }
  }
  return undefined;
}

describe('the simulator catches injected core bugs', () => {
  it('a core that never sends anything: liveness', () => {
    const silent = wrapReady((rd) => ({ ...rd, messages: [], messagesBeforePersist: [] }));
    const v = firstViolation(silent, 3, 1, 200);
    expect(v?.invariant).toBe('liveness');
    expect(v?.message).toMatch(/replay: npm run sim -- --seeds 1 --from 1 --nodes 3/);
  });

  it('a core that acknowledges before persisting: host contract', () => {
    const eager = wrapReady((rd) => ({
      ...rd,
      messagesBeforePersist: [...rd.messagesBeforePersist, ...rd.messages],
      messages: [],
    }));
    expect(firstViolation(eager, 3, 5)?.invariant).toBe('host-contract');
  });

  it('a core that forgets to persist its vote: vote persistence', () => {
    const forgetful = wrapReady((rd) =>
      rd.hardState === undefined ? rd : { ...rd, hardState: { ...rd.hardState, vote: 0 } },
    );
    expect(firstViolation(forgetful, 3, 5)?.invariant).toBe('vote-persistence');
  });

  it('a core that serves reads locally at its commit index (no quorum check): linearizable read', () => {
    const local = new Map<SimCore, ReadState[]>();
    const lazy = wrapReady(
      (rd, core) => {
        const extra = local.get(core) ?? [];
        local.set(core, []);
        return extra.length === 0 ? rd : { ...rd, readStates: [...rd.readStates, ...extra] };
      },
      (core) => ({
        readIndex: (context: number) => {
          const pending = local.get(core) ?? [];
          pending.push({ index: core.status().commitIndex, context });
          local.set(core, pending);
          return true;
        },
        hasReady: () => core.hasReady() || (local.get(core)?.length ?? 0) > 0,
      }),
    );
    const v = firstViolation(lazy, 3, 30);
    expect(v?.invariant).toBe('linearizable-read');
  });

  it('a core that lies about durability of what it acknowledges: durability', () => {
    // Acknowledge one entry more than was sent: the leader counts an entry no follower stored.
    const liar = wrapReady((rd) => ({
      ...rd,
      messages: rd.messages.map((m) =>
        m.type === MessageType.AppResp && !m.reject ? { ...m, index: m.index + 1 } : m,
      ),
    }));
    expect(firstViolation(liar, 3, 10)?.invariant).toBe('durability');
  });

  it('a core that counts its writes durable as soon as it hands them out: durability', () => {
    // advance() at ready() time: the leader counts itself in quorums, and nodes apply, before
    // the fsync. Only a host that keeps Readies in flight across fsyncs gives this away.
    const hasty: CoreFactory = (config, boot) => {
      const core = createRaftCore(config, boot);
      return {
        ...bindAll(core),
        ready: () => {
          const rd = core.ready();
          core.advance(rd);
          return rd;
        },
        advance: () => undefined,
      };
    };
    const v = firstViolation(hasty, 3, 20);
    expect(['durability', 'state-machine-safety']).toContain(v?.invariant);
  });
});

function bindAll(core: SimCore): SimCore {
  return {
    tick: () => core.tick(),
    step: (m) => core.step(m),
    propose: (d) => core.propose(d),
    proposeConfChange: (cc) => core.proposeConfChange(cc),
    readIndex: (ctx) => core.readIndex(ctx),
    transferLeadership: (to) => core.transferLeadership(to),
    appliedSnapshotMeta: () => core.appliedSnapshotMeta(),
    compact: (i) => core.compact(i),
    reportSnapshotStatus: (to, ok) => core.reportSnapshotStatus(to, ok),
    reportUnreachable: (to) => core.reportUnreachable(to),
    hasReady: () => core.hasReady(),
    ready: () => core.ready(),
    advance: (rd) => core.advance(rd),
    status: () => core.status(),
  };
}
