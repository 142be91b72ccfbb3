/**
 * The WAL's sync modes: when an acknowledged write is durable. One list, used
 * by the WAL, the catalogue reader and the public validation.
 */

/**
 * `always`: one write+fdatasync per append. `batch` (default): group commit.
 * `periodic`: acknowledged after the write, fdatasync every `syncIntervalMs`.
 * `never`: no fdatasync (unsafe).
 */
export const SYNC_MODES = ['always', 'batch', 'periodic', 'never'] as const;

/** One of `SYNC_MODES`. */
export type SyncMode = (typeof SYNC_MODES)[number];

/** True when `value` is one of the sync modes. */
export function isSyncMode(value: unknown): value is SyncMode {
  return (SYNC_MODES as readonly unknown[]).includes(value);
}
