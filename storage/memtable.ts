/**
 * The memtable: the in-memory write tier of one shard. Owns a columnar copy of
 * its live rows (one growable Float32Array of vectors plus parallel ids,
 * metadata, LSNs and norms), the id → row map, and the tombstones of deleted
 * ids. Applies upserts and deletes under a per-id LSN rule and answers exact
 * top-k searches. A plain class: no I/O, clock or randomness.
 */

import { BoundedHeap } from './bounded-heap.js';
import { ShoalError, invalidArgument } from '../runtime/errors.js';
import { STORAGE_LIMITS } from '../runtime/limits.js';
import { integerIn } from '../runtime/options.js';
import { norm, scoreOf } from './distance.js';
import type { FilterPredicate } from './filter.js';
import type { Hit, Metadata, Metric } from './types.js';
import type { SegmentRows } from './viper/segment-rows.js';
import { METRICS, hitComparator } from './types.js';

/** A live record as returned by `Memtable.get`; `vector` is a copy owned by the caller. */
export interface MemtableRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
  readonly lsn: number;
}

const INITIAL_CAPACITY_ROWS = 16;
// Rough per-entry costs of JS engine structures, for the `bytes` estimate.
const ROW_OVERHEAD_BYTES = 64;
const TOMBSTONE_OVERHEAD_BYTES = 48;
// A metadata estimate walks at most this many values (guards against huge or cyclic objects).
const METADATA_ESTIMATE_VALUES_MAX = 10_000;

type MutableHit = { id: string; score: number; metadata: Metadata | null };

/**
 * The in-memory write tier of one shard. Every mutation carries an LSN and
 * applies only if it is newer than anything seen for that id, so replaying a
 * WAL in any order of overlapping ranges converges to the same state.
 */
export class Memtable {
  private readonly compare: (a: Hit, b: Hit) => number;
  private capacityRows = INITIAL_CAPACITY_ROWS;
  private vectors: Float32Array;
  private norms: Float64Array;
  private lsns: Float64Array;
  private readonly ids: string[] = [];
  private readonly metadatas: (Metadata | null)[] = [];
  private readonly metadataBytes: number[] = [];
  private readonly rowOf = new Map<string, number>();
  private readonly tombstones = new Map<string, number>();
  private metadataBytesTotal = 0;
  private idBytesTotal = 0;
  private tombstoneBytesTotal = 0;
  private highestLsn = 0;

  /** Creates an empty memtable for vectors of `dimension` floats scored under `metric`. */
  constructor(
    private readonly dimension: number,
    private readonly metric: Metric,
  ) {
    integerIn(dimension, 'dimension', 1, STORAGE_LIMITS.vectorDimensionMax);
    if (!(METRICS as readonly string[]).includes(metric)) {
      throw invalidArgument('metric', `expected one of ${METRICS.join(', ')}, got ${String(metric)}`);
    }
    this.compare = hitComparator(metric);
    this.vectors = new Float32Array(this.capacityRows * dimension);
    this.norms = new Float64Array(this.capacityRows);
    this.lsns = new Float64Array(this.capacityRows);
  }

  /** The number of live rows. */
  get size(): number {
    return this.ids.length;
  }

  /**
   * Live rows plus tombstones: what a flush writes, and what flush decisions count (a burst of deletes fills a memtable
   * too).
   */
  get entries(): number {
    return this.ids.length + this.tombstones.size;
  }

  /** Approximate memory held: allocated vector columns, ids, metadata estimate and tombstones. */
  get bytes(): number {
    const columnBytes = this.vectors.byteLength + this.norms.byteLength + this.lsns.byteLength;
    const rowBytes = this.ids.length * ROW_OVERHEAD_BYTES;
    return columnBytes + rowBytes + this.idBytesTotal + this.metadataBytesTotal + this.tombstoneBytesTotal;
  }

  /** The highest LSN applied so far (upserts and deletes); 0 when nothing has been applied. */
  get maxLsn(): number {
    return this.highestLsn;
  }

  /**
   * Inserts or replaces `id` if `lsn` is newer than the last LSN seen for it
   * (a live row's or a tombstone's); returns whether it applied. Copies
   * `vector` (the caller may reuse its buffer); keeps `metadata` by reference
   * (the caller hands it over and must not mutate it).
   */
  upsert(lsn: number, id: string, vector: Float32Array, metadata: Metadata | null): boolean {
    this.requireLsn(lsn);
    this.requireId(id);
    if (vector.length !== this.dimension) {
      throw new ShoalError(
        'DIMENSION_MISMATCH',
        `vector: expected ${this.dimension} dimensions, got ${vector.length}`,
        {
          expected: this.dimension,
          actual: vector.length,
        },
      );
    }
    const vectorNorm = norm(vector, 0, this.dimension);
    if (!Number.isFinite(vectorNorm)) throw invalidArgument('vector', 'contains a non-finite value');
    if (lsn <= this.lastLsnOf(id)) return false;

    const existing = this.rowOf.get(id);
    const row = existing ?? this.appendRow(id);
    if (existing === undefined) this.forgetTombstone(id);
    this.vectors.set(vector, row * this.dimension);
    this.norms[row] = vectorNorm;
    this.lsns[row] = lsn;
    const estimate = estimateMetadataBytes(metadata);
    this.metadataBytesTotal += estimate - (this.metadataBytes[row] ?? 0);
    this.metadataBytes[row] = estimate;
    this.metadatas[row] = metadata;
    this.highestLsn = Math.max(this.highestLsn, lsn);
    return true;
  }

