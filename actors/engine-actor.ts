/**
 * The engine actor of one shard: holds the shard's write tier (a memtable)
 * and answers exact searches and gets. On start it replays the shard's WAL
 * from its writer, page by page; afterwards it applies the batches the shard
 * forwards once the WAL has made them durable. Applying is idempotent: a row
 * whose LSN is not newer than what the engine has for that id is ignored.
 */
import type { Actor, ActorContext, Message, Responder } from '../runtime/actor.js';
import { ShoalError } from '../runtime/errors.js';
import { compileFilter } from '../storage/filter.js';
import { Memtable } from '../storage/memtable.js';
import { OP_UPSERT, batchRows, rowVector } from '../storage/record-batch.js';
import type { RecordBatch } from '../storage/record-batch.js';
import type { Hit, Metadata, Metric, StoredRecord } from '../storage/types.js';
import type { ReplayPage } from './wal-writer-actor.js';

/** Arguments of an engine. */
export interface EngineArgs {
  readonly dimension: number;
  readonly metric: Metric;
  /** The address of this shard's WAL writer, replayed on start. */
  readonly wal: string;
  /** Records asked of the WAL writer per replay page. */
  readonly replayPageRecords?: number;
}

/** Messages an engine answers. */
export type EngineMessage =
  | { readonly type: 'apply'; readonly batch: RecordBatch }
  | { readonly type: 'search'; readonly vector: Float32Array; readonly k: number; readonly filter: unknown }
  | { readonly type: 'get'; readonly ids: readonly string[] }
  | { readonly type: 'stats' };

/** What an engine reports in stats. */
export interface EngineStats {
  readonly rows: number;
  readonly memoryBytes: number;
  readonly maxLsn: number;
  readonly replayedRecords: number;
  readonly searches: number;
  readonly applied: number;
}

const REPLAY_TIMEOUT_MS = 120_000;

/** Creates the engine actor of one shard. */
export function createEngine(args: EngineArgs): Actor {
  const memtable = new Memtable(args.dimension, args.metric);
  const counters = { replayedRecords: 0, searches: 0, applied: 0 };

  const apply = (batch: RecordBatch): number => {
    const lsns = batch.lsns;
    if (lsns === null) throw new Error('engine got a batch without LSNs: it must come through the WAL');
    let applied = 0;
    for (let row = 0; row < batchRows(batch); row++) {
      const id = batch.ids[row] as string;
      const lsn = lsns[row] as number;
      if (batch.ops[row] === OP_UPSERT) {
        const text = batch.metadata[row] ?? null;
        const metadata = text === null ? null : (JSON.parse(text) as Metadata);
        if (memtable.upsert(lsn, id, rowVector(batch, row) as Float32Array, metadata)) applied++;
      } else if (memtable.delete(lsn, id)) {
        applied++;
      }
    }
    return applied;
  };

  const search = (vector: Float32Array, k: number, filter: unknown): Hit[] => {
    counters.searches++;
    return memtable.search(vector, k, compileFilter(filter));
  };

  const get = (ids: readonly string[]): StoredRecord[] => {
    const found: StoredRecord[] = [];
    for (const id of ids) {
      const record = memtable.get(id);
      if (record !== undefined) found.push({ id: record.id, vector: record.vector, metadata: record.metadata });
    }
    return found;
  };

  const stats = (): EngineStats => ({ rows: memtable.size, memoryBytes: memtable.bytes, maxLsn: memtable.maxLsn, ...counters });

  return {
    async start(ctx: ActorContext) {
      const maxRecords = args.replayPageRecords ?? 8_192;
      for (let fromLsn = 1; ; ) {
        const page = await ctx.ask<ReplayPage>(args.wal, { type: 'read', fromLsn, maxRecords }, { timeoutMs: REPLAY_TIMEOUT_MS });
        apply(page.batch);
        counters.replayedRecords += batchRows(page.batch);
        const lsns = page.batch.lsns;
        if (page.done || lsns === null || lsns.length === 0) break;
        fromLsn = (lsns[lsns.length - 1] as number) + 1;
      }
      ctx.log.info('engine-replayed', { records: counters.replayedRecords, rows: memtable.size });
    },
    receive(raw: Message, _ctx: ActorContext, responder: Responder | null) {
      const message = raw as EngineMessage;
      switch (message.type) {
        case 'apply':
          counters.applied += apply(message.batch);
          return responder?.ok(null);
        case 'search':
          return responder?.ok(search(message.vector, message.k, message.filter));
        case 'get':
          return responder?.ok(get(message.ids));
        case 'stats':
          return responder?.ok(stats());
        default:
          throw new ShoalError('INVALID_ARGUMENT', `engine cannot handle ${(raw as Message).type}`);
      }
    },
  };
}
