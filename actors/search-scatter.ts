/**
 * The scatter of a search message: the query's dimension checked against the
 * collection's, the same queries sent to every shard's engine in parallel
 * (each with its own copy of the vectors, since a transferred buffer moves),
 * and the answers gathered into each query's top-k. Used by the supervisor
 * (whose asks retry while a shard restarts) and by the host client's read
 * router (which asks the engines itself); how one shard is asked is the
 * caller's.
 */
import { ShoalError } from '../runtime/errors.js';
import { gatherSearch } from '../cluster/merge.js';
import type { Hit, Metric } from '../storage/types.js';
import type { EngineMessage } from './engine-actor.js';
import type { SearchBatchResult } from './public-api.js';
import type { CheckedSearch } from './read-protocol.js';

/** What the scatter needs to know of a collection: its shard count, and what checks and merges the answers. */
export interface SearchLayout {
  readonly dimension: number;
  readonly metric: Metric;
  readonly shards: number;
}

/** One engine search ask: its message and the buffer it moves. */
export interface EngineSearchRequest {
  readonly message: EngineMessage;
  readonly transfer: ArrayBuffer[];
}

/** Asks shard `shard`'s engine; `build` makes a fresh request for each ask it sends (retries included). */
export type EngineSearchAsk = (shard: number, build: () => EngineSearchRequest) => Promise<Hit[][]>;

/** DIMENSION_MISMATCH unless the search's vectors have the collection's dimension. */
export function checkSearchDimension(collection: string, layout: SearchLayout, search: CheckedSearch): void {
  if (search.dimension === layout.dimension) return;
  const message = `collection ${collection} has dimension ${layout.dimension}, the query has ${search.dimension}`;
  throw new ShoalError('DIMENSION_MISMATCH', message, { expected: layout.dimension, actual: search.dimension });
}

/** An engine search request of `search`'s queries, with its own copy of the vectors (the caller's stay usable). */
export function engineSearchRequest(search: CheckedSearch): EngineSearchRequest {
  const vectors = new Float32Array(search.vectors);
  const message: EngineMessage = { type: 'search', vectors, dimension: search.dimension, queries: search.queries };
  return { message, transfer: [vectors.buffer] };
}

/**
 * Checks the dimension, then sends `search` to every shard's engine through `ask`, in parallel; answers each
 * shard's outcome (its hits per query, or why it failed), shard 0 first.
 */
export function scatterSearch(
  collection: string,
  layout: SearchLayout,
  search: CheckedSearch,
  ask: EngineSearchAsk,
): Promise<PromiseSettledResult<Hit[][]>[]> {
  checkSearchDimension(collection, layout, search);
  const build = (): EngineSearchRequest => engineSearchRequest(search);
  return Promise.allSettled(Array.from({ length: layout.shards }, (_, shard) => ask(shard, build)));
}

/**
 * Each query's merged top-k of the scattered answers. A shard that failed fails the whole search with its
 * error, unless `allowPartial` and at least one shard answered: the answer is then marked partial.
 */
export function gatherScatteredSearch(
  layout: SearchLayout,
  search: CheckedSearch,
  answers: readonly PromiseSettledResult<Hit[][]>[],
): SearchBatchResult {
  return gatherSearch(answers, search.queries, layout.metric, search.allowPartial);
}
