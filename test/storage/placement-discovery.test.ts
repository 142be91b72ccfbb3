// Proves discovery on real temp folders: each component's URLs are listed into collection folders with recursive file
// counts and bytes; the comparison with recorded placements reports unknown folders (including a collection copied to
// the wrong URL) and collections whose WAL folder is missing; stats per component and URL add up; missing storage roots
// are found.
import * as nodeFs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFileSystem } from '../../runtime/fs.js';
import {
  compareWithMetadata,
  discoverComponent,
  discoverStorage,
  missingFolderError,
  missingRoots,
  storageStats,
} from '../../storage/discovery.js';
import type { PlacedCollection } from '../../storage/discovery.js';
import { defaultStorageConfig, uniformPlacement } from '../../storage/placement.js';
import type { StorageConfig } from '../../storage/placement.js';

let base = '';
let rootA = '';
let rootB = '';
let urlA = '';
let urlB = '';

async function put(path: string, bytes: number): Promise<void> {
  await nodeFs.mkdir(join(path, '..'), { recursive: true });
  await nodeFs.writeFile(path, Buffer.alloc(bytes, 7));
}

beforeEach(async () => {
  base = await nodeFs.mkdtemp(join(tmpdir(), 'shoal-discovery-'));
  rootA = join(base, 'a');
  rootB = join(base, 'b');
  await nodeFs.mkdir(rootA);
  await nodeFs.mkdir(rootB);
  urlA = pathToFileURL(rootA).href;
  urlB = pathToFileURL(rootB).href;
  await put(join(rootA, 'wal', 'one-1', '0', '00000000000000000001.wal'), 100);
  await put(join(rootA, 'wal', 'one-1', '1', '00000000000000000001.wal'), 50);
  await put(join(rootA, 'wal', 'stray-file'), 3);
  await put(join(rootB, 'wal', 'two-2', '0', '00000000000000000001.wal'), 10);
  await put(join(rootB, 'viper', 'two-2', '0', 'segment.vpr'), 1000);
});

afterEach(async () => {
  await nodeFs.rm(base, { recursive: true, force: true });
});

function twoUrls(): StorageConfig {
  return {
    ...defaultStorageConfig(base),
    wal: { urls: [urlA, urlB], strategy: 'round-robin' },
    viper: { urls: [urlA, urlB], strategy: 'round-robin' },
  };
}

const collections = (): PlacedCollection[] => [
  { id: 'one-1', name: 'one', placement: { ...uniformPlacement(urlA) } },
  { id: 'two-2', name: 'two', placement: { ...uniformPlacement(urlA), wal: urlB, viper: urlB } },
];

describe('discovery', () => {
  it('lists collection folders per URL with recursive file counts and bytes, ignoring loose files', async () => {
    expect(await discoverComponent(nodeFileSystem, 'wal', urlA)).toEqual([
      { url: urlA, component: 'wal', collectionId: 'one-1', files: 2, bytes: 150 },
    ]);
    expect(await discoverComponent(nodeFileSystem, 'lsm', urlA)).toEqual([]);
    const found = await discoverStorage(nodeFileSystem, twoUrls());
    expect(found).toHaveLength(3);
    expect(found).toContainEqual({ url: urlB, component: 'viper', collectionId: 'two-2', files: 1, bytes: 1000 });
  });

  it('agrees with a catalogue that matches the folders', async () => {
    const report = compareWithMetadata(await discoverStorage(nodeFileSystem, twoUrls()), collections());
    expect(report).toEqual({ unknown: [], missing: [] });
  });

  it('reports a collection whose WAL folder was deleted, with a CORRUPTION error naming the folder and URL', async () => {
    await nodeFs.rm(join(rootB, 'wal', 'two-2'), { recursive: true });
    const report = compareWithMetadata(await discoverStorage(nodeFileSystem, twoUrls()), collections());
    expect(report.unknown).toEqual([]);
    expect(report.missing).toEqual([
      { collection: 'two', collectionId: 'two-2', component: 'wal', url: urlB, path: join(rootB, 'wal', 'two-2') },
    ]);
    const error = missingFolderError(report.missing[0] as (typeof report.missing)[number]);
    expect(error.code).toBe('CORRUPTION');
    expect(error.message).toContain(`its wal folder ${join(rootB, 'wal', 'two-2')} is missing from ${urlB}`);
  });

  it('reports folders copied in as unknown, also a known collection copied to a URL it is not placed at', async () => {
    await nodeFs.cp(join(rootA, 'wal', 'one-1'), join(rootA, 'wal', 'copied-9'), { recursive: true });
    await nodeFs.cp(join(rootA, 'wal', 'one-1'), join(rootB, 'wal', 'one-1'), { recursive: true });
    const report = compareWithMetadata(await discoverStorage(nodeFileSystem, twoUrls()), collections());
    expect(report.missing).toEqual([]);
    expect(report.unknown).toEqual([
      { url: urlA, component: 'wal', collectionId: 'copied-9', files: 2, bytes: 150 },
      { url: urlB, component: 'wal', collectionId: 'one-1', files: 2, bytes: 150 },
    ]);
  });

  it('ignores collections being created or dropped', async () => {
    await nodeFs.mkdir(join(rootA, 'wal', 'new-3'));
    const report = compareWithMetadata(
      await discoverStorage(nodeFileSystem, twoUrls()),
      collections(),
      new Set(['new-3', 'two-2']),
    );
    expect(report).toEqual({ unknown: [], missing: [] });
  });

  it('sums files and bytes per component and URL, and lists what is placed there', async () => {
    await nodeFs.mkdir(join(rootB, 'wal', 'unknown-7'));
    const stats = storageStats(await discoverStorage(nodeFileSystem, twoUrls()), collections(), twoUrls());
    const usage = (component: string, url: string) =>
      stats.components.find((each) => each.component === component && each.url === url);
    expect(usage('wal', urlA)).toEqual({
      component: 'wal',
      url: urlA,
      strategy: 'round-robin',
      collections: ['one'],
      files: 2,
      bytes: 150,
    });
    expect(usage('wal', urlB)).toMatchObject({ collections: ['two'], files: 1, bytes: 10 });
    expect(usage('viper', urlB)).toMatchObject({ collections: ['two'], files: 1, bytes: 1000 });
    expect(usage('lsm', pathToFileURL(base).href)).toMatchObject({ collections: [], files: 0, bytes: 0 });
    expect(stats.components).toHaveLength(2 + 2 + 3);
    expect(stats.unknown).toEqual([{ url: urlB, component: 'wal', collectionId: 'unknown-7', files: 0, bytes: 0 }]);
  });

  it('finds configured URLs whose folder does not exist', async () => {
    const config = {
      ...twoUrls(),
      index: { urls: [urlA, pathToFileURL(join(base, 'unmounted')).href], strategy: 'hash' as const },
    };
    expect(await missingRoots(nodeFileSystem, config)).toEqual([
      { component: 'index', url: pathToFileURL(join(base, 'unmounted')).href },
    ]);
  });
});
