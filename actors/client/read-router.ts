/**
 * The client's read route: searches, gets, scrolls and counts go from the
 * host thread straight to a collection's engines, one ask per shard, and are
 * merged here, instead of through the supervisor's thread. The supervisor still
 * decides where a collection lives: it answers a `read-route` (the
 * collection's id, shard count, dimension and metric; the engines'
 * addresses follow from those), which the client caches per collection
 * name. Two thread hops of four are saved: a single search's trip falls
 * from about 0.17 to 0.10 ms.
 *
 * When an engine cannot be reached (UNAVAILABLE: restarting past its hold,
 * stopped after repeated crashes, or the route is stale), the route is
 * forgotten and the request is asked again through the supervisor with the
 * time left, which retries while a shard group restarts and knows which
 * groups have failed. An engine's error answer (a bad filter, a timeout)
 * is final, as it would be through the supervisor. A collection created or
 * dropped through this client clears every route first, and a route
 * fetched before that is not kept, so a name never points at a dropped
 * collection's engines.
 */
import type { AskOptions, Message } from '../../runtime/actor.js';
import { present } from '../../runtime/assert.js';
import type { Clock } from '../../runtime/clock.js';
import { remainingMs } from '../../runtime/deadline.js';
import { ShoalError, toShoalError } from '../../runtime/errors.js';
import { orderRecords } from '../../cluster/merge.js';
import { partitionByShard } from '../../cluster/routing.js';
import { mergeScrollPages } from '../../cluster/scroll-merge.js';
import type { MergedScrollPage } from '../../cluster/scroll-merge.js';
import type { ScannedRecord } from '../../storage/shard-store.js';
import type { Hit, StoredRecord } from '../../storage/types.js';
import { engineAddress } from '../addresses.js';
import type { EngineMessage } from '../engine-actor.js';
import { gatherScatteredSearch, scatterSearch } from '../search-scatter.js';
import { attemptTimeoutMs } from '../supervisor/shard-asks.js';
import type { ReadRoute } from '../read-protocol.js';
import type { SearchBatchResult } from '../public-api.js';
import type { CheckedSearch } from '../read-protocol.js';
import type { SupervisorMessageOf } from '../supervisor-protocol.js';

/** Asks an actor from the host. */
export type HostAsk = <T>(to: string, message: Message, options: AskOptions) => Promise<T>;
/** Asks the supervisor from the host (a search there is the fallback). */
export type SupervisorAsk = <T>(message: Message, timeoutMs: number, transfer?: ArrayBuffer[]) => Promise<T>;

/** Scatters searches and gets to engines from the host and gathers them; falls back to the supervisor. */
export class ReadRouter {
  private readonly routes = new Map<string, ReadRoute>();
  /** Bumped by every create or drop: a route fetched under an older generation is used once, not kept. */
  private generation = 0;
  /** Queries answered on the direct route, per collection id (a name may be dropped and created again). */
  private readonly answered = new Map<string, number>();

  constructor(
    private readonly ask: HostAsk,
    private readonly askSupervisor: SupervisorAsk,
    private readonly clock: Clock,
  ) {}

  /** Forgets every route: a collection is being created or dropped, so a name may come to mean another collection. */
  invalidate(): void {
    this.routes.clear();
    this.generation++;
  }

  /** Queries of the collection with this id answered on the direct route (the supervisor counts its own). */
  searchesOf(collectionId: string): number {
    return this.answered.get(collectionId) ?? 0;
  }

  /** One search message (one or more queries) of `collection`: scattered to its engines, merged here. */
  async search(collection: string, search: CheckedSearch, timeoutMs: number): Promise<SearchBatchResult> {
    const deadline = this.clock.now() + timeoutMs;
    const route = await this.route(collection, deadline);
    // As the supervisor's asks do, each engine's ask ends a little before the deadline, so a partial answer can
    // still return. Each engine gets its own copy of the vectors (its buffer is moved); the caller's stay for a
    // fallback.
    const answers = await scatterSearch(route.collection, route, search, (shard, build) => {
      const { message, transfer } = build();
      const options = { timeoutMs: attemptTimeoutMs(deadline, this.clock), transfer };
      return this.ask<Hit[][]>(engineAddress(route.id, shard), message, options);
    });
    if (this.stale(collection, route, answers)) {
      const fallback: Message = { type: 'search', collection, ...search };
      const transfer = [search.vectors.buffer as ArrayBuffer];
      return this.viaSupervisor<SearchBatchResult>(fallback, deadline, timeoutMs, transfer);
    }
    const gathered = gatherScatteredSearch(route, search, answers);
    this.answered.set(route.id, this.searchesOf(route.id) + search.queries.length);
    return gathered;
  }

