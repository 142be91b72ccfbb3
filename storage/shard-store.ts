/**
 * The tiers of one shard, as a plain class: the active memtable (newest), a
 * bounded queue of frozen memtables waiting for (or in) their flush, and
 * immutable segments (newest last). Owns applying batches, the newest-version-wins rule across tiers
 * (a row is hidden when a newer tier holds a newer LSN for its id, upsert or
 * tombstone), search and get across tiers, scans in id order and counts
 * (storage/id-scan.ts walks the tiers' sorted ids), and the swaps that a flush or a
 * compaction make. No I/O: the engine actor builds and loads segments and
 * hands them in.
 */
import { assert, present } from '../runtime/assert.js';
import { BoundedHeap } from './bounded-heap.js';
import type { FilterPredicate } from './filter.js';
import { Memtable } from './memtable.js';
import { OP_UPSERT, batchRows, rowVector } from './record-batch.js';
import type { RecordBatch } from './record-batch.js';
import { ascendingIds } from './id-scan.js';
import type { Hit, Metadata, Metric, StoredRecord } from './types.js';
import { hitComparator } from './types.js';
import type { Segment } from './viper/segment.js';
import { compareIds } from './viper/segment-rows.js';

/** How a search runs over the segments. */
export interface TierSearchOptions {
  /** Scan every row exactly (recall 1.0) instead of using HNSW indexes. */
  readonly exact?: boolean;
  /** HNSW candidate-list size for indexed segments. */
  readonly ef?: number;
}

/** What a scan walks: the records matching `predicate` with ids above `afterId`, at most `limit` of them. */
export interface ScanOptions {
  readonly predicate: FilterPredicate | null;
  /** Only ids greater than this one (code-unit order); null: from the first id. */
  readonly afterId: string | null;
  readonly limit: number;
  /** Include each record's vector (a copy). */
  readonly withVectors: boolean;
}

/** One record of a scan: its id and metadata, and its vector when the scan asked for vectors. */
export interface ScannedRecord {
  readonly id: string;
  readonly metadata: Metadata | null;
  readonly vector?: Float32Array;
}

/** Where a shard's rows are, per tier. */
export interface ShardStoreStats {
  /** Live records: ids whose newest version is an upsert. */
  readonly records: number;
  readonly memtableRows: number;
  /** Rows in the frozen memtables, and how many frozen memtables there are. */
  readonly frozenRows: number;
  readonly frozenMemtables: number;
  readonly segments: number;
  readonly indexedSegments: number;
  readonly segmentRows: number;
  /** Highest LSN applied to any tier. */
  readonly maxLsn: number;
}

/** Something that knows the newest LSN it holds for an id (an upsert or a tombstone). */
interface Tier {
  lsnOf(id: string): number | undefined;
  /** True when the tier holds nothing, not even a tombstone. */
  readonly empty: boolean;
}

/** Frozen memtables a store holds at most unless told otherwise. */
export const DEFAULT_FROZEN_MEMTABLES_MAX = 4;

/** The tiers of one shard. */
export class ShardStore {
  private active: Memtable;
  /** Frozen memtables, oldest first; every LSN in one is below every LSN of the next. */
  private frozenTables: Memtable[] = [];
  private segmentList: Segment[] = [];
  private readonly compare: (a: Hit, b: Hit) => number;
  private cachedRecords: number | null = null;

  /** An empty store; `frozenMemtablesMax` bounds the frozen queue (`freeze` refuses beyond it). */
  constructor(
    private readonly dimension: number,
    private readonly metric: Metric,
    readonly frozenMemtablesMax = DEFAULT_FROZEN_MEMTABLES_MAX,
  ) {
    // Checked at the public boundary; another value here is a bug.
    const valid = Number.isSafeInteger(frozenMemtablesMax) && frozenMemtablesMax >= 1;
    assert(valid, `frozenMemtablesMax must be a positive integer, got ${frozenMemtablesMax}`);
    this.active = new Memtable(dimension, metric);
    this.compare = hitComparator(metric);
  }

  /** The active memtable (read-only use: size and bytes for flush decisions). */
  get memtable(): Memtable {
    return this.active;
  }

  /** The frozen memtables, oldest first (the next to flush is the first). */
  get frozen(): readonly Memtable[] {
    return this.frozenTables;
  }

  /**
   * True when the frozen queue holds `frozenMemtablesMax` memtables: nothing more can be frozen until a flush
   * completes.
   */
  get frozenFull(): boolean {
    return this.frozenTables.length >= this.frozenMemtablesMax;
  }

  /** The segments, oldest first. */
  get segments(): readonly Segment[] {
    return this.segmentList;
  }

