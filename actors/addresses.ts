/**
 * Actor names. Every actor of a Shoal instance has a stable address derived
 * from its role, so a restarted actor is found under the same name.
 */

/** The supervisor: the one actor the host client talks to. */
export const SUPERVISOR_ADDRESS = 'supervisor';

/** The WAL writer of one shard. */
export function walAddress(collectionId: string, shard: number): string {
  return `wal/${collectionId}/${shard}`;
}

/** The engine (write tier and indexes) of one shard. */
export function engineAddress(collectionId: string, shard: number): string {
  return `engine/${collectionId}/${shard}`;
}

/** The shard actor that coordinates one shard's WAL writer and engines. */
export function shardAddress(collectionId: string, shard: number): string {
  return `shard/${collectionId}/${shard}`;
}

/** The supervision group of one shard: WAL writer, engine and shard, restarted rest_for_one. */
export function shardGroupName(collectionId: string, shard: number): string {
  return `shard-group/${collectionId}/${shard}`;
}

/** One replica of the metadata Raft group (ids 1, 2, 3, ...). */
export function metadataReplicaAddress(id: number): string {
  return `metadata/${id}`;
}

/** The supervision group of one metadata replica (a restarted replica catches up from its peers). */
export function metadataGroupName(id: number): string {
  return `metadata-group/${id}`;
}
