/**
 * A loaded, immutable VIPER segment: its manifest, its rows decoded from
 * Parquet into columnar memory (vectors in one Float32Array, per-row norms,
 * an id → row map), metadata parsed lazily and cached, and its HNSW index
 * when it has one. Opening verifies both files' checksums. Answers gets, LSN
 * lookups and top-k searches that keep returning k results under filters
 * (see search-plan.ts for how the strategy is chosen).
 */

import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { present } from '../../runtime/assert.js';
import { BoundedHeap } from '../bounded-heap.js';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import { errnoCode, storageFailed } from '../../runtime/fs-errors.js';
import type { FileSystem } from '../../runtime/fs.js';
import { STORAGE_LIMITS } from '../../runtime/limits.js';
import { integerIn } from '../../runtime/options.js';
import { norm, scoreOf } from '../distance.js';
import type { FilterPredicate } from '../filter.js';
import type { Hit, Metadata } from '../types.js';
import { hitComparator } from '../types.js';
import { DEFAULT_HNSW_EF, HnswVectorIndex, toPoint } from './hnsw-index.js';
import type { VectorIndex } from './hnsw-index.js';
import { readManifest } from './manifest.js';
import type { SegmentFile, SegmentManifest } from './manifest.js';
import { decodeSegmentRows } from './parquet-codec.js';
import { estimatePassing, overfetchSize, planSearch, sampleRows } from './search-plan.js';
import type { SearchPlan, SearchStrategy } from './search-plan.js';
import { checkOpenedRows } from './segment-checks.js';
import { copySegmentRows } from './segment-rows.js';
import type { SegmentRows } from './segment-rows.js';

/** A row of a segment as returned by `get`: a live record (vector copied for the caller) or a tombstone. */
export type SegmentRecord =
  | {
      readonly kind: 'live';
      readonly id: string;
      readonly vector: Float32Array;
      readonly metadata: Metadata | null;
      readonly lsn: number;
    }
  | { readonly kind: 'tombstone'; readonly id: string; readonly lsn: number };

/** One search of a segment. */
export interface SegmentSearchOptions {
  readonly k: number;
  /** Metadata filter; null keeps every row. */
  readonly predicate: FilterPredicate | null;
  /** False for rows hidden by newer tiers (superseded or deleted there); null: every row is live. */
  readonly isLive: ((id: string, lsn: number) => boolean) | null;
  /** Scan every row exactly instead of using the index. */
  readonly exact?: boolean;
  /** HNSW candidate-list size (default 64; raised to at least k). */
  readonly ef?: number;
  /** Forces a strategy instead of the planned one (benchmarks and tests); 'hnsw*' needs an index. */
  readonly strategy?: SearchStrategy;
}

type RowTest = (row: number) => boolean;
type MutableHit = { id: string; score: number; metadata: Metadata | null };

/** A loaded, immutable segment. Safe to search concurrently from one thread (searches are synchronous). */
export class Segment {
  private readonly compare: (a: Hit, b: Hit) => number;
  private readonly norms: Float64Array;
  private readonly rowOf = new Map<string, number>();
  private readonly sample: Uint32Array;
  // undefined until a row's metadata is first parsed.
  private readonly metadataObjects: (Metadata | null | undefined)[];

  private constructor(
    /** The segment's manifest. */
    readonly manifest: SegmentManifest,
    private readonly data: SegmentRows,
    private readonly index: VectorIndex | null,
  ) {
    const { dimension } = data;
    this.compare = hitComparator(manifest.metric);
    this.norms = new Float64Array(data.ids.length);
    data.ids.forEach((id, row) => {
      this.rowOf.set(id, row);
      this.norms[row] = norm(data.vectors, row * dimension, dimension);
    });
    this.metadataObjects = new Array<Metadata | null | undefined>(data.ids.length);
    this.sample = sampleRows(data.ids.length);
  }

  /**
   * Loads committed segment `name` from `dir`: validates the manifest,
   * verifies each file's size and CRC32C, decodes and checks the rows, loads
   * the index. Rejects with CORRUPTION naming the file at fault (missing,
   * mismatched or undecodable), STORAGE_FAILED on other I/O errors.
   */
  static async open(fs: FileSystem, dir: string, name: string): Promise<Segment> {
    const manifest = await readManifest(fs, dir, name);
    const parquetPath = join(dir, manifest.files.parquet.name);
    const rows = decodeWithPath(await readVerified(fs, parquetPath, manifest.files.parquet), parquetPath);
    checkOpenedRows(rows, manifest, parquetPath);
    let index: VectorIndex | null = null;
    if (manifest.files.index !== null) {
      const indexPath = join(dir, manifest.files.index.name);
      await readVerified(fs, indexPath, manifest.files.index);
      index = await HnswVectorIndex.load(indexPath, manifest.metric, manifest.dimension, manifest.liveRows);
    }
    return new Segment(manifest, rows, index);
  }

  /** Number of rows, tombstones included. */
  get rows(): number {
    return this.data.ids.length;
  }

