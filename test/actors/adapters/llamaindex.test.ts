// Proves the LlamaIndex.TS ShoalVectorStore keeps LlamaIndex's BaseVectorStore contract on a real Shoal (threads,
// files): nodes added with @llamaindex/core's TextNode and an embedding model built on its BaseEmbedding come back from
// query rebuilt (text, metadata, reference document) with their similarities best first; every metadata filter operator
// and both conditions select exactly what an oracle evaluating LlamaIndex's documented semantics selects; docIds
// restrict to reference documents; deleting a reference document deletes its nodes and nothing else; what Shoal cannot
// honour is refused with INVALID_ARGUMENT.
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import { MetadataMode, NodeRelationship, TextNode } from '@llamaindex/core/schema';
import { VectorStoreQueryMode } from '@llamaindex/core/vector-store';
import type { BaseNode } from '@llamaindex/core/schema';
import type { MetadataFilter, MetadataFilters } from '@llamaindex/core/vector-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../../index.js';
import { ShoalVectorStore, translateFilters } from '../../../actors/adapters/llamaindex.js';
import { temporaryDirectory } from '../../fixtures/vectors.js';

const DIMENSION = 8;

/** A deterministic embedding: letter counts folded into DIMENSION buckets, so equal texts embed equally. */
class LetterEmbedding extends BaseEmbedding {
  // biome-ignore lint/complexity/noUselessConstructor: BaseEmbedding's constructor is protected; this one is public.
  constructor() {
    super();
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    const vector = new Array<number>(DIMENSION).fill(0.01);
    for (const character of text.toLowerCase()) {
      const code = character.charCodeAt(0);
      if (code >= 97 && code <= 122) vector[(code - 97) % DIMENSION] = (vector[(code - 97) % DIMENSION] ?? 0) + 1;
    }
    return vector;
  }
}

interface Sample {
  readonly id: string;
  readonly text: string;
  readonly document: string;
  readonly metadata: Record<string, unknown>;
}

const SAMPLES: readonly Sample[] = [
  {
    id: 'n1',
    text: 'apples and pears',
    document: 'doc-a',
    metadata: { topic: 'fruit', year: 2021, tags: ['red', 'green'] },
  },
  { id: 'n2', text: 'apples and plums', document: 'doc-a', metadata: { topic: 'fruit', year: 2023, tags: ['red'] } },
  { id: 'n3', text: 'cars and trucks', document: 'doc-b', metadata: { topic: 'vehicles', year: 2022, tags: ['blue'] } },
  { id: 'n4', text: 'boats and ships', document: 'doc-b', metadata: { topic: 'vehicles', year: 2024 } },
  {
    id: 'n5',
    text: 'tea and coffee',
    document: 'doc-c',
    metadata: { topic: 'drinks', year: 2020, tags: ['green', 'blue'] },
  },
];

/** LlamaIndex's documented meaning of one filter, evaluated directly on a sample's metadata. */
function oracle(filter: MetadataFilter, metadata: Record<string, unknown>): boolean {
  const field = metadata[filter.key];
  const values = Array.isArray(field) ? (field as unknown[]) : field === undefined ? [] : [field];
  const wanted = filter.value;
  const list = Array.isArray(wanted) ? (wanted as unknown[]) : [];
  switch (filter.operator) {
    case '==':
    case 'contains':
      return values.includes(wanted);
    case '!=':
      return !values.includes(wanted);
    case '>':
      return typeof field === 'number' && field > (wanted as number);
    case '>=':
      return typeof field === 'number' && field >= (wanted as number);
    case '<':
      return typeof field === 'number' && field < (wanted as number);
    case '<=':
      return typeof field === 'number' && field <= (wanted as number);
    case 'in':
    case 'any':
      return values.some((value) => list.includes(value));
    case 'nin':
      return !values.some((value) => list.includes(value));
    case 'all':
      return list.every((value) => values.includes(value));
    case 'is_empty':
      return field === undefined;
    default:
      throw new Error(`the oracle has no ${filter.operator}`);
  }
}

function oracleIds(filters: MetadataFilters): string[] {
  const matches = (sample: Sample): boolean => {
    const results = filters.filters.map((filter) => oracle(filter, sample.metadata));
    return filters.condition === 'or' ? results.some(Boolean) : results.every(Boolean);
  };
  return SAMPLES.filter(matches)
    .map((sample) => sample.id)
    .sort();
}

const embedModel = new LetterEmbedding();
let db: Shoal;
let folder: { path: string; remove: () => Promise<void> };
let store: ShoalVectorStore;

async function nodesOf(samples: readonly Sample[]): Promise<BaseNode[]> {
  return Promise.all(
    samples.map(async (sample) => {
      const node = new TextNode({
        id_: sample.id,
        text: sample.text,
        metadata: sample.metadata,
        relationships: { [NodeRelationship.SOURCE]: { nodeId: sample.document, metadata: {} } },
      });
      node.embedding = await embedModel.getTextEmbedding(sample.text);
      return node;
    }),
  );
}

async function queryIds(filters: MetadataFilters | undefined, docIds?: string[]): Promise<string[]> {
  const queryEmbedding = await embedModel.getTextEmbedding('anything');
  const result = await store.query({
    queryEmbedding,
    similarityTopK: SAMPLES.length,
    mode: VectorStoreQueryMode.DEFAULT,
    filters,
    ...(docIds ? { docIds } : {}),
  });
  return [...result.ids].sort();
}

