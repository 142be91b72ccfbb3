// Proves storage placement end to end with real worker threads and three temporary folders as storage URLs: six
// collections land round-robin on URLs 0,1,2,0,1,2 with their files under their assigned URL only, reopen finds them
// all with identical search results; a collection folder deleted behind Shoal's back makes that collection (only) fail
// with CORRUPTION and is never recreated, a folder copied in is reported as unknown and not loaded; removing a URL that
// holds collections, an object-store URL or a missing folder is refused at open; an added URL takes only new
// collections; a version 1 data directory (catalogue.json, no Raft metadata) opens unchanged and is migrated.
import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import type { CollectionInfo, ErrorCode, OpenOptions, SearchHit } from '../../index.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;
const NAMES = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const queries = randomVectors(3, DIMENSION, 77);

async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<ShoalError> {
  const outcome = await promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  expect((outcome as ShoalError).code).toBe(code);
  return outcome as ShoalError;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}

async function searchAll(db: Shoal, names: readonly string[]): Promise<Record<string, SearchHit[][]>> {
  const results: Record<string, SearchHit[][]> = {};
  for (const name of names)
    results[name] = await Promise.all(queries.map((vector) => db.search(name, { vector, k: 5 })));
  return results;
}

describe('storage placement over three URLs', () => {
  let home: { path: string; remove: () => Promise<void> };
  let roots: string[] = [];
  let urls: string[] = [];
  let options: OpenOptions;
  const created: CollectionInfo[] = [];
  let before: Record<string, SearchHit[][]> = {};

  beforeAll(async () => {
    home = await temporaryDirectory('placement');
    roots = ['a', 'b', 'c'].map((name) => join(home.path, name));
    for (const root of roots) await mkdir(root);
    urls = roots.map((root) => pathToFileURL(root).href);
    options = {
      dataDir: join(home.path, 'data'),
      maxWorkers: 4,
      storage: { wal: { urls }, viper: { urls: [...urls].reverse() }, index: { urls, strategy: 'hash' } },
    };
    const db = await Shoal.open(options);
    try {
      for (const [index, name] of NAMES.entries()) {
        created.push(await db.createCollection({ name, dimension: DIMENSION, metric: 'l2', shards: 1 }));
        const vectors = randomVectors(40, DIMENSION, index + 1);
        await db.upsert(
          name,
          vectors.map((vector, row) => ({ id: `${name}-${row}`, vector, metadata: { row } })),
        );
      }
      before = await searchAll(db, NAMES);
    } finally {
      await db.close();
    }
  }, 120_000);

  afterAll(async () => {
    await home?.remove();
  });

  it("assigns round-robin per component and keeps each collection's files under its assigned URL only", async () => {
    expect(created.map((info) => urls.indexOf(info.placement.wal))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(created.map((info) => urls.indexOf(info.placement.viper))).toEqual([2, 1, 0, 2, 1, 0]);
    expect(created.every((info) => info.placement.lsm === pathToFileURL(join(home.path, 'data')).href)).toBe(true);
    for (const info of created) {
      for (const root of [...roots, options.dataDir]) {
        const walFolder = join(root, 'wal', info.id);
        expect(await exists(walFolder)).toBe(pathToFileURL(root).href === info.placement.wal);
      }
      expect(
        (await readdir(join(new URL(info.placement.wal).pathname, 'wal', info.id, '0'))).some((name) =>
          name.endsWith('.wal'),
        ),
      ).toBe(true);
    }
  });

  it('finds every collection again on reopen, with the same search results and storage statistics', async () => {
    const db = await Shoal.open(options);
    try {
      expect(await db.listCollections()).toEqual(created);
      expect(await searchAll(db, NAMES)).toEqual(before);
      const { storage, collections } = await db.stats();
      expect(collections.map((each) => each.error)).toEqual(NAMES.map(() => null));
      expect(storage.unknown).toEqual([]);
      const wal = storage.components.filter((usage) => usage.component === 'wal');
      expect(wal.map((usage) => [usage.url, usage.strategy, usage.collections])).toEqual(
        urls.map((url, index) => [url, 'round-robin', [NAMES[index], NAMES[index + 3]]]),
      );
      for (const usage of wal) expect(usage.files).toBeGreaterThanOrEqual(2);
      for (const usage of wal) expect(usage.bytes).toBeGreaterThan(0);
      expect(
        storage.components.filter((usage) => usage.component === 'index').every((usage) => usage.strategy === 'hash'),
      ).toBe(true);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('refuses to open when a URL that holds collections was removed, listing them', async () => {
    const removed = { ...options, storage: { ...options.storage, wal: { urls: urls.slice(0, 2) } } };
    const error = await rejection(Shoal.open(removed), 'INVALID_ARGUMENT');
    expect(error.message).toContain(`storage.wal.urls no longer lists ${urls[2]}, which holds c3, c6`);
  }, 60_000);

  it('reports a deleted collection folder (that collection fails with CORRUPTION, others work) and an unknown folder copied in', async () => {
    const lost = created[1] as CollectionInfo;
    const lostFolder = join(roots[1] as string, 'wal', lost.id);
    await rm(lostFolder, { recursive: true });
    await cp(
      join(roots[2] as string, 'wal', (created[2] as CollectionInfo).id),
      join(roots[0] as string, 'wal', 'intruder-0000abcd'),
      { recursive: true },
    );
    const db = await Shoal.open(options);
    try {
      const stats = await db.stats();
      const broken = stats.collections.find((each) => each.name === 'c2');
      expect(broken?.error?.code).toBe('CORRUPTION');
      expect(broken?.error?.message).toContain(`wal folder ${lostFolder} is missing from ${urls[1]}`);
      expect(stats.storage.unknown).toEqual([
        expect.objectContaining({ url: urls[0], component: 'wal', collectionId: 'intruder-0000abcd' }),
      ]);
      expect((stats.storage.unknown[0]?.files ?? 0) > 0).toBe(true);
      for (const call of [
        db.search('c2', { vector: queries[0] as Float32Array, k: 1 }),
        db.upsert('c2', [{ id: 'x', vector: new Float32Array(DIMENSION) }]),
        db.get('c2', ['x']),
      ]) {
        expect((await rejection(call, 'CORRUPTION')).message).toContain('collection c2 failed to open: its wal folder');
      }
      expect(await exists(lostFolder)).toBe(false);
      expect((await db.listCollections()).map((info) => info.name)).toEqual(NAMES);
      const others = NAMES.filter((name) => name !== 'c2');
      const { c2: _lost, ...expected } = before;
      expect(await searchAll(db, others)).toEqual(expected);
      await db.dropCollection('c2');
      expect((await db.stats()).collections.every((each) => each.error === null)).toBe(true);
    } finally {
      await db.close();
    }
    await rm(join(roots[0] as string, 'wal', 'intruder-0000abcd'), { recursive: true });
  }, 60_000);

  it('sends only new collections to an added URL', async () => {
    const extra = join(home.path, 'd');
    await mkdir(extra);
    const grown = [...urls, pathToFileURL(extra).href];
    const db = await Shoal.open({ ...options, storage: { ...options.storage, wal: { urls: grown } } });
    try {
      const kept = (await db.listCollections()).map((info) => info.placement.wal);
      expect(kept).toEqual(created.filter((info) => info.name !== 'c2').map((info) => info.placement.wal));
      const c7 = await db.createCollection({ name: 'c7', dimension: DIMENSION, metric: 'l2', shards: 1 });
      const c8 = await db.createCollection({ name: 'c8', dimension: DIMENSION, metric: 'l2', shards: 1 });
      expect([c7.placement.wal, c8.placement.wal]).toEqual([grown[2], grown[3]]);
      expect(await exists(join(extra, 'wal', c8.id, '0'))).toBe(true);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('storage options refused at open', () => {
  let home: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    home = await temporaryDirectory('placement-refused');
  });

  afterAll(async () => {
    await home?.remove();
  });

  it('refuses object stores as not supported yet, and URLs whose folder does not exist', async () => {
    const s3 = await rejection(
      Shoal.open({ dataDir: home.path, storage: { viper: { urls: ['s3://bucket/shoal'] } } }),
      'INVALID_ARGUMENT',
    );
    expect(s3.message).toContain('storage.viper.urls[0]: s3:// storage is not supported yet');
    const missing = pathToFileURL(join(home.path, 'not-mounted')).href;
    const absent = await rejection(
      Shoal.open({ dataDir: home.path, storage: { wal: { urls: [missing] } } }),
      'INVALID_ARGUMENT',
    );
    expect(absent.message).toContain(`storage.wal: ${missing}`);
    expect(await exists(join(home.path, 'not-mounted'))).toBe(false);
  }, 60_000);
});

describe('a version 1 data directory', () => {
  it('opens unchanged: every component at dataDir, data found', async () => {
    const home = await temporaryDirectory('placement-v1');
    try {
      let db = await Shoal.open({ dataDir: home.path, maxWorkers: 2 });
      const info = await db.createCollection({ name: 'old', dimension: DIMENSION, metric: 'cosine', shards: 1 });
      await db.upsert('old', [{ id: 'a', vector: randomVectors(1, DIMENSION, 3)[0] as Float32Array }]);
      await db.close();
      // What a version 1 release left: a catalogue without placement, and no Raft metadata.
      const { placement: _placement, ...v1Entry } = info;
      await rm(join(home.path, 'cluster'), { recursive: true });
      await writeFile(join(home.path, 'catalogue.json'), JSON.stringify({ version: 1, collections: [v1Entry] }));
      db = await Shoal.open({ dataDir: home.path, maxWorkers: 2 });
      try {
        expect((await db.listCollections())[0]?.placement.wal).toBe(pathToFileURL(home.path).href);
        expect((await db.get('old', ['a'])).map((record) => record.id)).toEqual(['a']);
        await db.createCollection({ name: 'new', dimension: DIMENSION, metric: 'cosine', shards: 1 });
        const listed = await db.listCollections();
        expect(listed.map((entry) => entry.name)).toEqual(['old', 'new']);
        expect(listed[1]?.placement.wal).toBe(pathToFileURL(home.path).href);
        // Imported into the metadata, the old catalogue is kept aside under a new name.
        expect(JSON.parse(await readFile(join(home.path, 'catalogue.json.migrated'), 'utf8'))).toMatchObject({
          version: 1,
        });
        expect(await exists(join(home.path, 'catalogue.json'))).toBe(false);
      } finally {
        await db.close();
      }
    } finally {
      await home.remove();
    }
  }, 60_000);
});
