/**
 * The supervisor's topology, pure: which actors a collection's shards and
 * the metadata group need, under which addresses and names, with which
 * arguments. Data in, supervision group specs out; starting them is the
 * caller's I/O.
 */
import { join } from 'node:path';
import type { ActorSpec, GroupSpec } from '../../runtime/actor.js';
import { siblingModuleUrl } from '../../runtime/module-url.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { shardDirs } from '../../storage/placement.js';
import type { EngineStorageDirs } from '../../storage/placement.js';
import {
  engineAddress,
  metadataGroupName,
  metadataReplicaAddress,
  shardAddress,
  shardGroupName,
  walAddress,
} from '../addresses.js';
import type { EngineArgs } from '../engine-actor.js';
import type { MetadataReplicaArgs } from '../metadata-replica-actor.js';
import type { ShardArgs } from '../shard-actor.js';
import type { SupervisorArgs } from '../supervisor-protocol.js';
import type { WalWriterArgs } from '../wal-writer-actor.js';

/** Where each kind of child actor's module lives (loaded by URL in its worker). */
export const ACTOR_MODULES = {
  wal: siblingModuleUrl('../wal-writer-actor', import.meta.url),
  engine: siblingModuleUrl('../engine-actor', import.meta.url),
  shard: siblingModuleUrl('../shard-actor', import.meta.url),
  metadata: siblingModuleUrl('../metadata-replica-actor', import.meta.url),
} as const;

/** Raft timing of the metadata replicas, in ticks, and the log length after which a replica snapshots. */
export const METADATA_RAFT = { electionTicks: 25, heartbeatTicks: 5, snapshotEntries: 1_000 } as const;

/** Which actor of a shard an ask goes to: the shard actor (writes, stats) or its engine (searches, gets). */
export type ShardTarget = 'shard' | 'engine';

/** The address of a shard's actor of kind `target`. */
export function shardTargetAddress(target: ShardTarget, collectionId: string, shard: number): string {
  return target === 'engine' ? engineAddress(collectionId, shard) : shardAddress(collectionId, shard);
}

/** The engine settings a collection records, without the fields it leaves out. */
function engineSettings(entry: CollectionEntry): NonNullable<EngineArgs['settings']> {
  return {
    ...(entry.engine === undefined ? {} : { engine: entry.engine }),
    ...(entry.flushThresholdRows === undefined ? {} : { flushThresholdRows: entry.flushThresholdRows }),
    ...(entry.frozenMemtablesMax === undefined ? {} : { frozenMemtablesMax: entry.frozenMemtablesMax }),
    ...(entry.hnsw === undefined ? {} : { hnsw: entry.hnsw }),
  };
}

/** The supervision group of one shard: WAL writer → engine → shard actor, restarted rest_for_one. */
export function shardGroupSpec(args: SupervisorArgs, entry: CollectionEntry, shard: number): GroupSpec {
  const wal = walAddress(entry.id, shard);
  const engine = engineAddress(entry.id, shard);
  const { walDir, ...engineDirs } = shardDirs(entry.placement, entry.id, shard);
  const walArgs: WalWriterArgs = {
    dir: walDir,
    dimension: entry.dimension,
    syncMode: entry.syncMode,
    repair: args.repairWal === true,
    ...(entry.syncIntervalMs === undefined ? {} : { syncIntervalMs: entry.syncIntervalMs }),
  };
  const engineArgs: EngineArgs & EngineStorageDirs = {
    dimension: entry.dimension,
    metric: entry.metric,
    wal,
    settings: engineSettings(entry),
    ...engineDirs,
  };
  const shardArgs: ShardArgs = { wal, engine };
  const children: ActorSpec[] = [
    { address: wal, module: ACTOR_MODULES.wal, factory: 'createWalWriter', args: walArgs },
    { address: engine, module: ACTOR_MODULES.engine, factory: 'createEngine', args: engineArgs },
    { address: shardAddress(entry.id, shard), module: ACTOR_MODULES.shard, factory: 'createShard', args: shardArgs },
  ];
  const { maxRestarts, withinMs } = args;
  const name = shardGroupName(entry.id, shard);
  return { name, strategy: 'rest_for_one', maxRestarts, withinMs, children, owner: 'supervisor' };
}

/** Every shard group of a collection, shard 0 first. */
export function collectionGroupSpecs(args: SupervisorArgs, entry: CollectionEntry): GroupSpec[] {
  return Array.from({ length: entry.shards }, (_, shard) => shardGroupSpec(args, entry, shard));
}

/** The names of a collection's shard groups, shard 0 first. */
export function collectionGroupNames(entry: Pick<CollectionEntry, 'id' | 'shards'>): string[] {
  return Array.from({ length: entry.shards }, (_, shard) => shardGroupName(entry.id, shard));
}

/** One supervision group per metadata replica: a replica that keeps crashing (a broken disk) stops alone. */
export function metadataGroupSpecs(args: SupervisorArgs, replicaIds: readonly number[]): GroupSpec[] {
  return replicaIds.map((id) => {
    const replicaArgs: MetadataReplicaArgs = {
      id,
      peers: replicaIds,
      dir: join(args.dataDir, 'cluster', `replica-${id}`),
      tickMs: args.metadata.tickMs,
      electionTicks: METADATA_RAFT.electionTicks,
      heartbeatTicks: METADATA_RAFT.heartbeatTicks,
      snapshotEntries: METADATA_RAFT.snapshotEntries,
    };
    const address = metadataReplicaAddress(id);
    const module = ACTOR_MODULES.metadata;
    const child: ActorSpec = { address, module, factory: 'createMetadataReplica', args: replicaArgs };
    const { maxRestarts, withinMs } = args;
    const name = metadataGroupName(id);
    return { name, strategy: 'one_for_one', maxRestarts, withinMs, children: [child], owner: 'supervisor' };
  });
}
