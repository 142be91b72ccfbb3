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
import { present, unreachable } from '../runtime/assert.js';
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
  /**
   * Makes the next append's LSN greater than `lsn` (the engine's checkpoint;
   * see `Wal.skipPast`); answers whether it had to skip.
   */
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

/**
 * The answer to `read`: records with LSN >= fromLsn as one batch; `done` when
 * the log has no more; `lastLsn`: where the log ended when read.
 */
export interface ReplayPage {
  readonly batch: RecordBatch;
  readonly done: boolean;
  readonly lastLsn: number;
}

/** Everything one WAL writer holds. */
interface WalWriter {
  readonly args: WalWriterArgs;
  /** The log, once started. */
  wal: Wal | null;
  /** The WAL's files, through a filesystem that injects faults when armed. */
  files: FaultyFileSystem | null;
  /** Appends not yet settled: a read waits for them. */
  readonly inFlight: Set<Promise<unknown>>;
}

/** Creates the WAL writer actor of one shard. */
export function createWalWriter(args: WalWriterArgs): Actor {
  const writer: WalWriter = { args, wal: null, files: null, inFlight: new Set() };
  return {
    start: (ctx) => start(writer, ctx),
    // Any message type outside the union reaches the switch's `unreachable`.
    receive: (message: Message, ctx, responder) => receive(writer, message as WalWriterMessage, ctx, responder),
    async stop() {
      await writer.wal?.close();
    },
  };
}

async function start(writer: WalWriter, ctx: ActorContext): Promise<void> {
  const { args } = writer;
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
  writer.files = new FaultyFileSystem(ctx.fs);
  const wal = await Wal.open(confineRenames(writer.files, args.dir), args.dir, options);
  writer.wal = wal;
  const recovery = wal.stats().recovery;
  if (recovery.truncatedBytes > 0) ctx.log.warn('wal-torn-tail-truncated', { ...recovery });
  if (recovery.repaired !== null) ctx.log.error('wal-repaired', { dir: args.dir, ...recovery.repaired });
}

/**
 * One message. `read`, `checkpoint` and `skip-past` hold the mailbox (the
 * cell awaits them before the next message), so a read, a segment deletion
 * and a skip never overlap each other or a later append. `append` and `sync`
 * run concurrently: they are answered when their group commit or fdatasync
 * completes, and appends that arrive meanwhile form the next group. The rest
 * are answered in the turn.
 */
function receive(
  writer: WalWriter,
  message: WalWriterMessage,
  ctx: ActorContext,
  responder: Responder | null,
): Promise<void> | void {
  const wal = present(writer.wal, 'the WAL (opened at start)');
  switch (message.type) {
    case 'append': // concurrent
      return append(writer, wal, message.batch, responder);
    case 'sync': // concurrent
      wal.sync().then(
        () => responder?.ok(null),
        (error: unknown) => responder?.fail(error),
      );
      return undefined;
    case 'read': // holds the mailbox
      return read(writer, wal, message.fromLsn, message.maxRecords, responder);
    case 'checkpoint': // holds the mailbox
      return wal.checkpoint(message.lsn).then((removed) => responder?.ok({ removed }));
    case 'skip-past': // holds the mailbox
      return skipPast(writer, wal, message.lsn, ctx, responder);
    case 'inject-io-error':
      present(writer.files, 'the WAL files (opened at start)').arm(message.operation, message.code);
      return responder?.ok(null);
    case 'stats':
      return responder?.ok(wal.stats() satisfies WalStats);
    default:
      return unreachable(message, 'WAL writer message');
  }
}

function append(writer: WalWriter, wal: Wal, batch: RecordBatch, responder: Responder | null): void {
  const entries: WalEntry[] = batch.ids.map((id, row) => ({
    op: batch.ops[row] === OP_DELETE ? 'delete' : 'upsert',
    id,
    vector: rowVector(batch, row),
    metadata: batch.metadata[row] ?? null,
  }));
  const appended = wal.append(entries);
  writer.inFlight.add(appended);
  appended.then(
    ({ firstLsn, lastLsn }) => {
      writer.inFlight.delete(appended);
      const result: AppendResult = { firstLsn, lastLsn, batch: withLsns(batch, firstLsn) };
      responder?.ok(result, batchTransfer(result.batch));
    },
    (error: unknown) => {
      writer.inFlight.delete(appended);
      responder?.fail(error);
    },
  );
}

async function read(
  writer: WalWriter,
  wal: Wal,
  fromLsn: number,
  maxRecords: number,
  responder: Responder | null,
): Promise<void> {
  await Promise.allSettled([...writer.inFlight]);
  // Taken before reading: the read sees at least this far (an append that lands meanwhile is not claimed).
  const lastLsn = wal.lastLsn;
  const records = await wal.read(fromLsn, maxRecords);
  const batch = packRecords(records, writer.args.dimension);
  const page: ReplayPage = { batch, done: records.length < maxRecords, lastLsn };
  responder?.ok(page, batchTransfer(page.batch));
}

async function skipPast(
  writer: WalWriter,
  wal: Wal,
  lsn: number,
  ctx: ActorContext,
  responder: Responder | null,
): Promise<void> {
  const skipped = await wal.skipPast(lsn);
  if (skipped) ctx.log.error('wal-behind-checkpoint', { dir: writer.args.dir, checkpointLsn: lsn, resumeLsn: lsn + 1 });
  responder?.ok({ skipped });
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
      const shape = `has ${record.vector.length} values, the collection has dimension ${dimension}`;
      throw new ShoalError('CORRUPTION', `WAL record ${record.lsn} (${record.id}) ${shape}`, { lsn: record.lsn });
    }
    vectors.set(record.vector, row * dimension);
  });
  const ids = records.map((record) => record.id);
  return { dimension, ops, ids, vectors, metadata: records.map((record) => record.metadata), lsns };
}
