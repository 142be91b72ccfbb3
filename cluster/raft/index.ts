/**
 * The Raft consensus core: a pure state machine (no I/O, no timers, no
 * ambient randomness) that the metadata replica actor drives. See
 * `raft-node.ts` for the algorithm and `types.ts` for the data it exchanges;
 * `storage/raft-log.ts` persists what its Ready batches ask for.
 */
export { RaftNode } from './raft-node.js';
export { NONE } from './types.js';
export { describeData, describeEntry, describeMessage, describeSnapshot } from './describe.js';
export type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  ConfChangeEntry,
  ConfState,
  Entry,
  HardState,
  Heartbeat,
  HeartbeatResponse,
  Message,
  NodeId,
  NormalEntry,
  ProgressState,
  ProgressStatus,
  ProposeResult,
  RaftConfig,
  ReadIndexRequest,
  ReadIndexResponse,
  ReadState,
  Ready,
  Refusal,
  RefusalReason,
  RequestResult,
  RestoredState,
  Role,
  Snapshot,
  SnapshotRequest,
  Status,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from './types.js';
