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
import { deadlineOr, remainingMs } from '../runtime/deadline.js';
import { unreachable } from '../runtime/assert.js';
import { ShoalError } from '../runtime/errors.js';
import { batchRows, batchTransfer } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { WalStats } from '../storage/wal/wal.js';
import type { EngineStats } from './engine-actor.js';
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
type ShardSelfMessage = {
  readonly type: 'appended';
  readonly outcome: Outcome<AppendResult>;
  readonly responder: Responder | null;
};

/** Every message a shard's `receive` handles. */
type ShardInbox = ShardMessage | ShardSelfMessage;

/** Everything one shard holds. */
interface Shard {
  readonly args: ShardArgs;
  readonly inFlightMax: number;
  /** Writes between arrival and the engine's apply. */
  inFlight: number;
}

/** Creates the shard actor. */
export function createShard(args: ShardArgs): Actor {
  const shard: Shard = { args, inFlightMax: args.writesInFlightMax ?? WRITES_IN_FLIGHT_MAX, inFlight: 0 };
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
      return write(shard, message.batch, ctx, responder);
    case 'appended':
      return appended(shard, message, ctx);
    case 'stats':
      return stats(shard, ctx, responder);
    default:
      return unreachable(message, 'shard message');
  }
}

function write(shard: Shard, batch: RecordBatch, ctx: ActorContext, responder: Responder | null): void {
  if (shard.inFlight >= shard.inFlightMax) {
    const { inFlight } = shard;
    const message = `the shard has ${inFlight} writes in flight (its engine is behind: a write stall); retry later`;
    throw new ShoalError('UNAVAILABLE', message, { reason: 'overloaded', inFlight });
  }
  shard.inFlight++;
  const append: WalWriterMessage = { type: 'append', batch };
  const options = { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) };
  ctx.pipeToSelf(ctx.ask<AppendResult>(shard.args.wal, append, options), (outcome): ShardSelfMessage => ({
    type: 'appended',
    outcome,
    responder,
  }));
}

function appended(shard: Shard, message: ShardSelfMessage, ctx: ActorContext): void {
  if (!message.outcome.ok) {
    shard.inFlight--;
    message.responder?.fail(message.outcome.error);
    return;
  }
  const { firstLsn, lastLsn, batch } = message.outcome.value;
  const result: WriteResult = { records: batchRows(batch), firstLsn, lastLsn };
  // Durable already; if the engine dies before applying, its restart replays the WAL and the caller may retry.
  const apply: EngineMessage = { type: 'apply', batch };
  ctx.ask(shard.args.engine, apply, { timeoutMs: PIPELINE_TIMEOUT_MS, transfer: batchTransfer(batch) }).then(
    () => {
      shard.inFlight--;
      message.responder?.ok(result);
    },
    (error: unknown) => {
      shard.inFlight--;
      message.responder?.fail(error);
    },
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
