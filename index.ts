/**
 * Shoal: an embedded, actor-model vector database for Node.js.
 * The public entry: the host client and its types, nothing else.
 */
export { Shoal } from './actors/client/shoal.js';
export { METRICS_CONTENT_TYPE } from './actors/client/metrics.js';
export { ShoalError, ERROR_CODES } from './runtime/errors.js';
export type { ErrorCode, ErrorData } from './runtime/errors.js';
export type {
  BackupOptions,
  BackupResult,
  BackupShardResult,
  CollectionInfo,
  CollectionStats,
  ComponentStorageOptions,
  CreateCollectionOptions,
  FaultSpec,
  Filter,
  Metadata,
  MetadataStatus,
  Metric,
  OpenOptions,
  OptimizeResult,
  Placement,
  PlacementStrategy,
  RecordResult,
  RestoreOptions,
  SearchHit,
  SearchBatchOptions,
  SearchBatchResult,
  SearchOptions,
  SearchQuery,
  SearchResult,
  ShardAssignmentInfo,
  ShoalRequest,
  ShoalResults,
  ShoalStats,
  StorageComponent,
  StorageOptions,
  StorageStats,
  SyncMode,
  UpsertRecord,
  VectorInput,
  WalRepairReport,
  WriteResult,
} from './actors/public-api.js';
