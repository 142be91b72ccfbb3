/**
 * The Parquet encoding of a segment's rows: SegmentRows ⇄ Parquet file bytes.
 * Builds an Apache Arrow table with exactly the columns `id` (utf8),
 * `vector` (FixedSizeList<float32>[dimension]), `metadata` (utf8 JSON,
 * nullable), `lsn` (int64) and `deleted` (bool), and writes it with
 * parquet-wasm (Snappy pages, readable by any standard Parquet reader).
 * Decoding checks the schema and yields freshly allocated, aligned columns.
 * Pure code (bytes in, bytes out); no I/O.
 */

import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Int64,
  Precision,
  Schema,
  Table,
  Type,
  Utf8,
  makeData,
  RecordBatch,
  Struct,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import type { Data, Float, Int, Vector } from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, readParquet, writeParquet } from 'parquet-wasm';
import { ShoalError } from '../../runtime/errors.js';
import type { SegmentRows } from './segment-rows.js';

/** Rows per Parquet row group: bounds a reader's memory per group. */
export const PARQUET_ROW_GROUP_ROWS = 65_536;

/** The Arrow schema of a segment file of `dimension`. */
export function segmentSchema(dimension: number): Schema {
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('vector', new FixedSizeList(dimension, new Field('item', new Float32(), false)), false),
    new Field('metadata', new Utf8(), true),
    new Field('lsn', new Int64(), false),
    new Field('deleted', new Bool(), false),
  ]);
}

/** Encodes `rows` (already validated) as a Parquet file; the rows are not modified. */
export function encodeSegmentRows(rows: SegmentRows): Uint8Array {
  const schema = segmentSchema(rows.dimension);
  const count = rows.ids.length;
  const columns = [
    vectorFromArray(rows.ids, new Utf8()).data[0],
    vectorData(rows),
    vectorFromArray(rows.metadata, new Utf8()).data[0],
    makeData({
      type: new Int64(),
      length: count,
      nullCount: 0,
      data: BigInt64Array.from(rows.lsns, (lsn) => BigInt(lsn)),
    }),
    vectorFromArray(
      Array.from(rows.deleted, (flag) => flag === 1),
      new Bool(),
    ).data[0],
  ];
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: count, nullCount: 0, children: columns as Data[] }),
  );
  const wasmTable = WasmTable.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    .setMaxRowGroupSize(PARQUET_ROW_GROUP_ROWS)
    // Ids, vector components and LSNs are nearly all distinct: a dictionary only costs time.
    .setColumnDictionaryEnabled('id', false)
    .setColumnDictionaryEnabled('vector.list.item', false)
    .setColumnDictionaryEnabled('lsn', false)
    .setCreatedBy('shoal viper')
    .build();
  // writeParquet consumes the wasm table and the properties.
  return writeParquet(wasmTable, properties);
}

function vectorData(rows: SegmentRows): Data<FixedSizeList> {
  const count = rows.ids.length;
  const child = makeData({ type: new Float32(), length: count * rows.dimension, nullCount: 0, data: rows.vectors });
  const type = new FixedSizeList(rows.dimension, new Field('item', new Float32(), false));
  return makeData({ type, length: count, nullCount: 0, child });
}

/**
 * Decodes a segment file. Throws CORRUPTION (with `details.problem`) when the
 * bytes are not Parquet, the schema differs from `segmentSchema`, or a
 * required value is null. Every returned column is a fresh allocation.
 */
export function decodeSegmentRows(bytes: Uint8Array): SegmentRows {
  let table: Table;
  try {
    const wasmTable = readParquet(bytes);
    table = tableFromIPC(wasmTable.intoIPCStream());
  } catch (error) {
    throw corrupt(`not a readable Parquet file: ${error instanceof Error ? error.message : String(error)}`);
  }
  const dimension = checkSchema(table.schema);
  const count = table.numRows;
  const rows: SegmentRows = {
    dimension,
    ids: stringColumn(table, 'id', false) as string[],
    vectors: new Float32Array(count * dimension),
    metadata: stringColumn(table, 'metadata', true),
    lsns: new Float64Array(count),
    deleted: new Uint8Array(count),
  };
  copyVectors(table, rows.vectors, dimension);
  copyScalars(table, rows);
  return rows;
}

function checkSchema(schema: Schema): number {
  const expected: [string, Type][] = [
    ['id', Type.Utf8],
    ['vector', Type.FixedSizeList],
    ['metadata', Type.Utf8],
    ['lsn', Type.Int],
    ['deleted', Type.Bool],
  ];
  const names = schema.fields.map((field) => field.name);
  if (names.join(',') !== expected.map(([name]) => name).join(','))
    throw corrupt(`unexpected columns ${names.join(', ')}`);
  schema.fields.forEach((field, index) => {
    if (field.typeId !== expected[index]?.[1]) throw corrupt(`column ${field.name} has type ${String(field.type)}`);
  });
  const lsnType = schema.fields[3]?.type as Int;
  if (lsnType.bitWidth !== 64 || !lsnType.isSigned) throw corrupt(`column lsn has type ${String(lsnType)}`);
  const vectorType = schema.fields[1]?.type as FixedSizeList;
  const itemType = vectorType.valueType as Float;
  if (itemType.typeId !== Type.Float || itemType.precision !== Precision.SINGLE) {
    throw corrupt(`column vector has items of type ${String(itemType)}`);
  }
  return vectorType.listSize;
}

function stringColumn(table: Table, name: string, nullable: boolean): (string | null)[] {
  const values: (string | null)[] = new Array<string | null>(table.numRows);
  let row = 0;
  for (const value of table.getChild(name) as Vector<Utf8>) {
    if (value === null && !nullable) throw corrupt(`null in column ${name} at row ${row}`);
    values[row++] = value;
  }
  return values;
}

function copyVectors(table: Table, target: Float32Array, dimension: number): void {
  const column = table.getChild('vector') as Vector<FixedSizeList>;
  let rowOffset = 0;
  for (const data of column.data) {
    if (data.nullCount > 0) throw corrupt('null vector');
    const child = data.children[0];
    if (child === undefined) throw corrupt('vector column without values');
    const start = child.offset + data.offset * dimension;
    const values = (child.values as Float32Array).subarray(start, start + data.length * dimension);
    if (values.length !== data.length * dimension) throw corrupt('short vector column');
    target.set(values, rowOffset * dimension);
    rowOffset += data.length;
  }
}

function copyScalars(table: Table, rows: SegmentRows): void {
  const lsnColumn = table.getChild('lsn') as Vector<Int64>;
  const deletedColumn = table.getChild('deleted') as Vector<Bool>;
  for (let row = 0; row < table.numRows; row++) {
    const lsn = lsnColumn.get(row) as bigint | null;
    const deleted = deletedColumn.get(row);
    if (lsn === null || deleted === null) throw corrupt(`null lsn or deleted at row ${row}`);
    const lsnNumber = Number(lsn);
    if (!Number.isSafeInteger(lsnNumber) || lsnNumber < 0)
      throw corrupt(`lsn ${String(lsn)} at row ${row} is out of range`);
    rows.lsns[row] = lsnNumber;
    rows.deleted[row] = deleted ? 1 : 0;
  }
}

function corrupt(problem: string): ShoalError {
  return new ShoalError('CORRUPTION', `segment Parquet data: ${problem}`, { problem });
}
