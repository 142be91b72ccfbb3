/**
 * The WAL writer actor of one shard: owns the shard's write-ahead log.
 * `append` answers only once the WAL says the batch is durable under the
 * collection's sync mode (group commit: appends that arrive during an fsync
 * share the next one) and hands the batch's buffers back with its LSNs.
 * `read` serves replay pages to the engine, after in-flight appends settle.
 * `checkpoint` deletes the segments below an LSN that the engine holds
 * durably elsewhere; it and `read` hold the mailbox, so they never overlap.
 */
import type { Actor, ActorContext, Message, Responder } from '../runtime/actor.js';
import { ShoalError } from '../runtime/errors.js';
import { FaultyFileSystem } from '../runtime/faulty-fs.js';
import type { FaultyOperation } from '../runtime/faulty-fs.js';
import { OP_DELETE, OP_UPSERT, batchTransfer, rowVector, withLsns } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import { confineRenames } from '../storage/storage-backend.js';
import { Wal } from '../storage/wal/wal.js';
import type { SyncMode, WalEntry, WalRecord, WalStats } from '../storage/wal/wal.js';

/** Arguments of a WAL writer. */
export interface WalWriterArgs {
  readonly dir: string;
  readonly dimension: number;
  readonly syncMode: SyncMode;
  /** `periodic` mode: the longest an acknowledged write waits for its fdatasync. */
  readonly syncIntervalMs?: number;
  /** Cut the log at damage before its tail instead of refusing to open (see `WalOptions.repair`). */
  readonly repair?: boolean;
}

/** Messages a WAL writer answers. */
export type WalWriterMessage =
  | { readonly type: 'append'; readonly batch: RecordBatch }
  | { readonly type: 'read'; readonly fromLsn: number; readonly maxRecords: number }
  | { readonly type: 'checkpoint'; readonly lsn: number }
  /** Makes the next append's LSN greater than `lsn` (the engine's checkpoint; see `Wal.skipPast`); answers whether it had to skip. */
  | { readonly type: 'skip-past'; readonly lsn: number }
  /** Makes every acknowledged append durable now (an fdatasync in `periodic` and `never` modes). */
  | { readonly type: 'sync' }
  /** Fault injection: from now on every `operation` on the WAL's files fails with errno `code`. */
  | { readonly type: 'inject-io-error'; readonly operation: FaultyOperation; readonly code: string }
  | { readonly type: 'stats' };

/** The answer to `append`: the batch back (buffers transferred) with its LSNs assigned. */
export interface AppendResult {
  readonly firstLsn: number;
  readonly lastLsn: number;
  readonly batch: RecordBatch;
}

/** The answer to `read`: records with LSN >= fromLsn as one batch; `done` when the log has no more; `lastLsn`: where the log ended when read. */
export interface ReplayPage {
  readonly batch: RecordBatch;
  readonly done: boolean;
  readonly lastLsn: number;
}

/** Creates the WAL writer actor of one shard. */
export function createWalWriter(args: WalWriterArgs): Actor {
  let wal: Wal | null = null;
  let files: FaultyFileSystem | null = null;
  const inFlight = new Set<Promise<unknown>>();

  const append = (batch: RecordBatch, responder: Responder | null): void => {
    const appended = (wal as Wal).append(walEntries(batch));
    inFlight.add(appended);
    appended.then(
      ({ firstLsn, lastLsn }) => {
        inFlight.delete(appended);
        const result: AppendResult = { firstLsn, lastLsn, batch: withLsns(batch, firstLsn) };
        responder?.ok(result, batchTransfer(result.batch));
      },
      (error: unknown) => {
        inFlight.delete(appended);
        responder?.fail(error);
      },
    );
  };

  const read = async (fromLsn: number, maxRecords: number, responder: Responder | null): Promise<void> => {
    await Promise.allSettled([...inFlight]);
    const page = await replayPage(wal as Wal, fromLsn, maxRecords, args.dimension);
    responder?.ok(page, batchTransfer(page.batch));
  };

  return {
    async start(ctx: ActorContext) {
      files = new FaultyFileSystem(ctx.fs);
      wal = await openWal(args, files, ctx);
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      const message = raw as WalWriterMessage;
      switch (message.type) {
        case 'append':
          return append(message.batch, responder);
        case 'read':
          return read(message.fromLsn, message.maxRecords, responder);
        case 'inject-io-error':
          files?.arm(message.operation, message.code);
          return responder?.ok(null);
        case 'sync':
          // Not awaited: appends keep flowing while the writer loop syncs.
          (wal as Wal).sync().then(() => responder?.ok(null), (error: unknown) => responder?.fail(error));
          return undefined;
        case 'checkpoint':
          return (wal as Wal).checkpoint(message.lsn).then((removed) => responder?.ok({ removed }));
        case 'skip-past':
          return skipPast(wal as Wal, message.lsn, args.dir, ctx).then((skipped) => responder?.ok({ skipped }));
        case 'stats':
          return responder?.ok((wal as Wal).stats() satisfies WalStats);
        default:
          throw new ShoalError('INVALID_ARGUMENT', `WAL writer cannot handle ${(raw as Message).type}`);
      }
    },
    async stop() {
      await wal?.close();
    },
  };
}