  /** Applies a batch carrying LSNs to the active memtable; returns the rows that changed something. */
  apply(batch: RecordBatch): number {
    const lsns = present(batch.lsns, 'the LSNs of an applied batch (it comes through the WAL)');
    let applied = 0;
    for (let row = 0; row < batchRows(batch); row++) {
      const id = batch.ids[row] as string;
      const lsn = lsns[row] as number;
      if (lsn <= this.olderTiersLsnOf(id)) continue;
      if (batch.ops[row] === OP_UPSERT) {
        const text = batch.metadata[row] ?? null;
        const metadata = text === null ? null : (JSON.parse(text) as Metadata);
        const vector = present(rowVector(batch, row), 'the vector of an upsert row');
        if (this.active.upsert(lsn, id, vector, metadata)) applied++;
      } else if (this.active.delete(lsn, id)) {
        applied++;
      }
    }
    if (applied > 0) this.cachedRecords = null;
    return applied;
  }

  /**
   * Moves the active memtable to the end of the frozen queue (which must not be full) and starts a new one; returns the
   * frozen table.
   */
  freeze(): Memtable {
    assert(!this.frozenFull, 'the frozen queue is full: freeze only while frozenFull is false');
    const frozen = this.active;
    this.frozenTables = [...this.frozenTables, frozen];
    this.active = new Memtable(this.dimension, this.metric);
    return frozen;
  }

  /**
   * The oldest frozen memtable became `segment` (holding exactly its rows): swap it in. A failed flush changes nothing:
   * the table stays queued.
   */
  flushed(segment: Segment): void {
    assert(this.frozenTables.length > 0, 'no memtable is being flushed');
    this.segmentList = [...this.segmentList, segment];
    this.frozenTables = this.frozenTables.slice(1);
    this.cachedRecords = null;
  }

  /** Replaces the adjacent segments `inputs` (a compaction's) with `output` (null: they merged to nothing). */
  compacted(inputs: readonly Segment[], output: Segment | null): void {
    const first = this.segmentList.indexOf(inputs[0] as Segment);
    const adjacent = first >= 0 && inputs.every((segment, offset) => this.segmentList[first + offset] === segment);
    assert(adjacent, 'compaction inputs must be adjacent segments of this shard');
    const replacement = output === null ? [] : [output];
    this.segmentList = [
      ...this.segmentList.slice(0, first),
      ...replacement,
      ...this.segmentList.slice(first + inputs.length),
    ];
    this.cachedRecords = null;
  }

  /** Installs segments loaded at start (oldest first), before any replay. */
  load(segments: readonly Segment[]): void {
    this.segmentList = [...segments];
    this.cachedRecords = null;
  }

