// Proves the client's search coalescing: searches of one collection, dimension and allowPartial issued in one turn
// leave as one search message whose answers go back to the right callers; other keys, a full group and a later turn
// start new messages; each search keeps its own deadline, a failed message fails exactly its members, and a search
// aborted before its message leaves is dropped from it (ABORTED at once; an empty message is not sent) while one
// aborted later is answered with its group. The supervisor's transport is replaced by a recording function here;
// shoal.test.ts checks the same through real threads.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SearchCoalescer } from '../../actors/client/search-coalescer.js';
import type { SearchAsk } from '../../actors/client/search-coalescer.js';
import type { SearchBatchResult } from '../../actors/public-api.js';
import type { CheckedSearch } from '../../actors/read-protocol.js';
import { systemClock } from '../../runtime/clock.js';
import { ShoalError } from '../../runtime/errors.js';

interface Sent {
  readonly collection: string;
  readonly search: CheckedSearch;
  readonly timeoutMs: number;
  answer(result: SearchBatchResult): void;
  fail(error: unknown): void;
}

function recorder(): { ask: SearchAsk; sent: Sent[] } {
  const sent: Sent[] = [];
  const ask: SearchAsk = (collection, search, timeoutMs) =>
    new Promise<SearchBatchResult>((resolve, reject) =>
      sent.push({ collection, search, timeoutMs, answer: resolve, fail: reject }),
    );
  return { ask, sent };
}

function single(values: number[], k = 3, allowPartial = false): CheckedSearch {
  return {
    vectors: Float32Array.from(values),
    dimension: values.length,
    queries: [{ k, filter: null, exact: false }],
    allowPartial,
  };
}

/** Answers a sent message: query i gets one hit whose id names its first vector component. */
function echo(message: Sent): void {
  const results = message.search.queries.map((_, index) => [
    { id: `q${message.search.vectors[index * message.search.dimension]}`, score: 1, metadata: null },
  ]);
  message.answer({ results, partial: false, shardsAnswered: 2, shardsTotal: 2 });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const immediate = (callback: () => void): void => void setImmediate(callback);

describe('SearchCoalescer', () => {
  it('sends the searches of one turn as one message and answers each caller with its own hits', async () => {
    const { ask, sent } = recorder();
    const coalescer = new SearchCoalescer(ask, 1_000, immediate, systemClock);
    const answers = [1, 2, 3, 4, 5, 6, 7, 8].map((value) =>
      coalescer.search('c', single([value, 0], 2 + value), 1_000 + value),
    );
    expect(sent).toHaveLength(0);
    await nextTurn();
    expect(sent).toHaveLength(1);
    const [message] = sent as [Sent];
    expect(message.collection).toBe('c');
    expect(Array.from(message.search.vectors)).toEqual([1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8, 0]);
    expect(message.search.queries.map((query) => query.k)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(message.timeoutMs).toBe(1_008);
    echo(message);
    const results = await Promise.all(answers);
    expect(results.map((result) => result.hits[0]?.id)).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8']);
    expect(results[0]).toMatchObject({ partial: false, shardsAnswered: 2, shardsTotal: 2 });
  });

  it('keeps collections, dimensions and allowPartial apart, starts a new message when one is full, and a new turn a new one', async () => {
    const { ask, sent } = recorder();
    const coalescer = new SearchCoalescer(ask, 3, immediate, systemClock);
    const answers = [
      coalescer.search('a', single([1, 0]), 1_000),
      coalescer.search('b', single([2, 0]), 1_000),
      coalescer.search('a', single([3, 0, 0]), 1_000),
      coalescer.search('a', single([4, 0], 3, true), 1_000),
      ...[5, 6, 7, 8].map((value) => coalescer.search('a', single([value, 0]), 1_000)),
    ];
    // [1, 5, 6] filled up and left at once; the rest leaves at the end of the turn.
    expect(sent.map((message) => Array.from(message.search.vectors))).toEqual([[1, 0, 5, 0, 6, 0]]);
    await nextTurn();
    const groups = sent.map(
      (message) =>
        `${message.collection}:${message.search.dimension}:${message.search.allowPartial}:${message.search.queries.length}`,
    );
    expect(groups.sort()).toEqual(['a:2:false:2', 'a:2:false:3', 'a:2:true:1', 'a:3:false:1', 'b:2:false:1']);
    for (const message of sent) echo(message);
    expect((await Promise.all(answers)).map((result) => result.hits[0]?.id)).toEqual([
      'q1',
      'q2',
      'q3',
      'q4',
      'q5',
      'q6',
      'q7',
      'q8',
    ]);
    const later = coalescer.search('a', single([9, 0]), 1_000);
    await nextTurn();
    expect(sent).toHaveLength(6);
    echo(sent[5] as Sent);
    expect((await later).hits[0]?.id).toBe('q9');
  });

  it('times each search out at its own deadline, and fails every member of a failed message', async () => {
    const { ask, sent } = recorder();
    const coalescer = new SearchCoalescer(ask, 1_000, immediate, systemClock);
    const quick = coalescer.search('c', single([1, 0]), 30);
    const patient = coalescer.search('c', single([2, 0]), 5_000);
    await nextTurn();
    const quickError = await quick.then(
      () => null,
      (error: unknown) => error,
    );
    expect(quickError).toBeInstanceOf(ShoalError);
    expect(quickError).toMatchObject({ code: 'TIMEOUT' });
    echo(sent[0] as Sent);
    expect((await patient).hits[0]?.id).toBe('q2');

    const failing = [coalescer.search('c', single([3, 0]), 1_000), coalescer.search('c', single([4, 0]), 1_000)];
    await nextTurn();
    (sent[1] as Sent).fail(new ShoalError('COLLECTION_NOT_FOUND', 'no collection named c'));
    for (const answer of failing) await expect(answer).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND' });
  });

  it('drops a search aborted before its message leaves, and sends no message when all were aborted', async () => {
    const { ask, sent } = recorder();
    const coalescer = new SearchCoalescer(ask, 1_000, immediate, systemClock);
    const controller = new AbortController();
    const kept = coalescer.search('c', single([1, 0]), 1_000);
    const dropped = coalescer.search('c', single([2, 0]), 1_000, controller.signal);
    controller.abort(new Error('changed my mind'));
    await expect(dropped).rejects.toMatchObject({
      code: 'ABORTED',
      name: 'AbortError',
      cause: new Error('changed my mind'),
    });
    await nextTurn();
    expect(sent).toHaveLength(1);
    expect(Array.from((sent[0] as Sent).search.vectors)).toEqual([1, 0]);
    echo(sent[0] as Sent);
    expect((await kept).hits[0]?.id).toBe('q1');

    const lonely = new AbortController();
    const alone = coalescer.search('c', single([3, 0]), 1_000, lonely.signal);
    lonely.abort();
    await expect(alone).rejects.toMatchObject({ code: 'ABORTED' });
    await nextTurn();
    expect(sent).toHaveLength(1);
  });

  it('answers a search aborted after its message left with its group, and removes every abort listener', async () => {
    const { ask, sent } = recorder();
    const coalescer = new SearchCoalescer(ask, 1_000, immediate, systemClock);
    const controller = new AbortController();
    const answer = coalescer.search('c', single([4, 0]), 1_000, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await nextTurn();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    echo(sent[0] as Sent);
    // The caller's own promise (Shoal.request) rejects at the abort; the coalescer's settles with the group.
    expect((await answer).hits[0]?.id).toBe('q4');
  });
});
