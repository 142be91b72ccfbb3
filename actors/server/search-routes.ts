/**
 * Qdrant's search endpoints over a Shoal: the query API (`/points/query`, a
 * vector, `{ nearest }`, `{ nearest, mmr }` or a point id) and the older
 * `/points/search`, each with its batch form. Hits carry Qdrant's fields:
 * `id`, `version` (always 0: Shoal keeps no per-point version), `score`
 * (Shoal's: higher is better for Cosine and Dot, the distance for Euclid),
 * `payload` and `vector` as asked. Filters are translated by qdrant-filter.
 */
import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../runtime/errors.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';
import { norm, scoreOf } from '../../storage/distance.js';
import type { Shoal } from '../client/shoal.js';
import type { Metric, SearchHit } from '../public-api.js';
import { shoalFilterOf } from './qdrant-filter.js';
import { pointIdOf, recordIdOf } from './qdrant-ids.js';
import type { PointId } from './qdrant-ids.js';
import {
  bodyOf,
  offsetOf,
  optionalNumber,
  passesThreshold,
  payloadSelector,
  positiveInteger,
  vectorOf,
  wantsVector,
} from './qdrant-shapes.js';
import { HttpError } from './http-error.js';
import type { ServerContext } from './server-context.js';

type NameParams = { Params: { name: string } };

/** One search, checked: what to ask Shoal and how to shape its answer. */
interface PlannedSearch {
  readonly vector: number[];
  readonly limit: number;
  readonly offset: number;
  readonly filter: ReturnType<typeof shoalFilterOf>;
  readonly exact: boolean;
  readonly ef: number | undefined;
  readonly threshold: number | undefined;
  readonly select: ReturnType<typeof payloadSelector>;
  readonly withVector: boolean;
  /** The point the query names (excluded from its own results), if it named one. */
  readonly fromPoint: string | null;
  readonly mmr: { readonly diversity: number; readonly candidates: number } | null;
}

/** A scored point as Qdrant answers it. */
interface ScoredPoint {
  readonly id: PointId;
  readonly version: number;
  readonly score: number;
  readonly payload: Record<string, unknown> | null;
  readonly vector: number[] | null;
}

export function searchRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reply } = context;
  app.post<NameParams>('/collections/:name/points/search', async (request, response) => {
    const plan = await planSearch(context, request.params.name, bodyOf(request.body), 'vector');
    return reply(response, await runSearch(context, request.params.name, plan));
  });
  app.post<NameParams>('/collections/:name/points/search/batch', async (request, response) => {
    const searches = batchOf(bodyOf(request.body));
    const plans = await Promise.all(
      searches.map((search) => planSearch(context, request.params.name, search, 'vector')),
    );
    return reply(response, await Promise.all(plans.map((plan) => runSearch(context, request.params.name, plan))));
  });
  app.post<NameParams>('/collections/:name/points/query', async (request, response) => {
    const plan = await planSearch(context, request.params.name, bodyOf(request.body), 'query');
    return reply(response, { points: await runSearch(context, request.params.name, plan) });
  });
  app.post<NameParams>('/collections/:name/points/query/batch', async (request, response) => {
    const searches = batchOf(bodyOf(request.body));
    const plans = await Promise.all(
      searches.map((search) => planSearch(context, request.params.name, search, 'query')),
    );
    const results = await Promise.all(plans.map((plan) => runSearch(context, request.params.name, plan)));
    return reply(
      response,
      results.map((points) => ({ points })),
    );
  });
}

function batchOf(body: Record<string, unknown>): Record<string, unknown>[] {
  const searches = body['searches'];
  if (!Array.isArray(searches) || searches.length === 0 || searches.length > REQUEST_LIMITS.queriesPerBatchMax) {
    throw invalidArgument('searches', `must list 1 to ${REQUEST_LIMITS.queriesPerBatchMax} searches`);
  }
  return searches.map((search) => bodyOf(search));
}

async function planSearch(
  context: ServerContext,
  collection: string,
  body: Record<string, unknown>,
  form: 'vector' | 'query',
): Promise<PlannedSearch> {
  const query =
    form === 'vector'
      ? { vector: vectorOf(body['vector'], 'vector'), fromPoint: null, mmr: null }
      : await queryOf(context, collection, body['query']);
  const params = body['params'] === undefined || body['params'] === null ? {} : bodyOf(body['params']);
  const ef =
    params['hnsw_ef'] === undefined || params['hnsw_ef'] === null
      ? undefined
      : positiveInteger(params['hnsw_ef'], 'params.hnsw_ef', 128, 10_000);
  return {
    ...query,
    limit: positiveInteger(body['limit'] ?? body['top'], 'limit', 10, REQUEST_LIMITS.kMax),
    offset: offsetOf(body['offset']),
    filter: shoalFilterOf(body['filter']),
    exact: params['exact'] === true,
    ef,
    threshold: optionalNumber(body['score_threshold'], 'score_threshold'),
    select: payloadSelector(body['with_payload'], false),
    withVector: wantsVector(body['with_vector']),
  };
}

