// Proves ShoalVectorStore behaves as LangChain's vector store contract asks, by porting the checks of LangChain's
// Python VectorStoreIntegrationTests (an empty store, ids returned, inputs not mutated, re-adding ids is idempotent,
// adding replaces, deleting missing ids, get by ids in order, and the async variants, which in JavaScript are the only
// ones) to a real Shoal with real threads and files and @langchain/core's own SyntheticEmbeddings; plus Shoal filters,
// MMR, delete by filter, fromTexts/fromExistingCollection and the creation of a missing collection with the embeddings'
// dimension.
import { Document } from '@langchain/core/documents';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../../index.js';
import { ShoalVectorStore } from '../../../actors/adapters/langchain.js';
import { temporaryDirectory } from '../../fixtures/vectors.js';

const DIMENSION = 6;
const embeddings = new SyntheticEmbeddings({ vectorSize: DIMENSION });

let db: Shoal;
let folder: { path: string; remove: () => Promise<void> };
let collection = 0;
let store: ShoalVectorStore;

beforeAll(async () => {
  folder = await temporaryDirectory('shoal-langchain-');
  // Few threads: each test's collection shares them instead of starting its own (the tests are about the store).
  db = await Shoal.open({ dataDir: folder.path, metadataReplicas: 1, maxWorkers: 3 });
});

afterAll(async () => {
  await db.close();
  await folder.remove();
});

/** A fresh store over a collection that does not exist yet: every test starts empty. */
beforeEach(() => {
  collection += 1;
  store = new ShoalVectorStore(embeddings, { client: db, collectionName: `lc-${collection}`, shards: 1 });
});

afterEach(async () => {
  const names = (await db.listCollections()).map((info) => info.name);
  if (names.includes(store.collectionName)) await db.dropCollection(store.collectionName);
});

/** `new Document` with an id, as the store answers them. */
function document(id: string, pageContent: string, metadata: Record<string, unknown>): Document {
  return new Document({ id, pageContent, metadata });
}

