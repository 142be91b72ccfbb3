/**
 * The supervisor's state, declared in one place: the routing cache of the
 * metadata, what failed, and what is changing. The supervisor's modules
 * (boot, collection lifecycle, shard requests) read and update it; only the
 * supervisor actor creates it.
 */
import type { ErrorData } from '../../runtime/errors.js';
import { ShoalError } from '../../runtime/errors.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { zeroCounters } from '../../storage/placement.js';
import type { PlacementCounters } from '../../storage/placement.js';
import { MetadataClient } from '../metadata-client.js';

/** Everything the supervisor knows between messages. */
export interface SupervisorState {
  /** The collections by name, as last read from or committed to the metadata. */
  readonly collections: Map<string, CollectionEntry>;
  /** Collections (by name) that failed to open: their error answers their requests. */
  readonly broken: Map<string, ErrorData>;
  /** Supervision groups (by name) that exceeded their restart intensity and stopped. */
  readonly failedGroups: Map<string, ErrorData>;
  /** Why boot failed, or null: every message but `ping` is then answered with it. */
  bootFailure: ErrorData | null;
  /**
   * Searches answered per collection id on the supervisor's path since this supervisor started
   * (the client counts the ones it sent to engines itself).
   */
  readonly searchCounts: Map<string, number>;
  /** The placement counters as last committed to the metadata. */
  counters: PlacementCounters;
  readonly metadata: MetadataClient;
  /** Set when a metadata write's outcome is unknown: the cache is refreshed from the leader before the next change. */
  stale: boolean;
  /** Ids of collections being created or dropped: their folders and entries may disagree for a moment. */
  readonly settling: Set<string>;
}

/** The state of a supervisor that has not booted yet. */
export function initialSupervisorState(metadataReplicas: number): SupervisorState {
  return {
    collections: new Map(),
    broken: new Map(),
    failedGroups: new Map(),
    bootFailure: null,
    searchCounts: new Map(),
    counters: zeroCounters(),
    metadata: new MetadataClient(metadataReplicas),
    stale: false,
    settling: new Set(),
  };
}

/** The collection called `name`, or COLLECTION_NOT_FOUND; a collection that failed to open answers with its error. */
export function lookupCollection(state: SupervisorState, name: string, mustBeOpen = true): CollectionEntry {
  const entry = state.collections.get(name);
  if (entry === undefined) throw collectionNotFound(name);
  const failure = state.broken.get(name);
  if (mustBeOpen && failure !== undefined) {
    const message = `collection ${name} failed to open: ${failure.message}`;
    throw new ShoalError(failure.code, message, { collection: name, ...failure.details });
  }
  return entry;
}

/** The answer to a request for a collection that does not exist. */
export function collectionNotFound(name: string): ShoalError {
  return new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${name}`, { collection: name });
}
