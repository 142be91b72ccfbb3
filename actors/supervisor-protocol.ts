/**
 * The messages the supervisor answers, its arguments and the internal shapes
 * of its answers. The host client validates and packs public requests into these
 * before posting them; the public result types are in public-api.ts.
 */
import type { GroupFailedMessage } from '../runtime/actor.js';
import type { ErrorData } from '../runtime/errors.js';
import type { CollectionEntry } from '../storage/collection-entry.js';
import type { StorageConfig } from '../storage/placement.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { CheckedSearch } from './read-protocol.js';

/** Creates a collection; answered with its collection entry. */
export type CreateCollectionMessage = { readonly type: 'create-collection' } & Omit<
  CollectionEntry,
  'id' | 'placement'
>;

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
  /** A page of records above `afterId`, ascending by id; answered with a MergedScrollPage. */
  | {
      readonly type: 'scroll';
      readonly collection: string;
      readonly filter: unknown;
      readonly afterId: string | null;
      readonly limit: number;
      readonly withVectors: boolean;
    }
  /** The records matching `filter`; answered with `{ count }`. */
  | { readonly type: 'count'; readonly collection: string; readonly filter: unknown }
  /** Deletes the records matching `filter` through each shard's WAL; answered with `{ count }` deleted. */
  | { readonly type: 'delete-where'; readonly collection: string; readonly filter: unknown }
  /** Replaces the metadata (JSON text or null, by row) of the `ids` that exist; answers an UpdateMetadataResult. */
  | {
      readonly type: 'update-metadata';
      readonly collection: string;
      readonly ids: readonly string[];
      readonly metadata: readonly (string | null)[];
    }
  | { readonly type: 'optimize'; readonly collection: string }
  | { readonly type: 'stats' }
  /** A collection's shard assignments: a replica's applied state, or linearizable (ReadIndex). */
  | { readonly type: 'shard-assignments'; readonly collection: string; readonly linearizable: boolean }
  | { readonly type: 'metadata-status' }
  /**
   * A point-in-time copy of a collection into `to` (an absolute path to an empty or missing folder); answered with
   * a BackupResult. `createdAt` is the host's time, recorded in the backup's manifest.
   */
  | { readonly type: 'backup'; readonly collection: string; readonly to: string; readonly createdAt: string }
  /** Brings the backup in `from` (an absolute path) back as collection `name` (null: as it was); answers its entry. */
  | { readonly type: 'restore'; readonly from: string; readonly name: string | null }
  /** Internal to a restore: records and starts a collection whose files are in place (the supervisor tells itself). */
  | { readonly type: 'restore-commit'; readonly entry: CollectionEntry };

/**
 * A failed invariant in a handler that ran concurrently (its promise was not awaited by the actor cell): told to
 * itself, so the supervisor crashes on it as on any other bug, and is restarted.
 */
export interface SupervisorBugMessage {
  readonly type: 'bug';
  readonly error: string;
}

/** Every message the supervisor receives: the ones it answers, the system's notice of a stopped group, its bugs. */
export type SupervisorInbox = SupervisorMessage | GroupFailedMessage | SupervisorBugMessage;

/** The supervisor message of one type. */
export type SupervisorMessageOf<T extends SupervisorMessage['type']> = Extract<SupervisorMessage, { readonly type: T }>;

/** Arguments of the supervisor. */
export interface SupervisorArgs {
  readonly dataDir: string;
  /** Storage URLs per component, validated and normalised. */
  readonly storage: StorageConfig;
  /** Restart intensity of each shard group. */
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** The metadata Raft group. */
  readonly metadata: MetadataSettings;
  /** Open collections whose WAL is damaged before its tail by cutting it there (`OpenOptions.repairWal`). */
  readonly repairWal?: boolean;
}

/** How the metadata Raft group runs. */
export interface MetadataSettings {
  /** Replicas (voters), each an actor in its own worker: 1, 3, 5 or 7. */
  readonly replicas: number;
  /** Milliseconds per Raft tick; elections time out after 25 to 50 ticks, leaders heartbeat every 5. */
  readonly tickMs: number;
}

/** Default metadata settings: three replicas, 20 ms ticks (elections after 0.5 to 1 s of silence). */
export const DEFAULT_METADATA_SETTINGS: MetadataSettings = { replicas: 3, tickMs: 20 };

/** The answer to `ping`: whether the supervisor booted, and which collections failed to open. */
export interface PingResult {
  readonly collections: number;
  readonly broken: Record<string, ErrorData>;
  readonly bootFailure: ErrorData | null;
}
