/**
 * The gather half of a scroll: each shard answers its first records (ascending
 * by id, code-unit order) above the cursor, one more than the page holds so
 * that a shard with more to give says so. The merge keeps the page's first
 * `limit` records of all shards and tells whether any record is left after
 * them. Pure code.
 */
import type { ScannedRecord } from '../storage/shard-store.js';
import { compareIds } from '../storage/viper/segment-rows.js';

/** One merged page: records ascending by id, and the last id of the page when records remain after it. */
export interface MergedScrollPage {
  readonly records: ScannedRecord[];
  /** The id to continue after, or null when the page ends the scroll. */
  readonly continueAfter: string | null;
}

/**
 * Merges per-shard answers (each ascending, at most `limit + 1` records, ids
 * disjoint across shards) into the first `limit` records overall. Records
 * remain after the page exactly when the shards gave more than `limit` in
 * all: a shard with more than it gave gave `limit + 1`.
 */
export function mergeScrollPages(pages: readonly (readonly ScannedRecord[])[], limit: number): MergedScrollPage {
  const all = pages.flat().sort((a, b) => compareIds(a.id, b.id));
  const records = all.slice(0, limit);
  const last = records[records.length - 1];
  return { records, continueAfter: all.length > limit && last !== undefined ? last.id : null };
}