beforeAll(async () => {
  folder = await temporaryDirectory('shoal-llamaindex-');
  db = await Shoal.open({ dataDir: folder.path, metadataReplicas: 1 });
  store = new ShoalVectorStore({ client: db, collectionName: 'llama', shards: 2, embedModel });
});

afterAll(async () => {
  await db.close();
  await folder.remove();
});

describe('ShoalVectorStore for LlamaIndex', () => {
  it('answers an empty result before anything is added', async () => {
    const result = await store.query({
      queryEmbedding: await embedModel.getTextEmbedding('x'),
      similarityTopK: 3,
      mode: VectorStoreQueryMode.DEFAULT,
    });
    expect(result).toEqual({ nodes: [], similarities: [], ids: [] });
  });

  it('adds nodes, creating the collection with their dimension, and answers their ids', async () => {
    expect(await store.add(await nodesOf(SAMPLES))).toEqual(SAMPLES.map((sample) => sample.id));
    const info = (await db.listCollections()).find((entry) => entry.name === 'llama');
    expect(info?.dimension).toBe(DIMENSION);
    expect(store.client()).toBe(db);
  });

  it('queries nodes back rebuilt, best first, with their similarities', async () => {
    const queryEmbedding = await embedModel.getTextEmbedding('cars and trucks');
    const result = await store.query({ queryEmbedding, similarityTopK: 2, mode: VectorStoreQueryMode.DEFAULT });
    expect(result.ids[0]).toBe('n3');
    expect(result.similarities[0]).toBeCloseTo(1, 5);
    expect(result.similarities[0]).toBeGreaterThanOrEqual(result.similarities[1] as number);
    const node = result.nodes?.[0] as TextNode;
    expect(node.getContent(MetadataMode.NONE)).toBe('cars and trucks');
    expect(node.metadata).toMatchObject({ topic: 'vehicles', year: 2022, tags: ['blue'] });
    expect(node.sourceNode?.nodeId).toBe('doc-b');
  });

  const cases: [string, MetadataFilters][] = [
    ['==', { filters: [{ key: 'topic', value: 'fruit', operator: '==' }] }],
    ['!=', { filters: [{ key: 'topic', value: 'fruit', operator: '!=' }] }],
    ['>', { filters: [{ key: 'year', value: 2022, operator: '>' }] }],
    ['>=', { filters: [{ key: 'year', value: 2022, operator: '>=' }] }],
    ['<', { filters: [{ key: 'year', value: 2022, operator: '<' }] }],
    ['<=', { filters: [{ key: 'year', value: 2022, operator: '<=' }] }],
    ['in', { filters: [{ key: 'topic', value: ['drinks', 'vehicles'], operator: 'in' }] }],
    ['nin', { filters: [{ key: 'topic', value: ['drinks', 'vehicles'], operator: 'nin' }] }],
    ['any', { filters: [{ key: 'tags', value: ['green', 'blue'], operator: 'any' }] }],
    ['all', { filters: [{ key: 'tags', value: ['red', 'green'], operator: 'all' }] }],
    ['contains', { filters: [{ key: 'tags', value: 'red', operator: 'contains' }] }],
    ['is_empty', { filters: [{ key: 'tags', operator: 'is_empty' }] }],
    [
      'and',
      {
        filters: [
          { key: 'topic', value: 'fruit', operator: '==' },
          { key: 'year', value: 2022, operator: '>' },
        ],
      },
    ],
    [
      'or',
      {
        condition: 'or',
        filters: [
          { key: 'topic', value: 'drinks', operator: '==' },
          { key: 'year', value: 2024, operator: '>=' },
        ],
      },
    ],
  ];

  it.each(cases)('filters with %s exactly as LlamaIndex means it', async (_, filters) => {
    const expected = oracleIds(filters);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(SAMPLES.length);
    expect(await queryIds(filters)).toEqual(expected);
  });

  it('restricts to reference documents with docIds, also beside filters', async () => {
    expect(await queryIds(undefined, ['doc-a', 'doc-c'])).toEqual(['n1', 'n2', 'n5']);
    const recent = { filters: [{ key: 'year', value: 2021, operator: '>' as const }] };
    expect(await queryIds(recent, ['doc-a', 'doc-c'])).toEqual(['n2']);
  });

  it('refuses what Shoal cannot honour with INVALID_ARGUMENT', async () => {
    expect(() => translateFilters({ filters: [{ key: 'topic', value: 'fru', operator: 'text_match' }] })).toThrow(
      /not supported/,
    );
    const queryEmbedding = await embedModel.getTextEmbedding('x');
    await expect(
      store.query({ queryEmbedding, similarityTopK: 1, mode: VectorStoreQueryMode.MMR }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.query({ similarityTopK: 1, mode: VectorStoreQueryMode.DEFAULT })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('deletes every node of a reference document and nothing else', async () => {
    await store.delete('doc-b');
    expect(await queryIds(undefined)).toEqual(['n1', 'n2', 'n5']);
    await store.delete('no-such-document');
    expect(await queryIds(undefined)).toEqual(['n1', 'n2', 'n5']);
  });
});
