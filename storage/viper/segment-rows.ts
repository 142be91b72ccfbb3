/**
 * The columnar shape of a VIPER segment's rows: what a flush or a compaction
 * hands to the segment builder, what the Parquet codec encodes and decodes,
 * and what crosses into the build worker (its typed-array buffers are
 * transferred). Owns the shape, its validation, sorting by id, conversion from
 * a WAL-ordered `RecordBatch`, and the list of buffers to transfer. Pure code.
 */

import { invalidArgument } from '../../runtime/errors.js';
import { STORAGE_LIMITS } from '../../runtime/limits.js';
import { integerIn } from '../../runtime/options.js';
import { OP_DELETE, OP_UPSERT } from '../record-batch.js';
import type { RecordBatch } from '../record-batch.js';

/**
 * Rows of one segment, column by column; row `r` is `ids[r]`,
 * `vectors[r*dimension..+dimension]`, `metadata[r]` (JSON text or null),
 * `lsns[r]` and `deleted[r]` (1 = tombstone: the id was deleted at that LSN;
 * its vector slice is zeros and its metadata null). A segment holds at most
 * one row per id.
 */
export interface SegmentRows {
  readonly dimension: number;
  readonly ids: string[];
  /** `rows × dimension` floats, row-major. */
  readonly vectors: Float32Array;
  readonly metadata: (string | null)[];
  readonly lsns: Float64Array;
  readonly deleted: Uint8Array;
}

/** The number of rows. */
export function segmentRowCount(rows: SegmentRows): number {
  return rows.ids.length;
}

/** The number of rows that are not tombstones. */
export function liveRowCount(rows: SegmentRows): number {
  let live = 0;
  for (let row = 0; row < rows.deleted.length; row++) if (rows.deleted[row] === 0) live++;
  return live;
}

/** Empty rows of `dimension`. */
export function emptySegmentRows(dimension: number): SegmentRows {
  return {
    dimension,
    ids: [],
    vectors: new Float32Array(0),
    metadata: [],
    lsns: new Float64Array(0),
    deleted: new Uint8Array(0),
  };
}

/**
 * Throws INVALID_ARGUMENT (naming the column and row) unless the columns have
 * consistent lengths, LSNs are non-negative safe integers, `deleted` holds
 * 0/1, live vectors are finite, and ids are unique strings.
 */
export function validateSegmentRows(rows: SegmentRows): void {
  const { dimension } = rows;
  integerIn(dimension, 'rows.dimension', 1, STORAGE_LIMITS.vectorDimensionMax);
  const count = rows.ids.length;
  if (rows.vectors.length !== count * dimension) {
    throw invalidArgument('rows.vectors', `expected ${count * dimension} floats, got ${rows.vectors.length}`);
  }
  for (const [column, length] of [
    ['metadata', rows.metadata.length],
    ['lsns', rows.lsns.length],
    ['deleted', rows.deleted.length],
  ] as const) {
    if (length !== count) throw invalidArgument(`rows.${column}`, `expected ${count} entries, got ${length}`);
  }
  const seen = new Set<string>();
  for (let row = 0; row < count; row++) {
    const id = rows.ids[row];
    if (typeof id !== 'string') throw invalidArgument(`rows.ids[${row}]`, `expected a string, got ${typeof id}`);
    if (seen.has(id)) throw invalidArgument(`rows.ids[${row}]`, `duplicate id ${JSON.stringify(id)}`);
    seen.add(id);
    const lsn = rows.lsns[row] as number;
    if (!Number.isSafeInteger(lsn) || lsn < 0)
      throw invalidArgument(`rows.lsns[${row}]`, `expected a non-negative safe integer, got ${lsn}`);
    const deleted = rows.deleted[row];
    if (deleted !== 0 && deleted !== 1)
      throw invalidArgument(`rows.deleted[${row}]`, `expected 0 or 1, got ${String(deleted)}`);
    if (deleted === 0 && !finiteRow(rows.vectors, row * dimension, dimension)) {
      throw invalidArgument(`rows.vectors[${row}]`, 'contains a non-finite value');
    }
  }
}

