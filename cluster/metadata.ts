/**
 * The cluster metadata state machine (the cluster side of "metadata"; a
 * record's own metadata is `Metadata` in storage/types.ts): what the Raft group replicates. Pure code: a
 * `ClusterStore` applies commands in log order and answers queries from its
 * applied state; every replica holds one and, fed the same committed
 * entries, reaches the same state.
 *
 * It records the cluster's members, every collection (schema, sync mode,
 * engine policy, storage placement), each collection's shard assignments
 * (`leader`, `replicas` and an `epoch` that increases on every change, like
 * the seed's partition leader/replica maps) and the placement service's
 * round-robin counters. Commands are JSON in the Raft entry's data; an entry
 * that does not decode is a no-op answered with an error, never a crash,
 * because every replica must apply the same log the same way.
 *
 * Commands are idempotent where a client may retry them: creating a
 * collection that exists with the same id, or dropping an id that is already
 * gone, answers `ok` with `repeated: true`. A proposal that timed out and is
 * retried therefore applies once.
 */
import type { ErrorCode } from '../runtime/errors.js';
import type { CollectionEntry } from '../storage/collection-entry.js';
import type { Placement, PlacementCounters } from '../storage/placement.js';
import { zeroCounters } from '../storage/placement.js';

/** A node of the cluster that can host shards. One process today: the member `local`. */
export interface Member {
  readonly id: string;
  /** Free-form location (a host name later; `in-process` today). */
  readonly address: string;
}

/** Who serves one shard: its leader, its replicas (the leader included) and the epoch of this assignment. */
export interface ShardAssignment {
  readonly shard: number;
  readonly leader: string;
  readonly replicas: readonly string[];
  /** Increases by one on every change of this shard's assignment. */
  readonly epoch: number;
}

/** The whole replicated state, as plain data (also the snapshot image). */
export interface ClusterState {
  /** Format of this image; bumped when the shape changes. */
  readonly version: 1;
  /** True once the cluster was bootstrapped (members recorded, an old catalogue imported). */
  readonly initialized: boolean;
  readonly members: readonly Member[];
  /** Collections in creation order. */
  readonly collections: readonly CollectionEntry[];
  /** Shard assignments by collection id. */
  readonly shards: Readonly<Record<string, readonly ShardAssignment[]>>;
  /** The placement service's round-robin counters. */
  readonly counters: PlacementCounters;
}

/** Every command of the metadata log. */
export type ClusterCommand =
  | {
      /** First command of a cluster: its members, and the collections of a catalogue file being migrated. */
      readonly type: 'bootstrap';
      readonly members: readonly Member[];
      readonly collections: readonly CollectionEntry[];
      readonly counters: PlacementCounters;
    }
  | { readonly type: 'create-collection'; readonly entry: CollectionEntry; readonly counters: PlacementCounters }
  | { readonly type: 'drop-collection'; readonly id: string }
  | {
      readonly type: 'assign-shard';
      readonly collectionId: string;
      readonly shard: number;
      readonly leader: string;
      readonly replicas: readonly string[];
    }
  | {
      readonly type: 'set-shard-leader';
      readonly collectionId: string;
      readonly shard: number;
      readonly leader: string;
    }
  | { readonly type: 'set-placement'; readonly collectionId: string; readonly placement: Placement }
  | { readonly type: 'add-member'; readonly member: Member }
  | { readonly type: 'remove-member'; readonly id: string };

/** The outcome of applying one command: `ok` (maybe a repeat of an earlier identical command) or a typed refusal. */
export type ClusterResult =
  | { readonly ok: true; readonly repeated: boolean }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** The member every shard is assigned to while Shoal runs in one process. */
export const LOCAL_MEMBER: Member = Object.freeze({ id: 'local', address: 'in-process' });

const OK: ClusterResult = Object.freeze({ ok: true, repeated: false });
const REPEATED: ClusterResult = Object.freeze({ ok: true, repeated: true });
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The state of a cluster that has applied nothing. */
export function emptyClusterState(): ClusterState {
  return { version: 1, initialized: false, members: [], collections: [], shards: {}, counters: zeroCounters() };
}

