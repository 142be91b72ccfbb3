// Proves the size-tiered compaction plan: nothing until enough same-tier segments are adjacent at the new end, merges
// only adjacent runs, drops tombstones only when the run starts at the oldest segment, and keeps the segment count
// logarithmic under a long run of flushes.
import { describe, expect, it } from 'vitest';
import { planCompaction, segmentTier } from '../../../storage/viper/compaction-plan.js';

describe('planCompaction', () => {
  it('waits for four segments of one tier, then merges them', () => {
    expect(planCompaction([], 100)).toBeNull();
    expect(planCompaction([100, 100, 100], 100)).toBeNull();
    expect(planCompaction([100, 100, 100, 100], 100)).toEqual({ from: 0, count: 4, dropTombstones: true });
  });

  it('merges only the newest same-tier run and keeps tombstones when older segments remain', () => {
    expect(segmentTier(400, 100)).toBe(1);
    expect(planCompaction([400, 100, 100, 100, 100], 100)).toEqual({ from: 1, count: 4, dropTombstones: false });
    expect(planCompaction([100, 400, 100, 100, 100], 100)).toBeNull();
  });

  it('bounds the count with flushes of uneven size by merging the cheapest adjacent window', () => {
    expect(planCompaction([100, 400, 100, 100, 100], 100)).toBeNull();
    expect(planCompaction([5_000, 100, 400, 100, 900, 100, 100], 100)).toEqual({
      from: 3,
      count: 4,
      dropTombstones: false,
    });
    let segments: number[] = [];
    let most = 0;
    for (let flush = 0; flush < 500; flush++) {
      segments.push(100 + ((flush * 7919) % 900));
      for (let plan = planCompaction(segments, 100); plan !== null; plan = planCompaction(segments, 100)) {
        const merged = segments.slice(plan.from, plan.from + plan.count).reduce((sum, rows) => sum + rows, 0);
        segments = [...segments.slice(0, plan.from), merged, ...segments.slice(plan.from + plan.count)];
      }
      most = Math.max(most, segments.length);
    }
    expect(most).toBeLessThanOrEqual(7);
  });

  it('keeps the number of segments logarithmic in the number of flushes', () => {
    let segments: number[] = [];
    let most = 0;
    for (let flush = 0; flush < 1_000; flush++) {
      segments.push(100);
      for (let plan = planCompaction(segments, 100); plan !== null; plan = planCompaction(segments, 100)) {
        const merged = segments.slice(plan.from, plan.from + plan.count).reduce((sum, rows) => sum + rows, 0);
        segments = [...segments.slice(0, plan.from), merged, ...segments.slice(plan.from + plan.count)];
      }
      most = Math.max(most, segments.length);
    }
    expect(segments.reduce((sum, rows) => sum + rows, 0)).toBe(100_000);
    expect(most).toBeLessThanOrEqual(4 * 5);
  });
});
