// Proves scroll, iterate, count, deleteWhere and updateMetadata through the public API with real worker threads and
// files: scroll pages cover every live record exactly once in ascending code-unit id order across shards and tiers
// (with filters, $exists, $id and vectors), iterate and count agree with a model, deleteWhere and updateMetadata are
// durable across a reopen and a kill -9 of the writing process, updateMetadata keeps vectors and reports missing ids,
// and bad input is refused with INVALID_ARGUMENT.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import type { Filter, ScrollRecord } from '../../index.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { randomVectors, temporaryDirectory } from '../fixtures/vectors.js';

const DIMENSION = 8;
const COUNT = 1_200;
const CHILD = fileURLToPath(new URL('../fixtures/read-ops-child.ts', import.meta.url));

interface Row {
  id: string;
  vector: Float32Array;
  metadata: { group: number; tag?: string };
}

/** Ids of mixed case and length, so code-unit order is not numeric order; every third record has a `tag`. */
function makeRows(count: number): Row[] {
  return randomVectors(count, DIMENSION, 3).map((vector, i) => ({
    id: `${['a', 'B', 'z', 'É'][i % 4]}-${i}`,
    vector,
    metadata: i % 3 === 0 ? { group: i % 5, tag: `t${i % 2}` } : { group: i % 5 },
  }));
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'none',
    (error: { code?: string }) => error.code ?? 'not a ShoalError',
  );
}

/** Every record of a scroll, page by page; checks that each page but the last is full. */
async function scrollAll(
  db: Shoal,
  filter: Filter | null,
  limit: number,
  withVectors = false,
): Promise<ScrollRecord[]> {
  const records: ScrollRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await db.scroll('docs', { ...(filter === null ? {} : { filter }), limit, cursor, withVectors });
    if (page.nextCursor !== null) expect(page.records).toHaveLength(limit);
    records.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return records;
}

