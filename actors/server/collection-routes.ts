/**
 * Qdrant's collection endpoints over a Shoal: list, info, exists, create,
 * delete, and the payload-index and alias endpoints Shoal accepts as no-ops
 * (it filters any field without an index; it has no aliases).
 */
import type { FastifyInstance } from 'fastify';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import type { Shoal } from '../client/shoal.js';
import type { CreateCollectionOptions } from '../public-api.js';
import { bodyOf, collectionInfo, metricOf, positiveInteger } from './qdrant-shapes.js';
import type { Reply, ServerContext } from './server-context.js';

type NameParams = { Params: { name: string } };

export function collectionRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, reply } = context;
  app.get('/collections', async (_, response) => {
    const collections = await db.listCollections();
    return reply(response, { collections: collections.map((info) => ({ name: info.name })) });
  });
  app.get<NameParams>('/collections/:name', async (request, response) =>
    reply(response, await describe(db, request.params.name)),
  );
  app.get<NameParams>('/collections/:name/exists', async (request, response) => {
    const collections = await db.listCollections();
    return reply(response, { exists: collections.some((info) => info.name === request.params.name) });
  });
  app.put<NameParams>('/collections/:name', async (request, response) => {
    await db.request({
      type: 'create-collection',
      ...createOptions(request.params.name, request.body),
      timeoutMs: context.timeoutMs,
    });
    return reply(response, true);
  });
  app.delete<NameParams>('/collections/:name', async (request, response) => {
    await db.request({ type: 'drop-collection', name: request.params.name, timeoutMs: context.timeoutMs });
    return reply(response, true);
  });
  app.patch<NameParams>('/collections/:name', async (request, response) => {
    await describe(db, request.params.name);
    return reply(response, true);
  });
  noOps(app, context.reply, db);
}

/** Payload indexes and aliases: accepted, and answered truthfully (no index is needed, there are no aliases). */
function noOps(app: FastifyInstance, reply: Reply, db: Shoal): void {
  const completed = { operation_id: 0, status: 'completed' };
  app.put<NameParams>('/collections/:name/index', async (request, response) => {
    await describe(db, request.params.name);
    return reply(response, completed);
  });
  app.delete<NameParams & { Params: { field: string } }>(
    '/collections/:name/index/:field',
    async (request, response) => {
      await describe(db, request.params.name);
      return reply(response, completed);
    },
  );
  app.get('/aliases', async (_, response) => reply(response, { aliases: [] }));
  app.get<NameParams>('/collections/:name/aliases', async (request, response) => {
    await describe(db, request.params.name);
    return reply(response, { aliases: [] });
  });
}

/** Qdrant's CollectionInfo of `name`, or COLLECTION_NOT_FOUND. */
export async function describe(db: Shoal, name: string): Promise<Record<string, unknown>> {
  const [collections, stats] = await Promise.all([db.listCollections(), db.stats()]);
  const info = collections.find((entry) => entry.name === name);
  if (info === undefined)
    throw new ShoalError('COLLECTION_NOT_FOUND', `Collection \`${name}\` doesn't exist!`, { collection: name });
  return collectionInfo(
    info,
    stats.collections.find((entry) => entry.name === name),
  );
}

function createOptions(name: string, raw: unknown): CreateCollectionOptions {
  const body = bodyOf(raw);
  const vectors = body['vectors'];
  if (typeof vectors !== 'object' || vectors === null || Array.isArray(vectors)) {
    throw invalidArgument('vectors', 'must be { size, distance }');
  }
  const params = vectors as Record<string, unknown>;
  if (!('size' in params)) throw invalidArgument('vectors', 'named vectors are not supported: send { size, distance }');
  const dimension = positiveInteger(params['size'], 'vectors.size', 0, 65_536);
  const hnsw = hnswOf(params['hnsw_config'] ?? body['hnsw_config']);
  const shards =
    body['shard_number'] === undefined ? {} : { shards: positiveInteger(body['shard_number'], 'shard_number', 1, 256) };
  return {
    name,
    dimension,
    metric: metricOf(params['distance'], 'vectors.distance'),
    ...shards,
    ...(hnsw ? { hnsw } : {}),
  };
}

function hnswOf(value: unknown): { m?: number; efConstruction?: number } | undefined {
  if (value === undefined || value === null) return undefined;
  const spec = bodyOf(value);
  const m = spec['m'] === undefined ? {} : { m: positiveInteger(spec['m'], 'hnsw_config.m', 16, 512) };
  const ef = spec['ef_construct'];
  const efConstruction =
    ef === undefined ? {} : { efConstruction: positiveInteger(ef, 'hnsw_config.ef_construct', 200, 10_000) };
  return { ...m, ...efConstruction };
}
