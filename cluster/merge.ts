/**
 * The gather half of scatter-gather: merges per-shard top-k lists into one
 * global top-k with a bounded heap. Ties are broken by id, so the result does
 * not depend on which shard answered first.
 */
import { BoundedHeap } from '../runtime/bounded-heap.js';
import type { Hit, Metric } from '../storage/types.js';
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