/** What `query` asks for: a vector, a point id, `{ nearest }`, with or without `mmr`. */
async function queryOf(
  context: ServerContext,
  collection: string,
  value: unknown,
): Promise<Pick<PlannedSearch, 'vector' | 'fromPoint' | 'mmr'>> {
  if (value === undefined || value === null)
    throw invalidArgument('query', 'is required (a vector, a point id or { nearest })');
  if (typeof value === 'object' && !Array.isArray(value) && 'nearest' in value) {
    const spec = value as Record<string, unknown>;
    const nearest = await queryOf(context, collection, spec['nearest']);
    return { ...nearest, mmr: spec['mmr'] === undefined || spec['mmr'] === null ? null : mmrOf(spec['mmr']) };
  }
  if (typeof value === 'number' || typeof value === 'string') {
    const id = recordIdOf(value, 'query');
    const [record] = await context.db.request({ type: 'get', collection, ids: [id], timeoutMs: context.timeoutMs });
    if (record === undefined) throw new HttpError(404, `Not found: No point with id ${String(value)} found`);
    return { vector: Array.from(record.vector), fromPoint: id, mmr: null };
  }
  return { vector: vectorOf(value, 'query'), fromPoint: null, mmr: null };
}

function mmrOf(value: unknown): PlannedSearch['mmr'] {
  const spec = bodyOf(value);
  const diversity = optionalNumber(spec['diversity'], 'query.mmr.diversity') ?? 0.5;
  if (diversity < 0 || diversity > 1) throw invalidArgument('query.mmr.diversity', 'must be from 0 to 1');
  const candidates = positiveInteger(spec['candidates_limit'], 'query.mmr.candidates_limit', 0, REQUEST_LIMITS.kMax);
  return { diversity, candidates };
}

async function runSearch(context: ServerContext, collection: string, plan: PlannedSearch): Promise<ScoredPoint[]> {
  const { db, timeoutMs } = context;
  const wanted = plan.offset + plan.limit + (plan.fromPoint === null ? 0 : 1);
  const k = Math.min(REQUEST_LIMITS.kMax, Math.max(wanted, plan.mmr?.candidates ?? 0));
  const found = await db.request({
    type: 'search',
    collection,
    vector: plan.vector,
    k,
    ...(plan.filter === undefined ? {} : { filter: plan.filter }),
    ...(plan.exact ? { exact: true } : {}),
    ...(plan.ef === undefined ? {} : { ef: plan.ef }),
    timeoutMs,
  });
  // Only a threshold (a minimum or a maximum) and MMR depend on the metric: other searches skip the lookup.
  const metric = plan.threshold === undefined && plan.mmr === null ? null : await metricOfCollection(db, collection);
  let hits = found.hits.filter(
    (hit) => hit.id !== plan.fromPoint && (metric === null || passesThreshold(metric, hit.score, plan.threshold)),
  );
  const needVectors = plan.withVector || plan.mmr !== null;
  const vectors = needVectors ? await vectorsOf(db, collection, hits, timeoutMs) : new Map<string, Float32Array>();
  if (plan.mmr !== null && metric !== null) hits = maximalMarginalRelevance(hits, vectors, plan, metric);
  return hits.slice(plan.offset, plan.offset + plan.limit).map((hit) => ({
    id: pointIdOf(hit.id),
    version: 0,
    score: hit.score,
    payload: plan.select(hit.metadata),
    vector: plan.withVector ? Array.from(vectors.get(hit.id) ?? []) : null,
  }));
}

async function metricOfCollection(db: Shoal, collection: string): Promise<Metric> {
  const info = (await db.listCollections()).find((entry) => entry.name === collection);
  if (info === undefined) throw new HttpError(404, `Not found: Collection \`${collection}\` doesn't exist!`);
  return info.metric;
}

async function vectorsOf(
  db: Shoal,
  collection: string,
  hits: readonly SearchHit[],
  timeoutMs: number,
): Promise<Map<string, Float32Array>> {
  if (hits.length === 0) return new Map();
  const records = await db.request({ type: 'get', collection, ids: hits.map((hit) => hit.id), timeoutMs });
  return new Map(records.map((record) => [record.id, record.vector]));
}

/**
 * Qdrant's MMR: picks, one at a time, the candidate that maximises
 * `(1 - diversity) * relevance - diversity * (its highest similarity to one already picked)`,
 * similarities being the collection's (cosine, dot, or the negated Euclidean distance). The hits keep their
 * original scores, in the order picked.
 */
function maximalMarginalRelevance(
  hits: readonly SearchHit[],
  vectors: ReadonlyMap<string, Float32Array>,
  plan: PlannedSearch,
  metric: Metric,
): SearchHit[] {
  const candidates = hits.slice(0, plan.mmr?.candidates || hits.length);
  const diversity = plan.mmr?.diversity ?? 0;
  const relevance = (hit: SearchHit): number => (metric === 'l2' ? -hit.score : hit.score);
  const picked: SearchHit[] = [];
  const left = [...candidates];
  while (left.length > 0 && picked.length < plan.offset + plan.limit) {
    let bestIndex = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    left.forEach((hit, index) => {
      const vector = vectors.get(hit.id);
      const redundancy =
        picked.length === 0 || vector === undefined
          ? 0
          : Math.max(...picked.map((other) => similarity(metric, vector, vectors.get(other.id))));
      const value = (1 - diversity) * relevance(hit) - diversity * redundancy;
      if (value > bestValue) {
        bestValue = value;
        bestIndex = index;
      }
    });
    picked.push(...left.splice(bestIndex, 1));
  }
  return picked;
}

/** The collection's similarity of two vectors (storage/distance.ts): Euclid's distance negated, higher is closer. */
function similarity(metric: Metric, a: Float32Array, b: Float32Array | undefined): number {
  if (b === undefined) return 0;
  const score = scoreOf(metric, a, norm(a, 0, a.length), b, 0, norm(b, 0, b.length), a.length);
  return metric === 'l2' ? -score : score;
}
