/**
 * The shard actor: the door for a shard's writes. A write goes to the shard's
 * WAL writer; when the WAL answers that it is durable, the shard hands the
 * batch (with its LSNs) to the engine and acknowledges only once the engine
 * has applied it, so any read sent to the engine after the acknowledgement
 * (reads go to the engine directly) sees the write. The shard is the only
 * writer of its engine, and applies reach it in LSN order.
 *
 * Once a batch is sent to the WAL, the shard carries it through to the
 * engine even if its caller stopped waiting (its own asks have a long
 * deadline of their own): a write the WAL took is applied in the live
 * engine, not only at the next replay. If the shard itself dies in between,
 * its next incarnation tells the engine to catch up from the WAL. Writes in
 * flight are bounded
 * (`writesInFlightMax`): past it, a write is refused UNAVAILABLE before it
 * reaches the WAL, so a caller that does not wait for acknowledgements
 * during a write stall cannot grow memory without bound.
 *
 * A metadata update is a read-modify-write: the shard reads the records'
 * vectors from its engine and writes them back as upserts with the new
 * metadata, through the same WAL path (so replay and recovery need nothing
 * new). It runs alone (storage/write-gate.ts): once every write that arrived
 * before it is applied, and writes that arrive meanwhile wait behind it. So
 * a concurrent upsert of the same id is ordered wholly before the update
 * (its vector is kept, its metadata replaced) or wholly after it (it wins),
 * never lost to a stale vector.
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import { deadlineOr, remainingMs } from '../runtime/deadline.js';
import { unreachable } from '../runtime/assert.js';
import { ShoalError } from '../runtime/errors.js';
import { OP_UPSERT, batchRows, batchTransfer } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { StoredRecord } from '../storage/types.js';
import { WriteGate } from '../storage/write-gate.js';
import type { WalStats } from '../storage/wal/wal.js';
import type { EngineStats } from './engine-actor.js';
import type { UpdateMetadataResult } from './public-api.js';
import type { EngineMessage } from './engine-actor.js';
import type { AppendResult, WalWriterMessage } from './wal-writer-actor.js';

/** Arguments of a shard actor. */
export interface ShardArgs {
  readonly wal: string;
  readonly engine: string;
  /** Write batches between arrival and the engine's apply; default 1,024. */
  readonly writesInFlightMax?: number;
}

const WRITES_IN_FLIGHT_MAX = 1_024;
/** How long the shard itself waits for its WAL writer and engine (the caller's deadline is the caller's). */
const PIPELINE_TIMEOUT_MS = 120_000;

/** Messages a shard answers. */
export type ShardMessage =
  | { readonly type: 'write'; readonly batch: RecordBatch }
  /**
   * Replaces the metadata (JSON text or null, by row) of those `ids` that
   * exist, keeping their vectors; answered with an UpdateMetadataResult.
   */
  | { readonly type: 'update-metadata'; readonly ids: readonly string[]; readonly metadata: readonly (string | null)[] }
  | { readonly type: 'stats' };

/** The answer to `write`. */
export interface WriteResult {
  readonly records: number;
  readonly firstLsn: number;
  readonly lastLsn: number;
}

/** What a shard reports in stats. */
export interface ShardStats {
  readonly wal: WalStats;
  readonly engine: EngineStats;
}

/** What an append carries through to the engine: an ordinary write, or the rewrite of a metadata update. */
type AppendPurpose =
  | { readonly kind: 'write' }
  | { readonly kind: 'update'; readonly updated: number; readonly missing: string[] };

/** A request admitted to the gate, with its asker. */
type GatedRequest = {
  readonly message: Extract<ShardMessage, { type: 'write' | 'update-metadata' }>;
  readonly responder: Responder | null;
};

/** A WAL or engine answer, back in the shard's mailbox. */
type ShardSelfMessage =
  | {
      readonly type: 'appended';
      readonly outcome: Outcome<AppendResult>;
      readonly responder: Responder | null;
      readonly purpose: AppendPurpose;
    }
  /** The records a metadata update read from the engine. */
  | {
      readonly type: 'update-read';
      readonly outcome: Outcome<StoredRecord[]>;
      readonly request: Extract<ShardMessage, { type: 'update-metadata' }>;
      readonly responder: Responder | null;
    };

