/**
 * The stats roll-up, pure: the statistics of a collection's shards that
 * answered, summed (counters) or maximised (latencies, the longest stall)
 * into its CollectionStats; the collections and the actor system's
 * description into ShoalStats.
 */
import type { ErrorData } from '../../runtime/errors.js';
import type { SystemDescription } from '../../runtime/actor.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import type { StorageStats } from '../../storage/discovery.js';
import type { WalRecovery, WalStats } from '../../storage/wal/wal.js';
import type { EngineStats } from '../engine-actor.js';
import type { CollectionStats, ShoalStats } from '../public-api.js';

/** The fields of a shard's statistics that the roll-up reads (a `ShardStats` has them all). */
export interface ShardStatsRolledUp {
  readonly wal: Pick<WalStats, 'bytes' | 'segments' | 'syncs' | 'appends'> & {
    readonly recovery: Pick<WalRecovery, 'truncatedBytes' | 'repaired'>;
  };
  readonly engine: Pick<
    EngineStats,
    | 'rows'
    | 'memoryBytes'
    | 'searchP50Ms'
    | 'searchP99Ms'
    | 'replayedRecords'
    | 'memtableRows'
    | 'frozenRows'
    | 'segments'
    | 'indexedSegments'
    | 'segmentBytes'
    | 'flushes'
    | 'compactions'
    | 'buildsRunning'
    | 'buildFailures'
    | 'buildMsTotal'
    | 'frozenMemtables'
    | 'stalls'
    | 'stalledWrites'
    | 'stalledMs'
    | 'writesHeld'
  >;
}

/** The collection fields CollectionStats repeats. */
export type CollectionIdentity = Pick<CollectionEntry, 'name' | 'id' | 'dimension' | 'metric' | 'shards' | 'syncMode'>;

/**
 * A collection's statistics from the shards that answered (`answered`; the others count as unavailable),
 * the searches the supervisor answered for it, and why it failed to open (or null).
 */
export function rollUpCollection(
  entry: CollectionIdentity,
  answered: readonly ShardStatsRolledUp[],
  searches: number,
  failure: ErrorData | null,
): CollectionStats {
  const sum = (pick: (stats: ShardStatsRolledUp) => number): number =>
    answered.reduce((total, stats) => total + pick(stats), 0);
  const worst = (pick: (stats: ShardStatsRolledUp) => number): number =>
    answered.reduce((most, stats) => Math.max(most, pick(stats)), 0);
  const { name, id, dimension, metric, shards, syncMode } = entry;
  return {
    name,
    id,
    dimension,
    metric,
    shards,
    syncMode,
    searches,
    records: sum((stats) => stats.engine.rows),
    memoryBytes: sum((stats) => stats.engine.memoryBytes),
    walBytes: sum((stats) => stats.wal.bytes),
    walSegments: sum((stats) => stats.wal.segments),
    walSyncs: sum((stats) => stats.wal.syncs),
    walAppends: sum((stats) => stats.wal.appends),
    walTruncatedBytes: sum((stats) => stats.wal.recovery.truncatedBytes),
    // Numbered by position among the shards that answered, as it always has been.
    walRepairs: answered.flatMap((stats, shard) => {
      const repaired = stats.wal.recovery.repaired;
      return repaired === null ? [] : [{ shard, ...repaired }];
    }),
    searchP50Ms: worst((stats) => stats.engine.searchP50Ms),
    searchP99Ms: worst((stats) => stats.engine.searchP99Ms),
    replayedRecords: sum((stats) => stats.engine.replayedRecords),
    memtableRows: sum((stats) => stats.engine.memtableRows + stats.engine.frozenRows),
    segments: sum((stats) => stats.engine.segments),
    indexedSegments: sum((stats) => stats.engine.indexedSegments),
    segmentBytes: sum((stats) => stats.engine.segmentBytes),
    flushes: sum((stats) => stats.engine.flushes),
    compactions: sum((stats) => stats.engine.compactions),
    buildsRunning: sum((stats) => stats.engine.buildsRunning),
    buildFailures: sum((stats) => stats.engine.buildFailures),
    buildMsTotal: sum((stats) => stats.engine.buildMsTotal),
    frozenMemtables: sum((stats) => stats.engine.frozenMemtables),
    stalls: sum((stats) => stats.engine.stalls),
    stalledWrites: sum((stats) => stats.engine.stalledWrites),
    stalledMs: worst((stats) => stats.engine.stalledMs),
    writesHeld: sum((stats) => stats.engine.writesHeld),
    unavailableShards: entry.shards - answered.length,
    error: failure,
  };
}

/** The shards' statistics that were answered, in shard order; failed asks left out. */
export function answeredStats<T>(answers: readonly PromiseSettledResult<T>[]): T[] {
  return answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
}

/** The instance's statistics: its collections', the actor system's, the stopped groups and the storage. */
export function rollUpShoal(
  collections: CollectionStats[],
  system: SystemDescription,
  failedGroups: Iterable<string>,
  storage: StorageStats,
): ShoalStats {
  return {
    collections,
    actors: system.actors,
    workers: system.workers,
    restarts: system.actors.reduce((total, actor) => total + actor.restarts, 0),
    failedShards: [...failedGroups],
    storage,
  };
}
