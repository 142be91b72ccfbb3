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
 */
import type { Actor, ActorContext, Message, Outcome, Responder } from '../runtime/actor.js';
import { remainingMs } from '../runtime/deadline.js';
import { ShoalError } from '../runtime/errors.js';
import { batchRows, batchTransfer } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { WalStats } from '../storage/wal/wal.js';
import type { EngineStats } from './engine-actor.js';
import type { AppendResult } from './wal-writer-actor.js';

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

/** A WAL answer, back in the shard's mailbox. */
interface Appended extends Message {
  readonly type: 'appended';
  readonly outcome: Outcome<AppendResult>;
  readonly responder: Responder | null;
}

/** Creates the shard actor. */
export function createShard(args: ShardArgs): Actor {
  const deadlineOf = (responder: Responder | null, ctx: ActorContext): number => responder?.deadline ?? ctx.clock.now() + 30_000;
  const inFlightMax = args.writesInFlightMax ?? WRITES_IN_FLIGHT_MAX;
  let inFlight = 0;

  const write = (batch: RecordBatch, ctx: ActorContext, responder: Responder | null): void => {
    if (inFlight >= inFlightMax) throw overloaded(inFlight);
    inFlight++;
    const appended = ctx.ask<AppendResult>(args.wal, { type: 'append', batch }, { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) });
    ctx.pipeToSelf(appended, (outcome): Appended => ({ type: 'appended', outcome, responder }));
  };

  const appended = (message: Appended, ctx: ActorContext): void => {
    if (!message.outcome.ok) {
      inFlight--;
      message.responder?.fail(message.outcome.error);
      return;
    }
    const { firstLsn, lastLsn, batch } = message.outcome.value;
    const result: WriteResult = { records: batchRows(batch), firstLsn, lastLsn };
    // Durable already; if the engine dies before applying, its restart replays the WAL and the caller may retry.
    ctx.ask(args.engine, { type: 'apply', batch }, { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) }).then(
      () => {
        inFlight--;
        message.responder?.ok(result);
      },
      (error: unknown) => {
        inFlight--;
        message.responder?.fail(error);
      },
    );
  };

  const stats = (ctx: ActorContext, responder: Responder | null): void => {
    askStats(args, ctx, remainingMs(deadlineOf(responder, ctx), ctx.clock)).then(
      (stats) => responder?.ok(stats),
      (error: unknown) => responder?.fail(error),
    );
  };

  return {
    start(ctx: ActorContext) {
      // Writes a previous incarnation had in the WAL but not yet in the engine (it died in between) are
      // read back by the engine from its first missing LSN; applies are idempotent by LSN, so this
      // incarnation's writes may land before or after them. Told, not asked: a start that waited on the
      // engine would hold up its supervision group if the engine died meanwhile.
      ctx.tell(args.engine, { type: 'catch-up' });
    },
    receive(raw: Message, ctx: ActorContext, responder: Responder | null) {
      const message = raw as ShardMessage | Appended;
      switch (message.type) {
        case 'write':
          return write(message.batch, ctx, responder);
        case 'appended':
          return appended(message, ctx);
        case 'stats':
          return stats(ctx, responder);
        default:
          throw new ShoalError('INVALID_ARGUMENT', `shard cannot handle ${(raw as Message).type}`);
      }
    },
  };
}

/** A write refused because the shard's engine is behind (a write stall): the caller retries later. */
function overloaded(inFlight: number): ShoalError {
  const message = `the shard has ${inFlight} writes in flight (its engine is behind: a write stall); retry later`;
  return new ShoalError('UNAVAILABLE', message, { reason: 'overloaded', inFlight });
}

/** The stats of the shard's WAL and engine, asked in parallel within `timeoutMs`. */
async function askStats(args: ShardArgs, ctx: ActorContext, timeoutMs: number): Promise<ShardStats> {
  const [wal, engine] = await Promise.all([
    ctx.ask<WalStats>(args.wal, { type: 'stats' }, { timeoutMs }),
    ctx.ask<EngineStats>(args.engine, { type: 'stats' }, { timeoutMs }),
  ]);
  return { wal, engine };
}
