/**
 * Shoal as a LlamaIndex.TS vector store (`import { ShoalVectorStore } from
 * 'shoal/llamaindex'`). A node is one record: its embedding, and its
 * metadata as LlamaIndex's own `nodeToMetadata` lays it out (the node's
 * metadata fields at the top, so filters reach them, beside `_node_content`,
 * `_node_type` and `ref_doc_id`), read back with `metadataDictToNode`.
 * Deleting a reference document deletes every node whose `ref_doc_id` is it.
 * LlamaIndex metadata filters are translated to Shoal filters; the few that
 * Shoal cannot honour exactly are refused with INVALID_ARGUMENT.
 *
 * Imports only the host client and `@llamaindex/core`, an optional peer
 * dependency.
 */
import type { BaseNode, Metadata as NodeMetadata } from '@llamaindex/core/schema';
import { BaseVectorStore, metadataDictToNode, nodeToMetadata } from '@llamaindex/core/vector-store';
import type {
  MetadataFilter,
  MetadataFilters,
  VectorStoreBaseParams,
  VectorStoreQuery,
  VectorStoreQueryResult,
} from '@llamaindex/core/vector-store';
import { invalidArgument } from '../../runtime/errors.js';
import type { Shoal } from '../client/shoal.js';
import { createCollectionIfMissing, orWhenMissing } from './missing-collection.js';
import type { Filter, Metric } from '../public-api.js';

/** How a store reaches its collection. */
export interface ShoalVectorStoreParams extends VectorStoreBaseParams {
  /** An open database; the store never closes it. */
  readonly client: Shoal;
  readonly collectionName: string;
  /** The metric of a collection the store creates (default `cosine`). */
  readonly metric?: Metric;
  /** The shards of a collection the store creates (Shoal's default when absent). */
  readonly shards?: number;
}

/** A LlamaIndex `BaseVectorStore` over one Shoal collection. */
export class ShoalVectorStore extends BaseVectorStore<Shoal> {
  storesText = true;
  readonly collectionName: string;
  private readonly shoal: Shoal;
  private readonly metric: Metric;
  private readonly shards: number | undefined;
  private ensured: Promise<void> | null = null;

  constructor(params: ShoalVectorStoreParams) {
    super(params);
    this.shoal = params.client;
    this.collectionName = params.collectionName;
    this.metric = params.metric ?? 'cosine';
    this.shards = params.shards;
  }

  client(): Shoal {
    return this.shoal;
  }

  /** Writes the nodes (each must carry its embedding); answers their ids. Re-adding a node id replaces it. */
  async add(nodes: BaseNode[]): Promise<string[]> {
    if (nodes.length === 0) return [];
    const records = nodes.map((node) => ({
      id: node.id_,
      vector: node.getEmbedding(),
      metadata: nodeToMetadata(node),
    }));
    await this.ensureCollection(records[0]?.vector.length ?? 0);
    await this.shoal.upsert(this.collectionName, records);
    return records.map((record) => record.id);
  }

  /** Deletes every node of the reference document `refDocId`. */
  async delete(refDocId: string): Promise<void> {
    await orWhenMissing(this.shoal.deleteWhere(this.collectionName, { ref_doc_id: refDocId }), null);
  }

  /** The `similarityTopK` nearest nodes to the query embedding among those the filters and `docIds` allow. */
  async query(query: VectorStoreQuery): Promise<VectorStoreQueryResult> {
    if (query.mode !== 'default') {
      throw invalidArgument('mode', `query mode ${query.mode} is not supported (only default)`);
    }
    if (query.queryEmbedding === undefined) throw invalidArgument('queryEmbedding', 'a query embedding is required');
    const filter = queryFilter(query);
    const search = { vector: query.queryEmbedding, k: query.similarityTopK, ...(filter ? { filter } : {}) };
    const hits = await orWhenMissing(this.shoal.search(this.collectionName, search), []);
    return {
      nodes: hits.map((hit) => metadataDictToNode((hit.metadata ?? {}) as NodeMetadata)),
      similarities: hits.map((hit) => hit.score),
      ids: hits.map((hit) => hit.id),
    };
  }

  /** Creates the collection with the nodes' dimension when it is missing; once per store. */
  private ensureCollection(dimension: number): Promise<void> {
    const shape = { name: this.collectionName, metric: this.metric, shards: this.shards };
    this.ensured ??= createCollectionIfMissing(this.shoal, shape, dimension).catch((error: unknown) => {
      this.ensured = null;
      throw error;
    });
    return this.ensured;
  }
}

/** The Shoal filter of a query: its metadata filters and its document ids, ANDed; undefined when it has none. */
export function queryFilter(query: Pick<VectorStoreQuery, 'filters' | 'docIds'>): Filter | undefined {
  const parts: Filter[] = [];
  if (query.filters !== undefined && query.filters.filters.length > 0) parts.push(translateFilters(query.filters));
  if (query.docIds !== undefined && query.docIds.length > 0) parts.push({ ref_doc_id: { $in: query.docIds } });
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { $and: parts };
}

/** LlamaIndex metadata filters as one Shoal filter (`and` unless the condition says `or`). */
export function translateFilters(filters: MetadataFilters): Filter {
  const conditions = filters.filters.map(translateFilter);
  return filters.condition === 'or' ? { $or: conditions } : { $and: conditions };
}

function translateFilter(filter: MetadataFilter): Filter {
  const { key } = filter;
  switch (filter.operator) {
    case '==':
    case 'contains': // a metadata array matches equality when any element does
      return { [key]: { $eq: scalar(filter) } };
    case '!=':
      return { [key]: { $ne: scalar(filter) } };
    case '>':
      return { [key]: { $gt: scalar(filter) } };
    case '>=':
      return { [key]: { $gte: scalar(filter) } };
    case '<':
      return { [key]: { $lt: scalar(filter) } };
    case '<=':
      return { [key]: { $lte: scalar(filter) } };
    case 'in':
    case 'any': // an array field matches $in when any element is in the list
      return { [key]: { $in: list(filter) } };
    case 'nin':
      return { [key]: { $nin: list(filter) } };
    case 'all':
      return { $and: list(filter).map((element) => ({ [key]: { $eq: element } })) };
    case 'is_empty':
      return { [key]: { $exists: false } };
    default:
      throw invalidArgument(`filters.${key}`, `the operator ${filter.operator} is not supported`);
  }
}

function scalar(filter: MetadataFilter): string | number {
  if (typeof filter.value === 'string' || typeof filter.value === 'number') return filter.value;
  throw invalidArgument(`filters.${filter.key}`, `${filter.operator} needs a string or a number`);
}

function list(filter: MetadataFilter): (string | number)[] {
  if (Array.isArray(filter.value)) return [...filter.value];
  throw invalidArgument(`filters.${filter.key}`, `${filter.operator} needs an array`);
}
