/**
 * The records of an import file, read as a stream: JSON lines through
 * readline (one line in memory at a time) and Parquet one row group at a
 * time (parquet-wasm reads the row group's byte ranges from a file-backed
 * Blob, so the file is never loaded whole; a row group's rows are in memory
 * while they are imported). A bad record ends the stream with a
 * RecordSourceError naming its line or row (counting from 1).
 */
import { createReadStream, openAsBlob } from '../../runtime/host-files.js';
import { createInterface } from 'node:readline';
import { tableFromIPC } from 'apache-arrow';
import type { Table, Vector } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import { io, storageFailed } from '../../runtime/fs-errors.js';
import { parquetRow } from './parquet-values.js';
import { importRecord } from './record-format.js';
import type { Format, ImportRecord } from './record-format.js';

/** The record at `position` (a line or row number, from 1) is bad: `cause` says why. */
export class RecordSourceError extends Error {
  constructor(
    readonly position: number,
    readonly cause: ShoalError,
  ) {
    super(cause.message);
  }
}

/** A file of records: how far the reading has come, for a progress bar, and the records. */
export interface RecordSource {
  /** What a position counts: 'line' or 'row'. */
  readonly unit: 'line' | 'row';
  /** The progress total: bytes of a JSON lines file, rows of a Parquet file. */
  readonly total: number;
  /** Progress so far, in the unit of `total`. */
  done(): number;
  /** Each record with its position; throws RecordSourceError at a bad one. */
  records(): AsyncGenerator<{ readonly position: number; readonly record: ImportRecord }, void, undefined>;
}

/** Opens `file` as `format`; I/O failures are STORAGE_FAILED, a Parquet file without the columns INVALID_ARGUMENT. */
export async function openRecordSource(file: string, format: Format, totalBytes: number): Promise<RecordSource> {
  return format === 'jsonl' ? jsonLinesSource(file, totalBytes) : await parquetSource(file);
}

function asShoalError(error: unknown): ShoalError {
  return error instanceof ShoalError
    ? error
    : invalidArgument('record', error instanceof Error ? error.message : String(error));
}

function jsonLinesSource(file: string, totalBytes: number): RecordSource {
  const stream = createReadStream(file);
  return {
    unit: 'line',
    total: totalBytes,
    done: () => stream.bytesRead,
    async *records() {
      let position = 0;
      try {
        for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
          position++;
          if (line.trim() === '') continue;
          const record = recordAt(position, () => JSON.parse(line) as unknown);
          yield { position, record };
        }
      } catch (error) {
        if (error instanceof RecordSourceError) throw error;
        throw storageFailed(`reading ${file}`, error);
      } finally {
        stream.destroy();
      }
    },
  };
}

/** The record `read` gives at `position`, or a RecordSourceError saying why there is none. */
function recordAt(position: number, read: () => unknown): ImportRecord {
  let value: unknown;
  try {
    value = read();
  } catch (error) {
    const problem = error instanceof ShoalError ? error.message : `is not JSON: ${(error as Error).message}`;
    throw new RecordSourceError(position, invalidArgument('record', problem));
  }
  try {
    return importRecord(value);
  } catch (error) {
    throw new RecordSourceError(position, asShoalError(error));
  }
}

async function parquetSource(file: string): Promise<RecordSource> {
  const reader = await io(`opening ${file} as Parquet`, async () => ParquetFile.fromFile(await openAsBlob(file)));
  const columns = checkedColumns(tableFromIPC(reader.schema().intoIPCStream()), file);
  const metadata = reader.metadata();
  const rowGroups = metadata.numRowGroups();
  let done = 0;
  return {
    unit: 'row',
    total: metadata.fileMetadata().numRows(),
    done: () => done,
    async *records() {
      for (let group = 0; group < rowGroups; group++) {
        const wasmTable = await io(`reading row group ${group} of ${file}`, () =>
          reader.read({ rowGroups: [group], columns }),
        );
        const table = tableFromIPC(wasmTable.intoIPCStream());
        const [ids, vectors, metadataColumn] = columns.map((name) => table.getChild(name) as Vector);
        for (let row = 0; row < table.numRows; row++) {
          const position = done + 1;
          const record = recordAt(position, () =>
            parquetRow(ids?.get(row), vectors?.get(row), metadataColumn?.get(row)),
          );
          done++;
          yield { position, record };
        }
      }
    },
  };
}

/** The columns to read (id, vector and metadata when there is one); other columns are not read. */
function checkedColumns(schemaTable: Table, file: string): string[] {
  const names = schemaTable.schema.fields.map((field) => field.name);
  for (const required of ['id', 'vector']) {
    if (!names.includes(required)) {
      throw invalidArgument('file', `${file} has no column ${required} (its columns: ${names.join(', ')})`);
    }
  }
  return names.includes('metadata') ? ['id', 'vector', 'metadata'] : ['id', 'vector'];
}
