// Proves the scroll merge: per-shard pages (each ascending, at most limit + 1) merge into the first limit records
// overall in code-unit id order, with a continuation exactly when records remain, checked over random splits of a
// sorted id set and by walking pages to the end.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../runtime/random.js';
import { mergeScrollPages } from '../../cluster/scroll-merge.js';
import type { ScannedRecord } from '../../storage/shard-store.js';

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Walks a random split of `ids` over `shards` page by page, as the supervisor does; returns the ids seen. */
function walk(
  ids: readonly string[],
  shards: number,
  limit: number,
  random: SeededRandom,
): { seen: string[]; pages: number } {
  const owner = new Map(ids.map((id) => [id, random.int(shards)]));
  const seen: string[] = [];
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const perShard = Array.from({ length: shards }, (_, shard) =>
      ids
        .filter((id) => owner.get(id) === shard && (after === null || id > after))
        .slice(0, limit + 1)
        .map((id): ScannedRecord => ({ id, metadata: null })),
    );
    const page = mergeScrollPages(perShard, limit);
    expect(page.records.length).toBeLessThanOrEqual(limit);
    seen.push(...page.records.map((record) => record.id));
    if (page.continueAfter === null) return { seen, pages };
    expect(page.records).toHaveLength(limit);
    after = page.continueAfter;
  }
}

describe('mergeScrollPages', () => {
  it('covers every id exactly once, in order, and ends without an empty page', () => {
    const random = new SeededRandom(9);
    for (let round = 0; round < 100; round++) {
      const drawn = Array.from({ length: random.int(60) }, () => `${'aBz'[random.int(3)]}${random.int(100)}`);
      const ids = [...new Set(drawn)].sort(byCodeUnit);
      const limit = 1 + random.int(10);
      const { seen, pages } = walk(ids, 1 + random.int(4), limit, random);
      expect(seen).toEqual(ids);
      expect(pages).toBe(Math.max(1, Math.ceil(ids.length / limit)));
    }
  });

  it('answers an empty page with no continuation', () => {
    expect(mergeScrollPages([[], []], 5)).toEqual({ records: [], continueAfter: null });
  });
});
