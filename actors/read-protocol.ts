/**
 * The read path's shared shapes: a validated search (what the client sends
 * to the engines and to the supervisor) and a collection's read route (where
 * the client may send its reads itself).
 */
import type { Metric } from '../storage/types.js';

/** One validated query of a search; its vector travels packed in the search's `vectors`. */
export interface CheckedQuery {
  readonly k: number;
  readonly filter: unknown;
  readonly exact: boolean;
  readonly ef?: number;
}

/**
 * A validated search of one or more queries: query i's vector is `vectors[i × dimension, (i + 1) × dimension)` (one
 * buffer to transfer).
 */
export interface CheckedSearch {
  readonly vectors: Float32Array;
  readonly dimension: number;
  readonly queries: readonly CheckedQuery[];
  readonly allowPartial: boolean;
}

/**
 * What the host client needs to scatter a collection's searches to its
 * engines and gather them itself: the engines' addresses follow from the id
 * and shard count; the dimension and metric check and merge the answers.
 */
export interface ReadRoute {
  readonly collection: string;
  readonly id: string;
  readonly dimension: number;
  readonly metric: Metric;
  readonly shards: number;
}
