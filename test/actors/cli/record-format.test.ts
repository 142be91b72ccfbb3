// Proves the pure parts of `shoal import` in-process: how a file name picks a format, how one input object becomes a record (integer ids stringified, float32 vectors, metadata null when absent) or is refused with the field named as `upsert` would name it, and how Arrow cells of a Parquet row (bigint ids, struct and list metadata, JSON text) become plain values.
import { Field, Float64, Int64, List, Struct, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { plainValue, parquetRow } from '../../../actors/cli/parquet-values.js';
import { formatOfFile, importRecord, jsonLine, recordBytesMax } from '../../../actors/cli/record-format.js';
import { ShoalError } from '../../../runtime/errors.js';

function refusal(value: unknown): { code: string; message: string } {
  try {
    importRecord(value);
  } catch (error) {
    if (error instanceof ShoalError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

describe('formatOfFile', () => {
  it.each([
    ['a.jsonl', 'jsonl'],
    ['a.NDJSON', 'jsonl'],
    ['dir.x/a.json', 'jsonl'],
    ['a.parquet', 'parquet'],
    ['a.csv', undefined],
    ['parquet', undefined],
  ])('%s is %s', (file, format) => {
    expect(formatOfFile(file)).toBe(format);
  });
});

describe('importRecord', () => {
  it('stringifies integer ids, packs the vector as float32 and defaults metadata to null', () => {
    const record = importRecord({ id: 7, vector: [0.1, 2, -3] });
    expect(record).toEqual({ id: '7', vector: Float32Array.from([0.1, 2, -3]), metadata: null });
    expect(importRecord({ id: 'a', vector: [1], metadata: { k: [1] } }).metadata).toEqual({ k: [1] });
    expect(recordBytesMax(record)).toBeGreaterThanOrEqual(1 + 12);
  });

  it.each([
    [[1, 2], 'INVALID_ARGUMENT', /^record: /],
    [{ id: 1.5, vector: [1] }, 'INVALID_ARGUMENT', /^id: must be a non-empty string/],
    [{ id: -1, vector: [1] }, 'INVALID_ARGUMENT', /^id: /],
    [{ id: '', vector: [1] }, 'INVALID_ARGUMENT', /^id: /],
    [{ id: 'a', vector: [1, 'x'] }, 'INVALID_ARGUMENT', /^vector\[1\]: must be a number/],
    [{ id: 'a', vector: [1e39] }, 'INVALID_ARGUMENT', /^vector\[0\]: must be a finite float32/],
    [{ id: 'a', vector: [] }, 'INVALID_ARGUMENT', /vector/],
    [{ id: 'a', vector: [1], metadata: [1] }, 'INVALID_ARGUMENT', /^metadata: must be a plain JSON object/],
    [{ id: 'a', vector: [1], payload: {} }, 'INVALID_ARGUMENT', /^payload: is not a field of a record/],
  ])('refuses %j', (value, code, message) => {
    const refused = refusal(value);
    expect(refused.code).toBe(code);
    expect(refused.message).toMatch(message);
  });

  it('writes a JSON line that imports back to the same record', () => {
    const record = { id: 'x', vector: Float32Array.from([0.1, 1 / 3]), metadata: { a: 'é' } };
    expect(importRecord(JSON.parse(jsonLine(record)))).toEqual(record);
  });
});

describe('parquetRow', () => {
  it('turns bigint ids, list vectors and JSON text metadata into plain values', () => {
    const vectors = vectorFromArray([[1.5, 2]], new List(new Field('item', new Float64(), true)));
    const row = parquetRow(12n, vectors.get(0), '{"a":1}');
    expect(row).toEqual({ id: '12', vector: Float64Array.from([1.5, 2]), metadata: { a: 1 } });
    expect(importRecord(row).vector).toEqual(Float32Array.from([1.5, 2]));
    expect(parquetRow('a', null, null)).toEqual({ id: 'a', vector: null, metadata: null });
    expect(parquetRow('a', null, undefined)).toEqual({ id: 'a', vector: null, metadata: null });
    expect(() => parquetRow('a', null, '{oops')).toThrow(/metadata: is not JSON text/);
  });

  it('turns struct metadata, nested lists and 64-bit integers into objects, arrays and numbers', () => {
    const type = new Struct([
      new Field('name', new Utf8(), true),
      new Field('count', new Int64(), true),
      new Field('tags', new List(new Field('item', new Utf8(), true)), true),
    ]);
    const column = vectorFromArray([{ name: 'n', count: 3n, tags: ['a', 'b'] }], type);
    expect(plainValue(column.get(0))).toEqual({ name: 'n', count: 3, tags: ['a', 'b'] });
    expect(plainValue(2n ** 60n)).toBe(String(2n ** 60n));
  });
});