  /** The k best live records across every tier, best first, ties by id. */
  search(query: Float32Array, k: number, predicate: FilterPredicate | null, options: TierSearchOptions = {}): Hit[] {
    const heap = new BoundedHeap<Hit>(k, this.compare);
    const newer: Tier[] = [];
    for (const hit of this.active.search(query, k, predicate)) heap.push(hit);
    newer.push(this.active);
    for (let index = this.frozenTables.length - 1; index >= 0; index--) {
      const table = this.frozenTables[index] as Memtable;
      for (const hit of table.search(query, k, predicate, liveAgainst([...newer]))) heap.push(hit);
      newer.push(table);
    }
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      const segment = this.segmentList[index] as Segment;
      const isLive = liveAgainst([...newer]);
      for (const hit of segment.search(query, { k, predicate, isLive, ...options })) heap.push(hit);
      newer.push(segment);
    }
    return heap.sorted();
  }

  /** The newest version of `id`, or undefined when it does not exist or its newest version is a delete. */
  get(id: string): StoredRecord | undefined {
    for (const table of this.memtablesNewestFirst()) {
      if (table.lsnOf(id) === undefined) continue;
      const record = table.get(id);
      return record === undefined ? undefined : { id, vector: record.vector, metadata: record.metadata };
    }
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      const found = (this.segmentList[index] as Segment).get(id);
      if (found === undefined) continue;
      return found.kind === 'live' ? { id, vector: found.vector, metadata: found.metadata } : undefined;
    }
    return undefined;
  }

  /**
   * The first `limit` live records in ascending id order (code-unit order)
   * whose id is above `afterId` and that match `predicate`, newest version of
   * each id only. Segments are walked from a binary search (their rows are
   * sorted by id); each memtable's ids above `afterId` are sorted per scan.
   */
  scan(options: ScanOptions): ScannedRecord[] {
    const { predicate, afterId, limit, withVectors } = options;
    const above = (id: string): boolean => afterId === null || id > afterId;
    const tables = this.memtablesNewestFirst();
    const lists: (readonly string[])[] = tables.map((table) => table.liveIds().filter(above).sort(compareIds));
    for (const segment of this.segmentList) lists.push(segment.sortedIds);
    const records: ScannedRecord[] = [];
    for (const id of ascendingIds(lists, afterId)) {
      if (records.length >= limit) break;
      const metadata = this.liveMetadata(id);
      if (metadata === undefined || (predicate !== null && !predicate(metadata, id))) continue;
      if (!withVectors) records.push({ id, metadata });
      else records.push({ id, metadata, vector: present(this.get(id), `the live record ${id}`).vector });
    }
    return records;
  }

  /** The live records matching `predicate` (all of them for null), exactly. */
  count(predicate: FilterPredicate | null): number {
    if (predicate === null) return this.countRecords();
    const seen = new Set<string>();
    let matching = 0;
    const visit = (id: string, deleted: boolean, tier: Memtable | Segment): void => {
      if (seen.has(id)) return;
      seen.add(id);
      if (!deleted && predicate(tier.liveMetadata(id) ?? null, id)) matching++;
    };
    for (const table of this.memtablesNewestFirst()) {
      table.forEachEntry((id, _lsn, deleted) => visit(id, deleted, table));
    }
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      const segment = this.segmentList[index] as Segment;
      segment.forEachRow((id, _lsn, deleted) => visit(id, deleted, segment));
    }
    return matching;
  }

  /** Counts per tier; `records` is exact (computed once per change, O(rows)). */
  stats(): ShardStoreStats {
    const segmentRows = this.segmentList.reduce((sum, segment) => sum + segment.rows, 0);
    return {
      records: this.countRecords(),
      memtableRows: this.active.size,
      frozenRows: this.frozenTables.reduce((sum, table) => sum + table.size, 0),
      frozenMemtables: this.frozenTables.length,
      segments: this.segmentList.length,
      indexedSegments: this.segmentList.filter((segment) => segment.indexed).length,
      segmentRows,
      maxLsn: Math.max(
        this.active.maxLsn,
        ...this.frozenTables.map((table) => table.maxLsn),
        ...this.segmentList.map((segment) => segment.manifest.maxLsn),
      ),
    };
  }

  /** The metadata of `id`'s newest version (null for none), or undefined when it does not exist or was deleted. */
  private liveMetadata(id: string): Metadata | null | undefined {
    for (const table of this.memtablesNewestFirst()) {
      if (table.lsnOf(id) !== undefined) return table.liveMetadata(id);
    }
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      const segment = this.segmentList[index] as Segment;
      if (segment.lsnOf(id) !== undefined) return segment.liveMetadata(id);
    }
    return undefined;
  }

  /** The active memtable, then the frozen ones from newest to oldest. */
  private memtablesNewestFirst(): Memtable[] {
    return [this.active, ...[...this.frozenTables].reverse()];
  }

  /** The newest LSN held for `id` below the active memtable (frozen and segments), or 0. */
  private olderTiersLsnOf(id: string): number {
    for (let index = this.frozenTables.length - 1; index >= 0; index--) {
      const lsn = (this.frozenTables[index] as Memtable).lsnOf(id);
      if (lsn !== undefined) return lsn;
    }
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      const lsn = (this.segmentList[index] as Segment).lsnOf(id);
      if (lsn !== undefined) return lsn;
    }
    return 0;
  }

  private countRecords(): number {
    if (this.cachedRecords !== null) return this.cachedRecords;
    const seen = new Set<string>();
    let records = 0;
    const visit = (id: string, deleted: boolean): void => {
      if (seen.has(id)) return;
      seen.add(id);
      if (!deleted) records++;
    };
    for (const table of this.memtablesNewestFirst()) table.forEachEntry((id, _lsn, deleted) => visit(id, deleted));
    for (let index = this.segmentList.length - 1; index >= 0; index--) {
      (this.segmentList[index] as Segment).forEachRow((id, _lsn, deleted) => visit(id, deleted));
    }
    this.cachedRecords = records;
    return records;
  }
}

/**
 * A row of an older tier is live unless a newer tier holds a newer LSN for its id; null (no check) when every newer
 * tier is empty.
 */
function liveAgainst(newer: readonly Tier[]): ((id: string, lsn: number) => boolean) | null {
  if (newer.every((tier) => tier.empty)) return null;
  return (id, lsn) => {
    for (const tier of newer) {
      const newest = tier.lsnOf(id);
      if (newest !== undefined && newest > lsn) return false;
    }
    return true;
  };
}