function finiteRow(vectors: Float32Array, offset: number, dimension: number): boolean {
  for (let index = offset; index < offset + dimension; index++) if (!Number.isFinite(vectors[index])) return false;
  return true;
}

/** Code-unit order of ids, the order of `hitComparator` ties. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rows sorted by id (code-unit order): `rows` itself when already sorted, else new columns. */
export function sortRowsById(rows: SegmentRows): SegmentRows {
  const { ids } = rows;
  let sorted = true;
  for (let row = 1; row < ids.length && sorted; row++)
    sorted = compareIds(ids[row - 1] as string, ids[row] as string) <= 0;
  if (sorted) return rows;
  const order = Array.from({ length: ids.length }, (_, row) => row);
  order.sort((a, b) => compareIds(ids[a] as string, ids[b] as string));
  return selectSegmentRows(rows, order);
}

/** New rows holding copies of `order`'s rows of `rows`, in that order. */
export function selectSegmentRows(rows: SegmentRows, order: readonly number[]): SegmentRows {
  const { dimension } = rows;
  const vectors = new Float32Array(order.length * dimension);
  const lsns = new Float64Array(order.length);
  const deleted = new Uint8Array(order.length);
  order.forEach((source, target) => {
    vectors.set(rows.vectors.subarray(source * dimension, (source + 1) * dimension), target * dimension);
    lsns[target] = rows.lsns[source] as number;
    deleted[target] = rows.deleted[source] as number;
  });
  return {
    dimension,
    ids: order.map((source) => rows.ids[source] as string),
    vectors,
    metadata: order.map((source) => rows.metadata[source] ?? null),
    lsns,
    deleted,
  };
}

/**
 * The segment rows of a batch whose LSNs are assigned: the newest operation
 * per id wins (a delete becomes a tombstone row); output sorted by id.
 */
export function segmentRowsFromBatch(batch: RecordBatch): SegmentRows {
  if (batch.lsns === null) throw invalidArgument('batch.lsns', 'LSNs must be assigned before building a segment');
  const lsns = batch.lsns;
  const newest = new Map<string, number>();
  batch.ids.forEach((id, row) => {
    const previous = newest.get(id);
    if (previous === undefined || (lsns[row] as number) >= (lsns[previous] as number)) newest.set(id, row);
  });
  const order = [...newest.values()].sort((a, b) => compareIds(batch.ids[a] as string, batch.ids[b] as string));
  const { dimension } = batch;
  const rows: SegmentRows = {
    dimension,
    ids: order.map((row) => batch.ids[row] as string),
    vectors: new Float32Array(order.length * dimension),
    metadata: order.map((row) => (batch.ops[row] === OP_UPSERT ? (batch.metadata[row] ?? null) : null)),
    lsns: Float64Array.from(order, (row) => lsns[row] as number),
    deleted: Uint8Array.from(order, (row) => (batch.ops[row] === OP_DELETE ? 1 : 0)),
  };
  order.forEach((row, target) => {
    if (batch.ops[row] === OP_UPSERT)
      rows.vectors.set(batch.vectors.subarray(row * dimension, (row + 1) * dimension), target * dimension);
  });
  return rows;
}

/** A copy of `rows` with freshly allocated typed arrays (safe to transfer). */
export function copySegmentRows(rows: SegmentRows): SegmentRows {
  return {
    dimension: rows.dimension,
    ids: [...rows.ids],
    vectors: rows.vectors.slice(),
    metadata: [...rows.metadata],
    lsns: rows.lsns.slice(),
    deleted: rows.deleted.slice(),
  };
}

/**
 * The ArrayBuffers to transfer when posting `rows` to another thread: each
 * distinct buffer that a column spans entirely (a column that is a view into
 * a larger buffer is copied instead, so unrelated data is never detached).
 * After a transfer the sender's columns are empty.
 */
export function segmentRowsTransfer(rows: SegmentRows): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of [rows.vectors, rows.lsns, rows.deleted]) {
    const { buffer } = view;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) continue;
    if (view.byteOffset === 0 && view.byteLength === buffer.byteLength) buffers.add(buffer);
  }
  return [...buffers];
}
