// Proves `shoal serve`, started as a user would (the CLI in a child process on a free port), speaks Qdrant's REST
// dialect to the official @qdrant/js-client-rest 1.18 and to @langchain/qdrant's QdrantVectorStore unchanged:
// collections are created, described and dropped; points are upserted in both forms, retrieved, searched and queried
// (vector, point id, filters, offsets, thresholds), scrolled through completely, counted, payloads set and overwritten,
// deleted by ids and by filter, each answer compared with one computed in the test; bad input gets Qdrant's error shape
// with the right 4xx, an API key is required on every request when set, and SIGTERM shuts the server down cleanly with
// every acknowledged point still there on the next start.
import { Document } from '@langchain/core/documents';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { QdrantVectorStore } from '@langchain/qdrant';
import { request as httpRequest } from 'node:http';
import { QdrantClient } from '@qdrant/js-client-rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveShoal } from '../../fixtures/shoal-serve.js';
import type { ServedShoal } from '../../fixtures/shoal-serve.js';
import { bruteForce, randomVectors, temporaryDirectory } from '../../fixtures/vectors.js';

const DIMENSION = 8;
const CITIES = ['London', 'Berlin', 'Moscow'];
const POINTS = randomVectors(60, DIMENSION, 11).map((vector, index) => ({
  id: index + 1,
  vector: Array.from(vector),
  payload: { city: CITIES[index % 3] as string, price: index, tags: index % 2 === 0 ? ['even'] : ['odd'] },
}));

let served: ServedShoal;
let folder: { path: string; remove: () => Promise<void> };
let client: QdrantClient;

/** What the test expects a search to find: the exact nearest points by cosine among those `keep` allows. */
function expected(
  query: readonly number[],
  limit: number,
  keep: (payload: Record<string, unknown>) => boolean = () => true,
): number[] {
  const rows = POINTS.map((point) => ({ id: String(point.id), vector: point.vector, metadata: point.payload }));
  return bruteForce('cosine', rows, query, limit, (metadata) => keep(metadata ?? {})).map((hit) => Number(hit.id));
}

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${served.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...init.headers },
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/**
 * The status answered to a PUT announcing `bytes` bytes. Only the headers are sent: the server answers 413 from the
 * announced length alone, before reading a byte (sending the body after that would only fail with EPIPE).
 */
function statusOfLargeBody(path: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${served.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'content-length': bytes },
    });
    request.on('response', (response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      request.destroy();
    });
    request.on('error', reject);
    request.flushHeaders();
  });
}

beforeAll(async () => {
  folder = await temporaryDirectory('shoal-serve-');
  served = await serveShoal(['--data-dir', folder.path]);
  client = new QdrantClient({ url: served.url });
}, 90_000);

afterAll(async () => {
  await served?.stop();
  await folder?.remove();
});

