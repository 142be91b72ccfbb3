/**
 * The public types of Shoal: options, records, results and the request
 * messages of which every method of `Shoal` is sugar.
 */
import type { CollectionEntry } from '../storage/collection-entry.js';
import type { StorageStats } from '../storage/discovery.js';
import type { Filter } from '../storage/filter.js';
import type { Placement, PlacementStrategy, StorageComponent } from '../storage/placement.js';
import type { EnginePolicy, EngineSettings, HnswOptions, Hit, Metadata, Metric } from '../storage/types.js';
import type { SyncMode } from '../storage/wal/sync-mode.js';
import type { WalRepair } from '../storage/wal/wal.js';
import type { ErrorData } from '../runtime/errors.js';
import type { ShardAssignment } from '../cluster/metadata.js';
import type { ReplicaStatus } from './metadata-replica-actor.js';
import type { UnreachableReplica } from './metadata-client.js';

export type { EnginePolicy, EngineSettings, HnswOptions };
export type { Filter, Metadata, Metric, Placement, PlacementStrategy, StorageComponent, StorageStats, SyncMode };

/** The storage of one component: where its collections may go, and how one is picked. */
export interface ComponentStorageOptions {
  /** Storage URLs (`file:///mnt/a/shoal`, ...), 1 to 64, no duplicates. Default: the single URL of `dataDir`. */
  readonly urls?: readonly string[];
  /** `round-robin` (default: collection n goes to URL n mod urls) or `hash` (by a stable hash of the collection id). */
  readonly strategy?: PlacementStrategy;
}

/**
 * Storage URLs per component (`wal`, `viper`, `lsm`, `index`, `metadata`); a component left out lives under `dataDir`.
 */
export type StorageOptions = { readonly [C in StorageComponent]?: ComponentStorageOptions };

/** Options of `Shoal.open`. Only `dataDir` is required. */
export interface OpenOptions {
  /** Where the data lives; created if missing. */
  readonly dataDir: string;
  /** Most worker threads; beyond it actors share threads. Default: 8 per core, at least 8. */
  readonly maxWorkers?: number;
  /** Deadline of every request that does not give its own `timeoutMs`. Default 30,000 ms. */
  readonly requestTimeoutMs?: number;
  /** A shard group restarted more than this many times within `restartWindowMs` stops. Default 5. */
  readonly maxRestarts?: number;
  /** Default 60,000 ms. */
  readonly restartWindowMs?: number;
  /** Enables `injectFault` (for chaos tests). Default false. */
  readonly faultInjection?: boolean;
  /** Where each component's files go; see the README (Storage placement). Default: everything under `dataDir`. */
  readonly storage?: StorageOptions;
  /** Replicas of the metadata Raft group, each an actor in its own worker: 1, 3, 5 or 7. Default 3. */
  readonly metadataReplicas?: number;
  /**
   * Milliseconds per Raft tick of the metadata group (elections after 25 to 50 ticks of silence), 1 to 1,000. Default
   * 20.
   */
  readonly metadataTickMs?: number;
  /**
   * Default false: a collection whose WAL is damaged before its tail refuses
   * to open (CORRUPTION). True opens it anyway: each damaged WAL keeps its
   * records before the damage and discards the rest, acknowledged writes
   * included, and `stats()` lists what was cut (`walRepairs`). For an
   * operator who has chosen that loss; see the README (Recovery).
   */
  readonly repairWal?: boolean;
  /**
   * Aborts the open: rejects at once with ABORTED (an aborted signal before anything is locked or started); a boot
   * still running is finished, stopped and its locks released in the background.
   */
  readonly signal?: AbortSignal;
}

/** Options of `createCollection`. */
export interface CreateCollectionOptions extends EngineSettings {
  /** 1 to 64 characters: letters, digits, `_` and `-`, starting with a letter or digit. */
  readonly name: string;
  /** Vector length, 1 to 65,536. */
  readonly dimension: number;
  readonly metric: Metric;
  /** Shards (each with its own WAL writer, engine and shard actor), 1 to 256. Default 2. */
  readonly shards?: number;
  /** When a write is acknowledged; see the README. Default `batch`. */
  readonly syncMode?: SyncMode;
  /**
   * With `syncMode: 'periodic'`: the longest an acknowledged write waits for its fdatasync, 1 to 60,000 ms. Default
   * 200.
   */
  readonly syncIntervalMs?: number;
}

/** A collection as the cluster metadata records it. */
export type CollectionInfo = CollectionEntry;

