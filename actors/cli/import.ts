/**
 * `shoal import`: streams the records of a JSON lines or Parquet file into a
 * collection, upserting batches of IMPORT_BATCH_RECORDS (fewer when their
 * bytes pass IMPORT_BATCH_BYTES_MAX, far inside the 256 MiB limit per call).
 * The collection is created at the first record when it does not exist
 * (dimension from that vector, metric cosine unless --metric says another).
 * A bad record stops the import after every record before it is written, and
 * the error says so: fix the line and run again (an upsert of the same ids
 * is idempotent).
 */
import { stat } from '../../runtime/host-files.js';
import { ShoalError } from '../../runtime/errors.js';
import { io } from '../../runtime/fs-errors.js';
import type { Shoal } from '../client/shoal.js';
import type { CollectionInfo, Metric } from '../public-api.js';
import { startProgress } from './progress.js';
import type { Progress } from './progress.js';
import { recordBytesMax } from './record-format.js';
import type { Format, ImportRecord } from './record-format.js';
import { RecordSourceError, openRecordSource } from './record-sources.js';
import type { RecordSource } from './record-sources.js';

export const IMPORT_BATCH_RECORDS = 1_000;
export const IMPORT_BATCH_BYTES_MAX = 32 * 1024 * 1024;

export interface ImportOptions {
  readonly collection: string;
  readonly file: string;
  readonly format: Format;
  /** Undefined: cosine for a new collection, anything for an existing one. */
  readonly metric?: Metric;
}

/** What an import wrote. */
export interface ImportSummary {
  readonly records: number;
  readonly elapsedMs: number;
  readonly created: boolean;
}

/** Imports `options.file` into `options.collection` of `db`; see the header. */
export async function importFile(db: Shoal, options: ImportOptions): Promise<ImportSummary> {
  const startMs = performance.now();
  const { size } = await io(`reading ${options.file}`, () => stat(options.file));
  const source = await openRecordSource(options.file, options.format, size);
  const existing = (await db.listCollections()).find((entry) => entry.name === options.collection);
  if (existing !== undefined && options.metric !== undefined && existing.metric !== options.metric) {
    const problem = `collection ${options.collection} exists with metric ${existing.metric}, not ${options.metric}`;
    throw new ShoalError('INVALID_ARGUMENT', problem, { field: 'metric' });
  }
  const progress = startProgress(`import ${options.collection}`, source.total);
  const importer = new BatchImporter(db, options, existing, source, progress);
  try {
    await importer.run();
  } finally {
    progress.stop();
  }
  return { records: importer.written, elapsedMs: performance.now() - startMs, created: importer.created };
}

class BatchImporter {
  written = 0;
  created = false;
  private batch: ImportRecord[] = [];
  private batchBytes = 0;
  /** Position of the batch's first record. */
  private batchStart = 0;
  private dimension: number | undefined;

  constructor(
    private readonly db: Shoal,
    private readonly options: ImportOptions,
    existing: CollectionInfo | undefined,
    private readonly source: RecordSource,
    private readonly progress: Progress,
  ) {
    this.dimension = existing?.dimension;
  }

  async run(): Promise<void> {
    try {
      for await (const { position, record } of this.source.records()) {
        await this.add(position, record);
      }
    } catch (error) {
      if (!(error instanceof RecordSourceError)) throw error;
      // Everything before the bad record goes in, so the message can say exactly what was written.
      await this.flush();
      throw this.stoppedAt(error.position, error.cause);
    }
    await this.flush();
  }

  private async add(position: number, record: ImportRecord): Promise<void> {
    if (this.dimension === undefined) await this.create(record.vector.length);
    if (record.vector.length !== this.dimension) {
      const { collection } = this.options;
      const values = record.vector.length;
      const message = `vector has ${values} values, collection ${collection} has dimension ${this.dimension}`;
      throw new RecordSourceError(position, new ShoalError('DIMENSION_MISMATCH', message));
    }
    if (this.batch.length === 0) this.batchStart = position;
    this.batch.push(record);
    this.batchBytes += recordBytesMax(record);
    if (this.batch.length >= IMPORT_BATCH_RECORDS || this.batchBytes >= IMPORT_BATCH_BYTES_MAX) await this.flush();
  }

  private async create(dimension: number): Promise<void> {
    const metric = this.options.metric ?? 'cosine';
    await this.db.createCollection({ name: this.options.collection, dimension, metric });
    this.dimension = dimension;
    this.created = true;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    try {
      await this.db.upsert(this.options.collection, this.batch);
    } catch (error) {
      if (!(error instanceof ShoalError)) throw error;
      // A failed upsert may have reached some shards: its records are neither promised nor denied.
      const outcome = `the ${this.written} records before it were imported, the batch's may be in part`;
      throw this.stoppedAt(this.batchStart, error, `the batch from here failed: `, outcome);
    }
    this.written += this.batch.length;
    this.batch = [];
    this.batchBytes = 0;
    this.progress.update(this.source.done(), this.written);
  }

  private stoppedAt(position: number, cause: ShoalError, prefix = '', outcome?: string): ShoalError {
    const { unit } = this.source;
    const where = `${this.options.file} ${unit} ${position}`;
    const written = outcome ?? `the ${this.written} records before ${unit} ${position} were imported, none from it on`;
    return new ShoalError(cause.code, `${where}: ${prefix}${cause.message}; import stopped: ${written}`, {
      ...cause.details,
      [unit]: position,
      imported: this.written,
    });
  }
}
