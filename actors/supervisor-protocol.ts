/**
 * The messages the supervisor answers and the internal shapes of its
 * answers. The host client validates and packs public requests into these
 * before posting them; the public result types are in public-api.ts.
 */
import type { ErrorData } from '../runtime/errors.js';
import type { CollectionEntry } from '../storage/collection-entry.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { CheckedSearch } from './read-protocol.js';

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

/** The answer to `ping`: whether the supervisor booted, and which collections failed to open. */
export interface PingResult {
  readonly collections: number;
  readonly broken: Record<string, ErrorData>;
  readonly bootFailure: ErrorData | null;
}
