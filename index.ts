/**
 * Shoal: an embedded, actor-model vector database for Node.js.
 * The public entry: the host client and its types, nothing else.
 */
export { Shoal } from './actors/client/shoal.js';
export { METRICS_CONTENT_TYPE } from './actors/client/metrics.js';
export { ShoalError, ERROR_CODES } from './runtime/errors.js';
export type { ErrorCode, ErrorData } from './runtime/errors.js';
export type {
  CollectionInfo,
  CollectionStats,
  ComponentStorageOptions,
  CountOptions,
  CountResult,
  CreateCollectionOptions,
  FaultSpec,
  Filter,
  IterateOptions,
  Metadata,
  MetadataStatus,
  MetadataUpdate,
  Metric,
  OpenOptions,
  OptimizeResult,
  Placement,
  PlacementStrategy,
  RecordResult,
  RequestOptions,
  ScrollOptions,
  ScrollRecord,
  ScrollResult,
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
  UpdateMetadataResult,
  UpsertRecord,
  VectorInput,
  WalRepairReport,
  WriteResult,
} from './actors/public-api.js';
