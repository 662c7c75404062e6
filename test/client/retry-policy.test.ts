import { describe, expect, it } from 'vitest';

import {
  backoffDelayMs,
  classifyReplyError,
  isReadOnlyCommand,
  mayRetry,
} from '../../src/client/retry-policy.js';

describe('retry policy', () => {
  it('reads MOVED and TRYAGAIN, and treats other errors as final', () => {
    expect(classifyReplyError('MOVED 0 127.0.0.1:7011')).toEqual({
      kind: 'moved',
      address: '127.0.0.1:7011',
    });
    expect(classifyReplyError('TRYAGAIN no leader')).toEqual({ kind: 'tryagain' });
    expect(classifyReplyError('TIMEOUT forwarding to leader 2 failed, outcome unknown: closed')).toEqual({
      kind: 'unknown-outcome',
    });
    expect(classifyReplyError('WRONGTYPE Operation against a key')).toEqual({ kind: 'reply-error' });
    expect(classifyReplyError('ERR MOVED is not a thing')).toEqual({ kind: 'reply-error' });
  });

  it('retries writes only when the failure proves they were not applied', () => {
    const write = isReadOnlyCommand('set');
    const read = isReadOnlyCommand('GET');
    expect([write, read, isReadOnlyCommand('incr'), isReadOnlyCommand('mget')]).toEqual([
      false,
      true,
      false,
      true,
    ]);
    expect(mayRetry({ kind: 'moved', address: 'h:1' }, write)).toBe(true);
    expect(mayRetry({ kind: 'tryagain' }, write)).toBe(true);
    expect(mayRetry({ kind: 'not-sent' }, write)).toBe(true);
    expect(mayRetry({ kind: 'unknown-outcome' }, write)).toBe(false);
    expect(mayRetry({ kind: 'unknown-outcome' }, read)).toBe(true);
    expect(mayRetry({ kind: 'reply-error' }, read)).toBe(false);
  });

  it('backs off exponentially within [ceiling/2, ceiling], capped', () => {
    const policy = { baseDelayMs: 50, maxDelayMs: 1000 };
    expect(backoffDelayMs(0, policy, () => 0)).toBe(25);
    expect(backoffDelayMs(0, policy, () => 1)).toBe(50);
    expect(backoffDelayMs(3, policy, () => 1)).toBe(400);
    expect(backoffDelayMs(10, policy, () => 0)).toBe(500);
    expect(backoffDelayMs(1000, policy, () => 1)).toBe(1000);
    expect(() => backoffDelayMs(-1, policy)).toThrow(/invariant/);
  });
});
