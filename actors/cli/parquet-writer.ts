/**
 * Writes records to a Parquet file as a stream: each batch becomes an Arrow
 * record batch (`id` utf8, `vector` list<float32>, `metadata` utf8 JSON,
 * nullable), parquet-wasm's transformParquetStream encodes them into row
 * groups of at most EXPORT_ROW_GROUP_ROWS rows and the bytes are piped to the
 * file, so memory holds about one row group, whatever the collection's size.
 */
import { createWriteStream } from '../../runtime/host-files.js';
import { writeFile } from '../../runtime/host-files.js';
import { Writable } from 'node:stream';
import { Field, Float32, List, Schema, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import type { RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import {
  Compression,
  Table as WasmTable,
  WriterPropertiesBuilder,
  transformParquetStream,
  writeParquet,
} from 'parquet-wasm';
import type { Metadata } from '../public-api.js';

/** Rows per row group of an exported file: what a reader (such as `shoal import`) holds in memory at once. */
export const EXPORT_ROW_GROUP_ROWS = 10_000;

/** A record as export writes it. */
export interface ExportRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

const VECTOR_TYPE = new List(new Field('item', new Float32(), false));
const SCHEMA = new Schema([
  new Field('id', new Utf8(), false),
  new Field('vector', VECTOR_TYPE, false),
  new Field('metadata', new Utf8(), true),
]);

function arrowTable(records: readonly ExportRecord[]): Table {
  return new Table(SCHEMA, {
    id: vectorFromArray(
      records.map((record) => record.id),
      new Utf8(),
    ),
    vector: vectorFromArray(
      records.map((record) => record.vector),
      VECTOR_TYPE,
    ),
    metadata: vectorFromArray(
      records.map((record) => (record.metadata === null ? null : JSON.stringify(record.metadata))),
      new Utf8(),
    ),
  });
}

function writerProperties(): ReturnType<WriterPropertiesBuilder['build']> {
  return (
    new WriterPropertiesBuilder()
      .setCompression(Compression.SNAPPY)
      .setMaxRowGroupSize(EXPORT_ROW_GROUP_ROWS)
      // Ids and vector components are nearly all distinct: a dictionary only costs time.
      .setColumnDictionaryEnabled('id', false)
      .setColumnDictionaryEnabled('vector.list.item', false)
      .setCreatedBy('shoal export')
      .build()
  );
}

/** Writes the batches `source` yields to `file` (created or replaced) as Parquet; resolves once the file is closed. */
export async function writeParquetFile(file: string, source: AsyncIterator<readonly ExportRecord[]>): Promise<void> {
  const first = await source.next();
  if (first.done === true) {
    // transformParquetStream needs a batch to learn the schema; an empty collection is a file with none.
    const empty = writeParquet(WasmTable.fromIPCStream(tableToIPC(arrowTable([]), 'stream')), writerProperties());
    await writeFile(file, empty);
    return;
  }
  let pending: readonly ExportRecord[] | undefined = first.value;
  const batches = new ReadableStream<WasmRecordBatch>({
    async pull(controller) {
      const records = pending ?? (await source.next()).value;
      pending = undefined;
      if (records === undefined) {
        controller.close();
        return;
      }
      for (const batch of WasmTable.fromIPCStream(tableToIPC(arrowTable(records), 'stream')).recordBatches()) {
        controller.enqueue(batch);
      }
    },
  });
  const bytes = await transformParquetStream(batches, writerProperties());
  await bytes.pipeTo(Writable.toWeb(createWriteStream(file)) as WritableStream<Uint8Array>);
}
