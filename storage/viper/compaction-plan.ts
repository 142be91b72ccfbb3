/**
 * When to compact, as a pure function: size-tiered over adjacent segments.
 * A segment's tier is floor(log4(rows / flushThresholdRows)); when the newest
 * `segmentsMin` or more segments share a tier (or are below it), they merge
 * into one segment of the next tier. Flushes vary in size (the last batch
 * overshoots the threshold; a replay at open freezes everything above the
 * checkpoint at once), so a bound backs the tiers up: past
 * `segmentsMax` segments, the adjacent window of `segmentsMin` with the
 * fewest rows merges. Only adjacent segments merge, so the
 * newest-version order of segments is kept; tombstones may be dropped only
 * when the merge reaches the oldest segment (nothing older can hold the id).
 */

/** A compaction to run: segments `from` .. `from + count - 1` (oldest first). */
export interface CompactionPlan {
  readonly from: number;
  readonly count: number;
  readonly dropTombstones: boolean;
}

/** The size tier of a segment of `rows` rows. */
export function segmentTier(rows: number, flushThresholdRows: number): number {
  return Math.floor(Math.log(Math.max(1, rows / flushThresholdRows)) / Math.log(4));
}

/** The compaction to run for segments of these sizes (oldest first), or null. */
export function planCompaction(
  rowsPerSegment: readonly number[],
  flushThresholdRows: number,
  segmentsMin = 4,
  segmentsMax = 6,
): CompactionPlan | null {
  const newest = rowsPerSegment.length - 1;
  if (newest < 0) return null;
  const tier = segmentTier(rowsPerSegment[newest] as number, flushThresholdRows);
  let from = newest;
  while (from > 0 && segmentTier(rowsPerSegment[from - 1] as number, flushThresholdRows) <= tier) from--;
  const count = newest - from + 1;
  if (count >= segmentsMin) return { from, count, dropTombstones: from === 0 };
  if (rowsPerSegment.length <= segmentsMax) return null;
  return cheapestWindow(rowsPerSegment, segmentsMin);
}

/** The adjacent window of `size` segments with the fewest rows (the newest on ties). */
function cheapestWindow(rowsPerSegment: readonly number[], size: number): CompactionPlan {
  let best = 0;
  let bestRows = Infinity;
  for (let from = 0; from + size <= rowsPerSegment.length; from++) {
    const rows = rowsPerSegment.slice(from, from + size).reduce((sum, each) => sum + each, 0);
    if (rows <= bestRows) {
      best = from;
      bestRows = rows;
    }
  }
  return { from: best, count: size, dropTombstones: best === 0 };
}
