/**
 * Validation at the public boundary: every option and record is checked once,
 * here, with errors that name the field and the allowed range, and records
 * are packed into one columnar batch (one copy of the caller's vectors, so
 * the caller's arrays stay usable). A rejected batch writes nothing.
 */
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import { integerIn } from '../../runtime/options.js';
import { compileFilter } from '../../storage/filter.js';
import { OP_DELETE, OP_UPSERT } from '../../storage/record-batch.js';
import type { RecordBatch } from '../../storage/record-batch.js';
import {
  PLACEMENT_STRATEGIES,
  STORAGE_COMPONENTS,
  URLS_PER_COMPONENT_MAX,
  defaultStorageConfig,
  isStorageComponent,
  normaliseStorageUrl,
} from '../../storage/placement.js';
import type { ComponentStorage, PlacementStrategy, StorageConfig } from '../../storage/placement.js';
import { METRICS } from '../../storage/types.js';
import type { EnginePolicy, EngineSettings, HnswOptions } from '../../storage/types.js';
import { SYNC_MODES, isSyncMode } from '../../storage/wal/sync-mode.js';
import type { SyncMode } from '../../storage/wal/sync-mode.js';
import type {
  CreateCollectionOptions,
  SearchBatchOptions,
  SearchOptions,
  SearchQuery,
  UpsertRecord,
  VectorInput,
} from '../public-api.js';
import type { ScrollOptions } from '../public-api.js';
import type { CheckedQuery, CheckedSearch } from '../read-protocol.js';
import type { CreateCollectionMessage, SupervisorMessageOf } from '../supervisor-protocol.js';
import { decodeCursor } from './scroll-cursor.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** A collection name, checked. */
export function collectionName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw invalidArgument(
      field,
      `must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Validates `createCollection` options and fills in defaults. */
export function createCollectionMessage(options: CreateCollectionOptions): CreateCollectionMessage {
  if (!isPlainObject(options)) throw invalidArgument('options', 'must be an object');
  const metric = options.metric;
  if (!(METRICS as readonly unknown[]).includes(metric))
    throw invalidArgument('metric', `must be one of ${METRICS.join(', ')}, got ${JSON.stringify(metric)}`);
  const syncMode = options.syncMode ?? 'batch';
  if (!isSyncMode(syncMode)) {
    throw invalidArgument('syncMode', `must be one of ${SYNC_MODES.join(', ')}, got ${JSON.stringify(syncMode)}`);
  }
  return {
    type: 'create-collection',
    name: collectionName(options.name),
    dimension: integerIn(options.dimension, 'dimension', 1, REQUEST_LIMITS.dimensionMax),
    metric,
    shards: integerIn(options.shards ?? 2, 'shards', 1, REQUEST_LIMITS.shardsMax),
    syncMode,
    ...(options.syncIntervalMs === undefined ? {} : { syncIntervalMs: syncInterval(options.syncIntervalMs, syncMode) }),
    ...engineSettings(options),
  };
}

const ENGINE_POLICIES: readonly EnginePolicy[] = ['auto', 'lsm', 'viper'];

/** The engine settings of a collection, checked; absent fields stay absent (the engine's defaults apply). */
function engineSettings(options: EngineSettings): EngineSettings {
  const settings: {
    engine?: EnginePolicy;
    flushThresholdRows?: number;
    frozenMemtablesMax?: number;
    hnsw?: HnswOptions;
  } = {};
  if (options.engine !== undefined) {
    if (!ENGINE_POLICIES.includes(options.engine))
      throw invalidArgument(
        'engine',
        `must be one of ${ENGINE_POLICIES.join(', ')}, got ${JSON.stringify(options.engine)}`,
      );
    settings.engine = options.engine;
  }
  if (options.flushThresholdRows !== undefined)
    settings.flushThresholdRows = integerIn(options.flushThresholdRows, 'flushThresholdRows', 100, 10_000_000);
  if (options.frozenMemtablesMax !== undefined)
    settings.frozenMemtablesMax = integerIn(options.frozenMemtablesMax, 'frozenMemtablesMax', 1, 64);
  if (options.hnsw !== undefined) {
    if (!isPlainObject(options.hnsw)) throw invalidArgument('hnsw', 'must be an object with m, efConstruction and ef');
    const { m, efConstruction, ef } = options.hnsw;
    settings.hnsw = {
      ...(m === undefined ? {} : { m: integerIn(m, 'hnsw.m', 2, 100) }),
      ...(efConstruction === undefined
        ? {}
        : { efConstruction: integerIn(efConstruction, 'hnsw.efConstruction', 1, 4_096) }),
      ...(ef === undefined ? {} : { ef: integerIn(ef, 'hnsw.ef', 1, REQUEST_LIMITS.kMax) }),
    };
  }
  return settings;
}

/** `syncIntervalMs`, checked: 1 to 60,000 ms, and only with the `periodic` sync mode. */
function syncInterval(value: unknown, syncMode: SyncMode): number {
  if (syncMode !== 'periodic')
    throw invalidArgument('syncIntervalMs', `applies only to syncMode 'periodic', not '${syncMode}'`);
  return integerIn(value, 'syncIntervalMs', 1, 60_000);
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** An id, checked. */
function recordId(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > REQUEST_LIMITS.idLengthMax) {
    const got = typeof value === 'string' ? `a string of length ${value.length}` : typeof value;
    const lengthMax = REQUEST_LIMITS.idLengthMax;
    throw invalidArgument(field, `must be a non-empty string of at most ${lengthMax} characters, got ${got}`);
  }
  // A lone surrogate has no UTF-8 form (it would come back as U+FFFD, another id); the WAL refuses it too, but
  // only for the shard it routes to, after the others may have written their share.
  if (LONE_SURROGATE.test(value)) throw invalidArgument(field, 'must be well-formed UTF-16 (no lone surrogates)');
  return value;
}

/** A list of ids, checked (empty is allowed). */
export function recordIds(value: unknown, field = 'ids'): string[] {
  if (!Array.isArray(value)) throw invalidArgument(field, 'must be an array of ids');
  const idsMax = REQUEST_LIMITS.recordsPerBatchMax;
  if (value.length > idsMax) {
    throw invalidArgument(field, `holds ${value.length} ids, at most ${idsMax} are allowed per call`);
  }
  return value.map((id, index) => recordId(id, `${field}[${index}]`));
}

function isVectorInput(value: unknown): value is VectorInput {
  return (ArrayBuffer.isView(value) && !(value instanceof DataView)) || Array.isArray(value);
}

/** Copies a vector into `target` at `offset`, rejecting non-numbers and values that are not finite as float32. */
function copyVector(vector: unknown, target: Float32Array, offset: number, dimension: number, field: string): void {
  if (!isVectorInput(vector)) throw invalidArgument(field, 'must be an array or typed array of numbers');
  if (vector.length !== dimension) {
    throw new ShoalError('DIMENSION_MISMATCH', `${field} has ${vector.length} values, expected ${dimension}`, {
      field,
      expected: dimension,
      actual: vector.length,
    });
  }
  for (let i = 0; i < dimension; i++) {
    const value = vector[i];
    if (typeof value !== 'number') throw invalidArgument(`${field}[${i}]`, `must be a number, got ${typeof value}`);
    target[offset + i] = value;
    if (!Number.isFinite(target[offset + i]))
      throw invalidArgument(`${field}[${i}]`, `must be a finite float32, got ${value}`);
  }
}

function metadataText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) throw invalidArgument(field, 'must be a plain JSON object or null');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw invalidArgument(field, `is not serialisable as JSON: ${(error as Error).message}`);
  }
  const bytesMax = REQUEST_LIMITS.metadataBytesMax;
  if (text.length > bytesMax) {
    throw invalidArgument(field, `is ${text.length} bytes as JSON, at most ${bytesMax} are allowed`);
  }
  return text;
}

/** Validates and packs records into one upsert batch; throws before anything is written. */
export function packUpsert(records: unknown): RecordBatch {
  if (!Array.isArray(records) || records.length === 0) throw invalidArgument('records', 'must be a non-empty array');
  const recordsMax = REQUEST_LIMITS.recordsPerBatchMax;
  if (records.length > recordsMax) {
    throw invalidArgument('records', `holds ${records.length} records, at most ${recordsMax} are allowed per call`);
  }
  const first = (records[0] as Partial<UpsertRecord> | undefined)?.vector;
  if (!isVectorInput(first) || first.length === 0)
    throw invalidArgument('records[0].vector', 'must be a non-empty array or typed array of numbers');
  const dimension = first.length;
  const vectors = new Float32Array(records.length * dimension);
  const ids: string[] = [];
  const metadata: (string | null)[] = [];
  let bytes = 0;
  records.forEach((record: unknown, row) => {
    const field = `records[${row}]`;
    if (!isPlainObject(record)) throw invalidArgument(field, 'must be an object with id, vector and optional metadata');
    const id = recordId(record['id'], `${field}.id`);
    ids.push(id);
    copyVector(record['vector'], vectors, row * dimension, dimension, `${field}.vector`);
    const text = metadataText(record['metadata'], `${field}.metadata`);
    metadata.push(text);
    bytes += Buffer.byteLength(id, 'utf8') + dimension * 4 + (text === null ? 0 : Buffer.byteLength(text, 'utf8'));
  });
  // Checked before any shard is asked: a share one WAL refused after the other shards wrote theirs would be a
  // partial write.
  if (bytes > REQUEST_LIMITS.batchBytesMax) {
    const limit = REQUEST_LIMITS.batchBytesMax;
    const problem = `are ${bytes} bytes (ids, vectors, metadata), at most ${limit} per call`;
    throw invalidArgument('records', problem, { bytes, limit });
  }
  return { dimension, ops: new Uint8Array(records.length).fill(OP_UPSERT), ids, vectors, metadata, lsns: null };
}

/** Packs ids into one delete batch. */
export function packDelete(ids: readonly string[]): RecordBatch {
  return {
    dimension: 0,
    ops: new Uint8Array(ids.length).fill(OP_DELETE),
    ids,
    vectors: new Float32Array(0),
    metadata: ids.map(() => null),
    lsns: null,
  };
}

/**
 * Validates the options of `search` (the filter too, so a bad filter fails here, not in a worker): a search of one
 * query.
 */
export function checkSearch(options: SearchOptions): CheckedSearch {
  if (!isPlainObject(options)) throw invalidArgument('options', 'must be an object with vector and k');
  return packQueries([options], '', options.allowPartial);
}

/** Validates the options of `searchBatch`: 1 to 1,000 queries, all of one dimension. */
export function checkSearchBatch(options: SearchBatchOptions): CheckedSearch {
  if (!isPlainObject(options)) throw invalidArgument('options', 'must be an object with queries');
  const { queries } = options;
  if (!Array.isArray(queries) || queries.length === 0 || queries.length > REQUEST_LIMITS.queriesPerBatchMax) {
    const got = Array.isArray(queries) ? `${queries.length}` : typeof queries;
    const queriesMax = REQUEST_LIMITS.queriesPerBatchMax;
    throw invalidArgument('queries', `must be an array of 1 to ${queriesMax} queries, got ${got}`);
  }
  const checked = packQueries(queries, 'queries', options.allowPartial);
  const hits = checked.queries.reduce((sum, query) => sum + query.k, 0);
  const hitsMax = REQUEST_LIMITS.batchHitsMax;
  if (hits > hitsMax) {
    throw invalidArgument('queries', `ask for at most ${hitsMax} hits in one batch (the sum of k), got ${hits}`);
  }
  return checked;
}

function packQueries(queries: readonly SearchQuery[], field: string, allowPartial: unknown): CheckedSearch {
  if (allowPartial !== undefined && typeof allowPartial !== 'boolean')
    throw invalidArgument('allowPartial', 'must be true or false');
  const name = (index: number, key: string): string => (field === '' ? key : `${field}[${index}].${key}`);
  let dimension = 0;
  const checked = queries.map((query, index): CheckedQuery => {
    if (!isPlainObject(query))
      throw invalidArgument(field === '' ? 'options' : `${field}[${index}]`, 'must be an object with vector and k');
    if (!isVectorInput(query.vector) || query.vector.length === 0)
      throw invalidArgument(name(index, 'vector'), 'must be a non-empty array or typed array of numbers');
    if (index === 0) dimension = query.vector.length; // a later query of another length fails DIMENSION_MISMATCH below
    compileFilter(query.filter);
    if (query.exact !== undefined && typeof query.exact !== 'boolean')
      throw invalidArgument(name(index, 'exact'), 'must be true or false');
    return {
      k: integerIn(query.k, name(index, 'k'), 1, REQUEST_LIMITS.kMax),
      filter: query.filter ?? null,
      exact: query.exact === true,
      ...(query.ef === undefined ? {} : { ef: integerIn(query.ef, name(index, 'ef'), 1, REQUEST_LIMITS.kMax) }),
    };
  });
  const vectors = new Float32Array(queries.length * dimension);
  queries.forEach((query, index) =>
    copyVector(query.vector, vectors, index * dimension, dimension, name(index, 'vector')),
  );
  return { vectors, dimension, queries: checked, allowPartial: allowPartial === true };
}

/** Records per scroll page when the caller gives no `limit`. */
export const SCROLL_LIMIT_DEFAULT = 100;

/** A filter, checked (compiled once and dropped: the engines compile it again); undefined and null mean none. */
export function checkFilter(filter: unknown, field = 'filter'): unknown {
  if (filter === undefined || filter === null) return null;
  if (!isPlainObject(filter)) throw invalidArgument(field, 'must be a filter object');
  compileFilter(filter);
  return filter;
}

/** A boolean option, or its default. */
function flag(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(field, 'must be true or false');
  return value;
}

/** Validates the options of `scroll` into the supervisor's message. */
export function checkScroll(collection: string, options: ScrollOptions): SupervisorMessageOf<'scroll'> {
  if (!isPlainObject(options)) throw invalidArgument('options', 'must be an object');
  return {
    type: 'scroll',
    collection,
    filter: checkFilter(options.filter),
    afterId: decodeCursor(options.cursor),
    limit: integerIn(options.limit ?? SCROLL_LIMIT_DEFAULT, 'limit', 1, REQUEST_LIMITS.scrollLimitMax),
    withVectors: flag(options.withVectors, 'withVectors', false),
  };
}

/** Validates metadata updates (`[{ id, metadata }]`, 1 to 10,000) into ids and metadata JSON texts, by row. */
export function packMetadataUpdates(records: unknown): { ids: string[]; metadata: (string | null)[] } {
  if (!Array.isArray(records) || records.length === 0) throw invalidArgument('records', 'must be a non-empty array');
  const recordsMax = REQUEST_LIMITS.recordsPerBatchMax;
  if (records.length > recordsMax) {
    throw invalidArgument('records', `holds ${records.length} updates, at most ${recordsMax} are allowed per call`);
  }
  const ids: string[] = [];
  const metadata: (string | null)[] = [];
  records.forEach((record: unknown, row) => {
    const field = `records[${row}]`;
    if (!isPlainObject(record)) throw invalidArgument(field, 'must be an object with id and metadata');
    if (!Object.hasOwn(record, 'metadata')) throw invalidArgument(`${field}.metadata`, 'is required (null clears it)');
    ids.push(recordId(record['id'], `${field}.id`));
    metadata.push(metadataText(record['metadata'], `${field}.metadata`));
  });
  return { ids, metadata };
}

/**
 * Validates the `storage` option of `Shoal.open` and fills in defaults: a
 * component left out, or given without `urls`, uses the single URL of
 * `dataDir` (an absolute path); the strategy defaults to round-robin. Errors
 * name the option (`storage.wal.urls[1]: ...`).
 */
export function storageConfig(value: unknown, dataDir: string): StorageConfig {
  const defaults = defaultStorageConfig(dataDir);
  if (value === undefined) return defaults;
  if (!isPlainObject(value))
    throw invalidArgument('storage', `must be an object with keys among ${STORAGE_COMPONENTS.join(', ')}`);
  for (const key of Object.keys(value)) {
    if (!isStorageComponent(key))
      throw invalidArgument(`storage.${key}`, `is not a storage component; use ${STORAGE_COMPONENTS.join(', ')}`);
  }
  const component = (name: (typeof STORAGE_COMPONENTS)[number]): ComponentStorage =>
    componentStorage(value[name], `storage.${name}`, defaults[name]);
  return {
    wal: component('wal'),
    viper: component('viper'),
    lsm: component('lsm'),
    index: component('index'),
    metadata: component('metadata'),
  };
}

function componentStorage(value: unknown, field: string, fallback: ComponentStorage): ComponentStorage {
  if (value === undefined) return fallback;
  if (!isPlainObject(value)) throw invalidArgument(field, 'must be an object { urls, strategy? }');
  for (const key of Object.keys(value)) {
    if (key !== 'urls' && key !== 'strategy')
      throw invalidArgument(`${field}.${key}`, 'is not an option; use urls and strategy');
  }
  const strategy = value['strategy'] ?? 'round-robin';
  if (!(PLACEMENT_STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw invalidArgument(
      `${field}.strategy`,
      `must be one of ${PLACEMENT_STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`,
    );
  }
  const rawUrls = value['urls'];
  if (rawUrls === undefined) return { urls: fallback.urls, strategy: strategy as PlacementStrategy };
  if (!Array.isArray(rawUrls) || rawUrls.length === 0 || rawUrls.length > URLS_PER_COMPONENT_MAX) {
    throw invalidArgument(`${field}.urls`, `must be an array of 1 to ${URLS_PER_COMPONENT_MAX} storage URLs`);
  }
  const urls: string[] = [];
  rawUrls.forEach((raw: unknown, index) => {
    const url = normaliseStorageUrl(raw, `${field}.urls[${index}]`);
    const first = urls.indexOf(url);
    if (first !== -1) throw invalidArgument(`${field}.urls[${index}]`, `duplicates ${field}.urls[${first}] (${url})`);
    urls.push(url);
  });
  return { urls, strategy: strategy as PlacementStrategy };
}

/** A request's deadline in ms: its own `timeoutMs` or the default. */
export function timeoutOf(value: unknown, fallbackMs: number): number {
  return value === undefined ? fallbackMs : integerIn(value, 'timeoutMs', 1, REQUEST_LIMITS.timeoutMsMax);
}