/** Encodes a command as Raft entry data. */
export function encodeCommand(command: ClusterCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Decodes entry data; null when it is not a command (a leader's empty no-op entry, or garbage). */
export function decodeCommand(data: Uint8Array): ClusterCommand | null {
  if (data.length === 0) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(data));
    return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
      ? (value as ClusterCommand)
      : null;
  } catch {
    return null;
  }
}

/** The initial assignment of a new collection's shards: every shard led by `member`, which is also its only replica. */
export function initialAssignments(shards: number, member: string): ShardAssignment[] {
  return Array.from({ length: shards }, (_, shard) => ({ shard, leader: member, replicas: [member], epoch: 1 }));
}

/** One replica's copy of the metadata. Mutated only by `apply` and `restore`. */
export class ClusterStore {
  private state: ClusterState;

  constructor(state: ClusterState = emptyClusterState()) {
    this.state = state;
  }

  /** Rebuilds a store from a snapshot image (`snapshot()`); an empty image is the empty state. */
  static restore(image: Uint8Array): ClusterStore {
    if (image.length === 0) return new ClusterStore();
    const state = JSON.parse(decoder.decode(image)) as ClusterState;
    if (state.version !== 1) throw new Error(`metadata snapshot version ${String(state.version)} is not supported`);
    return new ClusterStore(state);
  }

  /** The applied state (immutable: `apply` replaces it). */
  current(): ClusterState {
    return this.state;
  }

  /** The snapshot image of the applied state. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.state));
  }

  /** Applies entry data; non-command data (a leader's no-op) changes nothing. */
  applyData(data: Uint8Array): ClusterResult | null {
    const command = decodeCommand(data);
    return command === null ? null : this.apply(command);
  }

  /**
   * Applies one command in log order. Never throws: a command that cannot apply answers a refusal and changes nothing.
   */
  apply(command: ClusterCommand): ClusterResult {
    const applied = applyCommand(this.state, command);
    if ('ok' in applied) return applied;
    this.state = applied;
    return OK;
  }

  /** The collection called `name`, or undefined. */
  collection(name: string): CollectionEntry | undefined {
    return this.state.collections.find((entry) => entry.name === name);
  }

  /** The member leading `shard` of a collection (by id), or undefined (`get_partition_leader`). */
  shardLeader(collectionId: string, shard: number): string | undefined {
    return this.state.shards[collectionId]?.[shard]?.leader;
  }

  /** The members holding `shard` of a collection (`get_partition_replicas`); empty when unknown. */
  shardReplicas(collectionId: string, shard: number): readonly string[] {
    return this.state.shards[collectionId]?.[shard]?.replicas ?? [];
  }
}

/** One command of the log, by its type. */
type CommandOf<Type extends ClusterCommand['type']> = Extract<ClusterCommand, { readonly type: Type }>;

/** What a command does: the next state (answered `ok`), or a result that leaves the state as it was. */
type Applied = ClusterState | ClusterResult;

function applyCommand(state: ClusterState, command: ClusterCommand): Applied {
  switch (command.type) {
    case 'bootstrap':
      return bootstrap(state, command);
    case 'create-collection':
      return createCollection(state, command);
    case 'drop-collection':
      return dropCollection(state, command);
    case 'assign-shard':
    case 'set-shard-leader':
      return assignShard(state, command);
    case 'set-placement':
      return setPlacement(state, command);
    case 'add-member':
      return addMember(state, command);
    case 'remove-member':
      return removeMember(state, command);
    default:
      return refuse('INVALID_ARGUMENT', `unknown metadata command ${String((command as { type?: unknown }).type)}`);
  }
}

