/**
 * The messages the supervisor answers and the shapes of its answers. The host
 * client validates and packs public requests into these before posting them.
 */
import type { ErrorData } from '../runtime/errors.js';
import type { StorageStats } from '../storage/discovery.js';
import type { CollectionEntry } from '../storage/catalogue.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { Hit, Metric } from '../storage/types.js';
import type { ShardAssignment } from '../cluster/metadata.js';
import type { ReplicaStatus } from './metadata-replica-actor.js';
import type { UnreachableReplica } from './metadata-client.js';
import type { CheckedSearch } from './validation.js';
import type { WalRepair } from '../storage/wal/wal.js';

/** A WAL repair of one shard (see `OpenOptions.repairWal`). */
export interface WalRepairReport extends WalRepair {
  readonly shard: number;
}

/** Creates a collection; answered with its catalogue entry. */
export type CreateCollectionMessage = { readonly type: 'create-collection' } & Omit<CollectionEntry, 'id' | 'placement'>;

/** Every message the supervisor answers. */
export type SupervisorMessage =
  | { readonly type: 'boot' }
  | { readonly type: 'ping' }
  | CreateCollectionMessage
  | { readonly type: 'drop-collection'; readonly name: string }
  | { readonly type: 'list-collections' }
  | { readonly type: 'write'; readonly collection: string; readonly batch: RecordBatch }
  /** One or more queries (a `search` is a batch of one); answered with a SearchBatchResult. */
  | ({ readonly type: 'search'; readonly collection: string } & CheckedSearch)
  /** Where the client may send a collection's searches itself (its engines); answered with a ReadRoute. */
  | { readonly type: 'read-route'; readonly collection: string }
  | { readonly type: 'get'; readonly collection: string; readonly ids: readonly string[] }
  | { readonly type: 'optimize'; readonly collection: string }
  | { readonly type: 'stats' }
  /** A collection's shard assignments: a replica's applied state, or linearizable (ReadIndex). */
  | { readonly type: 'shard-assignments'; readonly collection: string; readonly linearizable: boolean }
  | { readonly type: 'metadata-status' };

/**
 * What the host client needs to scatter a collection's searches to its
 * engines and gather them itself: the engines' addresses follow from the id
 * and shard count; the dimension and metric check and merge the answers.
 */
export interface ReadRoute {
  readonly collection: string;
  readonly id: string;
  readonly dimension: number;
  readonly metric: Metric;
  readonly shards: number;
}

/** Who serves one shard, as the metadata records it. */
export type ShardAssignmentInfo = ShardAssignment;

/** The metadata Raft group: each replica's status (or why it did not answer) and the leader, if exactly one claims it. */
export interface MetadataStatus {
  readonly replicas: readonly (ReplicaStatus | UnreachableReplica)[];
  readonly leader: number | null;
}

/** The answer to `ping`: whether the supervisor booted, and which collections failed to open. */
export interface PingResult {
  readonly collections: number;
  readonly broken: Record<string, ErrorData>;
  readonly bootFailure: ErrorData | null;
}

/** The answer to a search: hits best first, and whether every shard answered. */
export interface SearchResult {
  readonly hits: Hit[];
  /** True when some shards did not answer in time (only with `allowPartial`). */
  readonly partial: boolean;
  readonly shardsAnswered: number;
  readonly shardsTotal: number;
}

/** The answer to a batch of searches: each query's hits, best first, in query order, and whether every shard answered. */
export interface SearchBatchResult {
  readonly results: Hit[][];
  /** True when some shards did not answer in time (only with `allowPartial`); the same shards are missing for every query. */
  readonly partial: boolean;
  readonly shardsAnswered: number;
  readonly shardsTotal: number;
}

/** The answer to `optimize` (an engine's for its shard; the supervisor's summed over shards): segments once merged (one per shard that holds data). */
export interface OptimizeResult {
  readonly segments: number;
  /** Rows written while the merges ran, still in memtables (searched exactly). */
  readonly memtableRows: number;
}

/** Statistics of one collection. */
export interface CollectionStats extends Pick<CollectionEntry, 'name' | 'id' | 'dimension' | 'metric' | 'shards' | 'syncMode'> {
  /** Live records (upserted and not deleted). */
  readonly records: number;
  readonly memoryBytes: number;
  readonly walBytes: number;
  readonly walSegments: number;
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
  /** Frozen memtables waiting for (or in) their flush, at most `frozenMemtablesMax` per shard; their rows are in `memtableRows`. */
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
  /** Per component and URL: the collections placed there, their files and bytes; and folders no collection is placed at. */
  readonly storage: StorageStats;
}