describe('scroll, count, deleteWhere and updateMetadata through the public API', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let db: Shoal;
  const rows = makeRows(COUNT);
  const live = new Map(rows.map((row) => [row.id, row]));

  beforeAll(async () => {
    directory = await temporaryDirectory('read-ops');
    db = await Shoal.open({ dataDir: directory.path, maxWorkers: 4 });
    // A small flush threshold, so records spread over segments and memtables.
    await db.createCollection({ name: 'docs', dimension: DIMENSION, metric: 'l2', shards: 3, flushThresholdRows: 100 });
    for (let start = 0; start < COUNT; start += 300) await db.upsert('docs', rows.slice(start, start + 300));
    const deleted = rows.filter((_, i) => i % 11 === 0).map((row) => row.id);
    await db.delete('docs', deleted);
    for (const id of deleted) live.delete(id);
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await directory?.remove();
  });

  function expectedIds(keep: (row: Row) => boolean): string[] {
    return [...live.values()]
      .filter(keep)
      .map((row) => row.id)
      .sort(byCodeUnit);
  }

  it('scrolls every live record exactly once, in ascending code-unit id order, across shards', async () => {
    const want = expectedIds(() => true);
    for (const limit of [7, 100, 10_000]) {
      expect((await scrollAll(db, null, limit)).map((record) => record.id)).toEqual(want);
    }
    const first = await db.scroll('docs');
    expect(first.records).toHaveLength(100);
    expect(first.records[0]).toEqual({ id: want[0], metadata: live.get(want[0] as string)?.metadata });
  });

  it('scrolls with filters ($exists, $id, $in), and with vectors only when asked', async () => {
    const chosen = [...live.keys()].slice(0, 20);
    const cases: { filter: Filter; keep: (row: Row) => boolean }[] = [
      { filter: { group: 2 }, keep: (row) => row.metadata.group === 2 },
      { filter: { tag: { $exists: true } }, keep: (row) => row.metadata.tag !== undefined },
      {
        filter: { tag: { $exists: false }, group: { $in: [0, 4] } },
        keep: (row) => row.metadata.tag === undefined && [0, 4].includes(row.metadata.group),
      },
      { filter: { $id: { $in: [...chosen, 'no-such-id'] } }, keep: (row) => chosen.includes(row.id) },
    ];
    for (const { filter, keep } of cases) {
      expect((await scrollAll(db, filter, 13)).map((record) => record.id)).toEqual(expectedIds(keep));
      expect(await db.count('docs', { filter })).toBe(expectedIds(keep).length);
    }
    const withVectors = await scrollAll(db, { group: 3 }, 50, true);
    for (const record of withVectors) {
      expect([...(record.vector as Float32Array)]).toEqual([...(live.get(record.id) as Row).vector]);
    }
    const without = await db.scroll('docs', { limit: 5 });
    expect(without.records.every((record) => !('vector' in record))).toBe(true);
  });

  it('iterates in batches over the same records, and counts with and without a filter', async () => {
    const batches: ScrollRecord[][] = [];
    for await (const batch of db.iterate('docs', { filter: { group: 1 }, batchSize: 40 })) batches.push(batch);
    expect(batches.every((batch) => batch.length > 0 && batch.length <= 40)).toBe(true);
    expect(batches.flat().map((record) => record.id)).toEqual(expectedIds((row) => row.metadata.group === 1));
    expect(await db.count('docs')).toBe(live.size);
    expect(await db.count('docs', { filter: {} })).toBe(live.size);
    const groupZero = expectedIds((row) => row.metadata.group === 0).length;
    expect(await db.request({ type: 'count', collection: 'docs', filter: { group: 0 } })).toEqual({ count: groupZero });
  });

  it('restricts a search by $id and $exists', async () => {
    const chosen = [...live.keys()].slice(0, 5);
    const query = (live.get(chosen[0] as string) as Row).vector;
    const hits = await db.search('docs', { vector: query, k: 10, filter: { $id: { $in: chosen } } });
    expect(hits.map((hit) => hit.id).sort(byCodeUnit)).toEqual([...chosen].sort(byCodeUnit));
    const tagged = await db.search('docs', { vector: query, k: 50, filter: { tag: { $exists: true } } });
    expect(tagged).toHaveLength(50);
    expect(tagged.every((hit) => (hit.metadata as Row['metadata']).tag !== undefined)).toBe(true);
  });

  it('shows a record updated between pages once, and never a record deleted before its page', async () => {
    const want = expectedIds(() => true);
    const first = await db.scroll('docs', { limit: 200 });
    const seen = first.records.map((record) => record.id);
    const earlier = seen[10] as string;
    const later = want[400] as string;
    const gone = want[500] as string;
    const moved = [earlier, later].map((id) => ({ ...(live.get(id) as Row), metadata: { group: 9 } }));
    await db.upsert('docs', moved);
    await db.delete('docs', [gone]);
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page = await db.scroll('docs', { limit: 200, cursor });
      seen.push(...page.records.map((record) => record.id));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(want.filter((id) => id !== gone));
    // Put things back as the model has them.
    await db.upsert('docs', [live.get(earlier) as Row, live.get(later) as Row, live.get(gone) as Row]);
  });

  it('updates metadata keeping the vector, reports missing ids without creating them, and survives a reopen', async () => {
    const [one, two] = [...live.keys()];
    const result = await db.updateMetadata('docs', [
      { id: one as string, metadata: { group: 7, note: 'x' } },
      { id: 'missing-1', metadata: { group: 7 } },
      { id: two as string, metadata: null },
      { id: 'missing-2', metadata: {} },
    ]);
    expect(result).toEqual({ updated: 2, missing: ['missing-1', 'missing-2'] });
    const check = async (): Promise<void> => {
      const found = await db.get('docs', [one as string, two as string, 'missing-1']);
      expect(found.map((record) => record.id)).toEqual([one, two]);
      expect(found[0]?.metadata).toEqual({ group: 7, note: 'x' });
      expect(found[1]?.metadata).toBeNull();
      expect([...(found[0]?.vector ?? [])]).toEqual([...(live.get(one as string) as Row).vector]);
      expect([...(found[1]?.vector ?? [])]).toEqual([...(live.get(two as string) as Row).vector]);
      expect(await db.count('docs', { filter: { group: 7 } })).toBe(1);
    };
    await check();
    await db.close();
    db = await Shoal.open({ dataDir: directory.path, maxWorkers: 4 });
    await check();
    const nothing = await db.request({
      type: 'update-metadata',
      collection: 'docs',
      records: [{ id: 'nope', metadata: null }],
    });
    expect(nothing).toEqual({ updated: 0, missing: ['nope'] });
    await db.upsert('docs', [live.get(one as string) as Row, live.get(two as string) as Row]);
  }, 60_000);

  it('keeps a concurrent upsert of the same id whole, ordered before or after the update', async () => {
    const id = [...live.keys()][3] as string;
    const fresh = Float32Array.from({ length: DIMENSION }, (_, i) => i + 0.5);
    const [, update] = await Promise.all([
      db.upsert('docs', [{ id, vector: fresh, metadata: { group: 8 } }]),
      db.updateMetadata('docs', [{ id, metadata: { group: 6 } }]),
    ]);
    expect(update).toEqual({ updated: 1, missing: [] });
    const [record] = await db.get('docs', [id]);
    // The upsert arrived first, so the update kept its vector: never the old vector with either metadata.
    expect([...(record?.vector ?? [])]).toEqual([...fresh]);
    expect(record?.metadata).toEqual({ group: 6 });
    await db.upsert('docs', [live.get(id) as Row]);
  });

  it('deletes by filter durably: gone at once and after a reopen, the rest untouched', async () => {
    const doomed = expectedIds((row) => row.metadata.group === 4 && row.metadata.tag === undefined);
    expect(await db.deleteWhere('docs', { group: 4, tag: { $exists: false } })).toEqual({ count: doomed.length });
    for (const id of doomed) live.delete(id);
    const check = async (): Promise<void> => {
      expect(await db.count('docs', { filter: { group: 4, tag: { $exists: false } } })).toBe(0);
      expect(await db.get('docs', doomed.slice(0, 50))).toEqual([]);
      expect((await scrollAll(db, null, 500)).map((record) => record.id)).toEqual(expectedIds(() => true));
    };
    await check();
    await db.close();
    db = await Shoal.open({ dataDir: directory.path, maxWorkers: 4 });
    await check();
    const again = await db.request({
      type: 'delete-where',
      collection: 'docs',
      filter: { group: 4, tag: { $exists: false } },
    });
    expect(again).toEqual({ count: 0 });
  }, 60_000);

  it('refuses bad input with INVALID_ARGUMENT, and a missing collection with COLLECTION_NOT_FOUND', async () => {
    const good = (await db.scroll('docs', { limit: 1 })).nextCursor as string;
    const tampered = Buffer.from(JSON.stringify({ v: 2, after: 'a' })).toString('base64url');
    const invalid: Promise<unknown>[] = [
      db.scroll('docs', { cursor: 'not a cursor!' }),
      db.scroll('docs', { cursor: tampered }),
      db.scroll('docs', { cursor: good.slice(0, -3) }),
      db.scroll('docs', { cursor: 42 as unknown as string }),
      db.scroll('docs', { limit: 0 }),
      db.scroll('docs', { limit: 10_001 }),
      db.scroll('docs', { limit: 1.5 }),
      db.scroll('docs', { withVectors: 'yes' as unknown as boolean }),
      db.scroll('docs', { filter: { group: { $bogus: 1 } } as unknown as Filter }),
      db.count('docs', { filter: { tag: { $exists: 1 } } as unknown as Filter }),
      db.deleteWhere('docs', { $id: { $in: [1] } } as unknown as Filter),
      db.deleteWhere('docs', undefined as unknown as Filter),
      db.updateMetadata('docs', []),
      db.updateMetadata('docs', [{ id: '', metadata: null }]),
      db.updateMetadata('docs', [{ id: 'a' } as unknown as { id: string; metadata: null }]),
      db.updateMetadata('docs', [{ id: 'a', metadata: [] as unknown as null }]),
      db.iterate('docs', { batchSize: 0 }).next(),
    ];
    for (const attempt of invalid) expect(await codeOf(attempt)).toBe('INVALID_ARGUMENT');
    const zero = db.iterate('docs', { batchSize: 0 }).next();
    await expect(zero).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('batchSize'),
    });
    const cursor = db.scroll('docs', { cursor: 'x' });
    await expect(cursor).rejects.toMatchObject({ message: expect.stringContaining('cursor') });
    expect(await codeOf(db.scroll('nope'))).toBe('COLLECTION_NOT_FOUND');
    expect(await codeOf(db.count('nope'))).toBe('COLLECTION_NOT_FOUND');
    expect(await codeOf(db.deleteWhere('nope', {}))).toBe('COLLECTION_NOT_FOUND');
    expect(await codeOf(db.updateMetadata('nope', [{ id: 'a', metadata: null }]))).toBe('COLLECTION_NOT_FOUND');
    expect((await db.scroll('docs', { cursor: good, limit: 1 })).records).toHaveLength(1);
  });
});