/** Every message a shard's `receive` handles. */
type ShardInbox = ShardMessage | ShardSelfMessage;

/** Everything one shard holds. */
interface Shard {
  readonly args: ShardArgs;
  readonly inFlightMax: number;
  /** Writes and metadata updates between arrival and the engine's apply (waiting in the gate included). */
  inFlight: number;
  /** Orders writes (side by side) against metadata updates (alone). */
  readonly gate: WriteGate<GatedRequest>;
}

/** Creates the shard actor. */
export function createShard(args: ShardArgs): Actor {
  const inFlightMax = args.writesInFlightMax ?? WRITES_IN_FLIGHT_MAX;
  const shard: Shard = { args, inFlightMax, inFlight: 0, gate: new WriteGate<GatedRequest>() };
  return {
    start(ctx: ActorContext) {
      // Writes a previous incarnation had in the WAL but not yet in the engine (it died in between) are
      // read back by the engine from its first missing LSN; applies are idempotent by LSN, so this
      // incarnation's writes may land before or after them. Told, not asked: a start that waited on the
      // engine would hold up its supervision group if the engine died meanwhile.
      ctx.tell(args.engine, { type: 'catch-up' } satisfies EngineMessage);
    },
    // Any message type outside the union reaches the switch's `unreachable`.
    receive: (message: Message, ctx, responder) => receive(shard, message as ShardInbox, ctx, responder),
  };
}

/**
 * One message. No shard handler holds the mailbox: a write's trip through
 * the WAL writer and the engine, and a stats ask of both, run concurrently
 * (the WAL's answer comes back as `appended`), so writes pipeline; the
 * `void` return type keeps any handler from holding the mailbox.
 */
function receive(shard: Shard, message: ShardInbox, ctx: ActorContext, responder: Responder | null): void {
  switch (message.type) {
    case 'write':
    case 'update-metadata':
      return admit(shard, { message, responder }, ctx);
    case 'appended':
      return appended(shard, message, ctx);
    case 'update-read':
      return updateRead(shard, message, ctx);
    case 'stats':
      return stats(shard, ctx, responder);
    default:
      return unreachable(message, 'shard message');
  }
}

/** Counts a write or update in flight (refusing it past the bound) and starts it, or queues it behind an update. */
function admit(shard: Shard, request: GatedRequest, ctx: ActorContext): void {
  if (shard.inFlight >= shard.inFlightMax) {
    const { inFlight } = shard;
    const message = `the shard has ${inFlight} writes in flight (its engine is behind: a write stall); retry later`;
    throw new ShoalError('UNAVAILABLE', message, { reason: 'overloaded', inFlight });
  }
  shard.inFlight++;
  if (shard.gate.admit(request, request.message.type === 'update-metadata')) begin(shard, request, ctx);
}

function begin(shard: Shard, request: GatedRequest, ctx: ActorContext): void {
  const { message, responder } = request;
  if (message.type === 'write') return append(shard, message.batch, ctx, responder, { kind: 'write' });
  const read: EngineMessage = { type: 'get', ids: message.ids };
  const records = ctx.ask<StoredRecord[]>(shard.args.engine, read, { timeoutMs: PIPELINE_TIMEOUT_MS });
  ctx.pipeToSelf(records, (outcome): ShardSelfMessage => {
    return { type: 'update-read', outcome, request: message, responder };
  });
}

/** Ends a write or update: no longer in flight, answered, and what waited behind it in the gate starts. */
function finish(shard: Shard, purpose: AppendPurpose, ctx: ActorContext, answer: () => void): void {
  shard.inFlight--;
  answer();
  for (const request of shard.gate.finished(purpose.kind === 'update')) begin(shard, request, ctx);
}

function append(
  shard: Shard,
  batch: RecordBatch,
  ctx: ActorContext,
  responder: Responder | null,
  purpose: AppendPurpose,
): void {
  const append: WalWriterMessage = { type: 'append', batch };
  const options = { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) };
  ctx.pipeToSelf(
    ctx.ask<AppendResult>(shard.args.wal, append, options),
    (outcome): ShardSelfMessage => ({
      type: 'appended',
      outcome,
      responder,
      purpose,
    }),
  );
}

