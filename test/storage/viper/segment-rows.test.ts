// Proves the segment-rows helpers: validation names the offending column and row, sorting by id keeps rows whole, a
// WAL-ordered batch becomes one row per id (newest wins, deletes become tombstones), and only buffers a column fully
// spans are offered for transfer.
import { describe, expect, it } from 'vitest';
import { OP_DELETE, OP_UPSERT } from '../../../storage/record-batch.js';
import type { RecordBatch } from '../../../storage/record-batch.js';
import {
  segmentRowsFromBatch,
  segmentRowsTransfer,
  sortRowsById,
  validateSegmentRows,
} from '../../../storage/viper/segment-rows.js';
import type { SegmentRows } from '../../../storage/viper/segment-rows.js';

function rowsOf(ids: string[], overrides: Partial<SegmentRows> = {}): SegmentRows {
  return {
    dimension: 2,
    ids,
    vectors: Float32Array.from(ids.flatMap((_, row) => [row, -row])),
    metadata: ids.map((id) => JSON.stringify({ id })),
    lsns: Float64Array.from(ids, (_, row) => row + 1),
    deleted: new Uint8Array(ids.length),
    ...overrides,
  };
}

describe('segment rows', () => {
  it('validates columns, naming the problem', () => {
    expect(() => validateSegmentRows(rowsOf(['a', 'b']))).not.toThrow();
    expect(() => validateSegmentRows(rowsOf(['a', 'a']))).toThrow(/rows.ids\[1\]: duplicate id/);
    expect(() => validateSegmentRows(rowsOf(['a'], { lsns: Float64Array.from([-1]) }))).toThrow(/rows.lsns\[0\]/);
    expect(() => validateSegmentRows(rowsOf(['a'], { deleted: Uint8Array.from([2]) }))).toThrow(/rows.deleted\[0\]/);
    expect(() => validateSegmentRows(rowsOf(['a'], { vectors: Float32Array.from([Number.NaN, 0]) }))).toThrow(
      /non-finite/,
    );
    expect(() =>
      validateSegmentRows(
        rowsOf(['a'], { vectors: Float32Array.from([Number.NaN, 0]), deleted: Uint8Array.from([1]) }),
      ),
    ).not.toThrow();
    expect(() => validateSegmentRows(rowsOf(['a'], { metadata: [] }))).toThrow(/rows.metadata/);
    expect(() => validateSegmentRows(rowsOf(['a'], { dimension: 0 }))).toThrow(/rows.dimension/);
  });

  it('sorts by id in code-unit order, moving every column together', () => {
    const rows = rowsOf(['b', 'é', 'a', 'Z']);
    const sorted = sortRowsById(rows);
    expect(sorted.ids).toEqual(['Z', 'a', 'b', 'é']);
    expect(Array.from(sorted.vectors)).toEqual([3, -3, 2, -2, 0, -0, 1, -1]);
    expect(Array.from(sorted.lsns)).toEqual([4, 3, 1, 2]);
    expect(sorted.metadata[0]).toBe('{"id":"Z"}');
    expect(sortRowsById(sorted)).toBe(sorted);
  });

  it('turns a batch into one row per id, newest operation winning', () => {
    const batch: RecordBatch = {
      dimension: 2,
      ops: Uint8Array.from([OP_UPSERT, OP_UPSERT, OP_DELETE, OP_UPSERT]),
      ids: ['b', 'a', 'b', 'a'],
      vectors: Float32Array.from([1, 1, 2, 2, 0, 0, 4, 4]),
      metadata: ['{"v":1}', '{"v":2}', null, '{"v":4}'],
      lsns: Float64Array.from([10, 11, 12, 13]),
    };
    const rows = segmentRowsFromBatch(batch);
    expect(rows.ids).toEqual(['a', 'b']);
    expect(Array.from(rows.vectors)).toEqual([4, 4, 0, 0]);
    expect(rows.metadata).toEqual(['{"v":4}', null]);
    expect(Array.from(rows.lsns)).toEqual([13, 12]);
    expect(Array.from(rows.deleted)).toEqual([0, 1]);
    expect(() => segmentRowsFromBatch({ ...batch, lsns: null })).toThrow(/LSNs/);
  });

  it('offers for transfer only buffers a column spans entirely', () => {
    const rows = rowsOf(['a', 'b']);
    expect(segmentRowsTransfer(rows)).toEqual([rows.vectors.buffer, rows.lsns.buffer, rows.deleted.buffer]);
    const shared = new Float32Array(100);
    expect(segmentRowsTransfer({ ...rows, vectors: shared.subarray(0, 4) })).not.toContain(shared.buffer);
  });
});
