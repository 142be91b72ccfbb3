// Proves the shard-ask retry policy: only UNAVAILABLE is asked again, the backoff doubles from 25 ms up to 500 ms,
// no retry is scheduled whose wait would reach the deadline, and each attempt's ask ends min(50 ms, a tenth of the
// time left) before the deadline; the policy's functions are pure, checked here on a clock that stands still.
import { describe, expect, it } from 'vitest';
import {
  SHARD_ASK_RETRY,
  attemptTimeoutMs,
  isRetried,
  retryBackoffMs,
  retryDelayMs,
} from '../../../actors/supervisor/shard-asks.js';
import type { Clock } from '../../../runtime/clock.js';
import { ShoalError } from '../../../runtime/errors.js';

/** A clock at `nowMs` whose timers never fire (the functions under test only read the time). */
function clockAt(nowMs: number): Clock {
  return { now: () => nowMs, setTimer: () => ({ cancel: () => undefined }) };
}

const unavailable = new ShoalError('UNAVAILABLE', 'shard restarting');

describe('which answers are retried', () => {
  it('retries UNAVAILABLE and nothing else', () => {
    expect(SHARD_ASK_RETRY.retriedCodes).toEqual(['UNAVAILABLE']);
    expect(isRetried(unavailable)).toBe(true);
    expect(isRetried(new ShoalError('TIMEOUT', 'too slow'))).toBe(false);
    expect(isRetried(new ShoalError('INTERNAL', 'crashed on a bug'))).toBe(false);
    expect(isRetried(new Error('UNAVAILABLE'))).toBe(false);
  });
});

describe('backoff', () => {
  it('doubles from 25 ms and stops growing at 500 ms', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(retryBackoffMs)).toEqual([25, 50, 100, 200, 400, 500, 500, 500]);
  });

  it('schedules a retry only when its wait ends before the deadline', () => {
    expect(retryDelayMs(unavailable, 2, 1_000, 1_101)).toBe(100);
    expect(retryDelayMs(unavailable, 2, 1_000, 1_100)).toBeNull();
    expect(retryDelayMs(new ShoalError('COLLECTION_NOT_FOUND', 'gone'), 0, 0, 10_000)).toBeNull();
  });
});

describe('attempt timeouts', () => {
  it('end 50 ms before a far deadline and a tenth of the time left before a near one, never under 1 ms', () => {
    expect(attemptTimeoutMs(10_000, clockAt(0))).toBe(9_950);
    expect(attemptTimeoutMs(200, clockAt(0))).toBe(180);
    expect(attemptTimeoutMs(100, clockAt(100))).toBe(1);
    expect(attemptTimeoutMs(100, clockAt(500))).toBe(1);
  });
});
