/**
 * Key routing: which shard owns an id. `shard = fnv1a32(id) mod shardCount`,
 * hashing the id's UTF-8 bytes, so the mapping is stable across processes,
 * platforms and releases.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** 32-bit FNV-1a of a string's UTF-8 bytes (or of raw bytes), as an unsigned integer. */
export function fnv1a32(input: string | Uint8Array): number {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

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
