/**
 * The plain data the Raft core consumes and produces: entries, messages, hard
 * state, snapshots, the `Ready` batch and the node's configuration. Everything
 * here is structured-clone and msgpack friendly (numbers, strings, arrays,
 * `Uint8Array`), so an actor can post it between threads or write it to disk
 * unchanged. Imports nothing but the `Random` interface.
 *
 * Conventions: node ids are positive integers and `NONE` (0) means "nobody";
 * log indexes start at 1 and index 0 with term 0 is the empty log's origin.
 * Entry data is opaque `Uint8Array` (the metadata state machine encodes its own
 * commands); membership changes are entries of their own kind, `conf-change`.
 */
import type { Random } from '../../runtime/random.js';

/** A Raft node id: a positive integer. */
export type NodeId = number;

/** "No node": no vote cast, no known leader. */
export const NONE = 0;

/** A membership change, applied one at a time (Raft paper §6, thesis §4.1). */
export interface ConfChange {
  /** `add-learner`: a non-voting member. `add-voter`: promote a caught-up learner. `remove-node`: drop a member. */
  readonly type: 'add-learner' | 'add-voter' | 'remove-node';
  readonly node: NodeId;
}

/** An application command: `data` is opaque to Raft (empty for a new leader's no-op entry). */
export interface NormalEntry {
  readonly kind: 'normal';
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/** A membership change carried through the log; it takes effect when applied (see `RaftNode.advance`). */
export interface ConfChangeEntry {
  readonly kind: 'conf-change';
  readonly index: number;
  readonly term: number;
  readonly change: ConfChange;
}

/** One log entry. Entries are immutable once created and shared by reference. */
export type Entry = NormalEntry | ConfChangeEntry;

/** The state that must be durable before any message of the same Ready is sent. */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`, or NONE. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** The membership at some log index. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** The state machine's state after applying every entry up to `index`, plus the membership at that point. */
export interface Snapshot extends ConfState {
  readonly index: number;
  readonly term: number;
  /** Opaque state-machine image produced by the application (`RaftNode.compact`). */
  readonly data: Uint8Array;
}

/** What a node restarts from: exactly what earlier Ready batches told the caller to persist. */
export interface RestoredState {
  readonly hardState: HardState;
  /** Entries after the snapshot, in index order (entries at or below the snapshot index are ignored). */
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | null;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (§5.2) or its pre-vote rehearsal (thesis §9.6); `term` is the term the candidate asks for. */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote' | 'pre-vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set by a leadership transfer (thesis §3.10): overrides the voters' leader lease. */
  readonly transfer: boolean;
}

/** A vote granted or rejected. A granted pre-vote carries the term asked for, a rejection the voter's own term. */
export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly reject: boolean;
}

/** AppendEntries (§5.3): the leader's entries after (prevLogIndex, prevLogTerm), and its commit index. */
export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevLogIndex: number;
  readonly prevLogTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * The reply to an append or a snapshot. Accepted: `index` is the follower's
 * last index known to match the leader. Rejected: `index` is the rejected
 * prevLogIndex and (`hintIndex`, `hintTerm`) is the follower's last entry
 * that might still match, for fast backtracking.
 */
export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** The leader's heartbeat: commit index (capped at the follower's match) and, for ReadIndex, a request id. */
export interface Heartbeat extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  readonly context: string | null;
}

/** A heartbeat acknowledgement echoing the heartbeat's context. */
export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string | null;
}

/** InstallSnapshot (§7): sent when the entries a follower needs were compacted away. */
export interface SnapshotRequest extends MessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

/** Tells the transfer target to start an election at once (thesis §3.10). */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower forwarding a linearizable read to the leader. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index';
  readonly requestId: string;
}

/** The leader's answer to a forwarded read: serve it once applied ≥ index. */
export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response';
  readonly requestId: string;
  readonly index: number;
}

/** Every message between Raft nodes: plain data, tagged by `type`. */
export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

/** A linearizable read that may be served once the local state machine has applied `index`. */
export interface ReadState {
  readonly requestId: string;
  readonly index: number;
}

/**
 * One batch of work for the caller, in this order: persist `snapshot`,
 * `entries` and `hardState` durably (fsync); then send `messages`; then
 * apply `committed` (and restore the state machine from `snapshot`); then
 * call `advance(ready)`. See `RaftNode.ready` for why the order matters.
 */
export interface Ready {
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState?: HardState;
  /** Entries to append; an entry at index i replaces any stored entry at i and after. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: it replaces the whole stored log and the state machine. */
  readonly snapshot?: Snapshot;
  /** Messages to send once the above is durable. */
  readonly messages: readonly Message[];
  /** Entries now committed, in index order, to apply to the state machine. */
  readonly committed: readonly Entry[];
  /** Reads confirmed by a quorum; serve each once applied ≥ its index. */
  readonly readStates: readonly ReadState[];
}

/** The roles a node moves between (§5.1, plus pre-candidate from thesis §9.6). */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** How the leader replicates to one follower: probing for the match point, streaming, or waiting on a snapshot. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one follower. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
}

/** A node's externally visible state. `progress` is present on the leader only. */
export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly progress?: Readonly<Record<number, ProgressStatus>>;
}

/** Why a proposal, read or transfer was not accepted. The caller may retry elsewhere (`leader`) or later. */
export type RefusalReason =
  | 'not-leader'
  | 'no-leader'
  | 'transferring-leadership'
  | 'leader-leaving'
  | 'too-many-uncommitted'
  | 'too-many-reads'
  | 'conf-change-pending'
  | 'invalid-conf-change'
  | 'learner-not-caught-up'
  | 'invalid-target';

/** A request the node did not take; `leader` is the leader it knows of (or NONE). */
export interface Refusal {
  readonly ok: false;
  readonly reason: RefusalReason;
  readonly leader: NodeId;
}

/** The outcome of `propose`/`proposeConfChange`: the entry's position, not a promise it commits. */
export type ProposeResult = { readonly ok: true; readonly index: number; readonly term: number } | Refusal;

/** The outcome of `readIndex` and `transferLeadership`. */
export type RequestResult = { readonly ok: true } | Refusal;

/** Construction parameters. Limits bound memory and message size; each is validated by the constructor. */
export interface RaftConfig {
  readonly id: NodeId;
  /**
   * Initial voters, used only when the node starts without restored state (bootstrap); may be empty for a joining node.
   */
  readonly peers: readonly NodeId[];
  /** Initial learners, as `peers`. */
  readonly learners?: readonly NodeId[];
  /** The base election timeout in ticks; the actual timeout is drawn from [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number;
  /** Ticks between leader heartbeats; must be below electionTicks. */
  readonly heartbeatTicks: number;
  /** Run a pre-vote round before bumping the term (thesis §9.6). */
  readonly preVote: boolean;
  /** The leader steps down when it has not heard from a quorum for an election timeout (thesis §6.2). */
  readonly checkQuorum: boolean;
  /** The only source of randomness (election timeouts). */
  readonly random: Random;
  /** Entries per append message; default 64. */
  readonly maxEntriesPerAppend?: number;
  /** Unacknowledged append messages per follower while streaming; default 64. */
  readonly maxInflightAppends?: number;
  /** Proposals are refused while this many entries are uncommitted; default 1024. */
  readonly maxUncommittedEntries?: number;
  /** ReadIndex requests waiting for a quorum; default 1024. */
  readonly maxPendingReads?: number;
}
