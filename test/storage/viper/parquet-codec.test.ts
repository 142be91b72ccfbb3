// Proves segment rows survive a Parquet round trip bit for bit (ids, vectors, metadata, LSNs, tombstone flags, across
// several row groups), that the file is standard Parquet (hyparquet, an independent reader, finds the same ids and
// vectors), and that damaged or foreign files decode to CORRUPTION.
import { Field, Float64, Schema, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../../runtime/errors.js';
import { PARQUET_ROW_GROUP_ROWS, decodeSegmentRows, encodeSegmentRows } from '../../../storage/viper/parquet-codec.js';
import type { SegmentRows } from '../../../storage/viper/segment-rows.js';
import { makeRows } from './fixtures/rows.js';

// Index of the first differing element, or -1 (faster than deep equality on long columns).
function firstDifference(a: ArrayLike<unknown>, b: ArrayLike<unknown>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return index;
  return -1;
}

function expectSameRows(actual: SegmentRows, expected: SegmentRows): void {
  expect(actual.dimension).toBe(expected.dimension);
  expect(firstDifference(actual.ids, expected.ids), 'ids').toBe(-1);
  expect(firstDifference(actual.metadata, expected.metadata), 'metadata').toBe(-1);
  expect(firstDifference(actual.lsns, expected.lsns), 'lsns').toBe(-1);
  expect(firstDifference(actual.deleted, expected.deleted), 'deleted').toBe(-1);
  // Bit-exact: compare the raw bits, so -0, subnormals and extremes count.
  const actualBits = new Uint32Array(actual.vectors.buffer, actual.vectors.byteOffset, actual.vectors.length);
  const expectedBits = new Uint32Array(expected.vectors.buffer, expected.vectors.byteOffset, expected.vectors.length);
  expect(firstDifference(actualBits, expectedBits), 'vector bits').toBe(-1);
}

function specialRows(): SegmentRows {
  const dimension = 4;
  const vectors = Float32Array.from([
    -0,
    0,
    1e-45,
    -3.4028234663852886e38, // signed zero, smallest subnormal, most negative float32
    0.1,
    1 / 3,
    Math.PI,
    3.4028234663852886e38,
    0,
    0,
    0,
    0, // tombstone row
  ]);
  return {
    dimension,
    ids: ['', 'é 漢字 🐟', 'z'],
    vectors,
    metadata: ['{"lang":"en","tags":["a","b"],"n":1.5}', null, null],
    lsns: Float64Array.from([0, Number.MAX_SAFE_INTEGER, 42]),
    deleted: Uint8Array.from([0, 0, 1]),
  };
}

describe('parquet codec', () => {
  it('round-trips special values bit for bit', () => {
    const rows = specialRows();
    expectSameRows(decodeSegmentRows(encodeSegmentRows(rows)), rows);
  });

  it('round-trips rows spanning several row groups into aligned, fresh columns', () => {
    const rows = makeRows({
      count: PARQUET_ROW_GROUP_ROWS + 1_000,
      dimension: 3,
      seed: 5,
      tombstoneEvery: 7,
      shape: 'uniform',
    });
    const bytes = encodeSegmentRows(rows);
    expect(parquetMetadata(bytes.slice().buffer).row_groups.length).toBe(2);
    const decoded = decodeSegmentRows(bytes);
    expectSameRows(decoded, rows);
    expect(decoded.vectors.byteOffset % 4).toBe(0);
    expect(decoded.vectors.buffer.byteLength).toBe(decoded.vectors.byteLength);
  });

  it('round-trips an empty segment', () => {
    const rows: SegmentRows = {
      dimension: 8,
      ids: [],
      vectors: new Float32Array(0),
      metadata: [],
      lsns: new Float64Array(0),
      deleted: new Uint8Array(0),
    };
    expectSameRows(decodeSegmentRows(encodeSegmentRows(rows)), rows);
  });

  it('writes a standard file: hyparquet reads the same ids, vectors, metadata, LSNs and flags', async () => {
    const rows = makeRows({ count: 3_000, dimension: 16, seed: 11, tombstoneEvery: 10 });
    const bytes = encodeSegmentRows(rows);
    const file = bytes.slice().buffer;
    const metadata = parquetMetadata(file);
    expect(metadata.schema.map((element) => element.name)).toEqual(
      expect.arrayContaining(['id', 'vector', 'metadata', 'lsn', 'deleted']),
    );
    const records = await parquetReadObjects({ file });
    expect(records.length).toBe(rows.ids.length);
    records.forEach((record, row) => {
      expect(record.id).toBe(rows.ids[row]);
      expect(record.vector).toEqual(Array.from(rows.vectors.subarray(row * 16, (row + 1) * 16)));
      expect(record.metadata ?? null).toBe(rows.metadata[row]);
      expect(record.lsn).toBe(BigInt(rows.lsns[row] as number));
      expect(record.deleted).toBe(rows.deleted[row] === 1);
    });
  });

  it('rejects bytes that are not Parquet with CORRUPTION', () => {
    expect(() => decodeSegmentRows(new TextEncoder().encode('not a parquet file at all'))).toThrow(ShoalError);
    const bytes = encodeSegmentRows(specialRows());
    const truncated = bytes.subarray(0, bytes.length - 10);
    try {
      decodeSegmentRows(truncated);
      expect.unreachable();
    } catch (error) {
      expect((error as ShoalError).code).toBe('CORRUPTION');
    }
  });

  it('rejects a Parquet file with other columns with CORRUPTION', () => {
    const foreign = new Table(
      new Schema([new Field('id', new Utf8(), false), new Field('score', new Float64(), false)]),
      {
        id: vectorFromArray(['a'], new Utf8()),
        score: vectorFromArray([1.5], new Float64()),
      },
    );
    const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(foreign, 'stream')));
    expect(() => decodeSegmentRows(bytes)).toThrow(/unexpected columns/);
  });
});
