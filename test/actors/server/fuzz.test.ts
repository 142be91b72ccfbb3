// Proves the HTTP server never answers malformed input with a crash or a 5xx: fast-check sends arbitrary JSON values,
// truncated and garbled JSON text and random field shapes to every endpoint that takes a body, over real HTTP; each
// answer is a 2xx or a 4xx in Qdrant's error shape, the server stays up, and a collection no request names keeps every
// point. A deliberately broken handler (a TypeError on a shape it did not expect) would surface as a 500 here.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../../index.js';
import { startServer } from '../../../actors/server/server.js';
import type { ShoalServer } from '../../../actors/server/server.js';
import { randomVectors, temporaryDirectory } from '../../fixtures/vectors.js';

const ENDPOINTS: readonly [string, string][] = [
  ['PUT', '/collections/fuzz/points'],
  ['POST', '/collections/fuzz/points'],
  ['POST', '/collections/fuzz/points/delete'],
  ['POST', '/collections/fuzz/points/search'],
  ['POST', '/collections/fuzz/points/search/batch'],
  ['POST', '/collections/fuzz/points/query'],
  ['POST', '/collections/fuzz/points/query/batch'],
  ['POST', '/collections/fuzz/points/scroll'],
  ['POST', '/collections/fuzz/points/count'],
  ['POST', '/collections/fuzz/points/payload'],
  ['PUT', '/collections/fuzz/points/payload'],
  ['PUT', '/collections/fuzzed'],
];

let db: Shoal;
let server: ShoalServer;
let folder: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  folder = await temporaryDirectory('shoal-fuzz-');
  db = await Shoal.open({ dataDir: folder.path, metadataReplicas: 1 });
  for (const name of ['fuzz', 'kept']) {
    await db.createCollection({ name, dimension: 4, metric: 'cosine', shards: 2 });
    await db.upsert(
      name,
      randomVectors(50, 4, 3).map((vector, index) => ({ id: String(index), vector, metadata: { n: index } })),
    );
  }
  server = await startServer(db, { port: 0 });
}, 60_000);

afterAll(async () => {
  await server.close();
  await db.close();
  await folder.remove();
});

/** Values shaped like Qdrant request fields, often nearly right, so the checks past the parser are reached. */
const fieldValue = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.array(fc.double(), { maxLength: 6 }),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(2 ** 60)), { maxLength: 4 }),
  fc.record({ must: fc.array(fc.record({ key: fc.string(), match: fc.anything({ maxDepth: 2 }) }), { maxLength: 2 }) }),
  fc.record({
    size: fc.anything({ maxDepth: 1 }),
    distance: fc.constantFrom('Cosine', 'Dot', 'Euclid', 'Manhattan', 7),
  }),
);
const fieldName = fc.constantFrom(
  'points',
  'batch',
  'ids',
  'vector',
  'query',
  'filter',
  'limit',
  'offset',
  'with_payload',
  'with_vector',
  'searches',
  'payload',
  'score_threshold',
  'params',
  'vectors',
  'keys',
  'top',
);
const body = fc.oneof(
  fc.dictionary(fieldName, fieldValue, { maxKeys: 4 }).map((value) => JSON.stringify(value)),
  fc.anything({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ maxLength: 40 }),
  fc.dictionary(fieldName, fieldValue, { maxKeys: 3 }).map((value) => JSON.stringify(value).slice(0, -1)),
);

describe('the HTTP server under malformed input', () => {
  it('answers every request with a 2xx or a Qdrant-shaped 4xx, stays up, and loses nothing it was not asked to', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), body, async ([method, path], text) => {
        const response = await fetch(`${server.url}${path}`, {
          method,
          body: text,
          headers: { 'content-type': 'application/json' },
        });
        const answer = await response.text();
        expect(response.status, `${method} ${path} ${text} → ${answer}`).toBeLessThan(500);
        if (response.status >= 400) expect(JSON.parse(answer)).toMatchObject({ status: { error: expect.any(String) } });
      }),
      { numRuns: 300, seed: 20261204 },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await db.count('kept')).toBe(50);
  }, 120_000);
});