function bootstrap(state: ClusterState, command: CommandOf<'bootstrap'>): Applied {
  if (state.initialized) return REPEATED;
  const shards: Record<string, ShardAssignment[]> = {};
  const leader = command.members[0]?.id ?? LOCAL_MEMBER.id;
  for (const entry of command.collections) shards[entry.id] = initialAssignments(entry.shards, leader);
  const members = [...command.members];
  const collections = [...command.collections];
  return { ...state, initialized: true, members, collections, shards, counters: command.counters };
}

function createCollection(state: ClusterState, command: CommandOf<'create-collection'>): Applied {
  const existing = state.collections.find((entry) => entry.name === command.entry.name);
  if (existing !== undefined) {
    if (existing.id === command.entry.id) return REPEATED;
    return refuse('COLLECTION_EXISTS', `collection ${command.entry.name} already exists`);
  }
  const leader = state.members[0]?.id ?? LOCAL_MEMBER.id;
  return {
    ...state,
    collections: [...state.collections, command.entry],
    shards: { ...state.shards, [command.entry.id]: initialAssignments(command.entry.shards, leader) },
    counters: command.counters,
  };
}

function dropCollection(state: ClusterState, command: CommandOf<'drop-collection'>): Applied {
  if (!state.collections.some((entry) => entry.id === command.id)) return REPEATED;
  const { [command.id]: _dropped, ...shards } = state.shards;
  return { ...state, collections: state.collections.filter((entry) => entry.id !== command.id), shards };
}

function assignShard(state: ClusterState, command: CommandOf<'assign-shard' | 'set-shard-leader'>): Applied {
  const assignments = state.shards[command.collectionId];
  const current = assignments?.[command.shard];
  if (assignments === undefined || current === undefined) {
    return refuse('COLLECTION_NOT_FOUND', `no shard ${command.shard} of collection ${command.collectionId}`);
  }
  const replicas = command.type === 'assign-shard' ? [...command.replicas] : current.replicas;
  const unknown = [command.leader, ...replicas].find((id) => !state.members.some((member) => member.id === id));
  if (unknown !== undefined) return refuse('INVALID_ARGUMENT', `${unknown} is not a member`);
  if (!replicas.includes(command.leader)) {
    return refuse('INVALID_ARGUMENT', `leader ${command.leader} is not one of the shard's replicas`);
  }
  if (current.leader === command.leader && sameMembers(current.replicas, replicas)) return REPEATED;
  const changed = { shard: command.shard, leader: command.leader, replicas, epoch: current.epoch + 1 };
  const next = assignments.map((assignment) => (assignment.shard === command.shard ? changed : assignment));
  return { ...state, shards: { ...state.shards, [command.collectionId]: next } };
}

function setPlacement(state: ClusterState, command: CommandOf<'set-placement'>): Applied {
  if (!state.collections.some((entry) => entry.id === command.collectionId)) {
    return refuse('COLLECTION_NOT_FOUND', `no collection ${command.collectionId}`);
  }
  const place = (entry: CollectionEntry): CollectionEntry =>
    entry.id === command.collectionId ? { ...entry, placement: command.placement } : entry;
  return { ...state, collections: state.collections.map(place) };
}

function addMember(state: ClusterState, command: CommandOf<'add-member'>): Applied {
  if (state.members.some((member) => member.id === command.member.id)) return REPEATED;
  return { ...state, members: [...state.members, command.member] };
}

function removeMember(state: ClusterState, command: CommandOf<'remove-member'>): Applied {
  if (!state.members.some((member) => member.id === command.id)) return REPEATED;
  const hosts = (assignments: readonly ShardAssignment[]): boolean =>
    assignments.some((assignment) => assignment.replicas.includes(command.id));
  const hosting = Object.entries(state.shards).find(([, assignments]) => hosts(assignments));
  if (hosting !== undefined) {
    return refuse('INVALID_ARGUMENT', `member ${command.id} still hosts shards of ${hosting[0]}; reassign them first`);
  }
  return { ...state, members: state.members.filter((member) => member.id !== command.id) };
}

function refuse(code: ErrorCode, message: string): ClusterResult {
  return { ok: false, code, message };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}