describe('deleteWhere and updateMetadata across a kill -9', () => {
  it('keeps every acknowledged delete and metadata update after the writing process is killed', async () => {
    const directory = await temporaryDirectory('read-ops-kill');
    try {
      const rows = randomVectors(500, 4, 11).map((vector, i) => ({ id: `r${i}`, vector, metadata: { group: i % 3 } }));
      const setup = await Shoal.open({ dataDir: directory.path, maxWorkers: 4 });
      await setup.createCollection({ name: 'c', dimension: 4, metric: 'l2', shards: 2, flushThresholdRows: 100 });
      await setup.upsert('c', rows);
      await setup.close();
      let deleted = -1;
      let updated = -1;
      await runUntilKilled(
        CHILD,
        [directory.path],
        (line, kill) => {
          if (line.startsWith('deleted ')) deleted = Number(line.slice(8));
          if (line.startsWith('updated ')) {
            updated = Number(line.slice(8));
            kill();
          }
        },
        120_000,
      );
      expect(deleted).toBe(rows.filter((row) => row.metadata.group === 1).length);
      expect(updated).toBe(2);
      const db = await Shoal.open({ dataDir: directory.path, maxWorkers: 4 });
      try {
        expect(await db.count('c', { filter: { group: 1 } })).toBe(0);
        expect(await db.count('c')).toBe(rows.length - deleted);
        const [first, third] = await db.get('c', ['r0', 'r2']);
        expect(first?.metadata).toEqual({ group: 0, renamed: true });
        expect(third?.metadata).toEqual({ group: 2, renamed: true });
        expect([...(first?.vector ?? [])]).toEqual([...(rows[0] as { vector: Float32Array }).vector]);
      } finally {
        await db.close();
      }
    } finally {
      await directory.remove();
    }
  }, 180_000);
});

