/**
 * The gather half of scatter-gather: merges per-shard top-k lists into one
 * global top-k with a bounded heap. Ties are broken by id, so the result does
 * not depend on which shard answered first.
 */
import { BoundedHeap } from '../storage/bounded-heap.js';
import { toShoalError } from '../runtime/errors.js';
import type { Hit, Metric, StoredRecord } from '../storage/types.js';
import { hitComparator } from '../storage/types.js';

/** The best `k` hits of all `lists` (each best first or not), best first; an id seen twice keeps its better hit. */
export function mergeTopK(lists: readonly (readonly Hit[])[], k: number, metric: Metric): Hit[] {
  const compare = hitComparator(metric);
  const heap = new BoundedHeap<Hit>(k, compare);
  const best = new Map<string, Hit>();
  for (const list of lists) {
    for (const hit of list) {
      const seen = best.get(hit.id);
      if (seen !== undefined && compare(seen, hit) <= 0) continue;
      best.set(hit.id, hit);
    }
  }
  for (const hit of best.values()) heap.push(hit);
  return heap.sorted();
}

/** A search message's answer: each query's merged hits, in query order, and how many shards answered. */
export interface GatheredSearch {
  readonly results: Hit[][];
  /** True when some shards did not answer (only with `allowPartial`); the same shards are missing for every query. */
  readonly partial: boolean;
  readonly shardsAnswered: number;
  readonly shardsTotal: number;
}

/**
 * The gather of one search message: `answers[s]` is shard s's outcome (its
 * hits per query). Every query's lists are merged into its top-k. A shard
 * that failed fails the whole message with its error, unless `allowPartial`
 * and at least one shard answered: then the answer is marked partial.
 */
export function gatherSearch(
  answers: readonly PromiseSettledResult<Hit[][]>[],
  queries: readonly { readonly k: number }[],
  metric: Metric,
  allowPartial: boolean,
): GatheredSearch {
  const lists = answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
  const firstFailure = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
  if (firstFailure !== undefined && (!allowPartial || lists.length === 0)) throw toShoalError(firstFailure.reason);
  const results = queries.map((query, index) =>
    mergeTopK(
      lists.map((perQuery) => perQuery[index] ?? []),
      query.k,
      metric,
    ),
  );
  return { results, partial: lists.length < answers.length, shardsAnswered: lists.length, shardsTotal: answers.length };
}

/** The records found by the shards of a `get`, in the order of `ids` (each id once; ids not found left out). */
export function orderRecords(ids: readonly string[], found: readonly (readonly StoredRecord[])[]): StoredRecord[] {
  const byId = new Map(found.flat().map((record) => [record.id, record]));
  const ordered: StoredRecord[] = [];
  for (const id of new Set(ids)) {
    const record = byId.get(id);
    if (record !== undefined) ordered.push(record);
  }
  return ordered;
}
