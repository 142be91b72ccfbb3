/**
 * The shard actor: the door for a shard's writes. A write goes to the shard's
 * WAL writer; when the WAL answers that it is durable, the shard hands the
 * batch (with its LSNs) to the engine and acknowledges only once the engine
 * has applied it, so any read sent to the engine after the acknowledgement
 * (reads go to the engine directly) sees the write. The shard is the only
 * writer of its engine, and applies reach it in LSN order.
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
}

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
  readonly deadline: number;
}

/** Creates the shard actor. */
export function createShard(args: ShardArgs): Actor {
  const deadlineOf = (responder: Responder | null, ctx: ActorContext): number => responder?.deadline ?? ctx.clock.now() + 30_000;

  const write = (batch: RecordBatch, ctx: ActorContext, responder: Responder | null): void => {
    const deadline = deadlineOf(responder, ctx);
    const appended = ctx.ask<AppendResult>(args.wal, { type: 'append', batch }, { timeoutMs: remainingMs(deadline, ctx.clock), transfer: batchTransfer(batch) });
    ctx.pipeToSelf(appended, (outcome): Appended => ({ type: 'appended', outcome, responder, deadline }));
  };

  const appended = (message: Appended, ctx: ActorContext): void => {
    if (!message.outcome.ok) {
      message.responder?.fail(message.outcome.error);
      return;
    }
    const { firstLsn, lastLsn, batch } = message.outcome.value;
    const result: WriteResult = { records: batchRows(batch), firstLsn, lastLsn };
    const timeoutMs = remainingMs(message.deadline, ctx.clock);
    // Durable already; if the engine dies before applying, its restart replays the WAL and the caller may retry.
    ctx.ask(args.engine, { type: 'apply', batch }, { timeoutMs, transfer: batchTransfer(batch) }).then(
      () => message.responder?.ok(result),
      (error: unknown) => message.responder?.fail(error),
    );
  };

  const stats = (ctx: ActorContext, responder: Responder | null): void => {
    const timeoutMs = remainingMs(deadlineOf(responder, ctx), ctx.clock);
    Promise.all([ctx.ask<WalStats>(args.wal, { type: 'stats' }, { timeoutMs }), ctx.ask<EngineStats>(args.engine, { type: 'stats' }, { timeoutMs })]).then(
      ([wal, engine]) => responder?.ok({ wal, engine } satisfies ShardStats),
      (error: unknown) => responder?.fail(error),
    );
  };

  return {
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