/** Opens the shard's WAL on `files` and logs what recovery cut or repaired. */
async function openWal(args: WalWriterArgs, files: FaultyFileSystem, ctx: ActorContext): Promise<Wal> {
  // The WAL writer owns its thread, so it writes and syncs with blocking calls; appends that arrive
  // meanwhile wait in the mailbox and form the next group.
  const options = {
    syncMode: args.syncMode,
    clock: ctx.clock,
    blockingIo: true,
    nextTurn: ctx.nextTurn,
    repair: args.repair === true,
    ...(args.syncIntervalMs === undefined ? {} : { syncIntervalMs: args.syncIntervalMs }),
  };
  // Every rename of the WAL stays inside its own folder (same device), and this asserts it.
  const wal = await Wal.open(confineRenames(files, args.dir), args.dir, options);
  const recovery = wal.stats().recovery;
  if (recovery.truncatedBytes > 0) ctx.log.warn('wal-torn-tail-truncated', { ...recovery });
  if (recovery.repaired !== null) ctx.log.error('wal-repaired', { dir: args.dir, ...recovery.repaired });
  return wal;
}

/** The rows of `batch` as WAL entries. */
function walEntries(batch: RecordBatch): WalEntry[] {
  return batch.ids.map((id, row) => ({
    op: batch.ops[row] === OP_DELETE ? 'delete' : 'upsert',
    id,
    vector: rowVector(batch, row),
    metadata: batch.metadata[row] ?? null,
  }));
}

/** Reads one replay page of at most `maxRecords` records from `fromLsn`. */
async function replayPage(wal: Wal, fromLsn: number, maxRecords: number, dimension: number): Promise<ReplayPage> {
  // Taken before reading: the read sees at least this far (an append that lands meanwhile is not claimed).
  const lastLsn = wal.lastLsn;
  const records = await wal.read(fromLsn, maxRecords);
  return { batch: packRecords(records, dimension), done: records.length < maxRecords, lastLsn };
}

/**
 * Makes the WAL's next LSN greater than `lsn`; having to skip means the WAL
 * lost records behind the engine's checkpoint, which is logged.
 */
async function skipPast(wal: Wal, lsn: number, dir: string, ctx: ActorContext): Promise<boolean> {
  const skipped = await wal.skipPast(lsn);
  if (skipped) ctx.log.error('wal-behind-checkpoint', { dir, checkpointLsn: lsn, resumeLsn: lsn + 1 });
  return skipped;
}

/** Packs WAL records into one columnar batch for transfer. */
function packRecords(records: readonly WalRecord[], dimension: number): RecordBatch {
  const vectors = new Float32Array(records.length * dimension);
  const ops = new Uint8Array(records.length);
  const lsns = new Float64Array(records.length);
  records.forEach((record, row) => {
    ops[row] = record.op === 'delete' ? OP_DELETE : OP_UPSERT;
    lsns[row] = record.lsn;
    if (record.vector === null) return;
    if (record.vector.length !== dimension) {
      throw new ShoalError('CORRUPTION', `WAL record ${record.lsn} (${record.id}) has ${record.vector.length} values, the collection has dimension ${dimension}`, { lsn: record.lsn });
    }
    vectors.set(record.vector, row * dimension);
  });
  return { dimension, ops, ids: records.map((record) => record.id), vectors, metadata: records.map((record) => record.metadata), lsns };
}
