// Proves mergeRows against a plain model with fast-check: for random segments (oldest first) the output holds, sorted
// by id, exactly the highest-LSN row of each id with its vector, metadata and flag, drops tombstones only when asked,
// and never modifies its inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeRows } from '../../../storage/viper/compaction.js';
import { copySegmentRows, validateSegmentRows } from '../../../storage/viper/segment-rows.js';
import type { SegmentRows } from '../../../storage/viper/segment-rows.js';

const DIMENSION = 3;

interface ModelRow {
  readonly id: string;
  readonly lsn: number;
  readonly deleted: boolean;
  readonly value: number;
}

// A segment holds at most one row per id; LSNs are unique across all segments (the WAL assigns them).
const segmentsArbitrary = fc
  .array(
    fc.uniqueArray(fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'é', ''), deleted: fc.boolean() }), {
      selector: (row) => row.id,
      maxLength: 8,
    }),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .chain((segments) => {
    const total = segments.reduce((sum, segment) => sum + segment.length, 0);
    return fc.tuple(
      fc.constant(segments),
      fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: total, maxLength: total }),
    );
  })
  .map(([segments, lsns]) => {
    let next = 0;
    return segments.map((segment) =>
      segment.map((row): ModelRow => {
        const lsn = lsns[next++] as number;
        return { id: row.id, lsn, deleted: row.deleted, value: row.deleted ? 0 : lsn / 7 };
      }),
    );
  });

function toRows(model: readonly ModelRow[]): SegmentRows {
  return {
    dimension: DIMENSION,
    ids: model.map((row) => row.id),
    vectors: Float32Array.from(model.flatMap((row) => [row.value, -row.value, 1])).map((value, index) =>
      model[Math.floor(index / 3)]?.deleted ? 0 : value,
    ),
    metadata: model.map((row) => (row.deleted ? null : JSON.stringify({ lsn: row.lsn }))),
    lsns: Float64Array.from(model, (row) => row.lsn),
    deleted: Uint8Array.from(model, (row) => (row.deleted ? 1 : 0)),
  };
}

function expectedMerge(segments: readonly (readonly ModelRow[])[], dropTombstones: boolean): ModelRow[] {
  const newest = new Map<string, ModelRow>();
  for (const segment of segments) {
    for (const row of segment) {
      const current = newest.get(row.id);
      if (current === undefined || row.lsn > current.lsn) newest.set(row.id, row);
    }
  }
  return [...newest.values()]
    .filter((row) => !(dropTombstones && row.deleted))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('mergeRows', () => {
  it('keeps the newest version of every id, sorted by id, dropping tombstones only when asked', () => {
    fc.assert(
      fc.property(segmentsArbitrary, fc.boolean(), (segments, dropTombstones) => {
        const inputs = segments.map(toRows);
        const before = inputs.map(copySegmentRows);
        const merged = mergeRows(inputs, { dropTombstones });
        validateSegmentRows(merged);
        expect(merged).toEqual(toRows(expectedMerge(segments, dropTombstones)));
        expect(inputs).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('lets a later input win when two rows of an id share an LSN', () => {
    const older = toRows([{ id: 'x', lsn: 5, deleted: false, value: 1 }]);
    const newer = toRows([{ id: 'x', lsn: 5, deleted: true, value: 0 }]);
    expect(Array.from(mergeRows([older, newer], { dropTombstones: false }).deleted)).toEqual([1]);
    expect(mergeRows([older, newer], { dropTombstones: true }).ids).toEqual([]);
  });

  it('rejects no inputs and mixed dimensions', () => {
    expect(() => mergeRows([], { dropTombstones: false })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const other: SegmentRows = { ...toRows([]), dimension: 4 };
    expect(() => mergeRows([toRows([]), other], { dropTombstones: false })).toThrow(/dimension/);
  });
});
