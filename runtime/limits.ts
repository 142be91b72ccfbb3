/**
 * Every fixed limit of Shoal in one table, and the relations between the
 * limits of different layers, checked once here when the module loads: a
 * change to one number that breaks what another layer relies on (a public
 * request the WAL would refuse, a search the engines would refuse) fails at
 * the first import, not under load. A leaf of plain numbers: it imports only
 * assert, so every layer may read it; the meaning of each number stays with
 * the module that enforces it.
 */
import { assert } from './assert.js';

const MEBIBYTE = 1024 * 1024;

/** An option's default and its allowed range (inclusive). */
export interface IntegerRange {
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
}

/** Limits of the actor runtime. */
export const RUNTIME_LIMITS = {
  /** Messages an actor's mailbox holds before further ones are refused with UNAVAILABLE. */
  mailboxCapacity: 100_000,
  /** Messages held for one restarting actor before further ones are refused. */
  heldMessagesMax: 10_000,
} as const;

/** Limits of one public request, checked at the public boundary (actors/client/validation.ts). */
export const REQUEST_LIMITS = {
  recordsPerBatchMax: 10_000,
  /** The bytes of one write batch as the WAL counts them (UTF-8 ids, vectors, UTF-8 metadata), over all shards. */
  batchBytesMax: 256 * MEBIBYTE,
  /** In UTF-16 code units (JavaScript string length). */
  idLengthMax: 512,
  /** The length of a record's metadata as JSON text, in UTF-16 code units. */
  metadataBytesMax: 64 * 1024,
  dimensionMax: 65_536,
  shardsMax: 256,
  kMax: 10_000,
  queriesPerBatchMax: 1_000,
  /** The sum of k over a batch's queries: bounds the hits one answer carries. */
  batchHitsMax: 100_000,
  timeoutMsMax: 3_600_000,
  /** Records in one scroll page (`limit`, `batchSize`). */
  scrollLimitMax: 10_000,
} as const;

/** Limits of the WAL (storage/wal/): its frame format and the defaults and ranges of its options. */
export const WAL_LIMITS = {
  /** The largest payload a frame may carry; a header claiming more is invalid. */
  framePayloadBytesMax: 1024 * MEBIBYTE,
  /** A group's merged payload must fit one frame; the merge adds at most a few header bytes. */
  groupPayloadBytesMax: 1024 * MEBIBYTE - 64,
  /** One record's id, vector and metadata bytes (UTF-8). */
  recordBytes: { fallback: MEBIBYTE, min: 1, max: 256 * MEBIBYTE },
  /** Records in one append. */
  batchRecords: { fallback: 10_000, min: 1, max: 1_000_000 },
  /** Records in one group commit. */
  groupRecords: { fallback: 10_000, min: 1, max: 1_000_000 },
  /** Payload bytes in one group commit. */
  groupBytes: { fallback: 8 * MEBIBYTE, min: 1, max: 1024 * MEBIBYTE },
} as const satisfies Record<string, number | IntegerRange>;

/** Limits of the storage engines (memtable, VIPER segments). */
export const STORAGE_LIMITS = {
  /** Floats per vector a memtable or segment holds. */
  vectorDimensionMax: 65_536,
  /** The largest HNSW search breadth (`ef`) a segment accepts. */
  searchEfMax: 10_000,
} as const;

/** The whole table, as `checkLimitRelations` reads it. */
export interface Limits {
  readonly runtime: typeof RUNTIME_LIMITS;
  readonly request: Record<keyof typeof REQUEST_LIMITS, number>;
  readonly wal: {
    readonly framePayloadBytesMax: number;
    readonly groupPayloadBytesMax: number;
    readonly recordBytes: IntegerRange;
    readonly batchRecords: IntegerRange;
    readonly groupRecords: IntegerRange;
    readonly groupBytes: IntegerRange;
  };
  readonly storage: Record<keyof typeof STORAGE_LIMITS, number>;
}

/** Every limit of Shoal. */
export const LIMITS: Limits = {
  runtime: RUNTIME_LIMITS,
  request: REQUEST_LIMITS,
  wal: WAL_LIMITS,
  storage: STORAGE_LIMITS,
};

/** Most bytes the WAL's encoding adds around one record's content (its LSN, op, lengths, union indexes). */
const WAL_RECORD_OVERHEAD_BYTES_MAX = 64;

/** Most UTF-8 bytes one UTF-16 code unit becomes (a surrogate pair, two units, becomes four bytes). */
const UTF8_BYTES_PER_UNIT_MAX = 3;

/** The most bytes (as the WAL counts them: UTF-8 id, vector, UTF-8 metadata) of a record the public API accepts. */
export function publicRecordBytesMax(request: Limits['request']): number {
  return (request.idLengthMax + request.metadataBytesMax) * UTF8_BYTES_PER_UNIT_MAX + request.dimensionMax * 4;
}

/**
 * The relations between layers' limits that `limits` breaks, one sentence
 * each (none for a consistent table). What holds: a public write's share for
 * one shard is one WAL append and one group, and fits one frame (the public
 * boundary bounds a batch's bytes, so the WAL never refuses one shard's share
 * after the other shards took theirs), every record the public API accepts
 * is one the WAL accepts, a group fits one frame, and every public search is
 * one the engines accept.
 */
export function checkLimitRelations(limits: Limits): string[] {
  const { request, wal, storage } = limits;
  const batchRecords = request.recordsPerBatchMax;
  const recordBytes = publicRecordBytesMax(request);
  const relations: [boolean, string][] = [
    [batchRecords <= wal.batchRecords.fallback, 'a public write batch must fit one WAL append (batchRecords)'],
    [batchRecords <= wal.groupRecords.fallback, 'a public write batch must fit one WAL group (groupRecords)'],
    [recordBytes <= wal.recordBytes.fallback, 'the largest public record must fit the WAL record limit'],
    [
      request.batchBytesMax + batchRecords * WAL_RECORD_OVERHEAD_BYTES_MAX <= wal.groupPayloadBytesMax,
      'the largest public write batch, encoded, must fit one WAL frame (batchBytesMax)',
    ],
    [wal.recordBytes.fallback <= wal.groupBytes.fallback, 'the largest WAL record must fit one WAL group (groupBytes)'],
    [wal.recordBytes.max <= wal.groupPayloadBytesMax, 'the largest WAL record allowed must fit one frame'],
    [wal.groupPayloadBytesMax < wal.framePayloadBytesMax, 'a WAL group payload must fit one frame'],
    [wal.groupBytes.fallback <= wal.groupPayloadBytesMax, 'the default WAL group must fit one frame'],
    [request.dimensionMax <= storage.vectorDimensionMax, 'every public dimension must be one the engines hold'],
    [request.kMax <= storage.searchEfMax, 'every public k and ef must be a search breadth the segments accept'],
  ];
  return relations.filter(([holds]) => !holds).map(([, relation]) => relation);
}

const broken = checkLimitRelations(LIMITS);
assert(broken.length === 0, `the limits table breaks: ${broken.join('; ')}`);
