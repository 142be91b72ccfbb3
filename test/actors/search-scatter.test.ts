// Proves the one scatter-gather of a search message: a wrong dimension fails before any shard is asked, every
// shard's engine is asked for all the queries with its own copy of the vectors (a fresh one per request built),
// and the answers merge into each query's top-k under the metric, failing on a failed shard unless allowPartial;
// the asks are plain functions here, the supervisor's and the read router's tests cover them through their asks.
import { describe, expect, it } from 'vitest';
import { gatherScatteredSearch, scatterSearch } from '../../actors/search-scatter.js';
import type { EngineSearchRequest, SearchLayout } from '../../actors/search-scatter.js';
import type { CheckedSearch } from '../../actors/read-protocol.js';
import { ShoalError } from '../../runtime/errors.js';
import type { Hit } from '../../storage/types.js';

const LAYOUT: SearchLayout = { dimension: 2, metric: 'l2', shards: 3 };

function checked(allowPartial = false): CheckedSearch {
  const queries = [
    { k: 2, filter: undefined, exact: false },
    { k: 1, filter: undefined, exact: true },
  ];
  return { vectors: new Float32Array([1, 2, 3, 4]), dimension: 2, queries, allowPartial };
}

const hit = (id: string, score: number): Hit => ({ id, score, metadata: null });

describe('scatterSearch', () => {
  it('fails with DIMENSION_MISMATCH before asking any shard', () => {
    const asked: number[] = [];
    const search = { ...checked(), dimension: 3 };
    expect(() =>
      scatterSearch('docs', LAYOUT, search, async (shard) => {
        asked.push(shard);
        return [];
      }),
    ).toThrow(expect.objectContaining({ code: 'DIMENSION_MISMATCH', details: { expected: 2, actual: 3 } }));
    expect(asked).toEqual([]);
  });

  it('asks every shard for every query, each request with its own copy of the vectors', async () => {
    const search = checked();
    const requests: [number, EngineSearchRequest][] = [];
    const answers = await scatterSearch('docs', LAYOUT, search, async (shard, build) => {
      requests.push([shard, build()], [shard, build()]);
      return [[hit(`s${shard}`, shard)], []];
    });
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(requests.map(([shard]) => shard)).toEqual([0, 0, 1, 1, 2, 2]);
    const buffers = new Set(requests.map(([, request]) => request.transfer[0]));
    expect(buffers.size).toBe(6);
    expect(buffers.has(search.vectors.buffer as ArrayBuffer)).toBe(false);
    for (const [, { message, transfer }] of requests) {
      expect(message).toMatchObject({ type: 'search', dimension: 2, queries: search.queries });
      expect(message.type === 'search' && [...message.vectors]).toEqual([1, 2, 3, 4]);
      expect(message.type === 'search' && message.vectors.buffer).toBe(transfer[0]);
    }
  });
});

describe('gatherScatteredSearch', () => {
  const fulfilled = (value: Hit[][]): PromiseSettledResult<Hit[][]> => ({ status: 'fulfilled', value });
  const failed: PromiseSettledResult<Hit[][]> = { status: 'rejected', reason: new ShoalError('TIMEOUT', 'slow') };

  it('merges each query over the shards under the metric (l2: lower is better)', () => {
    const answers = [fulfilled([[hit('a', 3), hit('b', 1)], [hit('a', 3)]]), fulfilled([[hit('c', 2)], [hit('c', 2)]])];
    const gathered = gatherScatteredSearch(LAYOUT, checked(), answers);
    expect(gathered.results.map((hits) => hits.map((each) => each.id))).toEqual([['b', 'c'], ['c']]);
    expect(gathered).toMatchObject({ partial: false, shardsAnswered: 2, shardsTotal: 2 });
  });

  it('fails with a shard error, or answers partial with allowPartial', () => {
    const answers = [fulfilled([[hit('a', 1)], []]), failed];
    const timedOut = expect.objectContaining({ code: 'TIMEOUT' });
    expect(() => gatherScatteredSearch(LAYOUT, checked(), answers)).toThrow(timedOut);
    const partial = gatherScatteredSearch(LAYOUT, checked(true), answers);
    expect(partial).toMatchObject({ partial: true, shardsAnswered: 1, shardsTotal: 2 });
    expect(partial.results[0]?.map((each) => each.id)).toEqual(['a']);
  });
});
