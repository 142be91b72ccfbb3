// Proves the scatter-gather merge: for random per-shard lists, mergeTopK equals sorting everything and taking k, with
// ties broken by id, for both score directions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeTopK } from '../../cluster/merge.js';
import type { Hit, Metric } from '../../storage/types.js';
import { hitComparator } from '../../storage/types.js';

const hitList = fc.array(
  fc.record({ id: fc.string({ minLength: 1, maxLength: 4 }), score: fc.integer({ min: -5, max: 5 }) }),
  { maxLength: 30 },
);

describe('mergeTopK', () => {
  for (const metric of ['cosine', 'l2', 'dot'] as Metric[]) {
    it(`equals a full sort for ${metric}`, () => {
      fc.assert(
        fc.property(fc.array(hitList, { maxLength: 5 }), fc.integer({ min: 1, max: 40 }), (raw, k) => {
          // Each id lives in one shard, as routing guarantees.
          const seen = new Set<string>();
          const lists: Hit[][] = raw.map((list) =>
            list.filter((hit) => !seen.has(hit.id) && seen.add(hit.id)).map((hit) => ({ ...hit, metadata: null })),
          );
          const expected = lists.flat().sort(hitComparator(metric)).slice(0, k);
          expect(mergeTopK(lists, k, metric)).toEqual(expected);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('breaks equal scores by id and puts higher similarity first for cosine, lower distance first for l2', () => {
    const a = [
      { id: 'b', score: 1, metadata: null },
      { id: 'c', score: 0.5, metadata: null },
    ];
    const b = [{ id: 'a', score: 1, metadata: null }];
    expect(mergeTopK([a, b], 3, 'cosine').map((hit) => hit.id)).toEqual(['a', 'b', 'c']);
    expect(mergeTopK([a, b], 2, 'l2').map((hit) => hit.id)).toEqual(['c', 'a']);
  });
});
