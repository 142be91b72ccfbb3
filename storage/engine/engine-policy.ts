/**
 * The engine policy table: what a collection's engine settings mean for one
 * shard's engine, resolved once, with every default in this one place. The
 * three tiers differ only in when a segment gets an HNSW index: `lsm` never
 * (segments are searched exactly), `viper` always, `auto` from 1,000 live
 * rows on.
 */
import { DEFAULT_FROZEN_MEMTABLES_MAX } from '../shard-store.js';
import type { EnginePolicy, EngineSettings } from '../types.js';

/** Live rows from which a segment gets an HNSW index, per engine tier. */
export const INDEX_THRESHOLD_ROWS: Readonly<Record<EnginePolicy, number>> = {
  auto: 1_000,
  lsm: Number.MAX_SAFE_INTEGER,
  viper: 1,
};

/** Rows in the active memtable that freeze it for a flush, unless the collection says otherwise. */
export const DEFAULT_FLUSH_THRESHOLD_ROWS = 20_000;
/** HNSW search candidate-list size, unless the collection or the query says otherwise. */
export const DEFAULT_SEARCH_EF = 128;
/** How long builds pause after a failed flush or compaction before they are tried again. */
export const BUILD_RETRY_MS = 5_000;
/** Build threads per engine: a flush and a compaction may run side by side. */
export const BUILD_THREADS = 2;
/** Records an engine asks of its WAL writer per replay page, unless told otherwise. */
export const DEFAULT_REPLAY_PAGE_RECORDS = 8_192;

/** One engine's settings with every default filled in. */
export interface ResolvedEnginePolicy {
  readonly engine: EnginePolicy;
  readonly flushThresholdRows: number;
  readonly frozenMemtablesMax: number;
  readonly indexThresholdRows: number;
  readonly searchEf: number;
  /** HNSW build parameters the collection set (absent ones take the builder's defaults). */
  readonly hnswM: number | undefined;
  readonly hnswEfConstruction: number | undefined;
}

/** Resolves a collection's engine settings against the table and the defaults. */
export function resolveEnginePolicy(settings: EngineSettings = {}): ResolvedEnginePolicy {
  const engine = settings.engine ?? 'auto';
  return {
    engine,
    flushThresholdRows: settings.flushThresholdRows ?? DEFAULT_FLUSH_THRESHOLD_ROWS,
    frozenMemtablesMax: settings.frozenMemtablesMax ?? DEFAULT_FROZEN_MEMTABLES_MAX,
    indexThresholdRows: INDEX_THRESHOLD_ROWS[engine],
    searchEf: settings.hnsw?.ef ?? DEFAULT_SEARCH_EF,
    hnswM: settings.hnsw?.m,
    hnswEfConstruction: settings.hnsw?.efConstruction,
  };
}