/** The records read for a metadata update: written back with the new metadata, or answered at once when none exist. */
type UpdateRead = Extract<ShardSelfMessage, { type: 'update-read' }>;

function updateRead(shard: Shard, message: UpdateRead, ctx: ActorContext): void {
  const { outcome, request, responder } = message;
  const update: AppendPurpose = { kind: 'update', updated: 0, missing: [] };
  if (!outcome.ok) return finish(shard, update, ctx, () => responder?.fail(outcome.error));
  const rewrite = metadataRewrite(request, outcome.value);
  const purpose: AppendPurpose = { kind: 'update', updated: rewrite.batch.ids.length, missing: rewrite.missing };
  if (rewrite.batch.ids.length === 0) return finish(shard, purpose, ctx, () => responder?.ok(updateResult(purpose)));
  append(shard, rewrite.batch, ctx, responder, purpose);
}

/** The upserts of a metadata update (each existing id's stored vector, its new metadata), and the missing ids. */
function metadataRewrite(
  request: Extract<ShardMessage, { type: 'update-metadata' }>,
  records: readonly StoredRecord[],
): { batch: RecordBatch; missing: string[] } {
  const byId = new Map(records.map((record) => [record.id, record]));
  const rows: { id: string; vector: Float32Array; metadata: string | null }[] = [];
  const missing: string[] = [];
  request.ids.forEach((id, index) => {
    const record = byId.get(id);
    if (record === undefined) missing.push(id);
    else rows.push({ id, vector: record.vector, metadata: request.metadata[index] ?? null });
  });
  const dimension = rows[0]?.vector.length ?? 0;
  const vectors = new Float32Array(rows.length * dimension);
  rows.forEach((row, index) => vectors.set(row.vector, index * dimension));
  const batch: RecordBatch = {
    dimension,
    ops: new Uint8Array(rows.length).fill(OP_UPSERT),
    ids: rows.map((row) => row.id),
    vectors,
    metadata: rows.map((row) => row.metadata),
    lsns: null,
  };
  return { batch, missing };
}

function updateResult(purpose: AppendPurpose): UpdateMetadataResult {
  if (purpose.kind !== 'update') return { updated: 0, missing: [] };
  return { updated: purpose.updated, missing: purpose.missing };
}

function appended(shard: Shard, message: Extract<ShardSelfMessage, { type: 'appended' }>, ctx: ActorContext): void {
  const { outcome, responder, purpose } = message;
  if (!outcome.ok) return finish(shard, purpose, ctx, () => responder?.fail(outcome.error));
  const { firstLsn, lastLsn, batch } = outcome.value;
  const result: WriteResult = { records: batchRows(batch), firstLsn, lastLsn };
  const answer = purpose.kind === 'write' ? result : updateResult(purpose);
  // Durable already; if the engine dies before applying, its restart replays the WAL and the caller may retry.
  const apply: EngineMessage = { type: 'apply', batch };
  ctx.ask(shard.args.engine, apply, { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) }).then(
    () => finish(shard, purpose, ctx, () => responder?.ok(answer)),
    (error: unknown) => finish(shard, purpose, ctx, () => responder?.fail(error)),
  );
}

function stats(shard: Shard, ctx: ActorContext, responder: Responder | null): void {
  const deadline = deadlineOr(responder?.deadline, ctx.clock);
  const timeoutMs = remainingMs(deadline, ctx.clock);
  const wal = ctx.ask<WalStats>(shard.args.wal, { type: 'stats' } satisfies WalWriterMessage, { timeoutMs });
  const engine = ctx.ask<EngineStats>(shard.args.engine, { type: 'stats' } satisfies EngineMessage, { timeoutMs });
  Promise.all([wal, engine]).then(
    ([walStats, engineStats]) => responder?.ok({ wal: walStats, engine: engineStats } satisfies ShardStats),
    (error: unknown) => responder?.fail(error),
  );
}
