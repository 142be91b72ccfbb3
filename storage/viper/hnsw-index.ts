/**
 * The approximate-nearest-neighbour index of one segment: the `VectorIndex`
 * interface and its hnswlib-node implementation. Labels are segment row
 * numbers; tombstone rows are never added. hnswlib reads and writes its file
 * by path itself (the one file access in storage/ that bypasses the
 * FileSystem interface); the caller makes the file durable and checksums it
 * through the interface. hnswlib blocks its thread while it builds or
 * searches, which is why builds run in the segment build pool.
 */

import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW as HnswIndex, SpaceName } from 'hnswlib-node';
import { ShoalError } from '../../runtime/errors.js';
import { integerIn } from '../../runtime/options.js';
import type { Metric } from '../types.js';
import type { SegmentRows } from './segment-rows.js';

/** Default HNSW graph degree (links per node per layer). */
export const DEFAULT_HNSW_M = 16;
/** Default candidate-list size while building. */
export const DEFAULT_HNSW_EF_CONSTRUCTION = 200;
/** Default candidate-list size while searching. */
export const DEFAULT_HNSW_EF = 64;
/** The fixed level-generator seed: the same rows always build the same graph. */
export const HNSW_RANDOM_SEED = 100;

/** HNSW build parameters. */
export interface HnswParameters {
  readonly M: number;
  readonly efConstruction: number;
}

/**
 * Rows found by an index search, best first, with their Shoal scores (similarity for cosine/dot, Euclidean distance for
 * l2).
 */
export interface IndexMatches {
  readonly rows: number[];
  readonly scores: number[];
}

/** An approximate index over a segment's rows. */
export interface VectorIndex {
  /** Number of rows indexed. */
  readonly size: number;
  /**
   * Up to `k` rows near `query`, best first, among rows for which `filter`
   * (given a row number; null: every row) is true, exploring at least
   * `max(ef, k)` candidates. Pass a `number[]` query to avoid a conversion.
   */
  search(
    query: Float32Array | number[],
    k: number,
    ef: number,
    filter: ((row: number) => boolean) | null,
  ): IndexMatches;
  /** Writes the index to `path` (replacing it); the caller makes it durable. */
  save(path: string): Promise<void>;
}

/** The hnswlib space of a Shoal metric. */
export function spaceOf(metric: Metric): SpaceName {
  return metric === 'dot' ? 'ip' : metric;
}

/** Converts an hnswlib distance into a Shoal score under `metric`. */
export function scoreFromDistance(metric: Metric, distance: number): number {
  // cosine: 1 - similarity; ip: 1 - dot; l2: squared Euclidean distance.
  return metric === 'l2' ? Math.sqrt(Math.max(0, distance)) : 1 - distance;
}

/**
 * `vector` as the plain number array hnswlib-node takes, filled by a loop (`Array.from` on a typed array costs about
 * 4.7 µs for 128 floats, this 0.3 µs).
 */
export function toPoint(vector: Float32Array): number[] {
  const point = new Array<number>(vector.length);
  for (let index = 0; index < vector.length; index++) point[index] = vector[index] as number;
  return point;
}

/** A VectorIndex backed by hnswlib-node's HierarchicalNSW. */
export class HnswVectorIndex implements VectorIndex {
  private constructor(
    private readonly index: HnswIndex,
    private readonly metric: Metric,
    readonly size: number,
  ) {}

  /**
   * Builds an index over the non-tombstone rows of `rows` (labels = row
   * numbers), deterministically for equal input. Blocks the thread. Calls
   * `afterPoint` after every point, outside any hnswlib call: it may throw to
   * give up the build (a cooperative abort).
   */
  static build(
    rows: SegmentRows,
    metric: Metric,
    parameters: HnswParameters,
    afterPoint: () => void = () => undefined,
  ): HnswVectorIndex {
    validateHnswParameters(parameters);
    const { dimension } = rows;
    const count = rows.ids.length;
    let live = 0;
    for (let row = 0; row < count; row++) if (rows.deleted[row] === 0) live++;
    const index = new hnswlib.HierarchicalNSW(spaceOf(metric), dimension);
    index.initIndex({
      maxElements: Math.max(1, live),
      m: parameters.M,
      efConstruction: parameters.efConstruction,
      randomSeed: HNSW_RANDOM_SEED,
    });
    const point = new Array<number>(dimension);
    for (let row = 0; row < count; row++) {
      if (rows.deleted[row] !== 0) continue;
      const offset = row * dimension;
      for (let index = 0; index < dimension; index++) point[index] = rows.vectors[offset + index] as number;
      index.addPoint(point, row);
      afterPoint();
    }
    return new HnswVectorIndex(index, metric, live);
  }

  /**
   * Loads an index written by `save` (read off the thread by hnswlib). Throws CORRUPTION when it does not match
   * `dimension`/`expectedSize`.
   */
  static async load(path: string, metric: Metric, dimension: number, expectedSize: number): Promise<HnswVectorIndex> {
    const index = new hnswlib.HierarchicalNSW(spaceOf(metric), dimension);
    try {
      await index.readIndex(path);
    } catch (error) {
      throw new ShoalError(
        'CORRUPTION',
        `${path}: unreadable HNSW index: ${error instanceof Error ? error.message : String(error)}`,
        {
          path,
        },
      );
    }
    const size = index.getCurrentCount();
    if (size !== expectedSize) {
      throw new ShoalError('CORRUPTION', `${path}: HNSW index holds ${size} rows, manifest says ${expectedSize}`, {
        path,
      });
    }
    return new HnswVectorIndex(index, metric, size);
  }

  search(
    query: Float32Array | number[],
    k: number,
    ef: number,
    filter: ((row: number) => boolean) | null,
  ): IndexMatches {
    const limit = Math.min(k, this.size);
    if (limit < 1) return { rows: [], scores: [] };
    const point = Array.isArray(query) ? query : toPoint(query);
    this.index.setEf(Math.max(ef, limit));
    const result =
      filter === null ? this.index.searchKnn(point, limit) : this.index.searchKnn(point, limit, guarded(filter));
    return {
      rows: result.neighbors,
      scores: result.distances.map((distance) => scoreFromDistance(this.metric, distance)),
    };
  }

  async save(path: string): Promise<void> {
    await this.index.writeIndex(path);
  }
}

// hnswlib calls the filter from C++: an exception there must not escape, so
// a throwing filter excludes the row.
function guarded(filter: (row: number) => boolean): (row: number) => boolean {
  return (row) => {
    try {
      return filter(row);
    } catch {
      return false;
    }
  };
}

/** Throws INVALID_ARGUMENT unless M is in [2, 100] and efConstruction in [1, 10000]. */
export function validateHnswParameters(parameters: HnswParameters): void {
  integerIn(parameters.M, 'M', 2, 100);
  integerIn(parameters.efConstruction, 'efConstruction', 1, 10_000);
}