  /**
   * Deletes `id` if `lsn` is newer than the last LSN seen for it; returns
   * whether it applied. Records a tombstone (even for an id never seen) so an
   * older upsert replayed later cannot resurrect the id.
   */
  delete(lsn: number, id: string): boolean {
    this.requireLsn(lsn);
    this.requireId(id);
    if (lsn <= this.lastLsnOf(id)) return false;
    const row = this.rowOf.get(id);
    if (row !== undefined) this.removeRow(row);
    if (!this.tombstones.has(id)) this.tombstoneBytesTotal += TOMBSTONE_OVERHEAD_BYTES + 2 * id.length;
    this.tombstones.set(id, lsn);
    this.highestLsn = Math.max(this.highestLsn, lsn);
    return true;
  }

  /** The live record for `id` with a copy of its vector, or undefined when absent or deleted. */
  get(id: string): MemtableRecord | undefined {
    const row = this.rowOf.get(id);
    if (row === undefined) return undefined;
    const offset = row * this.dimension;
    return {
      id,
      vector: this.vectors.slice(offset, offset + this.dimension),
      metadata: this.metadatas[row] ?? null,
      lsn: this.lsns[row] ?? 0,
    };
  }

  /**
   * Exact top-`k` over the live rows that pass `predicate` (null: all rows),
   * best first under the metric, equal scores ordered by id. Returns fewer
   * than `k` hits when fewer rows match. Hit metadata is the stored object
   * (read-only for the caller).
   */
  search(
    query: Float32Array,
    k: number,
    predicate: FilterPredicate | null,
    isLive: ((id: string, lsn: number) => boolean) | null = null,
  ): Hit[] {
    if (query.length !== this.dimension) {
      throw new ShoalError('DIMENSION_MISMATCH', `query: expected ${this.dimension} dimensions, got ${query.length}`, {
        expected: this.dimension,
        actual: query.length,
      });
    }
    if (!Number.isInteger(k) || k < 1) throw invalidArgument('k', `expected a positive integer, got ${String(k)}`);
    const size = this.ids.length;
    if (size === 0) return [];
    const heap = new BoundedHeap<Hit>(Math.min(k, size), this.compare);
    const queryNorm = norm(query, 0, this.dimension);
    // One scratch candidate for the O(1) rejection test; a Hit is allocated only when kept.
    const candidate: MutableHit = { id: '', score: 0, metadata: null };
    for (let row = 0; row < size; row++) {
      const metadata = this.metadatas[row] ?? null;
      if (predicate !== null && !predicate(metadata, this.ids[row])) continue;
      if (isLive !== null && !isLive(this.ids[row] ?? '', this.lsns[row] ?? 0)) continue;
      const rowNorm = this.norms[row] ?? 0;
      candidate.score = scoreOf(
        this.metric,
        query,
        queryNorm,
        this.vectors,
        row * this.dimension,
        rowNorm,
        this.dimension,
      );
      candidate.id = this.ids[row] ?? '';
      if (!heap.accepts(candidate)) continue;
      heap.push({ id: candidate.id, score: candidate.score, metadata });
    }
    return heap.sorted();
  }

