/**
 * Constructing a Raft node: validating its options (each error names the
 * option), the bootstrap log of a new cluster's founding members, and the
 * in-memory log rebuilt from persisted state. Pure functions.
 */
import { invalidArgument } from '../../runtime/errors.js';
import { EntryLog } from './entry-log.js';
import type { ConfChange, Entry, RaftConfig, RestoredState } from './types.js';

/** The resolved limits from `RaftConfig` (defaults applied). */
export interface Limits {
  readonly entriesPerAppend: number;
  readonly inflightAppends: number;
  readonly uncommittedEntries: number;
  readonly pendingReads: number;
}

/** True for the state of a node that has never persisted anything (term 0, no entries, no snapshot). */
export function isEmptyState(restored: RestoredState): boolean {
  return restored.hardState.term === 0 && restored.entries.length === 0 && (restored.snapshot ?? null) === null;
}

/**
 * A new cluster's founding members each write the same committed prefix:
 * one conf-change entry per initial member, in term 1 (as etcd's bootstrap
 * does). A member that joins later learns the membership from this prefix or
 * from a snapshot, like any other entries.
 */
export function bootstrapEntries(config: RaftConfig): Entry[] {
  const changes: ConfChange[] = [
    ...config.peers.map((node): ConfChange => ({ type: 'add-voter', node })),
    ...(config.learners ?? []).map((node): ConfChange => ({ type: 'add-learner', node })),
  ];
  return changes.map((change, position) =>
    Object.freeze({ kind: 'conf-change', index: position + 1, term: 1, change: Object.freeze(change) }),
  );
}

/** The log rebuilt from persisted state; inconsistent state is rejected as INVALID_ARGUMENT naming `restored`. */
export function restoreLog(restored: RestoredState): EntryLog {
  try {
    return EntryLog.restore(restored.snapshot ?? null, restored.entries, restored.hardState.commit);
  } catch (error) {
    throw invalidArgument('restored', error instanceof Error ? error.message : String(error));
  }
}

/** Validates `config` and resolves its limits; throws INVALID_ARGUMENT naming the offending option. */
export function validateConfig(config: RaftConfig): Limits {
  const positive = (field: string, value: number | undefined, fallback: number): number => {
    const resolved = value ?? fallback;
    if (!Number.isSafeInteger(resolved) || resolved < 1)
      throw invalidArgument(field, `must be a positive integer, got ${resolved}`);
    return resolved;
  };
  positive('id', config.id, 0);
  positive('electionTicks', config.electionTicks, 0);
  positive('heartbeatTicks', config.heartbeatTicks, 0);
  if (config.heartbeatTicks >= config.electionTicks)
    throw invalidArgument('heartbeatTicks', 'must be below electionTicks');
  const members = [...config.peers, ...(config.learners ?? [])];
  for (const member of members) positive('peers', member, 0);
  if (new Set(members).size !== members.length)
    throw invalidArgument('peers', 'ids must be unique across peers and learners');
  return {
    entriesPerAppend: positive('maxEntriesPerAppend', config.maxEntriesPerAppend, 64),
    inflightAppends: positive('maxInflightAppends', config.maxInflightAppends, 64),
    uncommittedEntries: positive('maxUncommittedEntries', config.maxUncommittedEntries, 1024),
    pendingReads: positive('maxPendingReads', config.maxPendingReads, 1024),
  };
}
