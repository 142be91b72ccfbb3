/**
 * Data types shared by storage, cluster and actors: metrics, records, hits.
 * Pure definitions and tiny pure helpers only.
 */

/** Distance metrics. */
export const METRICS = ['cosine', 'l2', 'dot'] as const;

/**
 * `cosine` and `dot` score by similarity (higher is better); `l2` scores by
 * Euclidean distance (lower is better).
 */
export type Metric = (typeof METRICS)[number];

/**
 * Which tiers a collection uses: `auto` (write tier, then HNSW-indexed segments), `lsm` (no indexes: every search
 * exact), `viper` (index every segment).
 */
export type EnginePolicy = 'auto' | 'lsm' | 'viper';

/** HNSW parameters of a collection. */
export interface HnswOptions {
  /** Graph degree (default 16). */
  readonly m?: number;
  /** Build candidate-list size (default 200). */
  readonly efConstruction?: number;
  /** Default search candidate-list size (default 128). */
  readonly ef?: number;
}

/** How a collection stores and indexes its rows; every field optional. */
export type EngineSettings = {
  readonly engine?: EnginePolicy;
  /** Rows in a shard's memtable that trigger a flush into a segment (default 20,000). */
  readonly flushThresholdRows?: number;
  /**
   * Frozen memtables a shard keeps waiting for their segment build (default
   * 4). When they are all waiting and the active memtable is past
   * `flushThresholdRows` too, the shard holds further writes (a write stall)
   * until a flush completes, so memory stays bounded under write bursts.
   */
  readonly frozenMemtablesMax?: number;
  readonly hnsw?: HnswOptions;
};

/** JSON-compatible metadata attached to a record. */
export type Metadata = Record<string, unknown>;

/** One search result. `score` is a similarity for cosine/dot, a distance for l2. */
export interface Hit {
  readonly id: string;
  readonly score: number;
  readonly metadata: Metadata | null;
}

/** A stored record as returned by `get`. */
export interface StoredRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

/** True when higher scores are better under `metric`. */
export function higherIsBetter(metric: Metric): boolean {
  return metric !== 'l2';
}

/**
 * Orders hits best first under `metric`; equal scores are ordered by id
 * (code-unit order) so that results are deterministic across shards and runs.
 */
export function hitComparator(metric: Metric): (a: Hit, b: Hit) => number {
  const sign = higherIsBetter(metric) ? -1 : 1;
  return (a, b) => {
    if (a.score !== b.score) return sign * (a.score - b.score);
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}
