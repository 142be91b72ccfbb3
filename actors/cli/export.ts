/**
 * `shoal export`: writes every record of a collection (id order, vectors
 * included) to a file, as Parquet (the columns `shoal import` reads: id,
 * vector list<float32>, metadata JSON text) or as JSON lines, page by page
 * through `iterate`, so memory holds one page (and, for Parquet, one row
 * group). The file is written under a temporary name and renamed at the
 * end: an export that fails leaves no half-written FILE behind.
 */
import { createWriteStream } from '../../runtime/host-files.js';
import { rename, rm } from '../../runtime/host-files.js';
import { once } from 'node:events';
import { io } from '../../runtime/fs-errors.js';
import type { Shoal } from '../client/shoal.js';
import type { Format } from './record-format.js';
import { jsonLine } from './record-format.js';
import { writeParquetFile } from './parquet-writer.js';
import type { ExportRecord } from './parquet-writer.js';
import { startProgress } from './progress.js';

/** Records per page read from the collection. */
export const EXPORT_PAGE_RECORDS = 1_000;

export interface ExportOptions {
  readonly collection: string;
  readonly file: string;
  readonly format: Format;
}

/** What an export wrote. */
export interface ExportSummary {
  readonly records: number;
  readonly elapsedMs: number;
}

/** Exports `options.collection` of `db` to `options.file`; see the header. */
export async function exportFile(db: Shoal, options: ExportOptions): Promise<ExportSummary> {
  const startMs = performance.now();
  const total = await db.count(options.collection);
  const progress = startProgress(`export ${options.collection}`, total);
  let records = 0;
  async function* pages(): AsyncGenerator<readonly ExportRecord[], void, undefined> {
    for await (const page of db.iterate(options.collection, { batchSize: EXPORT_PAGE_RECORDS, withVectors: true })) {
      records += page.length;
      progress.update(records, records);
      yield page.map((record) => ({
        id: record.id,
        vector: record.vector ?? new Float32Array(0),
        metadata: record.metadata,
      }));
    }
  }
  const temporary = `${options.file}.partial-${process.pid}`;
  try {
    await io(`writing ${options.file}`, () =>
      options.format === 'parquet' ? writeParquetFile(temporary, pages()) : writeJsonLines(temporary, pages()),
    );
    await io(`renaming ${temporary} to ${options.file}`, () => rename(temporary, options.file));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    progress.stop();
  }
  return { records, elapsedMs: performance.now() - startMs };
}

async function writeJsonLines(file: string, pages: AsyncIterable<readonly ExportRecord[]>): Promise<void> {
  const stream = createWriteStream(file);
  const failed = once(stream, 'error').then(([error]) => Promise.reject(error as Error));
  failed.catch(() => undefined);
  try {
    for await (const page of pages) {
      const text = `${page.map(jsonLine).join('\n')}\n`;
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), failed]);
    }
  } finally {
    stream.end();
  }
  await Promise.race([once(stream, 'finish'), failed]);
}
