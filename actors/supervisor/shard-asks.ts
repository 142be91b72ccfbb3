/**
 * Asks to a collection's shards, and the one retry policy they follow: an
 * UNAVAILABLE answer (the shard's group is restarting) is asked again after
 * an exponential backoff, until the request's deadline; every other answer
 * is final. A group that gave up (exceeded its restart intensity) answers
 * UNAVAILABLE at once, without an ask. Each attempt's ask ends a little
 * before the deadline, so the caller still has time to answer with what it
 * gathered (a partial search).
 */
import type { ActorContext, Message, TransferList } from '../../runtime/actor.js';
import type { Clock } from '../../runtime/clock.js';
import { remainingMs } from '../../runtime/deadline.js';
import { ShoalError } from '../../runtime/errors.js';
import type { ErrorCode, ErrorData } from '../../runtime/errors.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { shardGroupName } from '../addresses.js';
import { shardTargetAddress } from './topology.js';
import type { ShardTarget } from './topology.js';

/** The retry policy of shard asks. */
export const SHARD_ASK_RETRY = {
  /** Answers that mean "try again": the target is restarting (or not yet started). */
  retriedCodes: ['UNAVAILABLE'] as readonly ErrorCode[],
  /** Backoff before retry n (0-based): `backoffMsFirst × 2^n`, at most `backoffMsMax`. */
  backoffMsFirst: 25,
  backoffMsMax: 500,
  /** An attempt's ask ends `min(marginMsMax, time left / marginDivisor)` before the deadline. */
  marginMsMax: 50,
  marginDivisor: 10,
} as const;

/** One attempt's message and the buffers it moves; built afresh per attempt, since a moved buffer is gone. */
export interface ShardRequest {
  readonly message: Message;
  readonly transfer: TransferList;
}

/** True when an ask that failed with `error` may be asked again. */
export function isRetried(error: unknown): boolean {
  return error instanceof ShoalError && SHARD_ASK_RETRY.retriedCodes.includes(error.code);
}

/** The wait before retry `attempt` (0-based), in milliseconds. */
export function retryBackoffMs(attempt: number): number {
  return Math.min(SHARD_ASK_RETRY.backoffMsMax, SHARD_ASK_RETRY.backoffMsFirst * 2 ** attempt);
}

/** The wait before asking again after attempt `attempt` failed with `error` at `now`, or null when it is final. */
export function retryDelayMs(error: unknown, attempt: number, now: number, deadline: number): number | null {
  if (!isRetried(error)) return null;
  const backoffMs = retryBackoffMs(attempt);
  return now + backoffMs >= deadline ? null : backoffMs;
}

/** The timeout of one attempt's ask: the time left until `deadline` minus the margin kept for the answer. */
export function attemptTimeoutMs(deadline: number, clock: Clock): number {
  const marginMs = Math.min(SHARD_ASK_RETRY.marginMsMax, (deadline - clock.now()) / SHARD_ASK_RETRY.marginDivisor);
  return remainingMs(deadline, clock, marginMs);
}

/** The answer for a shard whose group stopped after repeated crashes. */
function groupStopped(entry: CollectionEntry, shard: number, failure: ErrorData): ShoalError {
  const message = `shard ${shard} of ${entry.name} stopped after repeated crashes: ${failure.message}`;
  return new ShoalError('UNAVAILABLE', message, { collection: entry.name, shard });
}

/**
 * Asks a shard's shard actor (writes, stats) or its engine (searches, gets: the shard acknowledges a write only
 * once its engine has applied it, so a read sent straight to the engine after an acknowledgement sees it),
 * retrying by `SHARD_ASK_RETRY` while the group restarts, until `deadline`. `build` makes each attempt's request.
 */
export async function askShard<T>(
  ctx: ActorContext,
  failedGroups: ReadonlyMap<string, ErrorData>,
  entry: CollectionEntry,
  shard: number,
  build: () => ShardRequest,
  deadline: number,
  target: ShardTarget = 'shard',
): Promise<T> {
  const address = shardTargetAddress(target, entry.id, shard);
  const group = shardGroupName(entry.id, shard);
  for (let attempt = 0; ; attempt++) {
    const failure = failedGroups.get(group);
    if (failure !== undefined) throw groupStopped(entry, shard, failure);
    const { message, transfer } = build();
    try {
      return await ctx.ask<T>(address, message, { timeoutMs: attemptTimeoutMs(deadline, ctx.clock), transfer });
    } catch (error) {
      const delayMs = retryDelayMs(error, attempt, ctx.clock.now(), deadline);
      if (delayMs === null) throw error;
      await new Promise<void>((resolve) => ctx.clock.setTimer(delayMs, resolve));
    }
  }
}
