/**
 * One collection as Shoal records it: schema, engine settings, sync mode and
 * storage placement. The cluster metadata holds these entries, the supervisor
 * and the client read them, and the pre-Raft catalogue reader migrates them.
 */
import type { Placement } from './placement.js';
import type { EngineSettings, Metric } from './types.js';
import type { SyncMode } from './wal/wal.js';

/** One collection: its identity, schema, engine settings, durability and storage placement. */
export interface CollectionEntry extends EngineSettings {
  /** Stable folder name: the collection name plus a random suffix, so a re-created name never meets old files. */
  readonly id: string;
  readonly name: string;
  readonly dimension: number;
  readonly metric: Metric;
  readonly shards: number;
  readonly syncMode: SyncMode;
  /** `periodic` mode: the longest an acknowledged write waits for its fdatasync (absent: the WAL's default, 200 ms). */
  readonly syncIntervalMs?: number;
  /** The storage URL of each component (normalised `file:` URLs). */
  readonly placement: Placement;
}
