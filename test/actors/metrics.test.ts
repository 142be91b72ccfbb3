// Proves db.metrics() answers the Prometheus text exposition format with what happened: requests counted per operation,
// collection and outcome (an unknown collection labelled '' so typos add no series), latency histograms whose counts
// match, per-collection series read from the actors (records, WAL syncs and appends, flushes), actor restarts and the
// Raft group's term, commit index and leader; and that two databases in one process keep their series apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { METRICS_CONTENT_TYPE } from '../../actors/client/metrics.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

/** Every sample of the exposition: `name{labels}` → value; fails on a line that is neither a sample nor a comment. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf)$/.exec(line);
    if (match === null) throw new Error(`not a sample: ${line}`);
    found.set(match[1] as string, Number(match[2]));
  }
  return found;
}

let db: Shoal;
let other: Shoal;
const folders: { path: string; remove: () => Promise<void> }[] = [];

beforeAll(async () => {
  for (let index = 0; index < 2; index++) folders.push(await temporaryDirectory('shoal-metrics-'));
  db = await Shoal.open({ dataDir: folders[0]?.path as string, metadataReplicas: 1 });
  other = await Shoal.open({ dataDir: folders[1]?.path as string, metadataReplicas: 1 });
});

afterAll(async () => {
  await db.close();
  await other.close();
  for (const folder of folders) await folder.remove();
});

describe('db.metrics()', () => {
  it('counts and times requests, reads the actors, and keeps two databases apart', async () => {
    await db.createCollection({ name: 'docs', dimension: 4, metric: 'cosine', shards: 2 });
    const vectors = randomVectors(50, 4, 7);
    await db.upsert(
      'docs',
      vectors.map((vector, index) => ({ id: `r${index}`, vector })),
    );
    await db.upsert('docs', [{ id: 'x', vector: vectors[0] as Float32Array }]);
    for (let index = 0; index < 3; index++) await db.search('docs', { vector: vectors[index] as Float32Array, k: 5 });
    await expect(db.search('no-such-collection', { vector: [1, 0, 0, 0], k: 1 })).rejects.toMatchObject({
      code: 'COLLECTION_NOT_FOUND',
    });
    await db.optimize('docs');

    const text = await db.metrics();
    const found = samples(text);
    expect(found.get('shoal_requests_total{operation="upsert",collection="docs",outcome="ok"}')).toBe(2);
    expect(found.get('shoal_requests_total{operation="search",collection="docs",outcome="ok"}')).toBe(3);
    expect(found.get('shoal_requests_total{operation="search",collection="",outcome="COLLECTION_NOT_FOUND"}')).toBe(1);
    expect([...found.keys()].some((key) => key.includes('no-such-collection'))).toBe(false);
    expect(found.get('shoal_request_duration_seconds_count{operation="search",collection="docs"}')).toBe(3);
    expect(found.get('shoal_request_duration_seconds_bucket{le="+Inf",operation="upsert",collection="docs"}')).toBe(2);
    expect(found.get('shoal_records{collection="docs"}')).toBe(51);
    expect(found.get('shoal_wal_syncs_total{collection="docs"}')).toBeGreaterThanOrEqual(2);
    expect(found.get('shoal_wal_appends_total{collection="docs"}')).toBeGreaterThanOrEqual(2);
    expect(found.get('shoal_flushes_total{collection="docs"}')).toBeGreaterThanOrEqual(1);
    expect(found.get('shoal_actor_restarts_total')).toBe(0);
    expect(found.get('shoal_raft_term{replica="1"}')).toBeGreaterThanOrEqual(1);
    expect(found.get('shoal_raft_commit_index{replica="1"}')).toBeGreaterThanOrEqual(1);
    expect(found.get('shoal_raft_leader')).toBe(1);
    expect(text).toContain('# TYPE shoal_requests_total counter');
    expect(text).toContain('# TYPE shoal_request_duration_seconds histogram');
    expect(METRICS_CONTENT_TYPE).toMatch(/^text\/plain/);

    const apart = samples(await other.metrics());
    expect([...apart.keys()].filter((key) => key.includes('"docs"'))).toEqual([]);
  });

  it('reports the totals the actors hold, not what earlier scrapes added', async () => {
    const first = samples(await db.metrics());
    const second = samples(await db.metrics());
    expect(second.get('shoal_wal_syncs_total{collection="docs"}')).toBe(
      first.get('shoal_wal_syncs_total{collection="docs"}'),
    );
    expect(second.get('shoal_records{collection="docs"}')).toBe(51);
  });
});
