// Proves the client's direct read route: a get asks each shard's engine for its own ids and answers in the order asked;
// a search asks the supervisor for the collection's route once, then asks each shard's engine itself (its own copy of
// the vectors) and merges the per-shard top-k under the metric; a wrong dimension fails before any engine is asked; an
// engine that cannot be reached sends the search through the supervisor with the time left and makes the next search
// fetch the route again; an engine's error answer fails the search (or, with allowPartial, leaves it partial) without a
// second trip; a scroll or count asks every engine (a scroll for limit + 1 records) and is merged here, or goes through
// the supervisor when an engine cannot be reached; a route fetched across a create or drop is used once and not kept.
// The transport is replaced by a recording function here; shoal.test.ts and supervision.test.ts check the same paths
// through real threads.
import { describe, expect, it } from 'vitest';
import { ReadRouter } from '../../actors/client/read-router.js';
import type { ReadRoute } from '../../actors/read-protocol.js';
import type { SearchBatchResult } from '../../actors/public-api.js';
import type { CheckedSearch } from '../../actors/read-protocol.js';
import type { AskOptions, Message } from '../../runtime/actor.js';
import { systemClock } from '../../runtime/clock.js';
import { ShoalError } from '../../runtime/errors.js';
import type { Hit } from '../../storage/types.js';

interface Asked {
  readonly to: string;
  readonly message: Message & { vectors?: Float32Array; queries?: readonly unknown[] };
  readonly timeoutMs: number;
  readonly transfer: readonly ArrayBuffer[];
}

const ROUTE: ReadRoute = { collection: 'docs', id: 'c7', dimension: 2, metric: 'cosine', shards: 2 };

/**
 * A transport: engines answer with `engine(shard, message)`, the supervisor with `supervisor(message)`; every ask is
 * recorded.
 */
function transport(
  engine: (shard: number, message: Asked['message']) => Hit[][] | Error,
  supervisor: (message: Message) => unknown = () => ROUTE,
) {
  const asked: Asked[] = [];
  const hostAsk = <T>(to: string, message: Message, options: AskOptions): Promise<T> => {
    asked.push({ to, message, timeoutMs: options.timeoutMs, transfer: options.transfer ?? [] });
    const shard = Number(to.split('/').at(-1));
    const answer = engine(shard, message);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as T);
  };
  const supervisorAsk = <T>(message: Message, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<T> => {
    asked.push({ to: 'supervisor', message, timeoutMs, transfer });
    const answer = supervisor(message);
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer as T);
  };
  return { asked, router: new ReadRouter(hostAsk, supervisorAsk, systemClock) };
}

function queries(...vectors: number[][]): CheckedSearch {
  return {
    vectors: Float32Array.from(vectors.flat()),
    dimension: 2,
    queries: vectors.map(() => ({ k: 2, filter: null, exact: false })),
    allowPartial: false,
  };
}

const hit = (id: string, score: number): Hit => ({ id, score, metadata: null });

