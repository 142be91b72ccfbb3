/**
 * Qdrant's scroll, count and payload endpoints over a Shoal. Scroll pages go
 * in Shoal's id order (UTF-16 code units of the stored ids, so the point 10
 * comes before the point 9), and `next_page_offset` is the first point of
 * the next page, as in Qdrant. Payload writes are read-modify-writes through
 * `updateMetadata`: set merges keys into each point's payload, overwrite
 * replaces it, delete removes keys, clear empties it; points are named by
 * ids or by a filter, and a point that does not exist is skipped.
 */
import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../runtime/errors.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import { encodeCursor } from '../client/scroll-cursor.js';
import type { Filter, Metadata, ScrollRecord } from '../public-api.js';
import { COMPLETED, idList } from './point-routes.js';
import { shoalFilterOf } from './qdrant-filter.js';
import { pointIdOf, recordIdOf } from './qdrant-ids.js';
import { bodyOf, payloadSelector, pointOf, positiveInteger, wantsVector } from './qdrant-shapes.js';
import type { ServerContext } from './server-context.js';

type NameParams = { Params: { name: string } };

export function scanRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reply } = context;
  app.post<NameParams>('/collections/:name/points/scroll', async (request, response) =>
    reply(response, await scroll(context, request.params.name, bodyOf(request.body))),
  );
  app.post<NameParams>('/collections/:name/points/count', async (request, response) => {
    const filter = shoalFilterOf(bodyOf(request.body)['filter']);
    const count = await context.db.count(request.params.name, {
      ...(filter ? { filter } : {}),
      timeoutMs: context.timeoutMs,
    });
    return reply(response, { count });
  });
  payloadRoutes(app, context);
}

async function scroll(context: ServerContext, collection: string, body: Record<string, unknown>): Promise<unknown> {
  const { db, timeoutMs } = context;
  if (body['order_by'] !== undefined && body['order_by'] !== null)
    throw invalidArgument('order_by', 'is not supported');
  const limit = positiveInteger(body['limit'], 'limit', 10, REQUEST_LIMITS.scrollLimitMax - 1);
  const filter = shoalFilterOf(body['filter']);
  const select = payloadSelector(body['with_payload'], true);
  const withVectors = wantsVector(body['with_vector']);
  const offset = body['offset'] === undefined || body['offset'] === null ? null : recordIdOf(body['offset'], 'offset');
  const records: ScrollRecord[] = [];
  if (offset !== null) {
    // Qdrant's offset is the first point of the page; Shoal's cursor is the last point before it.
    const first = await db.scroll(collection, { filter: withId(filter, offset), limit: 1, withVectors, timeoutMs });
    records.push(...first.records);
  }
  const cursor = offset === null ? null : encodeCursor(offset);
  const rest = await db.scroll(collection, {
    ...(filter ? { filter } : {}),
    limit: limit + 1 - records.length,
    cursor,
    withVectors,
    timeoutMs,
  });
  records.push(...rest.records);
  const page = records.slice(0, limit);
  const next = records[limit];
  return {
    points: page.map((record) =>
      pointOf(record.id, record.metadata, withVectors ? (record.vector ?? null) : null, select),
    ),
    next_page_offset: next === undefined ? null : pointIdOf(next.id),
  };
}

function withId(filter: Filter | undefined, id: string): Filter {
  return filter === undefined ? { $id: id } : { $and: [filter, { $id: id }] };
}

type PayloadChange = (current: Metadata | null, body: Record<string, unknown>) => Metadata | null;

const CHANGES: Readonly<Record<string, { method: 'post' | 'put'; path: string; change: PayloadChange }>> = {
  set: {
    method: 'post',
    path: '/collections/:name/points/payload',
    change: (current, body) => ({ ...current, ...payloadOf(body) }),
  },
  overwrite: { method: 'put', path: '/collections/:name/points/payload', change: (_, body) => payloadOf(body) },
  delete: {
    method: 'post',
    path: '/collections/:name/points/payload/delete',
    change: (current, body) => {
      const keys = new Set(idKeys(body['keys']));
      return Object.fromEntries(Object.entries(current ?? {}).filter(([key]) => !keys.has(key)));
    },
  },
  clear: { method: 'post', path: '/collections/:name/points/payload/clear', change: () => ({}) },
};

function payloadRoutes(app: FastifyInstance, context: ServerContext): void {
  for (const { method, path, change } of Object.values(CHANGES)) {
    app[method]<NameParams>(path, async (request, response) => {
      const body = bodyOf(request.body);
      await changePayloads(context, request.params.name, body, change);
      return context.reply(response, COMPLETED);
    });
  }
}

async function changePayloads(
  context: ServerContext,
  collection: string,
  body: Record<string, unknown>,
  change: PayloadChange,
): Promise<void> {
  const { db, timeoutMs } = context;
  if (body['key'] !== undefined && body['key'] !== null)
    throw invalidArgument('key', 'nested payload keys are not supported');
  const ids = await targetIds(context, collection, body);
  for (let start = 0; start < ids.length; start += REQUEST_LIMITS.recordsPerBatchMax) {
    const chunk = ids.slice(start, start + REQUEST_LIMITS.recordsPerBatchMax);
    const current = await db.get(collection, chunk, { timeoutMs });
    const records = current.map((record) => ({ id: record.id, metadata: change(record.metadata, body) }));
    if (records.length > 0) await db.updateMetadata(collection, records, { timeoutMs });
  }
}

/** The points a payload request names: `points` (ids) or every point matching `filter`. */
async function targetIds(context: ServerContext, collection: string, body: Record<string, unknown>): Promise<string[]> {
  if (body['points'] !== undefined && body['points'] !== null) return idList(body['points'], 'points');
  if (body['filter'] === undefined || body['filter'] === null)
    throw invalidArgument('points', 'name the points by ids or by a filter');
  const filter = shoalFilterOf(body['filter']) ?? {};
  const ids: string[] = [];
  for await (const batch of context.db.iterate(collection, {
    filter,
    batchSize: REQUEST_LIMITS.scrollLimitMax,
    timeoutMs: context.timeoutMs,
  })) {
    ids.push(...batch.map((record) => record.id));
  }
  return ids;
}

function payloadOf(body: Record<string, unknown>): Metadata {
  const payload = body['payload'];
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw invalidArgument('payload', 'must be a JSON object');
  return payload as Metadata;
}

function idKeys(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((key) => typeof key !== 'string'))
    throw invalidArgument('keys', 'must be a list of payload keys');
  return value as string[];
}
