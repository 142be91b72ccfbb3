/**
 * Compaction's pure core: merging the rows of several segments into the rows
 * of one, keeping only the newest version of each id. Deciding which
 * segments to merge and when dropping tombstones is safe is the engine's job.
 */

import { invalidArgument } from '../../runtime/errors.js';
import { compareIds } from './segment-rows.js';
import type { SegmentRows } from './segment-rows.js';

/** How to merge. */
export interface MergeOptions {
  /**
   * Drop ids whose newest row is a tombstone. Safe only when the merge
   * includes every segment older than its inputs (no older version of the id
   * can remain anywhere to be uncovered).
   */
  readonly dropTombstones: boolean;
}

/**
 * Merges `inputs` (oldest first, same dimension) into new rows sorted by id
 * holding, for each id, only its highest-LSN row (on equal LSNs the later
 * input wins); that row is left out when it is a tombstone and
 * `dropTombstones`. The inputs are not modified.
 */
export function mergeRows(inputs: readonly SegmentRows[], options: MergeOptions): SegmentRows {
  const first = inputs[0];
  if (first === undefined) throw invalidArgument('inputs', 'expected at least one segment to merge');
  const { dimension } = first;
  inputs.forEach((input, index) => {
    if (input.dimension !== dimension)
      throw invalidArgument(`inputs[${index}].dimension`, `expected ${dimension}, got ${input.dimension}`);
  });
  // id -> (input, row) of its newest version so far.
  const newest = new Map<string, { input: number; row: number }>();
  inputs.forEach((input, inputIndex) => {
    input.ids.forEach((id, row) => {
      const current = newest.get(id);
      if (current === undefined) {
        newest.set(id, { input: inputIndex, row });
      } else if ((input.lsns[row] as number) >= ((inputs[current.input] as SegmentRows).lsns[current.row] as number)) {
        current.input = inputIndex;
        current.row = row;
      }
    });
  });
  const kept: string[] = [];
  for (const [id, source] of newest) {
    const deleted = (inputs[source.input] as SegmentRows).deleted[source.row] === 1;
    if (!(deleted && options.dropTombstones)) kept.push(id);
  }
  kept.sort(compareIds);
  return gather(inputs, kept, newest, dimension);
}

function gather(
  inputs: readonly SegmentRows[],
  ids: string[],
  sources: Map<string, { input: number; row: number }>,
  dimension: number,
): SegmentRows {
  const vectors = new Float32Array(ids.length * dimension);
  const metadata = new Array<string | null>(ids.length);
  const lsns = new Float64Array(ids.length);
  const deleted = new Uint8Array(ids.length);
  ids.forEach((id, target) => {
    const source = sources.get(id) as { input: number; row: number };
    const input = inputs[source.input] as SegmentRows;
    const { row } = source;
    vectors.set(input.vectors.subarray(row * dimension, (row + 1) * dimension), target * dimension);
    metadata[target] = input.metadata[row] ?? null;
    lsns[target] = input.lsns[row] as number;
    deleted[target] = input.deleted[row] as number;
  });
  return { dimension, ids, vectors, metadata, lsns, deleted };
}