describe('ReadRouter', () => {
  it('fetches the route once, asks every engine with its own copy of the vectors, and merges per query', async () => {
    const { asked, router } = transport((shard) =>
      shard === 0
        ? [[hit('a', 0.9), hit('b', 0.5)], [hit('c', 0.1)]]
        : [
            [hit('d', 0.7), hit('e', 0.2)],
            [hit('f', 0.8), hit('g', 0.3)],
          ],
    );
    const search = queries([1, 0], [0, 1]);
    const result = await router.search('docs', search, 5_000);
    expect(result.results.map((hits) => hits.map((each) => each.id))).toEqual([
      ['a', 'd'],
      ['f', 'g'],
    ]);
    expect(result).toMatchObject({ partial: false, shardsAnswered: 2, shardsTotal: 2 });
    expect(asked.map((each) => each.to)).toEqual(['supervisor', 'engine/c7/0', 'engine/c7/1']);
    expect(asked[0]?.message).toEqual({ type: 'read-route', collection: 'docs' });
    const engines = asked.slice(1);
    for (const each of engines) {
      expect(Array.from(each.message.vectors ?? [])).toEqual([1, 0, 0, 1]);
      expect(each.transfer).toEqual([each.message.vectors?.buffer]);
      expect(each.transfer[0]).not.toBe(search.vectors.buffer);
      expect(each.timeoutMs).toBeLessThanOrEqual(5_000);
    }
    expect(engines[0]?.transfer[0]).not.toBe(engines[1]?.transfer[0]);
    await router.search('docs', queries([1, 1]), 5_000);
    expect(asked.filter((each) => each.to === 'supervisor')).toHaveLength(1);
    expect(router.searchesOf('c7')).toBe(3);
  });

  it('fails a query of the wrong dimension with DIMENSION_MISMATCH before asking any engine', async () => {
    const { asked, router } = transport(() => [[]]);
    const wrong: CheckedSearch = {
      vectors: Float32Array.from([1, 2, 3]),
      dimension: 3,
      queries: [{ k: 1, filter: null, exact: false }],
      allowPartial: false,
    };
    await expect(router.search('docs', wrong, 1_000)).rejects.toMatchObject({
      code: 'DIMENSION_MISMATCH',
      details: { expected: 2, actual: 3 },
    });
    expect(asked.map((each) => each.to)).toEqual(['supervisor']);
  });

  it('sends the search through the supervisor when an engine cannot be reached, and fetches the route again next time', async () => {
    const viaSupervisor: SearchBatchResult = {
      results: [[hit('s', 1)]],
      partial: false,
      shardsAnswered: 2,
      shardsTotal: 2,
    };
    let down = true;
    const { asked, router } = transport(
      (shard) =>
        shard === 1 && down
          ? new ShoalError('UNAVAILABLE', 'engine/c7/1 died before answering')
          : [[hit(`e${shard}`, 0.5)]],
      (message) => (message.type === 'read-route' ? ROUTE : viaSupervisor),
    );
    const search = queries([3, 4]);
    expect(await router.search('docs', search, 5_000)).toEqual(viaSupervisor);
    const fallback = asked.at(-1);
    expect(fallback?.to).toBe('supervisor');
    expect(fallback?.message).toMatchObject({ type: 'search', collection: 'docs', dimension: 2, allowPartial: false });
    expect(Array.from(fallback?.message.vectors ?? [])).toEqual([3, 4]);
    expect(fallback?.timeoutMs).toBeLessThanOrEqual(5_000);
    expect(router.searchesOf('c7')).toBe(0);
    down = false;
    const next = await router.search('docs', queries([3, 4]), 5_000);
    expect(next.results[0]?.map((each) => each.id)).toEqual(['e0', 'e1']);
    expect(asked.filter((each) => each.message.type === 'read-route')).toHaveLength(2);
  });

  it('fails on an engine error answer without a second trip, and answers partially when allowed', async () => {
    const { asked, router } = transport((shard) =>
      shard === 0 ? new ShoalError('TIMEOUT', 'search to engine/c7/0 timed out') : [[hit('b', 0.4)]],
    );
    await expect(router.search('docs', queries([1, 0]), 1_000)).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(asked.filter((each) => each.message.type === 'search' && each.to === 'supervisor')).toHaveLength(0);
    const partial = await router.search('docs', { ...queries([1, 0]), allowPartial: true }, 1_000);
    expect(partial).toMatchObject({ partial: true, shardsAnswered: 1, shardsTotal: 2 });
    expect(partial.results[0]?.map((each) => each.id)).toEqual(['b']);
  });

  it("asks each shard's engine for its ids only and answers in the order asked, through the supervisor when an engine is unreachable", async () => {
    const stored = (id: string) => ({ id, vector: new Float32Array([1, 0]), metadata: null });
    let down = false;
    const { asked, router } = transport(
      (shard, message) =>
        down && shard === 0
          ? new ShoalError('UNAVAILABLE', 'restarting')
          : ((message as unknown as { ids: string[] }).ids.filter((id) => id !== 'missing').map(stored) as never),
      (message) => (message.type === 'read-route' ? ROUTE : [stored('from-supervisor')]),
    );
    const ids = ['a', 'b', 'c', 'd', 'missing', 'a'];
    const records = await router.get('docs', ids, 1_000);
    expect(records.map((record) => record.id)).toEqual(['a', 'b', 'c', 'd']);
    const gets = asked.filter((each) => each.message.type === 'get');
    const asks = gets.map((each) => (each.message as unknown as { ids: string[] }).ids);
    // Every id went to exactly one shard (its FNV-1a shard), each shard only its own.
    expect(asks.flat().sort()).toEqual([...ids].sort());
    expect(new Set(gets.map((each) => each.to)).size).toBe(gets.length);
    down = true;
    expect((await router.get('docs', ids, 1_000)).map((record) => record.id)).toEqual(['from-supervisor']);
    expect(asked.at(-1)).toMatchObject({ to: 'supervisor', message: { type: 'get', collection: 'docs', ids } });
  });

  it('scrolls and counts on the engines (each asked for limit + 1), merging here, or through the supervisor when an engine is unreachable', async () => {
    let down = false;
    const { asked, router } = transport(
      (shard, message) => {
        if (down && shard === 1) return new ShoalError('UNAVAILABLE', 'engine/c7/1 died before answering');
        if (message.type === 'count') return (shard + 2) as unknown as Hit[][];
        const ids = shard === 0 ? ['a', 'c', 'e'] : ['B', 'd'];
        return ids.map((id) => ({ id, metadata: null })) as unknown as Hit[][];
      },
      (message) => {
        if (message.type === 'read-route') return ROUTE;
        return message.type === 'count' ? { count: 99 } : { records: [], continueAfter: null };
      },
    );
    const scroll = {
      type: 'scroll',
      collection: 'docs',
      filter: null,
      afterId: null,
      limit: 3,
      withVectors: false,
    } as const;
    const page = await router.scroll(scroll, 5_000);
    expect(page).toEqual({ records: ['B', 'a', 'c'].map((id) => ({ id, metadata: null })), continueAfter: 'c' });
    expect(asked.filter((each) => each.message.type === 'scroll').map((each) => each.message['limit'])).toEqual([4, 4]);
    expect(await router.count({ type: 'count', collection: 'docs', filter: null }, 5_000)).toEqual({ count: 5 });
    down = true;
    expect(await router.count({ type: 'count', collection: 'docs', filter: null }, 5_000)).toEqual({ count: 99 });
    expect(asked.at(-1)).toMatchObject({ to: 'supervisor', message: { type: 'count', collection: 'docs' } });
    expect(await router.scroll(scroll, 5_000)).toEqual({ records: [], continueAfter: null });
    expect(asked.at(-1)).toMatchObject({ to: 'supervisor', message: scroll });
  });

  it('uses a route fetched across a create or drop once, without keeping it', async () => {
    let router: ReadRouter | undefined;
    const { asked, router: made } = transport(
      () => [[]],
      () => {
        router?.invalidate(); // a drop is sent while the route is on its way
        return ROUTE;
      },
    );
    router = made;
    await router.search('docs', queries([1, 0]), 1_000);
    await router.search('docs', queries([1, 0]), 1_000);
    expect(asked.filter((each) => each.message.type === 'read-route')).toHaveLength(2);
  });
});