  /** The stored records of `ids` (those that exist, in the order asked): each shard's engine asked for its ids. */
  async get(collection: string, ids: readonly string[], timeoutMs: number): Promise<StoredRecord[]> {
    const deadline = this.clock.now() + timeoutMs;
    const route = await this.route(collection, deadline);
    const answers = await Promise.allSettled(
      partitionByShard(ids, route.shards).map((rows, shard) => {
        if (rows.length === 0) return Promise.resolve([]);
        const message: EngineMessage = { type: 'get', ids: rows.map((row) => present(ids[row], `id of row ${row}`)) };
        const options = { timeoutMs: remainingMs(deadline, this.clock) };
        return this.ask<StoredRecord[]>(engineAddress(route.id, shard), message, options);
      }),
    );
    if (this.stale(collection, route, answers)) {
      return this.viaSupervisor<StoredRecord[]>({ type: 'get', collection, ids }, deadline, timeoutMs);
    }
    const failure = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    if (failure !== undefined) throw toShoalError(failure.reason);
    return orderRecords(
      ids,
      answers.map((answer) => (answer.status === 'fulfilled' ? answer.value : [])),
    );
  }

  /** A scroll page: each engine gives its first `limit + 1` matching records above the cursor; merged and cut here. */
  async scroll(message: SupervisorMessageOf<'scroll'>, timeoutMs: number): Promise<MergedScrollPage> {
    const { filter, afterId, limit, withVectors } = message;
    const ask: EngineMessage = { type: 'scroll', filter, afterId, limit: limit + 1, withVectors };
    const { collection } = message;
    const pages = await this.everyEngine<ScannedRecord[], MergedScrollPage>(collection, ask, message, timeoutMs);
    return Array.isArray(pages) ? mergeScrollPages(pages, limit) : pages.viaSupervisor;
  }

  /** The records matching `message.filter`: every engine's exact count, summed. */
  async count(message: SupervisorMessageOf<'count'>, timeoutMs: number): Promise<{ count: number }> {
    const ask: EngineMessage = { type: 'count', filter: message.filter };
    const counts = await this.everyEngine<number, { count: number }>(message.collection, ask, message, timeoutMs);
    return Array.isArray(counts) ? { count: counts.reduce((sum, each) => sum + each, 0) } : counts.viaSupervisor;
  }

  /**
   * Asks every engine of `collection` the same message: their answers in shard order, or, when an engine could
   * not be reached, the supervisor's answer to `fallback` (asked in the time left).
   */
  private async everyEngine<T, R = unknown>(
    collection: string,
    ask: EngineMessage,
    fallback: Message,
    timeoutMs: number,
  ): Promise<T[] | { viaSupervisor: R }> {
    const deadline = this.clock.now() + timeoutMs;
    const route = await this.route(collection, deadline);
    const answers = await Promise.allSettled(
      Array.from({ length: route.shards }, (_, shard) => {
        const options = { timeoutMs: remainingMs(deadline, this.clock) };
        return this.ask<T>(engineAddress(route.id, shard), ask, options);
      }),
    );
    if (this.stale(collection, route, answers)) {
      return { viaSupervisor: await this.viaSupervisor<R>(fallback, deadline, timeoutMs) };
    }
    const failure = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    if (failure !== undefined) throw toShoalError(failure.reason);
    return answers.map((answer) => (answer as PromiseFulfilledResult<T>).value);
  }

  /** True (and the route forgotten) when an engine could not be reached: the request then goes via the supervisor. */
  private stale(collection: string, route: ReadRoute, answers: readonly PromiseSettledResult<unknown>[]): boolean {
    if (!answers.some((answer) => answer.status === 'rejected' && unreachable(answer.reason))) return false;
    if (this.routes.get(collection) === route) this.routes.delete(collection);
    return true;
  }

  /** The request the old way, through the supervisor (which retries while a shard group restarts), in the time left. */
  private viaSupervisor<T>(
    message: Message,
    deadline: number,
    timeoutMs: number,
    transfer: ArrayBuffer[] = [],
  ): Promise<T> {
    const left = deadline - this.clock.now();
    if (left < 1) {
      const timedOut = `${message.type} timed out after ${timeoutMs} ms`;
      return Promise.reject(new ShoalError('TIMEOUT', timedOut, { type: message.type, timeoutMs }));
    }
    return this.askSupervisor<T>(message, left, transfer);
  }

  private async route(collection: string, deadline: number): Promise<ReadRoute> {
    const known = this.routes.get(collection);
    if (known !== undefined) return known;
    const generation = this.generation;
    const asked: Message = { type: 'read-route', collection };
    const route = await this.askSupervisor<ReadRoute>(asked, remainingMs(deadline, this.clock));
    if (generation === this.generation) this.routes.set(collection, route);
    return route;
  }
}

/** True for a failure to reach an engine (as opposed to an answer that is an error, like a bad filter). */
function unreachable(reason: unknown): boolean {
  return reason instanceof ShoalError && reason.code === 'UNAVAILABLE';
}
