/**
 * Shoal's HTTP server: Qdrant's REST dialect over one open database, on
 * fastify, so the official Qdrant clients and LangChain's Qdrant store work
 * against Shoal unchanged. Loopback by default; with an API key every request
 * must carry it (`api-key` header or `Authorization: Bearer`), compared in
 * constant time. Bodies are bounded in bytes (413 beyond) and in JSON depth,
 * every database call has a deadline, and every failure is answered in
 * Qdrant's error shape `{ status: { error }, time }` with a 4xx for bad input
 * and 5xx only for the server's own failures; unknown paths are 404s.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_DEADLINE_MS } from '../../runtime/deadline.js';
import { ShoalError, invalidArgument } from '../../runtime/errors.js';
import type { Shoal } from '../client/shoal.js';
import { METRICS_CONTENT_TYPE } from '../client/metrics.js';
import { collectionRoutes } from './collection-routes.js';
import { HttpError } from './http-error.js';
import { pointRoutes } from './point-routes.js';
import { scanRoutes } from './scan-routes.js';
import { searchRoutes } from './search-routes.js';
import type { ServerContext } from './server-context.js';

/** The Qdrant version whose REST dialect the server speaks (what `GET /` reports to clients that check it). */
export const QDRANT_COMPATIBLE_VERSION = '1.18.0';
/** The default body limit: Qdrant's own default. */
export const DEFAULT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;
/** How deep a JSON body may nest. */
const JSON_DEPTH_MAX = 64;

export interface ServerOptions {
  /** Default 127.0.0.1: reachable from this machine only. */
  readonly host?: string;
  /** Default 6333; 0 picks a free port (read it back from `port`). */
  readonly port?: number;
  /** When set, required on every request. */
  readonly apiKey?: string;
  readonly bodyLimitBytes?: number;
  /** The deadline of each database call (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Shoal's own version, reported beside the Qdrant-compatible one. */
  readonly shoalVersion?: string;
}

/** A listening server. */
export interface ShoalServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Stops accepting, answers the requests in flight, then resolves (the database stays open). */
  close(): Promise<void>;
}

/** Starts the server over `db` and resolves once it listens. */
export async function startServer(db: Shoal, options: ServerOptions = {}): Promise<ShoalServer> {
  const app = buildServer(db, options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 6333 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 6333);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { host, port, url: `http://${shown}:${port}`, close: () => app.close() };
}

/** The fastify instance with every route, not yet listening (for tests that inject requests). */
export function buildServer(db: Shoal, options: ServerOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = Fastify({ bodyLimit, logger: false, return503OnClosing: true, forceCloseConnections: 'idle' });
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_, body, done) => {
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  if (options.apiKey !== undefined && options.apiKey !== '') app.addHook('onRequest', apiKeyCheck(options.apiKey));
  app.setErrorHandler((error, _, response) => answerError(response, error));
  app.setNotFoundHandler((request, response) =>
    answerError(response, new HttpError(404, `Not found: ${request.method} ${request.url}`)),
  );
  const context: ServerContext = { db, timeoutMs: options.requestTimeoutMs ?? DEFAULT_DEADLINE_MS, reply };
  serviceRoutes(app, db, options.shoalVersion ?? '0.0.0');
  collectionRoutes(app, context);
  pointRoutes(app, context);
  searchRoutes(app, context);
  scanRoutes(app, context);
  return app;
}

function serviceRoutes(app: FastifyInstance, db: Shoal, shoalVersion: string): void {
  app.get('/', async () => ({
    title: 'shoal - qdrant-compatible vector search',
    version: QDRANT_COMPATIBLE_VERSION,
    shoal: shoalVersion,
  }));
  for (const path of ['/healthz', '/livez', '/readyz']) {
    app.get(path, async (_, response) => response.type('text/plain').send(`${path.slice(1)} check passed`));
  }
  app.get('/metrics', async (_, response) => response.type(METRICS_CONTENT_TYPE).send(await db.metrics()));
}

/** Qdrant's success envelope; `time` is the seconds since the request arrived. */
function reply(response: FastifyReply, result: unknown): FastifyReply {
  return response.send({ result, status: 'ok', time: response.elapsedTime / 1000 });
}

function apiKeyCheck(apiKey: string): (request: FastifyRequest, response: FastifyReply) => Promise<void> {
  const expected = digest(apiKey);
  return async (request) => {
    const header = request.headers['api-key'];
    const bearer = request.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    const given = typeof header === 'string' ? header : bearer;
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new HttpError(401, 'Unauthorized: Must provide a valid API key (api-key header or Authorization: Bearer)');
    }
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** JSON.parse, refusing bodies nested deeper than JSON_DEPTH_MAX (checked without recursion). */
export function parseJson(text: string): unknown {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 92) index++;
      else if (code === 34) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 || code === 91) {
      depth++;
      if (depth > JSON_DEPTH_MAX) throw invalidArgument('body', `nests deeper than ${JSON_DEPTH_MAX} levels`);
    } else if (code === 125 || code === 93) depth--;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidArgument('body', `is not valid JSON: ${(error as Error).message}`);
  }
}

/** HTTP statuses of Shoal's error codes. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  DIMENSION_MISMATCH: 400,
  COLLECTION_NOT_FOUND: 404,
  COLLECTION_EXISTS: 409,
  LOCKED: 409,
  TIMEOUT: 408,
  ABORTED: 408,
  UNAVAILABLE: 503,
  CLOSED: 503,
  STORAGE_FAILED: 500,
  CORRUPTION: 500,
  INTERNAL: 500,
};

function answerError(response: FastifyReply, error: unknown): FastifyReply {
  const [status, message] = statusOf(error);
  return response.status(status).send({ status: { error: message }, time: response.elapsedTime / 1000 });
}

function statusOf(error: unknown): [number, string] {
  if (error instanceof HttpError) return [error.statusCode, error.message];
  if (error instanceof ShoalError) {
    if (error.code === 'UNAVAILABLE' && error.details?.['reason'] === 'overloaded') return [429, error.message];
    const prefix = error.code === 'INVALID_ARGUMENT' || error.code === 'DIMENSION_MISMATCH' ? 'Wrong input: ' : '';
    return [STATUS_OF_CODE[error.code] ?? 500, `${prefix}${error.message}`];
  }
  const fastifyError = error as Partial<FastifyError>;
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return [fastifyError.statusCode, `Wrong input: ${fastifyError.message ?? 'bad request'}`];
  }
  return [500, `Service internal error: ${error instanceof Error ? error.message : String(error)}`];
}
