/**
 * Qdrant's JSON shapes for what Shoal answers: distances, collection info,
 * points and scored points, payload selection, and the checks of request
 * fields that every endpoint shares. Pure.
 */
import { invalidArgument } from '../../runtime/errors.js';
import type { CollectionInfo, CollectionStats, Metadata, Metric } from '../public-api.js';
import { pointIdOf } from './qdrant-ids.js';
import type { PointId } from './qdrant-ids.js';

/** Qdrant's distance names and Shoal's metrics. */
const DISTANCES: Readonly<Record<string, Metric>> = { Cosine: 'cosine', Euclid: 'l2', Dot: 'dot' };

export function metricOf(distance: unknown, field: string): Metric {
  if (typeof distance === 'string' && Object.hasOwn(DISTANCES, distance)) return DISTANCES[distance] as Metric;
  const named = Object.keys(DISTANCES).join(', ');
  throw invalidArgument(field, `must be one of ${named} (Manhattan is not supported), got ${String(distance)}`);
}

export function distanceOf(metric: Metric): string {
  return Object.entries(DISTANCES).find(([, value]) => value === metric)?.[0] ?? 'Cosine';
}

/** Whether a score passes Qdrant's `score_threshold`: at least it for similarities, at most it for Euclid. */
export function passesThreshold(metric: Metric, score: number, threshold: number | undefined): boolean {
  if (threshold === undefined) return true;
  return metric === 'l2' ? score <= threshold : score >= threshold;
}

/** Qdrant's CollectionInfo for a Shoal collection and its statistics. */
export function collectionInfo(info: CollectionInfo, stats: CollectionStats | undefined): Record<string, unknown> {
  const hnsw = info.hnsw ?? {};
  const points = stats?.records ?? 0;
  return {
    status: stats === undefined || stats.unavailableShards > 0 ? 'yellow' : 'green',
    optimizer_status: 'ok',
    indexed_vectors_count: points - (stats?.memtableRows ?? 0),
    points_count: points,
    segments_count: stats?.segments ?? 0,
    config: {
      params: {
        vectors: { size: info.dimension, distance: distanceOf(info.metric) },
        shard_number: info.shards,
        replication_factor: 1,
        write_consistency_factor: 1,
        on_disk_payload: true,
      },
      hnsw_config: {
        m: hnsw.m ?? 16,
        ef_construct: hnsw.efConstruction ?? 200,
        full_scan_threshold: 10_000,
        max_indexing_threads: 0,
        on_disk: false,
      },
      optimizer_config: {
        deleted_threshold: 0.2,
        vacuum_min_vector_number: 1000,
        default_segment_number: 0,
        max_segment_size: null,
        memmap_threshold: null,
        indexing_threshold: 10_000,
        flush_interval_sec: 5,
        max_optimization_threads: null,
      },
      wal_config: { wal_capacity_mb: 64, wal_segments_ahead: 0 },
      quantization_config: null,
    },
    payload_schema: {},
  };
}

/** What `with_payload` asks for: nothing, everything, or some keys (included or excluded). */
export type PayloadSelector = (metadata: Metadata | null) => Metadata | null;

export function payloadSelector(value: unknown, fallback: boolean, field = 'with_payload'): PayloadSelector {
  if (value === undefined || value === null) return fallback ? (metadata) => metadata ?? {} : () => null;
  if (value === true) return (metadata) => metadata ?? {};
  if (value === false) return () => null;
  if (Array.isArray(value)) return including(keys(value, field));
  if (typeof value === 'object') {
    const spec = value as Record<string, unknown>;
    if (spec['include'] !== undefined) return including(keys(spec['include'], `${field}.include`));
    if (spec['exclude'] !== undefined) {
      const excluded = new Set(keys(spec['exclude'], `${field}.exclude`));
      return (metadata) => Object.fromEntries(Object.entries(metadata ?? {}).filter(([key]) => !excluded.has(key)));
    }
  }
  throw invalidArgument(field, 'must be a boolean, a list of keys, or { include } or { exclude }');
}

function including(wanted: readonly string[]): PayloadSelector {
  return (metadata) =>
    Object.fromEntries(
      wanted.filter((key) => metadata !== null && key in metadata).map((key) => [key, metadata?.[key]]),
    );
}

function keys(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((key) => typeof key !== 'string'))
    throw invalidArgument(field, 'must be a list of keys');
  return value as string[];
}

/** Whether `with_vector` asks for the vector (a boolean; a list of names selects the one unnamed vector too). */
export function wantsVector(value: unknown, field = 'with_vector'): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value === true || Array.isArray(value)) return true;
  throw invalidArgument(field, 'must be a boolean');
}

/** A Qdrant point (a record as `retrieve` and `scroll` answer it). */
export interface QdrantPoint {
  readonly id: PointId;
  readonly payload: Metadata | null;
  readonly vector: number[] | null;
}

export function pointOf(
  id: string,
  metadata: Metadata | null,
  vector: Float32Array | null,
  select: PayloadSelector,
): QdrantPoint {
  return { id: pointIdOf(id), payload: select(metadata), vector: vector === null ? null : Array.from(vector) };
}

/** A positive integer field, or its default. */
export function positiveInteger(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidArgument(field, `must be an integer from 1 to ${max}`);
  }
  return value;
}

/** A non-negative integer field (an offset), or 0. */
export function offsetOf(value: unknown, field = 'offset'): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw invalidArgument(field, 'must be a non-negative integer');
  return value;
}

/** An optional finite number. */
export function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(field, 'must be a finite number');
  return value;
}

/** A request body as an object. */
export function bodyOf(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument('body', 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** One unnamed vector: a list of numbers, or `{ "": [...] }`. Named vectors are refused. */
export function vectorOf(value: unknown, field: string): number[] {
  if (Array.isArray(value)) return value as number[];
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0]?.[0] === '' && Array.isArray(entries[0][1]))
      return entries[0][1] as number[];
    throw invalidArgument(field, 'named and sparse vectors are not supported: send one unnamed vector');
  }
  throw invalidArgument(field, 'must be a list of numbers');
}
