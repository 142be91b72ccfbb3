/**
 * Quickstart (`npm start`): opens an embedded Shoal database in `./data` (or
 * `$SHOAL_DATA_DIR`), loads the SAP Fiori documentation embeddings shipped in
 * `@sap-ux/fiori-docs-embeddings` once (778 chunks, 384 dims, cosine), runs a
 * few "documents similar to this one" searches, prints a summary of `stats()`
 * and closes. Uses only the public API; a second run finds the data in place.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Shoal } from '../index.js';
import type { CollectionStats, Filter, Metadata, SearchHit, UpsertRecord } from '../index.js';

const COLLECTION = 'fiori-docs';
const DIMENSION = 384;
const RECORDS_EXPECTED = 778;
const BATCH_RECORDS = 100;
const QUERY_INDEXES = [0, 250, 500] as const;
const NEIGHBOURS = 5;
const EXCERPT_CHARS = 200;
const TITLE_CHARS = 64;
const PROGRESS_BAR_CHARS = 30;

/** One chunk of the data set: its record line and its vector (a view into the shared buffer). */
interface DocumentChunk {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly metadata: Metadata;
  readonly vector: Float32Array;
}

/** The folder of the data set, resolved through the package's own package.json. */
function embeddingsFolder(): string {
  const packageJson = createRequire(import.meta.url).resolve('@sap-ux/fiori-docs-embeddings/package.json');
  return join(dirname(packageJson), 'data', 'embeddings');
}

/** Reads and checks the data set: as many vectors as records, and exactly RECORDS_EXPECTED of each. */
async function readDataset(): Promise<DocumentChunk[]> {
  const folder = embeddingsFolder();
  const [bytes, text] = await Promise.all([
    readFile(join(folder, 'embeddings.bin')),
    readFile(join(folder, 'records.jsonl'), 'utf8'),
  ]);
  const bytesExpected = RECORDS_EXPECTED * DIMENSION * 4;
  if (bytes.byteLength !== bytesExpected) {
    throw new Error(
      `${folder}/embeddings.bin holds ${bytes.byteLength} bytes, expected ${bytesExpected} (${RECORDS_EXPECTED} x ${DIMENSION} float32)`,
    );
  }
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  const vectorCount = bytes.byteLength / (DIMENSION * 4);
  if (lines.length !== vectorCount) {
    throw new Error(
      `${folder}: records.jsonl holds ${lines.length} records but embeddings.bin holds ${vectorCount} vectors`,
    );
  }
  // Decode explicitly as little-endian, whatever the host's byte order.
  const vectors = new Float32Array(vectorCount * DIMENSION);
  for (let index = 0; index < vectors.length; index++) vectors[index] = bytes.readFloatLE(index * 4);
  return lines.map((line, row) => chunkOf(line, row, vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION)));
}

function chunkOf(line: string, row: number, vector: Float32Array): DocumentChunk {
  const record = JSON.parse(line) as Record<string, unknown>;
  const text = (field: string): string => (typeof record[field] === 'string' ? (record[field] as string) : '');
  const id = text('id');
  if (id.length === 0) throw new Error(`records.jsonl line ${row + 1} has no id`);
  const metadata: Metadata = {
    title: text('title'),
    category: text('category'),
    path: text('path'),
    documentId: text('document_id'),
    chunk: typeof record['chunk_index'] === 'number' ? record['chunk_index'] : null,
    excerpt: text('excerpt').slice(0, EXCERPT_CHARS),
  };
  return { id, title: text('title'), category: text('category'), metadata, vector };
}

/** Draws a one-line bar on a TTY, or a line every 25% otherwise. Returns the function to call after each batch. */
function progressReporter(total: number): (done: number) => void {
  const interactive = process.stderr.isTTY === true;
  let quartersPrinted = 0;
  return (done) => {
    if (interactive) {
      const filled = Math.round((done / total) * PROGRESS_BAR_CHARS);
      const percent = Math.floor((done / total) * 100);
      process.stderr.write(
        `\r  [${'#'.repeat(filled)}${'.'.repeat(PROGRESS_BAR_CHARS - filled)}] ${String(percent).padStart(3)}% ${done}/${total}`,
      );
      if (done === total) process.stderr.write('\n');
      return;
    }
    while (quartersPrinted < 4 && done * 4 >= total * (quartersPrinted + 1)) {
      quartersPrinted++;
      process.stderr.write(`  loaded ${quartersPrinted * 25}%\n`);
    }
  };
}

/**
 * Upserts every chunk in batches, showing progress; upsert is idempotent by id, so this also completes a partial load.
 */
