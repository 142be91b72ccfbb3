// Proves the segment pins of a backup on their own: a compaction's dropped segments are deleted at once unless
// pinned, and then only when their last pin goes; the WAL checkpoint never passes the lowest pinned checkpoint and
// is released when the pins go; an unknown pin is reported as not held.
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from '../../../runtime/assert.js';
import { SegmentPins } from '../../../storage/engine/segment-pins.js';

describe('SegmentPins', () => {
  it('deletes unpinned segments at once and pinned ones when their last pin goes', () => {
    const pins = new SegmentPins();
    pins.pin('a', ['s1', 's2'], 10);
    pins.pin('b', ['s2', 's3'], 10);
    expect(pins.removable(['s1', 's2', 's3', 's4'])).toEqual(['s4']);
    expect(pins.isPinned('s1')).toBe(true);
    expect(pins.unpin('a')).toEqual({ held: true, remove: ['s1'], walCheckpoint: null });
    expect(pins.unpin('b')).toEqual({ held: true, remove: ['s2', 's3'], walCheckpoint: null });
    expect(pins.size).toBe(0);
    expect(pins.removable(['s5'])).toEqual(['s5']);
  });

  it('holds the WAL checkpoint at the lowest pinned checkpoint until the pins go', () => {
    const pins = new SegmentPins();
    expect(pins.walCheckpoint(5)).toBe(5);
    pins.pin('a', [], 10);
    pins.pin('b', [], 20);
    expect(pins.walCheckpoint(15)).toBe(10);
    expect(pins.walCheckpoint(30)).toBe(10);
    expect(pins.unpin('a')).toEqual({ held: true, remove: [], walCheckpoint: 20 });
    expect(pins.unpin('b')).toEqual({ held: true, remove: [], walCheckpoint: 30 });
    expect(pins.walCheckpoint(40)).toBe(40);
  });

  it('releases nothing when no checkpoint was held back', () => {
    const pins = new SegmentPins();
    pins.pin('a', ['s1'], 10);
    expect(pins.walCheckpoint(8)).toBe(8);
    expect(pins.unpin('a')).toEqual({ held: true, remove: [], walCheckpoint: null });
  });

  it('answers held: false for a pin it does not hold, and refuses a token twice', () => {
    const pins = new SegmentPins();
    expect(pins.unpin('gone')).toEqual({ held: false, remove: [], walCheckpoint: null });
    pins.pin('a', [], 0);
    expect(() => pins.pin('a', [], 0)).toThrow(AssertionFailure);
  });
});
