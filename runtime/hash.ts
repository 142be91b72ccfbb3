/**
 * Stable hashing: 32-bit FNV-1a over UTF-8 bytes, the same on every process,
 * platform and release. A runtime leaf module: key routing (cluster/) and
 * hash-affinity storage placement (storage/) both depend on it, so it sits
 * below both.
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