async function loadChunks(db: Shoal, chunks: readonly DocumentChunk[]): Promise<void> {
  const report = progressReporter(chunks.length);
  const startedMs = performance.now();
  for (let start = 0; start < chunks.length; start += BATCH_RECORDS) {
    const batch: UpsertRecord[] = chunks
      .slice(start, start + BATCH_RECORDS)
      .map(({ id, vector, metadata }) => ({ id, vector, metadata }));
    await db.upsert(COLLECTION, batch);
    report(start + batch.length);
  }
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(
    `Loaded ${chunks.length} records in ${seconds.toFixed(2)} s (${Math.round(chunks.length / seconds)} records/s).`,
  );
}

async function collectionStats(db: Shoal): Promise<CollectionStats | undefined> {
  return (await db.stats()).collections.find((each) => each.name === COLLECTION);
}

/** Creates and loads the collection if needed; completes it if an earlier load stopped half-way. */
async function ensureLoaded(db: Shoal, chunks: readonly DocumentChunk[]): Promise<void> {
  const existing = await collectionStats(db);
  if (existing === undefined) {
    await db.createCollection({ name: COLLECTION, dimension: DIMENSION, metric: 'cosine' });
    console.log(
      `Created collection ${COLLECTION} (dimension ${DIMENSION}, cosine). Loading ${chunks.length} records...`,
    );
    await loadChunks(db, chunks);
    return;
  }
  if (existing.error !== null)
    throw new Error(`collection ${COLLECTION} could not be opened: ${existing.error.message}`);
  if (existing.dimension !== DIMENSION || existing.metric !== 'cosine') {
    throw new Error(
      `collection ${COLLECTION} exists with dimension ${existing.dimension} and metric ${existing.metric}; expected ${DIMENSION}, cosine (drop it or use another data dir)`,
    );
  }
  if (existing.records === chunks.length) {
    console.log(`Collection ${COLLECTION} already holds ${existing.records} records; nothing to load.`);
    return;
  }
  console.log(
    `Collection ${COLLECTION} holds ${existing.records} of ${chunks.length} records (interrupted load?); upserting all again to complete it...`,
  );
  await loadChunks(db, chunks);
}

function shortTitle(title: string): string {
  return title.length <= TITLE_CHARS ? title : `${title.slice(0, TITLE_CHARS - 1)}…`;
}

function printHits(hits: readonly SearchHit[], queryId: string): void {
  const others = hits.filter((hit) => hit.id !== queryId).slice(0, NEIGHBOURS);
  for (const hit of others) {
    const title = typeof hit.metadata?.['title'] === 'string' ? hit.metadata['title'] : hit.id;
    console.log(`  ${hit.score.toFixed(3)}  ${shortTitle(title)}`);
  }
  if (others.length === 0) console.log('  (no other documents)');
}

/** "Documents similar to this one": each query is a stored record's own vector; the record itself is skipped. */
async function similarDocuments(db: Shoal, query: DocumentChunk, filter?: Filter): Promise<void> {
  const startedMs = performance.now();
  const hits = await db.search(COLLECTION, {
    vector: query.vector,
    k: NEIGHBOURS + 1,
    ...(filter === undefined ? {} : { filter }),
  });
  const elapsedMs = (performance.now() - startedMs).toFixed(1);
  const where = filter === undefined ? '' : ` where ${JSON.stringify(filter)}`;
  console.log(`\nSimilar to "${shortTitle(query.title)}" [${query.category}]${where} (${elapsedMs} ms):`);
  printHits(hits, query.id);
}

async function printSummary(db: Shoal): Promise<void> {
  const stats = await db.stats();
  console.log('\nStats:');
  for (const each of stats.collections) {
    console.log(
      `  ${each.name}: ${each.records} records, ${each.shards} shards, WAL ${(each.walBytes / 1024).toFixed(0)} KiB in ${each.walSegments} segment(s), ${each.searches} searches`,
    );
  }
  console.log(`  ${stats.workers} worker threads, ${stats.actors.length} actors, ${stats.restarts} restarts`);
}

function chunkAt(chunks: readonly DocumentChunk[], index: number): DocumentChunk {
  const chunk = chunks[index];
  if (chunk === undefined) throw new Error(`the data set has no record ${index}`);
  return chunk;
}

const dataDir = resolve(process.env['SHOAL_DATA_DIR'] ?? 'data');
const chunks = await readDataset();
const openStartedMs = performance.now();
const db = await Shoal.open({ dataDir });
console.log(`Opened Shoal in ${dataDir} (${(performance.now() - openStartedMs).toFixed(0)} ms).`);
try {
  await ensureLoaded(db, chunks);
  for (const index of QUERY_INDEXES) await similarDocuments(db, chunkAt(chunks, index));
  await similarDocuments(db, chunkAt(chunks, QUERY_INDEXES[0]), {
    category: chunkAt(chunks, QUERY_INDEXES[1]).category,
  });
  await printSummary(db);
} catch (error) {
  console.error(`quickstart failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.close();
}
