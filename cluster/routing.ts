/**
 * Key routing: which shard owns an id. `shard = fnv1a32(id) mod shardCount`,
 * hashing the id's UTF-8 bytes, so the mapping is stable across processes,
 * platforms and releases.
 */
import { fnv1a32 } from '../runtime/hash.js';

/** The shard that owns `id` in a collection of `shardCount` shards. */
export function shardOf(id: string, shardCount: number): number {
  return fnv1a32(id) % shardCount;
}

/** Splits row indexes by owning shard: `result[shard]` lists the rows of `ids` that shard owns, in input order. */
export function partitionByShard(ids: readonly string[], shardCount: number): number[][] {
  const parts: number[][] = Array.from({ length: shardCount }, () => []);
  ids.forEach((id, row) => (parts[shardOf(id, shardCount)] as number[]).push(row));
  return parts;
}