  /** True when the segment has no rows at all (a compaction never commits one, but the tier contract asks). */
  get empty(): boolean {
    return this.data.ids.length === 0;
  }

  /** True when the segment has an HNSW index (else every search is exact). */
  get indexed(): boolean {
    return this.index !== null;
  }

  /** The LSN of `id`'s row here (live or tombstone), or undefined when the segment has no row for it. */
  lsnOf(id: string): number | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : (this.data.lsns[row] as number);
  }

  /** `id`'s row here, or undefined when the segment has none. */
  get(id: string): SegmentRecord | undefined {
    const row = this.rowOf.get(id);
    if (row === undefined) return undefined;
    const lsn = this.data.lsns[row] as number;
    if (this.data.deleted[row] === 1) return { kind: 'tombstone', id, lsn };
    const { dimension } = this.data;
    const vector = this.data.vectors.slice(row * dimension, (row + 1) * dimension);
    return { kind: 'live', id, vector, metadata: this.metadataOf(row), lsn };
  }

  /** The ids of every row (tombstones included), ascending in code-unit order: a segment's rows are sorted by id. */
  get sortedIds(): readonly string[] {
    return this.data.ids;
  }

  /** The metadata of `id`'s row when it is live here (no vector copy); undefined for no row or a tombstone. */
  liveMetadata(id: string): Metadata | null | undefined {
    const row = this.rowOf.get(id);
    if (row === undefined || this.data.deleted[row] === 1) return undefined;
    return this.metadataOf(row);
  }

  /** Calls `visit` for every row (tombstones included), in row order, without copying. */
  forEachRow(visit: (id: string, lsn: number, deleted: boolean) => void): void {
    const { ids, lsns, deleted } = this.data;
    for (let row = 0; row < ids.length; row++) visit(ids[row] as string, lsns[row] as number, deleted[row] === 1);
  }

  /**
   * Copies of the segment's rows (sorted by id; typed arrays freshly allocated, safe to transfer), e.g. for compaction.
   */
  toRows(): SegmentRows {
    return copySegmentRows(this.data);
  }

  /**
   * The strategy `search` would use for `options`, with its estimate of the
   * rows passing the filters (from an evenly spaced sample of up to 512 rows).
   */
  plan(options: SegmentSearchOptions): SearchPlan {
    const { k, ef } = validateSearch(options);
    const indexedRows = this.manifest.liveRows;
    const filtered = options.predicate !== null || options.isLive !== null;
    const exact = options.exact === true;
    const estimatedMatches =
      filtered && !exact ? estimatePassing(this.sample, this.rows, this.rowTest(options)) : indexedRows;
    const hasIndex = this.index !== null;
    return planSearch({
      k,
      ef,
      dimension: this.data.dimension,
      exact,
      hasIndex,
      rows: this.rows,
      indexedRows,
      filtered,
      estimatedMatches,
    });
  }

  /**
   * Top-k live rows for `query` passing `predicate` and `isLive`, best first
   * under the metric, equal scores ordered by id. Tombstone rows are never
   * returned. Returns k hits whenever at least k rows pass: an index search
   * that comes back short falls back to an exact scan. Scores are computed
   * exactly (as in the memtable) whichever strategy found the rows. Hit
   * metadata is the segment's cached object (read-only for the caller).
   */
  search(query: Float32Array, options: SegmentSearchOptions): Hit[] {
    if (query.length !== this.data.dimension) {
      throw new ShoalError(
        'DIMENSION_MISMATCH',
        `query: expected ${this.data.dimension} dimensions, got ${query.length}`,
        {
          expected: this.data.dimension,
          actual: query.length,
        },
      );
    }
    const planned = this.plan(options);
    const plan =
      options.strategy === undefined
        ? planned
        : forcedPlan(planned, options.strategy, options.k, this.manifest.liveRows);
    const { k, ef } = validateSearch(options);
    const test = this.rowTest(options);
    if (plan.strategy === 'exact' || this.index === null) return this.exactScan(query, k, options);
    const point = toPoint(query);
    let hits: Hit[];
    if (plan.strategy === 'hnsw') {
      hits = this.indexSearch(query, point, k, ef, null, null);
    } else if (plan.strategy === 'hnsw-overfetch') {
      hits = this.indexSearch(query, point, plan.fetch, Math.max(ef, plan.fetch), null, test).slice(0, k);
      if (hits.length < k) hits = this.indexSearch(query, point, k, ef, test, null);
    } else {
      hits = this.indexSearch(query, point, k, ef, test, null);
    }
    if (hits.length < k && plan.estimatedMatches > hits.length) return this.exactScan(query, k, options);
    return hits;
  }

  // Rows from the index (filtered in the traversal by `inside`, afterwards by `after`), rescored exactly, best first.
  private indexSearch(
    query: Float32Array,
    point: number[],
    fetch: number,
    ef: number,
    inside: RowTest | null,
    after: RowTest | null,
  ): Hit[] {
    const index = present(this.index, 'the HNSW index of a segment searched through it');
    const found = index.search(point, fetch, ef, inside);
    const queryNorm = norm(query, 0, this.data.dimension);
    const hits: Hit[] = [];
    for (const row of found.rows) {
      if (after !== null && !after(row)) continue;
      hits.push({
        id: this.data.ids[row] as string,
        score: this.scoreRow(query, queryNorm, row),
        metadata: this.metadataOf(row),
      });
    }
    return hits.sort(this.compare);
  }

  // Exact top-k over every row passing `test`.
  // Exact top-k: tombstone and filter first, then the score, and the newer-tier check only for rows that would enter
  // the heap.
  private exactScan(query: Float32Array, k: number, options: SegmentSearchOptions): Hit[] {
    const count = this.data.ids.length;
    if (count === 0) return [];
    const heap = new BoundedHeap<Hit>(Math.min(k, count), this.compare);
    const queryNorm = norm(query, 0, this.data.dimension);
    const { predicate, isLive } = options;
    const { deleted, ids, lsns } = this.data;
    // One scratch candidate for the O(1) rejection test; a Hit is allocated only when kept.
    const candidate: MutableHit = { id: '', score: 0, metadata: null };
    for (let row = 0; row < count; row++) {
      if (deleted[row] !== 0 || (predicate !== null && !predicate(this.metadataOf(row), ids[row]))) continue;
      candidate.score = this.scoreRow(query, queryNorm, row);
      candidate.id = ids[row] as string;
      if (!heap.accepts(candidate)) continue;
      if (isLive !== null && !isLive(candidate.id, lsns[row] as number)) continue;
      heap.push({ id: candidate.id, score: candidate.score, metadata: this.metadataOf(row) });
    }
    return heap.sorted();
  }

  private scoreRow(query: Float32Array, queryNorm: number, row: number): number {
    const { dimension, vectors } = this.data;
    return scoreOf(
      this.manifest.metric,
      query,
      queryNorm,
      vectors,
      row * dimension,
      this.norms[row] as number,
      dimension,
    );
  }

  // True for rows a search may return: not a tombstone, live in newer tiers, passing the predicate (cheapest test
  // first).
  private rowTest(options: SegmentSearchOptions): RowTest {
    const { predicate, isLive } = options;
    const { deleted, ids, lsns } = this.data;
    return (row) =>
      deleted[row] === 0 &&
      (isLive === null || isLive(ids[row] as string, lsns[row] as number)) &&
      (predicate === null || predicate(this.metadataOf(row), ids[row]));
  }

  private metadataOf(row: number): Metadata | null {
    const cached = this.metadataObjects[row];
    if (cached !== undefined) return cached;
    const text = this.data.metadata[row] ?? null;
    const parsed = text === null ? null : (JSON.parse(text) as Metadata);
    this.metadataObjects[row] = parsed;
    return parsed;
  }
}