/** A vector as callers may pass it: any array-like of numbers (number[], Float32Array, Float64Array, ...). */
export type VectorInput = ArrayLike<number>;

/** A record to upsert. */
export interface UpsertRecord {
  /** 1 to 512 characters. An existing id is replaced. */
  readonly id: string;
  readonly vector: VectorInput;
  /** A JSON object, at most 64 KiB as JSON. */
  readonly metadata?: Metadata | null;
}

/** A stored record, as `get` returns it. */
export interface RecordResult {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

/**
 * One search hit. `score` is the similarity for cosine and dot (higher is better), the Euclidean distance for l2 (lower
 * is better).
 */
export interface SearchHit {
  readonly id: string;
  readonly score: number;
  readonly metadata: Metadata | null;
}

/** One query: the vector and what to find. */
export interface SearchQuery {
  readonly vector: VectorInput;
  /** 1 to 10,000. */
  readonly k: number;
  readonly filter?: Filter;
  /** Scan every row exactly instead of using the HNSW indexes (recall 1.0, slower on large collections). */
  readonly exact?: boolean;
  /**
   * HNSW candidate-list size for this search, 1 to 10,000 (default: the collection's, 128). Higher is slower and more
   * accurate.
   */
  readonly ef?: number;
}

/** Options of `search`. */
export interface SearchOptions extends SearchQuery {
  /** Return what the shards that answered in time found, instead of failing (see `SearchResult.partial`). */
  readonly allowPartial?: boolean;
  readonly timeoutMs?: number;
  /** Aborts the call (see `RequestOptions.signal`). */
  readonly signal?: AbortSignal;
}

/**
 * Options of `searchBatch`: 1 to 1,000 queries of the collection's dimension, answered in one trip through the shards.
 */
export interface SearchBatchOptions {
  readonly queries: readonly SearchQuery[];
  /** As for `search`: the hits of the shards that answered in time (the same shards for every query). */
  readonly allowPartial?: boolean;
  readonly timeoutMs?: number;
  /** Aborts the call (see `RequestOptions.signal`). */
  readonly signal?: AbortSignal;
}

/** Options of `scroll`: a page of records in ascending id order (code-unit order of the id strings). */
export interface ScrollOptions extends RequestOptions {
  readonly filter?: Filter;
  /** Records per page, 1 to 10,000. Default 100. */
  readonly limit?: number;
  /** Where to go on: the `nextCursor` of the previous page (opaque). Absent or null: from the first id. */
  readonly cursor?: string | null;
  /** Include each record's vector. Default false. */
  readonly withVectors?: boolean;
}

/** A record as `scroll` returns it; `vector` only with `withVectors: true`. */
export interface ScrollRecord {
  readonly id: string;
  readonly metadata: Metadata | null;
  readonly vector?: Float32Array;
}

/** One page of a scroll, and the cursor of the next page (null when this page ends the scroll). */
export interface ScrollResult {
  readonly records: ScrollRecord[];
  readonly nextCursor: string | null;
}

/** Options of `iterate`: a scroll, page by page. */
export interface IterateOptions extends RequestOptions {
  readonly filter?: Filter;
  /** Records per batch, 1 to 10,000. Default 100. */
  readonly batchSize?: number;
  readonly withVectors?: boolean;
}

/** Options of `count`. */
export interface CountOptions extends RequestOptions {
  readonly filter?: Filter;
}

/** The answer to a `count` request. */
export interface CountResult {
  readonly count: number;
}

/** A metadata update: the record's new metadata (null clears it); its vector is kept. */
export interface MetadataUpdate {
  readonly id: string;
  readonly metadata: Metadata | null;
}

/** What `updateMetadata` reports: records rewritten, and the ids asked for that do not exist (nothing was created). */
export interface UpdateMetadataResult {
  readonly updated: number;
  readonly missing: string[];
}

/** What a write reports: the number of records written durably. */
export interface WriteResult {
  readonly count: number;
}

/** A fault to inject (only when opened with `faultInjection: true`). */
export interface FaultSpec {
  /**
   * `kill-worker` terminates the actor's worker thread; `crash` makes the actor
   * throw; `io-error` (WAL writers only) makes every later `operation` on the
   * shard's WAL files fail with errno `code` (default EIO), as a failing disk would.
   */
  readonly kind: 'kill-worker' | 'crash' | 'io-error';
  readonly actor: 'wal' | 'engine' | 'shard' | 'supervisor' | 'metadata';
  readonly collection?: string;
  readonly shard?: number;
  /** With `actor: 'metadata'`: the replica's Raft id (1 to metadataReplicas). */
  readonly replica?: number;
  readonly operation?: 'write' | 'datasync';
  readonly code?: string;
}

/** What every call takes besides its own arguments. */
export interface RequestOptions {
  /** The call's deadline; default `OpenOptions.requestTimeoutMs`. */
  readonly timeoutMs?: number;
  /**
   * Stops waiting when it aborts: the call rejects at once with ABORTED (`name` `AbortError`, `cause` the signal's
   * reason). Work already posted runs on, so an aborted write's outcome is unknown, as after a TIMEOUT.
   */
  readonly signal?: AbortSignal;
}

type Timed = RequestOptions;

/** Every request, as plain data. `Shoal.request` takes these. */
export type ShoalRequest =
  | ({ readonly type: 'create-collection' } & CreateCollectionOptions & Timed)
  | ({ readonly type: 'drop-collection'; readonly name: string } & Timed)
  | ({ readonly type: 'list-collections' } & Timed)
  | ({ readonly type: 'upsert'; readonly collection: string; readonly records: readonly UpsertRecord[] } & Timed)
  | ({ readonly type: 'delete'; readonly collection: string; readonly ids: readonly string[] } & Timed)
  | ({ readonly type: 'get'; readonly collection: string; readonly ids: readonly string[] } & Timed)
  | ({ readonly type: 'search'; readonly collection: string } & SearchOptions)
  | ({ readonly type: 'search-batch'; readonly collection: string } & SearchBatchOptions)
  | ({ readonly type: 'scroll'; readonly collection: string } & ScrollOptions)
  | ({ readonly type: 'count'; readonly collection: string } & CountOptions)
  | ({ readonly type: 'delete-where'; readonly collection: string; readonly filter: Filter } & Timed)
  | ({
      readonly type: 'update-metadata';
      readonly collection: string;
      readonly records: readonly MetadataUpdate[];
    } & Timed)
  | ({ readonly type: 'optimize'; readonly collection: string } & Timed)
  | ({ readonly type: 'stats' } & Timed)
  | ({ readonly type: 'shard-assignments'; readonly collection: string; readonly linearizable?: boolean } & Timed)
  | ({ readonly type: 'metadata-status' } & Timed)
  | ({ readonly type: 'backup'; readonly collection: string } & BackupOptions)
  | ({ readonly type: 'restore' } & RestoreOptions);

/** The answer to each request type. */
export interface ShoalResults {
  'create-collection': CollectionInfo;
  'drop-collection': null;
  'list-collections': CollectionInfo[];
  upsert: WriteResult;
  delete: WriteResult;
  get: RecordResult[];
  search: SearchResult;
  'search-batch': SearchBatchResult;
  scroll: ScrollResult;
  count: CountResult;
  'delete-where': WriteResult;
  'update-metadata': UpdateMetadataResult;
  optimize: OptimizeResult;
  stats: ShoalStats;
  'shard-assignments': ShardAssignmentInfo[];
  'metadata-status': MetadataStatus;
  backup: BackupResult;
  restore: CollectionInfo;
}

/** Options of `backup`. */
export interface BackupOptions {
  /** The folder to write the backup into: it must be empty or missing (created, with its parents). */
  readonly to: string;
  /** Default 10 minutes. */
  readonly timeoutMs?: number;
}

/** One shard of a backup: its LSN (every write at or below it is in the backup, none above), records and segments. */
export interface BackupShardResult {
  readonly shard: number;
  readonly lsn: number;
  /** Live records in the shard at its LSN. */
  readonly records: number;
  /** Segments copied. */
  readonly segments: number;
}

/** The answer to `backup`. */
export interface BackupResult {
  readonly collection: string;
  readonly shards: readonly BackupShardResult[];
  /** Bytes of segment and WAL files written. */
  readonly bytes: number;
}

/** Options of `restore`. */
export interface RestoreOptions {
  /** A folder a `backup` wrote (with its `backup.json`). */
  readonly from: string;
  /** The restored collection's name; default the name it had. */
  readonly name?: string;
  /** Default 10 minutes. */
  readonly timeoutMs?: number;
}

/** A WAL repair of one shard (see `OpenOptions.repairWal`). */
export interface WalRepairReport extends WalRepair {
  readonly shard: number;
}

/** Who serves one shard, as the metadata records it. */
export type ShardAssignmentInfo = ShardAssignment;

/**
 * The metadata Raft group: each replica's status (or why it did not answer) and the leader, if exactly one claims it.
 */
export interface MetadataStatus {
  readonly replicas: readonly (ReplicaStatus | UnreachableReplica)[];
  readonly leader: number | null;
}

/** The answer to a search: hits best first, and whether every shard answered. */
export interface SearchResult {
  readonly hits: Hit[];
  /** True when some shards did not answer in time (only with `allowPartial`). */
  readonly partial: boolean;
  readonly shardsAnswered: number;
  readonly shardsTotal: number;
}

/**
 * The answer to a batch of searches: each query's hits, best first, in query order, and whether every shard answered.
 */
export interface SearchBatchResult {
  readonly results: Hit[][];
  /**
   * True when some shards did not answer in time (only with `allowPartial`); the same shards are missing for every
   * query.
   */
  readonly partial: boolean;
  readonly shardsAnswered: number;
  readonly shardsTotal: number;
}

/**
 * The answer to `optimize` (an engine's for its shard; the supervisor's summed over shards): segments once merged (one
 * per shard that holds data).
 */
export interface OptimizeResult {
  readonly segments: number;
  /** Rows written while the merges ran, still in memtables (searched exactly). */
  readonly memtableRows: number;
}

/** Statistics of one collection. */
export interface CollectionStats
  extends Pick<CollectionEntry, 'name' | 'id' | 'dimension' | 'metric' | 'shards' | 'syncMode'> {
  /** Live records (upserted and not deleted). */
  readonly records: number;
  readonly memoryBytes: number;
  readonly walBytes: number;
  readonly walSegments: number;
  /** WAL fdatasyncs and group appends since open, summed over shards. */
  readonly walSyncs: number;
  readonly walAppends: number;
  /** Bytes of torn WAL tail cut away at the last open. */
  readonly walTruncatedBytes: number;
  /** What `repairWal` cut from each shard's WAL at the last open (empty unless a WAL was damaged before its tail). */
  readonly walRepairs: readonly WalRepairReport[];
  /** Searches answered since open (each one asks every shard). */
  readonly searches: number;
  /** Engine latency of a shard's search, over each shard's last 1,024 searches: the worst shard's p50 and p99. */
  readonly searchP50Ms: number;
  readonly searchP99Ms: number;
  /** WAL records replayed into memory at the last open (only those above each shard's checkpoint). */
  readonly replayedRecords: number;
  /** Rows in the shards' memtables (not yet in segments). */
  readonly memtableRows: number;
  /** Immutable segments, how many have an HNSW index, and their bytes on disk. */
  readonly segments: number;
  readonly indexedSegments: number;
  readonly segmentBytes: number;
  /** Memtable flushes and compactions since open, failed builds, and the milliseconds spent building segments. */
  readonly flushes: number;
  readonly compactions: number;
  /** Flushes and compactions building right now (at most one of each per shard). */
  readonly buildsRunning: number;
  readonly buildFailures: number;
  readonly buildMsTotal: number;
  /**
   * Frozen memtables waiting for (or in) their flush, at most `frozenMemtablesMax` per shard; their rows are in
   * `memtableRows`.
   */
  readonly frozenMemtables: number;
  /**
   * Write stalls (a shard held writes because its frozen memtables were all
   * waiting for builds): episodes and writes held since open, summed over
   * shards; the worst shard's milliseconds with writes held; writes held now.
   */
  readonly stalls: number;
  readonly stalledWrites: number;
  readonly stalledMs: number;
  readonly writesHeld: number;
  /** Shards that did not answer (stopped after repeated crashes, or too slow); the sums above leave them out. */
  readonly unavailableShards: number;
  /** Why the collection could not be opened (CORRUPTION when its WAL folder is missing), or null. */
  readonly error: ErrorData | null;
}

/** Statistics of a whole Shoal instance. */
export interface ShoalStats {
  readonly collections: CollectionStats[];
  /** Every actor, the worker thread it runs in, and how often it was restarted. */
  readonly actors: readonly { readonly address: string; readonly threadId: number; readonly restarts: number }[];
  /** Worker threads running. */
  readonly workers: number;
  /** Actor restarts since open. */
  readonly restarts: number;
  /** Shard groups that exceeded their restart intensity and stopped. */
  readonly failedShards: string[];
  /**
   * Per component and URL: the collections placed there, their files and bytes; and folders no collection is placed at.
   */
  readonly storage: StorageStats;
}