  /** The metadata of `id`'s live row (no vector copy), or undefined when absent or deleted. */
  liveMetadata(id: string): Metadata | null | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : (this.metadatas[row] ?? null);
  }

  /** The ids of the live rows, in no particular order (a fresh array). */
  liveIds(): string[] {
    return [...this.ids];
  }

  /** True when nothing was ever applied here (no row, no tombstone). */
  get empty(): boolean {
    return this.highestLsn === 0;
  }

  /** The LSN of the newest change to `id` held here (an upsert or a delete), or undefined. */
  lsnOf(id: string): number | undefined {
    const lsn = this.lastLsnOf(id);
    return lsn < 0 ? undefined : lsn;
  }

  /** Calls `visit` for every live row and every tombstone (no copies). */
  forEachEntry(visit: (id: string, lsn: number, deleted: boolean) => void): void {
    this.ids.forEach((id, row) => visit(id, this.lsns[row] ?? 0, false));
    for (const [id, lsn] of this.tombstones) visit(id, lsn, true);
  }

  /** Every live row and every tombstone as segment columns (a tombstone has a zero vector and null metadata). */
  exportRows(): SegmentRows {
    const live = this.ids.length;
    const count = live + this.tombstones.size;
    const vectors = new Float32Array(count * this.dimension);
    vectors.set(this.vectors.subarray(0, live * this.dimension));
    const lsns = new Float64Array(count);
    lsns.set(this.lsns.subarray(0, live));
    const deleted = new Uint8Array(count);
    const ids = [...this.ids];
    const metadata: (string | null)[] = this.metadatas.map((value) => (value === null ? null : JSON.stringify(value)));
    let row = live;
    for (const [id, lsn] of this.tombstones) {
      ids.push(id);
      metadata.push(null);
      lsns[row] = lsn;
      deleted[row] = 1;
      row++;
    }
    return { dimension: this.dimension, ids, vectors, metadata, lsns, deleted };
  }

  private lastLsnOf(id: string): number {
    const row = this.rowOf.get(id);
    if (row !== undefined) return this.lsns[row] ?? -1;
    return this.tombstones.get(id) ?? -1;
  }

  private forgetTombstone(id: string): void {
    if (this.tombstones.delete(id)) this.tombstoneBytesTotal -= TOMBSTONE_OVERHEAD_BYTES + 2 * id.length;
  }

  // Appends an empty row for `id`, growing the columns by doubling when full.
  private appendRow(id: string): number {
    const row = this.ids.length;
    if (row === this.capacityRows) this.grow(this.capacityRows * 2);
    this.ids.push(id);
    this.metadatas.push(null);
    this.metadataBytes.push(0);
    this.rowOf.set(id, row);
    this.idBytesTotal += 2 * id.length;
    return row;
  }

  private grow(capacityRows: number): void {
    const vectors = new Float32Array(capacityRows * this.dimension);
    vectors.set(this.vectors);
    const norms = new Float64Array(capacityRows);
    norms.set(this.norms);
    const lsns = new Float64Array(capacityRows);
    lsns.set(this.lsns);
    this.vectors = vectors;
    this.norms = norms;
    this.lsns = lsns;
    this.capacityRows = capacityRows;
  }

  // Removes `row` in O(1) by moving the last row into its place.
  private removeRow(row: number): void {
    const last = this.ids.length - 1;
    const removedId = this.ids[row] as string;
    this.idBytesTotal -= 2 * removedId.length;
    this.metadataBytesTotal -= this.metadataBytes[row] ?? 0;
    this.rowOf.delete(removedId);
    if (row !== last) {
      const movedId = this.ids[last] as string;
      const dimension = this.dimension;
      this.vectors.copyWithin(row * dimension, last * dimension, (last + 1) * dimension);
      this.norms[row] = this.norms[last] ?? 0;
      this.lsns[row] = this.lsns[last] ?? 0;
      this.ids[row] = movedId;
      this.metadatas[row] = this.metadatas[last] ?? null;
      this.metadataBytes[row] = this.metadataBytes[last] ?? 0;
      this.rowOf.set(movedId, row);
    }
    this.ids.pop();
    this.metadatas.pop();
    this.metadataBytes.pop();
  }

  private requireLsn(lsn: number): void {
    if (!Number.isSafeInteger(lsn) || lsn < 0)
      throw invalidArgument('lsn', `expected a non-negative safe integer, got ${String(lsn)}`);
  }

  private requireId(id: string): void {
    if (typeof id !== 'string') throw invalidArgument('id', `expected a string, got ${typeof id}`);
  }
}

/**
 * A rough estimate of the memory held by `metadata`: 2 bytes per string
 * character, 8 per number, fixed overheads per object, array and property.
 * Walks iteratively and stops after METADATA_ESTIMATE_VALUES_MAX values.
 */
function estimateMetadataBytes(metadata: Metadata | null): number {
  if (metadata === null) return 0;
  let bytes = 0;
  let visited = 0;
  const pending: unknown[] = [metadata];
  while (pending.length > 0 && visited < METADATA_ESTIMATE_VALUES_MAX) {
    const value = pending.pop();
    visited += 1;
    if (typeof value === 'string') bytes += 16 + 2 * value.length;
    else if (Array.isArray(value)) {
      bytes += 32 + 8 * value.length;
      for (const element of value) if (pending.length < METADATA_ESTIMATE_VALUES_MAX) pending.push(element);
    } else if (typeof value === 'object' && value !== null) {
      bytes += 32;
      for (const [key, field] of Object.entries(value)) {
        bytes += 16 + 2 * key.length;
        if (pending.length < METADATA_ESTIMATE_VALUES_MAX) pending.push(field);
      }
    } else bytes += 8;
  }
  return bytes;
}