describe('scroll and count when an engine dies', () => {
  it('answer exactly across an engine restart, and UNAVAILABLE through the supervisor once its shard has stopped', async () => {
    const directory = await temporaryDirectory('read-ops-fault');
    const db = await Shoal.open({ dataDir: directory.path, faultInjection: true, maxRestarts: 1 });
    try {
      const rows = randomVectors(300, 4, 5).map((vector, i) => ({
        id: `r${i}`,
        vector,
        metadata: { odd: i % 2 === 1 },
      }));
      await db.createCollection({ name: 'c', dimension: 4, metric: 'l2', shards: 2 });
      await db.upsert('c', rows);
      const ids = rows.map((row) => row.id).sort(byCodeUnit);
      await db.injectFault({ kind: 'kill-worker', actor: 'engine', collection: 'c', shard: 0 });
      const walked: string[] = [];
      for await (const batch of db.iterate('c', { batchSize: 64, timeoutMs: 20_000 }))
        walked.push(...batch.map((r) => r.id));
      expect(walked).toEqual(ids);
      expect(await db.count('c', { filter: { odd: true }, timeoutMs: 20_000 })).toBe(150);
      await db.injectFault({ kind: 'kill-worker', actor: 'engine', collection: 'c', shard: 0 });
      let failed: string[] = [];
      for (let attempt = 0; failed.length === 0 && attempt < 100; attempt++) {
        failed = (await db.stats()).failedShards;
        if (failed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(failed).toHaveLength(1);
      // The stopped engine cannot be reached, so the client asks the supervisor, which knows the shard stopped.
      const stopped = { code: 'UNAVAILABLE', message: expect.stringContaining('stopped after repeated crashes') };
      await expect(db.scroll('c')).rejects.toMatchObject(stopped);
      await expect(db.count('c')).rejects.toMatchObject(stopped);
      await expect(db.deleteWhere('c', { odd: true })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await db.close();
      await directory.remove();
    }
  }, 120_000);
});