describe('shoal serve with the Qdrant JS client', () => {
  it('creates, describes and lists a collection, and refuses a second create with 409', async () => {
    expect(await client.createCollection('points', { vectors: { size: DIMENSION, distance: 'Cosine' } })).toBe(true);
    expect((await client.collectionExists('points')).exists).toBe(true);
    expect((await client.collectionExists('nothing')).exists).toBe(false);
    const info = await client.getCollection('points');
    expect(info.config.params.vectors).toEqual({ size: DIMENSION, distance: 'Cosine' });
    expect(info.status).toBe('green');
    expect((await client.getCollections()).collections).toEqual([{ name: 'points' }]);
    const again = await raw('/collections/points', {
      method: 'PUT',
      body: JSON.stringify({ vectors: { size: 4, distance: 'Dot' } }),
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ status: { error: expect.stringContaining('points') } });
  });

  it('upserts in both forms, retrieves, and counts', async () => {
    const [first, second] = [POINTS.slice(0, 30), POINTS.slice(30)];
    await client.upsert('points', { wait: true, points: first });
    await client.upsert('points', {
      wait: true,
      batch: {
        ids: second.map((point) => point.id),
        vectors: second.map((point) => point.vector),
        payloads: second.map((point) => point.payload),
      },
    });
    expect((await client.count('points', { exact: true })).count).toBe(60);
    expect(
      (await client.count('points', { filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] } })).count,
    ).toBe(20);
    const retrieved = await client.retrieve('points', { ids: [3, 45], with_vector: true });
    expect(retrieved.map((point) => point.id)).toEqual([3, 45]);
    expect(retrieved[0]?.payload).toEqual(POINTS[2]?.payload);
    expect(retrieved[1]?.vector).toEqual(Array.from(new Float32Array(POINTS[44]?.vector ?? [])));
    expect((await client.getCollection('points')).points_count).toBe(60);
  });

  it('searches and queries exactly like a brute-force search, with filters, offsets and a point id', async () => {
    const query = POINTS[7]?.vector as number[];
    const searched = await client.search('points', { vector: query, limit: 5, params: { exact: true } });
    expect(searched.map((hit) => hit.id)).toEqual(expected(query, 5));
    const london = (payload: Record<string, unknown>): boolean => payload['city'] === 'London';
    const filter = { must: [{ key: 'city', match: { value: 'London' } }] };
    const queried = await client.query('points', {
      query,
      limit: 5,
      filter,
      with_payload: true,
      params: { exact: true },
    });
    expect(queried.points.map((hit) => hit.id)).toEqual(expected(query, 5, london));
    expect(queried.points.every((hit) => hit.payload?.['city'] === 'London')).toBe(true);
    const offset = await client.query('points', { query, limit: 3, offset: 2, params: { exact: true } });
    expect(offset.points.map((hit) => hit.id)).toEqual(expected(query, 5).slice(2));
    const byId = await client.query('points', { query: 8, limit: 4, params: { exact: true } });
    expect(byId.points.map((hit) => hit.id)).toEqual(
      expected(query, 5)
        .filter((id) => id !== 8)
        .slice(0, 4),
    );
    const ranged = await client.search('points', {
      vector: query,
      limit: 60,
      filter: { must: [{ key: 'price', range: { gte: 10, lt: 20 } }] },
    });
    expect(ranged.map((hit) => hit.id).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 10 }, (_, index) => index + 11),
    );
    const threshold = (searched[2]?.score ?? 0) - 1e-9;
    const above = await client.search('points', {
      vector: query,
      limit: 10,
      score_threshold: threshold,
      params: { exact: true },
    });
    expect(above.map((hit) => hit.id)).toEqual(expected(query, 3));
    const batch = await client.searchBatch('points', {
      searches: [
        { vector: query, limit: 2 },
        { vector: POINTS[0]?.vector as number[], limit: 1 },
      ],
    });
    expect(batch.map((hits) => hits.map((hit) => hit.id))).toEqual([expected(query, 2), [1]]);
  });

  it('scrolls through every point exactly once, pages following next_page_offset', async () => {
    const seen: number[] = [];
    let offset: number | string | null | undefined;
    do {
      const page: Awaited<ReturnType<QdrantClient['scroll']>> = await client.scroll('points', {
        limit: 7,
        ...(offset === undefined ? {} : { offset }),
      });
      seen.push(...page.points.map((point) => Number(point.id)));
      expect(page.points.every((point) => point.payload !== null && point.payload !== undefined)).toBe(true);
      offset = page.next_page_offset as number | string | null;
    } while (offset !== null && offset !== undefined);
    expect(seen.length).toBe(60);
    expect([...seen].sort((a, b) => a - b)).toEqual(POINTS.map((point) => point.id));
    const filtered = await client.scroll('points', {
      filter: { must: [{ key: 'tags', match: { value: 'odd' } }] },
      limit: 100,
    });
    expect(filtered.points.length).toBe(30);
    expect(filtered.next_page_offset).toBeNull();
  });

  it('sets and overwrites payloads, by ids and by filter', async () => {
    await client.setPayload('points', { payload: { flag: 'x' }, points: [1, 2] });
    expect((await client.retrieve('points', { ids: [1] }))[0]?.payload).toEqual({ ...POINTS[0]?.payload, flag: 'x' });
    await client.overwritePayload('points', { payload: { only: true }, points: [2] });
    expect((await client.retrieve('points', { ids: [2] }))[0]?.payload).toEqual({ only: true });
    await client.setPayload('points', {
      payload: { region: 'east' },
      filter: { must: [{ key: 'city', match: { value: 'Moscow' } }] },
    });
    expect(
      (await client.count('points', { filter: { must: [{ key: 'region', match: { value: 'east' } }] } })).count,
    ).toBe(20);
    const [moved] = await client.retrieve('points', { ids: [3], with_vector: true });
    expect(moved?.vector).toEqual(Array.from(new Float32Array(POINTS[2]?.vector ?? [])));
  });

  it('deletes by ids and by filter', async () => {
    await client.delete('points', { wait: true, points: [1, 2] });
    expect((await client.retrieve('points', { ids: [1, 2, 3] })).map((point) => point.id)).toEqual([3]);
    await client.delete('points', { wait: true, filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] } });
    // 2 deleted by id, then the 19 other Berlin points (the point 2 was one).
    expect((await client.count('points')).count).toBe(39);
    expect(
      (await client.count('points', { filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] } })).count,
    ).toBe(0);
  });

  it('answers bad input with Qdrant error shapes and the right 4xx, and stays up', async () => {
    const cases: [string, RequestInit, number][] = [
      ['/collections/nothing', {}, 404],
      [
        '/collections/points/points/search',
        { method: 'POST', body: JSON.stringify({ vector: [1, 2], limit: 1 }) },
        400,
      ],
      ['/collections/points/points/search', { method: 'POST', body: JSON.stringify({ vector: 'x', limit: 1 }) }, 400],
      [
        '/collections/points/points',
        { method: 'PUT', body: '{"points": [{"id": 18446744073709551615, "vector": [1,2,3,4,5,6,7,8]}]}' },
        400,
      ],
      ['/collections/points/points', { method: 'PUT', body: '{"points": [' }, 400],
      [
        '/collections/points/points/query',
        {
          method: 'POST',
          body: JSON.stringify({
            query: [1, 2, 3, 4, 5, 6, 7, 8],
            filter: { must: [{ key: 'a', match: { text: 'x' } }] },
          }),
        },
        400,
      ],
      [
        '/collections/named',
        { method: 'PUT', body: JSON.stringify({ vectors: { dense: { size: 4, distance: 'Cosine' } } }) },
        400,
      ],
      ['/no/such/path', {}, 404],
      [
        '/collections/points/points/scroll',
        { method: 'POST', body: `{"filter": ${'['.repeat(100)}${']'.repeat(100)}}` },
        400,
      ],
    ];
    for (const [path, init, status] of cases) {
      const answer = await raw(path, init);
      expect({ path, status: answer.status }).toEqual({ path, status });
      expect(answer.body).toMatchObject({ status: { error: expect.any(String) } });
    }
    expect(await statusOfLargeBody('/collections/points/points', 33 * 1024 * 1024)).toBe(413);
    expect((await client.count('points')).count).toBe(39);
  });

  it('serves the version, health and metrics endpoints', async () => {
    const root = await raw('/');
    expect(root.body).toMatchObject({ version: '1.18.0' });
    expect((await raw('/healthz')).status).toBe(200);
    const metrics = await raw('/metrics');
    expect(String(metrics.body)).toContain('shoal_requests_total{operation="search",collection="points",outcome="ok"}');
  });

  it('works under LangChain QdrantVectorStore: fromTexts, filtered search on metadata.*, MMR and delete', async () => {
    const embeddings = new SyntheticEmbeddings({ vectorSize: 6 });
    const texts = ['apples and pears', 'apples and plums', 'cars and trucks', 'boats and ships'];
    const metadatas = texts.map((_, index) => ({ topic: index < 2 ? 'fruit' : 'vehicles', rank: index }));
    const store = await QdrantVectorStore.fromTexts(texts, metadatas, embeddings, {
      url: served.url,
      collectionName: 'lc',
    });
    const found = await store.similaritySearch('cars and trucks', 1);
    expect(found.map((doc) => doc.pageContent)).toEqual(['cars and trucks']);
    const fruit = await store.similaritySearch('cars and trucks', 4, {
      must: [{ key: 'metadata.topic', match: { value: 'fruit' } }],
    });
    expect(fruit.map((doc) => doc.metadata['topic'])).toEqual(['fruit', 'fruit']);
    const diverse = await store.maxMarginalRelevanceSearch('apples and pears', { k: 2, fetchK: 4, lambda: 0.5 });
    expect(diverse[0]?.pageContent).toBe('apples and pears');
    expect(diverse).toHaveLength(2);
    await store.delete({ filter: { must: [{ key: 'metadata.topic', match: { value: 'vehicles' } }] } });
    const left = await store.similaritySearch('boats', 4);
    expect(left.map((doc) => doc.metadata['topic'])).toEqual(['fruit', 'fruit']);
    await store.addDocuments([new Document({ pageContent: 'tea', metadata: { topic: 'drinks' } })], {
      ids: ['5c56c793-69f3-4fbf-87e6-c4bf54c28c26'],
    });
    await store.delete({ ids: ['5c56c793-69f3-4fbf-87e6-c4bf54c28c26'] });
    expect((await client.count('lc')).count).toBe(2);
  });
});

