// Proves the search planner's choices follow its cost model: plain HNSW without filters, over-fetching for broad
// filters, an exact scan for selective filters on small segments, filtering inside the traversal for selective filters
// on large ones; and that the selectivity sample is evenly spread in every prefix and stops early once enough rows
// pass.
import { describe, expect, it } from 'vitest';
import {
  OVERFETCH_ROWS_MAX,
  SELECTIVITY_SAMPLE_PASSING_ENOUGH,
  SELECTIVITY_SAMPLE_ROWS,
  estimatePassing,
  planSearch,
  sampleRows,
} from '../../../storage/viper/search-plan.js';
import type { PlanInput } from '../../../storage/viper/search-plan.js';

function plan(rows: number, selectivity: number, overrides: Partial<PlanInput> = {}) {
  return planSearch({
    k: 10,
    ef: 64,
    dimension: 64,
    exact: false,
    hasIndex: true,
    rows,
    indexedRows: rows,
    filtered: true,
    estimatedMatches: Math.round(rows * selectivity),
    ...overrides,
  });
}

describe('planSearch', () => {
  it('uses the index unfiltered when nothing filters, and scans when asked or unindexed', () => {
    expect(plan(20_000, 1, { filtered: false }).strategy).toBe('hnsw');
    expect(plan(20_000, 1, { exact: true }).strategy).toBe('exact');
    expect(plan(20_000, 1, { hasIndex: false }).strategy).toBe('exact');
    expect(plan(20_000, 0.0004).strategy).toBe('exact');
  });

  it('over-fetches for broad filters, with enough rows asked for', () => {
    for (const selectivity of [1, 0.5, 0.2, 0.1]) {
      const chosen = plan(20_000, selectivity);
      expect(chosen.strategy).toBe('hnsw-overfetch');
      expect(chosen.fetch * selectivity).toBeGreaterThanOrEqual(10);
      expect(chosen.fetch).toBeLessThanOrEqual(OVERFETCH_ROWS_MAX);
    }
  });

  it('scans a small segment exactly under a selective filter', () => {
    for (const selectivity of [0.05, 0.02, 0.01, 0.001]) expect(plan(20_000, selectivity).strategy).toBe('exact');
  });

  it('filters inside the traversal on a large segment under a selective filter', () => {
    expect(plan(1_000_000, 0.003).strategy).toBe('hnsw-filtered');
    expect(plan(1_000_000, 0.0001).strategy).toBe('exact');
  });
});

describe('selectivity sampling', () => {
  it('samples every row of a small segment and 512 evenly spread rows of a large one', () => {
    expect(Array.from(sampleRows(5)).sort()).toEqual([0, 1, 2, 3, 4]);
    const sample = sampleRows(100_000);
    expect(sample.length).toBe(SELECTIVITY_SAMPLE_ROWS);
    expect(new Set(sample).size).toBe(SELECTIVITY_SAMPLE_ROWS);
    // Every power-of-two prefix covers the range evenly: one row per slice.
    for (const prefix of [8, 64]) {
      const slices = new Set(Array.from(sample.subarray(0, prefix), (row) => Math.floor((row * prefix) / 100_000)));
      expect(slices.size).toBe(prefix);
    }
  });

  it('estimates the passing rows and stops once enough pass', () => {
    const sample = sampleRows(100_000);
    let calls = 0;
    const everyTenth = (row: number) => {
      calls++;
      return row % 10 === 0 || Math.floor(row / 10) % 10 === 0;
    };
    const estimate = estimatePassing(sample, 100_000, everyTenth);
    expect(estimate).toBeGreaterThan(10_000);
    expect(estimate).toBeLessThan(30_000);
    calls = 0;
    const counting = (): boolean => {
      calls++;
      return true;
    };
    expect(estimatePassing(sample, 100_000, counting)).toBe(100_000);
    expect(calls).toBe(SELECTIVITY_SAMPLE_PASSING_ENOUGH);
    expect(estimatePassing(sample, 100_000, () => false)).toBe(0);
    expect(estimatePassing(sampleRows(0), 0, () => true)).toBe(0);
  });
});
