/**
 * Shoal as a LangChain.js vector store (`import { ShoalVectorStore } from
 * 'shoal/langchain'`). A document is one record: its vector, its metadata
 * with the page content stored under `textKey` (default `text`), and its id
 * (the document's `id`, an id given in `ids`, or a random UUID). Filters are
 * Shoal's own, over the document's metadata. Scores are Shoal's: for cosine
 * and dot a similarity (higher is better), for l2 a distance.
 *
 * Imports only the host client and `@langchain/core`, an optional peer
 * dependency: nothing else of Shoal loads LangChain.
 */
import { randomUUID } from 'node:crypto';
import { Document } from '@langchain/core/documents';
import type { DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { VectorStore } from '@langchain/core/vectorstores';
import type { MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import type { Shoal } from '../client/shoal.js';
import { collectionExists, createCollectionIfMissing, orWhenMissing } from './missing-collection.js';
import type { Filter, Metadata, Metric, RecordResult } from '../public-api.js';

/** How a store reaches its collection. */
export interface ShoalVectorStoreArgs {
  /** An open database; the store never closes it. */
  readonly client: Shoal;
  readonly collectionName: string;
  /** The metadata key that holds a document's page content (default `text`). */
  readonly textKey?: string;
  /** The metric of a collection the store creates (default `cosine`). */
  readonly metric?: Metric;
  /** The shards of a collection the store creates (Shoal's default when absent). */
  readonly shards?: number;
}

/** Options of `addVectors` and `addDocuments`: `ids[i]` is the id of document i. */
export interface ShoalAddOptions {
  readonly ids?: readonly string[];
}

/** `delete` by ids, or every record whose metadata matches a filter. */
export type ShoalDeleteParams = { readonly ids: readonly string[] } | { readonly filter: Filter };

const DEFAULT_TEXT_KEY = 'text';
const DEFAULT_FETCH_K = 20;
const DEFAULT_LAMBDA = 0.5;

/** A LangChain `VectorStore` over one Shoal collection. */
export class ShoalVectorStore extends VectorStore {
  declare FilterType: Filter;

  readonly client: Shoal;
  readonly collectionName: string;
  readonly textKey: string;
  private readonly metric: Metric;
  private readonly shards: number | undefined;
  /** Settles once the collection is known to exist (created on the first write when missing). */
  private ensured: Promise<void> | null = null;

  constructor(embeddings: EmbeddingsInterface, args: ShoalVectorStoreArgs) {
    super(embeddings, args);
    this.client = args.client;
    this.collectionName = args.collectionName;
    this.textKey = args.textKey ?? DEFAULT_TEXT_KEY;
    this.metric = args.metric ?? 'cosine';
    this.shards = args.shards;
  }

  _vectorstoreType(): string {
    return 'shoal';
  }

  /** Writes one record per document; answers the ids in the documents' order. Re-adding an id replaces it. */
  async addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options: ShoalAddOptions = {},
  ): Promise<string[]> {
    if (vectors.length !== documents.length) {
      throw invalidArgument('vectors', `${vectors.length} vectors for ${documents.length} documents`);
    }
    if (options.ids !== undefined && options.ids.length !== documents.length) {
      throw invalidArgument('ids', `${options.ids.length} ids for ${documents.length} documents`);
    }
    const ids = documents.map((document, index) => options.ids?.[index] ?? document.id ?? randomUUID());
    if (documents.length === 0) return ids;
    const first = vectors[0] as number[];
    await this.ensureCollection(first.length);
    const records = documents.map((document, index) => ({
      id: ids[index] as string,
      vector: vectors[index] as number[],
      metadata: this.recordMetadata(document),
    }));
    await this.client.upsert(this.collectionName, records);
    return ids;
  }

  /** Embeds the documents' page content and writes them. */
  async addDocuments(documents: DocumentInterface[], options: ShoalAddOptions = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((document) => document.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** The `k` nearest documents to `query` with their scores, best first, among those matching `filter`. */
  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: Filter,
  ): Promise<[DocumentInterface, number][]> {
    const search = { vector: query, k, ...(filter ? { filter } : {}) };
    const hits = await orWhenMissing(this.client.search(this.collectionName, search), []);
    return hits.map((hit) => [this.documentOf(hit.id, hit.metadata), hit.score]);
  }

  /**
   * Maximal marginal relevance: fetches `fetchK` candidates, then picks `k` of them trading relevance to the query
   * against similarity to those already picked (`lambda` 1 is pure relevance, 0 pure diversity).
   */
  async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<Filter>,
  ): Promise<DocumentInterface[]> {
    const vector = await this.embeddings.embedQuery(query);
    const fetchK = options.fetchK ?? DEFAULT_FETCH_K;
    const filter = options.filter;
    const search = { vector, k: fetchK, ...(filter ? { filter } : {}) };
    const hits = await orWhenMissing(this.client.search(this.collectionName, search), []);
    if (hits.length === 0) return [];
    const records = await this.client.get(
      this.collectionName,
      hits.map((hit) => hit.id),
    );
    const candidates = records.map((record) => Array.from(record.vector));
    const picked = maximalMarginalRelevance(vector, candidates, options.lambda ?? DEFAULT_LAMBDA, options.k);
    return picked.map((index) => this.documentOfRecord(records[index] as RecordResult));
  }

  /** Deletes by ids (missing ids are not an error) or every document whose metadata matches `filter`. */
  async delete(params: ShoalDeleteParams): Promise<void> {
    if ('ids' in params) {
      if (params.ids.length > 0) await orWhenMissing(this.client.delete(this.collectionName, params.ids), null);
      return;
    }
    if ('filter' in params) {
      await orWhenMissing(this.client.deleteWhere(this.collectionName, params.filter), null);
      return;
    }
    throw invalidArgument('delete', 'pass { ids } or { filter }');
  }

  /** The documents with these ids that exist, in the order asked. */
  async getByIds(ids: readonly string[]): Promise<DocumentInterface[]> {
    if (ids.length === 0) return [];
    const records = await orWhenMissing(this.client.get(this.collectionName, ids), []);
    return records.map((record) => this.documentOfRecord(record));
  }

  /** A store over `texts`, one document each with `metadatas[i]` (or the same object for all). */
  static async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    args: ShoalVectorStoreArgs,
  ): Promise<ShoalVectorStore> {
    const documents = texts.map((pageContent, index) => {
      const metadata = Array.isArray(metadatas) ? (metadatas[index] as object | undefined) : metadatas;
      return new Document({ pageContent, metadata: { ...(metadata ?? {}) } });
    });
    return ShoalVectorStore.fromDocuments(documents, embeddings, args);
  }

  /** A store holding `documents`. */
  static async fromDocuments(
    documents: DocumentInterface[],
    embeddings: EmbeddingsInterface,
    args: ShoalVectorStoreArgs,
  ): Promise<ShoalVectorStore> {
    const store = new ShoalVectorStore(embeddings, args);
    await store.addDocuments(documents);
    return store;
  }

  /** A store over a collection that must exist already (COLLECTION_NOT_FOUND otherwise). */
  static async fromExistingCollection(
    embeddings: EmbeddingsInterface,
    args: ShoalVectorStoreArgs,
  ): Promise<ShoalVectorStore> {
    const store = new ShoalVectorStore(embeddings, args);
    if (!(await store.exists())) {
      const collection = args.collectionName;
      throw new ShoalError('COLLECTION_NOT_FOUND', `no collection named ${collection}`, { collection });
    }
    store.ensured = Promise.resolve();
    return store;
  }

  private exists(): Promise<boolean> {
    return collectionExists(this.client, this.collectionName);
  }

  /** Creates the collection with the embeddings' dimension when it is missing; once per store. */
  private ensureCollection(dimension: number): Promise<void> {
    const shape = { name: this.collectionName, metric: this.metric, shards: this.shards };
    this.ensured ??= createCollectionIfMissing(this.client, shape, dimension).catch((error: unknown) => {
      this.ensured = null;
      throw error;
    });
    return this.ensured;
  }

  private recordMetadata(document: DocumentInterface): Metadata {
    const metadata = document.metadata as Metadata;
    if (Object.hasOwn(metadata, this.textKey)) {
      throw invalidArgument(
        `metadata.${this.textKey}`,
        `document metadata may not hold "${this.textKey}": the store keeps the page content there`,
      );
    }
    return { ...metadata, [this.textKey]: document.pageContent };
  }

  private documentOf(id: string, stored: Metadata | null): DocumentInterface {
    const { [this.textKey]: text, ...metadata } = stored ?? {};
    return new Document({ id, pageContent: typeof text === 'string' ? text : '', metadata });
  }

  private documentOfRecord(record: RecordResult): DocumentInterface {
    return this.documentOf(record.id, record.metadata);
  }
}
