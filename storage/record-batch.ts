/**
 * A columnar batch of record operations: the one shape in which writes travel
 * from the host client through the supervisor, shard and WAL writer to the
 * engine, and in which WAL replay pages travel back. All vectors of a batch
 * live in one Float32Array so the batch crosses threads by transferring one
 * buffer, never element by element.
 */

/** Row operation codes. */
export const OP_UPSERT = 0;
export const OP_DELETE = 1;

/** A batch of upserts and deletes of one collection. */
export interface RecordBatch {
  readonly dimension: number;
  /** One code per row: OP_UPSERT or OP_DELETE. */
  readonly ops: Uint8Array;
  readonly ids: readonly string[];
  /** `rows × dimension` floats, row-major; a delete row's slice is ignored. Empty when every row is a delete. */
  readonly vectors: Float32Array;
  /** One JSON text (or null) per row. */
  readonly metadata: readonly (string | null)[];
  /** One LSN per row once the WAL has assigned them; null before. */
  readonly lsns: Float64Array | null;
}

/** The number of rows in a batch. */
export function batchRows(batch: RecordBatch): number {
  return batch.ids.length;
}

/** A view (no copy) of row `row`'s vector, or null for a delete row. */
export function rowVector(batch: RecordBatch, row: number): Float32Array | null {
  if (batch.ops[row] !== OP_UPSERT) return null;
  const start = row * batch.dimension;
  return batch.vectors.subarray(start, start + batch.dimension);
}

/** A new batch holding copies of the given rows, in the given order. */
export function selectRows(batch: RecordBatch, rows: readonly number[]): RecordBatch {
  const hasVectors = batch.vectors.length > 0;
  const vectors = new Float32Array(hasVectors ? rows.length * batch.dimension : 0);
  const ops = new Uint8Array(rows.length);
  const sourceLsns = batch.lsns;
  const lsns = sourceLsns === null ? null : new Float64Array(rows.length);
  rows.forEach((row, index) => {
    ops[index] = batch.ops[row] as number;
    if (lsns !== null && sourceLsns !== null) lsns[index] = sourceLsns[row] as number;
    if (hasVectors)
      vectors.set(batch.vectors.subarray(row * batch.dimension, (row + 1) * batch.dimension), index * batch.dimension);
  });
  return {
    dimension: batch.dimension,
    ops,
    ids: rows.map((row) => batch.ids[row] as string),
    vectors,
    metadata: rows.map((row) => batch.metadata[row] ?? null),
    lsns,
  };
}

/** The buffers to transfer when posting a batch to another thread. */
export function batchTransfer(batch: RecordBatch): ArrayBuffer[] {
  const buffers = [batch.ops.buffer, batch.vectors.buffer];
  if (batch.lsns !== null) buffers.push(batch.lsns.buffer);
  return buffers.filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer && buffer.byteLength > 0);
}

/** The same batch with LSNs `firstLsn, firstLsn + 1, ...` assigned to its rows. */
export function withLsns(batch: RecordBatch, firstLsn: number): RecordBatch {
  const lsns = new Float64Array(batchRows(batch));
  for (let row = 0; row < lsns.length; row++) lsns[row] = firstLsn + row;
  return { ...batch, lsns };
}