describe('ShoalVectorStore, the checks of LangChain VectorStoreIntegrationTests', () => {
  it('is empty before anything is added (and the collection does not exist yet)', async () => {
    expect(await store.similaritySearch('foo', 1)).toEqual([]);
    expect((await db.listCollections()).map((info) => info.name)).not.toContain(store.collectionName);
  });

  it('adds documents, answers their ids, finds them, and leaves the input documents unchanged', async () => {
    const originals = [
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    const ids = await store.addDocuments(originals);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(await store.similaritySearch('bar', 2)).toEqual([
      document(ids[1] as string, 'bar', { id: 2 }),
      document(ids[0] as string, 'foo', { id: 1 }),
    ]);
    expect(originals).toEqual([
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ]);
    const info = (await db.listCollections()).find((entry) => entry.name === store.collectionName);
    expect(info?.dimension).toBe(DIMENSION);
  });

  it('deletes documents by id', async () => {
    const documents = [
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    expect(await store.addDocuments(documents, { ids: ['1', '2'] })).toEqual(['1', '2']);
    await store.delete({ ids: ['1'] });
    expect(await store.similaritySearch('foo', 1)).toEqual([document('2', 'bar', { id: 2 })]);
  });

  it('deletes documents in bulk', async () => {
    const documents = ['foo', 'bar', 'baz'].map(
      (text, index) => new Document({ pageContent: text, metadata: { id: index + 1 } }),
    );
    await store.addDocuments(documents, { ids: ['1', '2', '3'] });
    await store.delete({ ids: ['1', '2'] });
    expect(await store.similaritySearch('foo', 1)).toEqual([document('3', 'baz', { id: 3 })]);
  });

  it('deletes missing content without an error, on an empty store and on a filled one', async () => {
    await store.delete({ ids: ['1'] });
    await store.delete({ ids: ['1', '2', '3'] });
    await store.addDocuments([new Document({ pageContent: 'foo', metadata: {} })], { ids: ['9'] });
    await store.delete({ ids: ['1', '2', '3'] });
    expect(await store.getByIds(['9'])).toEqual([document('9', 'foo', {})]);
  });

  it('re-adding the same ids is idempotent', async () => {
    const documents = [
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    await store.addDocuments(documents, { ids: ['1', '2'] });
    await store.addDocuments(documents, { ids: ['1', '2'] });
    expect(await store.similaritySearch('bar', 2)).toEqual([
      document('2', 'bar', { id: 2 }),
      document('1', 'foo', { id: 1 }),
    ]);
  });

  it('adding a document with an existing id replaces it', async () => {
    await store.addDocuments(
      [
        new Document({ pageContent: 'foo', metadata: { id: 1 } }),
        new Document({ pageContent: 'bar', metadata: { id: 2 } }),
      ],
      { ids: ['1', '2'] },
    );
    await store.addDocuments([new Document({ pageContent: 'new foo', metadata: { id: 1, some_other_field: 'foo' } })], {
      ids: ['1'],
    });
    expect(await store.similaritySearch('new foo', 2)).toEqual([
      document('1', 'new foo', { id: 1, some_other_field: 'foo' }),
      document('2', 'bar', { id: 2 }),
    ]);
  });

  it('gets documents by ids in the order asked', async () => {
    const documents = [
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    const ids = await store.addDocuments(documents);
    expect(await store.getByIds([ids[1] as string, ids[0] as string])).toEqual([
      document(ids[1] as string, 'bar', { id: 2 }),
      document(ids[0] as string, 'foo', { id: 1 }),
    ]);
  });

  it('gets nothing for missing ids', async () => {
    expect(await store.getByIds(['1', '2', '3'])).toEqual([]);
    await store.addDocuments([new Document({ pageContent: 'foo', metadata: {} })]);
    expect(await store.getByIds(['1', '2', '3'])).toEqual([]);
  });

  it('adds documents with the ids passed in options', async () => {
    const documents = [
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    expect(await store.addDocuments(documents, { ids: ['1', '2'] })).toEqual(['1', '2']);
    expect(await store.getByIds(['1', '2'])).toEqual([
      document('1', 'foo', { id: 1 }),
      document('2', 'bar', { id: 2 }),
    ]);
  });

  it('keeps the ids documents already carry', async () => {
    const documents = [
      new Document({ id: 'foo', pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ];
    const ids = await store.addDocuments(documents);
    expect(ids[0]).toBe('foo');
    expect(await store.getByIds(ids)).toEqual([
      document('foo', 'foo', { id: 1 }),
      document(ids[1] as string, 'bar', { id: 2 }),
    ]);
  });
});

describe('ShoalVectorStore, Shoal specifics', () => {
  const texts = ['apples and pears', 'apples and plums', 'cars and trucks', 'boats and ships'];
  const metadatas = texts.map((_, index) => ({ topic: index < 2 ? 'fruit' : 'vehicles', rank: index }));

  it('answers scores best first and honours Shoal filters', async () => {
    store = await ShoalVectorStore.fromTexts(texts, metadatas, embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    const scored = await store.similaritySearchWithScore('apples and pears', 4);
    expect(scored[0]?.[0].pageContent).toBe('apples and pears');
    expect(scored[0]?.[1]).toBeCloseTo(1, 5);
    const scores = scored.map(([, score]) => score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const vehicles = await store.similaritySearch('apples and pears', 4, { topic: 'vehicles' });
    expect(vehicles.map((found) => found.metadata.topic)).toEqual(['vehicles', 'vehicles']);
    const ranked = await store.similaritySearch('boats', 4, { rank: { $gte: 3 } });
    expect(ranked.map((found) => found.pageContent)).toEqual(['boats and ships']);
  });

  it('maximal marginal relevance picks the best match first, then diverse ones, within the filter', async () => {
    store = await ShoalVectorStore.fromTexts(texts, metadatas, embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    const picked = await store.maxMarginalRelevanceSearch('apples and pears', { k: 2, fetchK: 4, lambda: 0.5 });
    expect(picked).toHaveLength(2);
    expect(picked[0]?.pageContent).toBe('apples and pears');
    expect(picked[1]?.pageContent).not.toBe('apples and pears');
    const filtered = await store.maxMarginalRelevanceSearch('apples', {
      k: 3,
      fetchK: 4,
      filter: { topic: 'vehicles' },
    });
    expect(filtered.map((found) => found.metadata.topic)).toEqual(['vehicles', 'vehicles']);
  });

  it('deletes by filter', async () => {
    store = await ShoalVectorStore.fromTexts(texts, metadatas, embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    await store.delete({ filter: { topic: 'fruit' } });
    const left = await store.similaritySearch('apples', 4);
    expect(left.map((found) => found.metadata.topic).sort()).toEqual(['vehicles', 'vehicles']);
  });

  it('opens an existing collection, and refuses a missing one with COLLECTION_NOT_FOUND', async () => {
    await ShoalVectorStore.fromDocuments([new Document({ pageContent: 'foo', metadata: {} })], embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    const existing = await ShoalVectorStore.fromExistingCollection(embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    expect((await existing.similaritySearch('foo', 1)).map((found) => found.pageContent)).toEqual(['foo']);
    const missing = ShoalVectorStore.fromExistingCollection(embeddings, {
      client: db,
      collectionName: 'no-such-collection',
    });
    await expect(missing).rejects.toMatchObject({ code: 'COLLECTION_NOT_FOUND' });
  });

  it('refuses metadata that would hide the page content, and mismatched ids, with INVALID_ARGUMENT', async () => {
    const clash = store.addDocuments([new Document({ pageContent: 'foo', metadata: { text: 'mine' } })]);
    await expect(clash).rejects.toBeInstanceOf(ShoalError);
    await expect(clash).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ids = store.addDocuments([new Document({ pageContent: 'foo', metadata: {} })], { ids: ['1', '2'] });
    await expect(ids).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('works as a retriever', async () => {
    store = await ShoalVectorStore.fromTexts(texts, metadatas, embeddings, {
      client: db,
      collectionName: store.collectionName,
    });
    const retriever = store.asRetriever({ k: 1, filter: { topic: 'vehicles' } });
    const found = await retriever.invoke('cars and trucks');
    expect(found.map((hit) => hit.pageContent)).toEqual(['cars and trucks']);
  });
});
