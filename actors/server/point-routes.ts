/**
 * Qdrant's point endpoints over a Shoal: upsert (the `points` list and the
 * `batch` column forms), retrieve, get one, and delete by ids. Every write is
 * answered once durable, whatever `wait` says (Shoal has no asynchronous
 * write); a request larger than Shoal's batch limit is split into batches
 * written in order, so a failure part-way leaves the earlier batches written.
 */
import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../runtime/errors.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import type { Metadata, UpsertRecord } from '../public-api.js';
import { shoalFilterOf } from './qdrant-filter.js';
import { recordIdOf } from './qdrant-ids.js';
import { bodyOf, payloadSelector, pointOf, vectorOf, wantsVector } from './qdrant-shapes.js';
import { HttpError } from './http-error.js';
import type { ServerContext } from './server-context.js';

type NameParams = { Params: { name: string } };

/** What a write answers, as Qdrant's UpdateResult. */
export const COMPLETED = { operation_id: 0, status: 'completed' } as const;

export function pointRoutes(app: FastifyInstance, context: ServerContext): void {
  const { db, reply, timeoutMs } = context;
  app.put<NameParams>('/collections/:name/points', async (request, response) => {
    const records = upsertRecords(bodyOf(request.body));
    for (let start = 0; start < records.length; start += REQUEST_LIMITS.recordsPerBatchMax) {
      const chunk = records.slice(start, start + REQUEST_LIMITS.recordsPerBatchMax);
      await db.request({ type: 'upsert', collection: request.params.name, records: chunk, timeoutMs });
    }
    return reply(response, COMPLETED);
  });
  app.post<NameParams>('/collections/:name/points', async (request, response) => {
    const body = bodyOf(request.body);
    const ids = idList(body['ids'], 'ids');
    const select = payloadSelector(body['with_payload'], true);
    const withVector = wantsVector(body['with_vector']);
    const found = await db.request({ type: 'get', collection: request.params.name, ids, timeoutMs });
    return reply(
      response,
      found.map((record) => pointOf(record.id, record.metadata, withVector ? record.vector : null, select)),
    );
  });
  app.get<NameParams & { Params: { id: string } }>('/collections/:name/points/:id', async (request, response) => {
    const id = recordIdOf(/^[0-9]+$/.test(request.params.id) ? Number(request.params.id) : request.params.id, 'id');
    const [record] = await db.request({ type: 'get', collection: request.params.name, ids: [id], timeoutMs });
    if (record === undefined)
      throw new HttpError(404, `Not found: Point with id ${request.params.id} does not exists!`);
    return reply(
      response,
      pointOf(record.id, record.metadata, record.vector, (metadata) => metadata ?? {}),
    );
  });
  app.post<NameParams>('/collections/:name/points/delete', async (request, response) => {
    const body = bodyOf(request.body);
    if (body['points'] === undefined || body['points'] === null) {
      const filter = shoalFilterOf(body['filter']);
      if (filter === undefined) throw invalidArgument('points', 'name the points to delete by ids or by a filter');
      await db.deleteWhere(request.params.name, filter, { timeoutMs });
      return reply(response, COMPLETED);
    }
    const ids = idList(body['points'], 'points');
    for (let start = 0; start < ids.length; start += REQUEST_LIMITS.recordsPerBatchMax) {
      const chunk = ids.slice(start, start + REQUEST_LIMITS.recordsPerBatchMax);
      await db.request({ type: 'delete', collection: request.params.name, ids: chunk, timeoutMs });
    }
    return reply(response, COMPLETED);
  });
}

/** The records of an upsert body: `{ points: [{ id, vector, payload }] }` or `{ batch: { ids, vectors, payloads } }`.
 */
export function upsertRecords(body: Record<string, unknown>): UpsertRecord[] {
  if (Array.isArray(body['points'])) {
    return body['points'].map((point: unknown, index) => {
      const field = `points[${index}]`;
      const spec = bodyOf(point);
      return {
        id: recordIdOf(spec['id'], `${field}.id`),
        vector: vectorOf(spec['vector'], `${field}.vector`),
        ...payload(spec['payload'], `${field}.payload`),
      };
    });
  }
  if (typeof body['batch'] === 'object' && body['batch'] !== null) {
    const batch = body['batch'] as Record<string, unknown>;
    const ids = batch['ids'];
    const vectors = batch['vectors'];
    if (!Array.isArray(ids) || !Array.isArray(vectors) || ids.length !== vectors.length) {
      throw invalidArgument('batch', 'must hold ids and vectors of the same length');
    }
    const payloads = batch['payloads'];
    if (payloads !== undefined && payloads !== null && (!Array.isArray(payloads) || payloads.length !== ids.length)) {
      throw invalidArgument('batch.payloads', 'must hold one payload per id');
    }
    return ids.map((id: unknown, index) => ({
      id: recordIdOf(id, `batch.ids[${index}]`),
      vector: vectorOf(vectors[index], `batch.vectors[${index}]`),
      ...payload(Array.isArray(payloads) ? payloads[index] : undefined, `batch.payloads[${index}]`),
    }));
  }
  throw invalidArgument('points', 'must be a list of points, or send batch: { ids, vectors, payloads }');
}

function payload(value: unknown, field: string): { metadata?: Metadata } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(field, 'must be a JSON object');
  return { metadata: value as Metadata };
}

/** A list of Qdrant point ids as Shoal ids. */
export function idList(value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalidArgument(field, 'must be a list of point ids');
  return value.map((id, index) => recordIdOf(id, `${field}[${index}]`));
}
