/**
 * How a segment answers one search: an exact scan of the rows passing the
 * filters, a plain HNSW search, HNSW over-fetching (an unfiltered search for
 * about k / selectivity rows, filtered afterwards), or HNSW with the filter
 * applied inside the graph traversal. The choice minimises a cost estimate
 * built from the segment's row counts, the dimension, `ef`, and the
 * selectivity of the filters measured on a fixed, evenly spaced sample of
 * rows. Pure code.
 *
 * The cost constants were fitted (to within about 2×) on 20,000 × 64-d
 * vectors with hnswlib-node 3, M 16, ef 64, k 10; only their ratios matter:
 * - an unfiltered HNSW search costs about `ef × (1 + 0.03 × dimension)` µs;
 * - over-fetching grows faster than linearly with the rows asked for:
 *   `(fetch / ef)^1.3` unfiltered searches;
 * - filtering inside the traversal calls back into JavaScript for every
 *   visited node and must visit more nodes the rarer matches are:
 *   `2 / selectivity^0.7` unfiltered searches;
 * - an exact scan tests every row (0.04 µs) and scores each passing row
 *   (0.0025 µs per dimension).
 */

/** Most rows sampled to estimate a filter's selectivity. */
export const SELECTIVITY_SAMPLE_ROWS = 512;
/** Sampling stops once this many sampled rows pass (the estimate is then within about ±12 %). */
export const SELECTIVITY_SAMPLE_PASSING_ENOUGH = 64;
/** Most rows an over-fetching search asks the index for. */
export const OVERFETCH_ROWS_MAX = 4_096;

const UNFILTERED_US_PER_EF = 1;
const UNFILTERED_US_PER_EF_DIMENSION = 0.03;
const OVERFETCH_EXPONENT = 1.3;
const FILTERED_FACTOR = 2;
const FILTERED_EXPONENT = 0.7;
const EXACT_US_PER_ROW = 0.04;
const EXACT_US_PER_SCORED_DIMENSION = 0.0025;

/** How one search is answered. */
export type SearchStrategy = 'exact' | 'hnsw' | 'hnsw-overfetch' | 'hnsw-filtered';

/** The chosen strategy and the estimate it rests on. */
export interface SearchPlan {
  readonly strategy: SearchStrategy;
  /** Estimated number of rows passing the filters (tombstones never pass). */
  readonly estimatedMatches: number;
  /** How many rows to ask the index for (the over-fetch size; `k` otherwise). */
  readonly fetch: number;
}

/** The facts a plan is made from. */
export interface PlanInput {
  readonly k: number;
  /** The search's ef, already raised to at least k. */
  readonly ef: number;
  readonly dimension: number;
  readonly exact: boolean;
  readonly hasIndex: boolean;
  /** All rows, tombstones included (an exact scan tests each). */
  readonly rows: number;
  /** Rows in the index (non-tombstone rows). */
  readonly indexedRows: number;
  /** True when the search has a predicate or an isLive callback. */
  readonly filtered: boolean;
  /** Estimated rows passing the filters (equals `indexedRows` when unfiltered). */
  readonly estimatedMatches: number;
}

/** Chooses the cheapest strategy for one search (see the module header). */
export function planSearch(input: PlanInput): SearchPlan {
  const { k, estimatedMatches } = input;
  const exact: SearchPlan = { strategy: 'exact', estimatedMatches, fetch: k };
  if (input.exact || !input.hasIndex || input.indexedRows === 0) return exact;
  if (!input.filtered) return { strategy: 'hnsw', estimatedMatches, fetch: k };
  if (estimatedMatches <= k) return exact;
  const selectivity = estimatedMatches / input.indexedRows;
  const unfilteredUs = input.ef * (UNFILTERED_US_PER_EF + UNFILTERED_US_PER_EF_DIMENSION * input.dimension);
  const fetch = overfetchSize(k, selectivity, input.indexedRows);
  const costs: [SearchStrategy, number][] = [
    ['exact', input.rows * EXACT_US_PER_ROW + estimatedMatches * input.dimension * EXACT_US_PER_SCORED_DIMENSION],
    ['hnsw-filtered', (unfilteredUs * FILTERED_FACTOR) / selectivity ** FILTERED_EXPONENT],
  ];
  if (fetch <= OVERFETCH_ROWS_MAX)
    costs.push(['hnsw-overfetch', unfilteredUs * Math.max(1, fetch / input.ef) ** OVERFETCH_EXPONENT]);
  let best = costs[0] as [SearchStrategy, number];
  for (const candidate of costs) if (candidate[1] < best[1]) best = candidate;
  return { strategy: best[0], estimatedMatches, fetch: best[0] === 'hnsw-overfetch' ? fetch : k };
}

/** Rows to request unfiltered so that about `k` pass a filter of `selectivity`, with a margin for sampling error. */
export function overfetchSize(k: number, selectivity: number, indexedRows: number): number {
  return Math.min(indexedRows, Math.ceil((k / Math.max(selectivity, 1e-9)) * 1.25) + 8);
}

/**
 * The selectivity sample of a segment of `rows` rows: up to 512 evenly
 * spaced row numbers, ordered so that every prefix is itself evenly spread
 * (bit-reversed order), which lets sampling stop early.
 */
export function sampleRows(rows: number): Uint32Array {
  const size = Math.min(rows, SELECTIVITY_SAMPLE_ROWS);
  const sample = new Uint32Array(size);
  let filled = 0;
  const bits = Math.log2(SELECTIVITY_SAMPLE_ROWS);
  for (let index = 0; index < SELECTIVITY_SAMPLE_ROWS && filled < size; index++) {
    const slot = reverseBits(index, bits);
    if (slot < size) sample[filled++] = Math.floor(((slot + 0.5) * rows) / size);
  }
  return sample;
}

/**
 * Estimated rows (of `rows`) passing `test`, from `sample`: stops once
 * SELECTIVITY_SAMPLE_PASSING_ENOUGH sampled rows pass.
 */
export function estimatePassing(sample: Uint32Array, rows: number, test: (row: number) => boolean): number {
  let passing = 0;
  let evaluated = 0;
  for (const row of sample) {
    evaluated++;
    if (test(row) && ++passing >= SELECTIVITY_SAMPLE_PASSING_ENOUGH) break;
  }
  return evaluated === 0 ? 0 : Math.round((passing / evaluated) * rows);
}

function reverseBits(value: number, bits: number): number {
  let reversed = 0;
  for (let bit = 0; bit < bits; bit++) reversed |= ((value >> bit) & 1) << (bits - 1 - bit);
  return reversed;
}