function forcedPlan(planned: SearchPlan, strategy: SearchStrategy, k: number, indexedRows: number): SearchPlan {
  if (strategy !== 'hnsw-overfetch') return { ...planned, strategy, fetch: k };
  const selectivity = indexedRows === 0 ? 1 : Math.max(planned.estimatedMatches / indexedRows, 1 / indexedRows);
  return { ...planned, strategy, fetch: overfetchSize(k, selectivity, indexedRows) };
}

function validateSearch(options: SegmentSearchOptions): { k: number; ef: number } {
  const { k } = options;
  if (!Number.isSafeInteger(k) || k < 1) throw invalidArgument('k', `expected a positive integer, got ${String(k)}`);
  const ef = options.ef ?? DEFAULT_HNSW_EF;
  integerIn(ef, 'ef', 1, STORAGE_LIMITS.searchEfMax);
  return { k, ef: Math.max(ef, k) };
}

async function readVerified(fs: FileSystem, path: string, file: SegmentFile): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    const cause = errnoCode(error);
    if (cause === 'ENOENT') throw new ShoalError('CORRUPTION', `${path}: segment file is missing`, { path });
    throw storageFailed(`reading ${path}`, error, { path });
  }
  if (bytes.byteLength !== file.bytes) {
    throw new ShoalError('CORRUPTION', `${path}: ${bytes.byteLength} bytes, manifest says ${file.bytes}`, { path });
  }
  const checksum = crc32c(bytes) >>> 0;
  if (checksum !== file.crc32c) {
    throw new ShoalError('CORRUPTION', `${path}: CRC32C ${checksum} does not match the manifest's ${file.crc32c}`, {
      path,
    });
  }
  return bytes;
}

function decodeWithPath(bytes: Uint8Array, path: string): SegmentRows {
  try {
    return decodeSegmentRows(bytes);
  } catch (error) {
    if (error instanceof ShoalError && error.code === 'CORRUPTION')
      throw new ShoalError('CORRUPTION', `${path}: ${error.message}`, { path });
    throw error;
  }
}