describe('shoal serve with an API key, and its shutdown', () => {
  it('requires the key on every request (api-key or Bearer), and SIGTERM stops cleanly keeping every point', async () => {
    const home = await temporaryDirectory('shoal-serve-key-');
    const secure = await serveShoal(['--data-dir', home.path], { SHOAL_API_KEY: 'sesame' });
    try {
      expect((await fetch(`${secure.url}/collections`)).status).toBe(401);
      expect((await fetch(`${secure.url}/collections`, { headers: { 'api-key': 'wrong' } })).status).toBe(401);
      expect((await fetch(`${secure.url}/collections`, { headers: { authorization: 'Bearer sesame' } })).status).toBe(
        200,
      );
      const keyed = new QdrantClient({ url: secure.url, apiKey: 'sesame' });
      await keyed.createCollection('kept', { vectors: { size: 2, distance: 'Euclid' } });
      await keyed.upsert('kept', {
        wait: true,
        points: [
          { id: 1, vector: [0, 0] },
          { id: 2, vector: [3, 4] },
        ],
      });
      const hits = await keyed.search('kept', { vector: [0, 0], limit: 2 });
      expect(hits.map((hit) => [hit.id, hit.score])).toEqual([
        [1, 0],
        [2, 5],
      ]);
      expect(await secure.stop()).toBe(0);
      expect(secure.output()).toContain('stopping');
      const again = await serveShoal(['--data-dir', home.path, '--api-key', 'sesame']);
      try {
        const reopened = new QdrantClient({ url: again.url, apiKey: 'sesame' });
        expect((await reopened.count('kept')).count).toBe(2);
      } finally {
        expect(await again.stop()).toBe(0);
      }
    } finally {
      await home.remove();
    }
  }, 120_000);
});
