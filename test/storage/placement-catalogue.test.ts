// Proves the version 2 catalogue records each collection's placement and the round-robin counters and reads back what
// it wrote, that a version 1 file is read as every component at file://<dataDir> (today's layout), and that a bad
// placement, bad counters or a collection id that is a path are CORRUPTION.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import { readCatalogue, writeCatalogue } from '../../storage/catalogue.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { uniformPlacement } from '../../storage/placement.js';

let dir = '';
let path = '';
let dataUrl = '';

beforeEach(async () => {
  dir = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-catalogue-'));
  path = join(dir, 'catalogue.json');
  dataUrl = pathToFileURL(dir).href;
});

afterEach(async () => {
  await nodeFs.rm(dir, { recursive: true, force: true });
});

const schema = { dimension: 3, metric: 'cosine', shards: 2, syncMode: 'batch' } as const;

async function corruption(text: string): Promise<string> {
  await nodeFs.writeFile(path, text);
  const outcome = await readCatalogue(nodeFileSystem, path, dataUrl).then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  expect((outcome as ShoalError).code).toBe('CORRUPTION');
  return (outcome as ShoalError).message;
}

describe('catalogue version 2', () => {
  it('reads back the placements and counters it wrote', async () => {
    const entry: CollectionEntry = {
      id: 'docs-1',
      name: 'docs',
      ...schema,
      placement: { ...uniformPlacement(dataUrl), wal: 'file:///mnt/fast' },
    };
    const counters = { wal: 4, viper: 4, lsm: 1, index: 0, metadata: 7 };
    await writeCatalogue(nodeFileSystem, path, { collections: [entry], counters });
    expect(JSON.parse(await nodeFs.readFile(path, 'utf8'))).toMatchObject({ version: 2, counters });
    expect(await readCatalogue(nodeFileSystem, path, dataUrl)).toEqual({ collections: [entry], counters });
  });

  it('is empty with zero counters when the file does not exist', async () => {
    expect(await readCatalogue(nodeFileSystem, path, dataUrl)).toEqual({
      collections: [],
      counters: { wal: 0, viper: 0, lsm: 0, index: 0, metadata: 0 },
    });
  });

  it('migrates version 1: every component at dataDir, counters at the number of collections', async () => {
    const v1 = [
      { id: 'a-1', name: 'a', ...schema },
      { id: 'b-2', name: 'b', ...schema },
    ];
    await nodeFs.writeFile(path, JSON.stringify({ version: 1, collections: v1 }));
    const catalogue = await readCatalogue(nodeFileSystem, path, dataUrl);
    expect(catalogue.collections).toEqual(v1.map((entry) => ({ ...entry, placement: uniformPlacement(dataUrl) })));
    expect(catalogue.counters).toEqual({ wal: 2, viper: 2, lsm: 2, index: 2, metadata: 2 });
  });

  it('refuses a missing placement, bad counters, a path as id and unknown versions', async () => {
    const good = { id: 'a-1', name: 'a', ...schema, placement: uniformPlacement(dataUrl) };
    const counters = { wal: 0, viper: 0, lsm: 0, index: 0, metadata: 0 };
    expect(
      await corruption(
        JSON.stringify({ version: 2, counters, collections: [{ ...good, placement: { wal: dataUrl } }] }),
      ),
    ).toContain('collections[0] is not a valid collection entry');
    expect(
      await corruption(JSON.stringify({ version: 2, counters: { ...counters, wal: -1 }, collections: [good] })),
    ).toContain('are not valid placement counters');
    expect(
      await corruption(JSON.stringify({ version: 2, counters, collections: [{ ...good, id: '../escape' }] })),
    ).toContain('not a valid collection entry');
    expect(await corruption(JSON.stringify({ version: 3, counters, collections: [] }))).toContain(
      'unknown format (version 3)',
    );
  });
});
