// Proves the write-stall queue on its own, as a transcript with explicit times: held writes come back oldest first,
// an expired one is answered TIMEOUT exactly once yet stays queued for its apply, stopping answers the rest, and the
// episode, write and millisecond counters add up.
import { describe, expect, it } from 'vitest';
import type { Responder } from '../../../runtime/actor.js';
import { ShoalError } from '../../../runtime/errors.js';
import { WriteStall } from '../../../storage/engine/write-stall.js';

/** A responder that records its answers as text. */
function recorder(name: string, deadline: number, log: string[]): Responder {
  return {
    deadline,
    ok: () => void log.push(`${name} ok`),
    fail: (error) => void log.push(`${name} ${(error as ShoalError).code}`),
  };
}

describe('WriteStall', () => {
  it('releases in order, expires without dropping, and counts episodes and held time', () => {
    const log: string[] = [];
    const stall = new WriteStall<string, Responder>((item) => item.length);
    stall.hold('a', recorder('a', 50, log), 0);
    stall.hold('bb', recorder('b', 500, log), 10);
    stall.hold('ccc', null, 20);
    expect(stall.stats(30)).toEqual({ stalls: 1, stalledWrites: 3, stalledMs: 30, writesHeld: 3, heldBytes: 6 });

    expect(stall.expire(60)).toBe(1);
    expect(stall.expire(70)).toBe(0);
    expect(log).toEqual(['a TIMEOUT']);
    expect(stall.holding).toBe(3);

    const first = stall.release(100);
    expect(first?.item).toBe('a');
    expect(first?.responder).toBeNull();
    const second = stall.release(100);
    expect(second?.item).toBe('bb');
    second?.responder?.ok(null);
    expect(stall.release(120)?.item).toBe('ccc');
    expect(stall.release(120)).toBeUndefined();
    expect(log).toEqual(['a TIMEOUT', 'b ok']);
    expect(stall.stats(1_000)).toEqual({ stalls: 1, stalledWrites: 3, stalledMs: 120, writesHeld: 0, heldBytes: 0 });

    stall.hold('d', recorder('d', 5_000, log), 2_000);
    stall.hold('e', recorder('e', 5_000, log), 2_001);
    stall.failAll(new ShoalError('UNAVAILABLE', 'stopped'), 2_050);
    expect(log.slice(2)).toEqual(['d UNAVAILABLE', 'e UNAVAILABLE']);
    expect(stall.stats(3_000)).toEqual({ stalls: 2, stalledWrites: 5, stalledMs: 170, writesHeld: 0, heldBytes: 0 });
  });
});
