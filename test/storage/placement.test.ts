// Proves the assignment service without threads or files: round-robin is fair per component independently (3 URLs:
// collections 1..6 land on 0,1,2,0,1,2) and continues from persisted counters, hash placement is stable across
// instances, processes and releases (pinned values, and a child process), added URLs only affect new collections,
// removed URLs holding collections are found, and component folders follow `<url>/<component>/<collectionId>/<shard>`.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  PlacementService,
  componentDir,
  defaultStorageConfig,
  findRemovedUrls,
  removedUrlsError,
  shardDirs,
  uniformPlacement,
} from '../../storage/placement.js';
import type { Placement, StorageComponent, StorageConfig } from '../../storage/placement.js';

const A = 'file:///mnt/a';
const B = 'file:///mnt/b';
const C = 'file:///mnt/c';
const D = 'file:///mnt/d';

function config(overrides: Partial<Record<StorageComponent, StorageConfig[StorageComponent]>>): StorageConfig {
  return { ...defaultStorageConfig('/data'), ...overrides };
}

function indexesOf(placements: readonly Placement[], component: StorageComponent, urls: readonly string[]): number[] {
  return placements.map((placement) => urls.indexOf(placement[component]));
}

describe('round-robin', () => {
  const urls = [A, B, C];
  const storage = config({
    wal: { urls, strategy: 'round-robin' },
    viper: { urls: [C, B, A], strategy: 'round-robin' },
    lsm: { urls: [A, B], strategy: 'round-robin' },
  });

  it('places collections 1..6 on URLs 0,1,2,0,1,2, per component independently', () => {
    const service = new PlacementService(storage);
    const placements = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((id) => service.assign(id));
    expect(indexesOf(placements, 'wal', urls)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(indexesOf(placements, 'viper', [C, B, A])).toEqual([0, 1, 2, 0, 1, 2]);
    expect(indexesOf(placements, 'lsm', [A, B])).toEqual([0, 1, 0, 1, 0, 1]);
    expect(
      placements.every((placement) => placement.index === 'file:///data' && placement.metadata === 'file:///data'),
    ).toBe(true);
    expect(service.snapshot()).toEqual({ wal: 6, viper: 6, lsm: 6, index: 6, metadata: 6 });
  });

  it('keeps one counter per component: a component at another position is not disturbed', () => {
    const service = new PlacementService(storage, { wal: 1, viper: 0, lsm: 1, index: 0, metadata: 0 });
    const placements = ['c1', 'c2', 'c3'].map((id) => service.assign(id));
    expect(indexesOf(placements, 'wal', urls)).toEqual([1, 2, 0]);
    expect(indexesOf(placements, 'viper', [C, B, A])).toEqual([0, 1, 2]);
    expect(indexesOf(placements, 'lsm', [A, B])).toEqual([1, 0, 1]);
  });

  it('continues after a restart from the persisted counters', () => {
    const first = new PlacementService(storage);
    const before = ['c1', 'c2', 'c3', 'c4'].map((id) => first.assign(id));
    const restarted = new PlacementService(storage, JSON.parse(JSON.stringify(first.snapshot())));
    const after = ['c5', 'c6'].map((id) => restarted.assign(id));
    expect(indexesOf([...before, ...after], 'wal', urls)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('sends only new collections to an added URL', () => {
    const service = new PlacementService(storage);
    const old = ['c1', 'c2', 'c3'].map((id) => service.assign(id));
    const grownConfig: StorageConfig = { ...storage, wal: { urls: [A, B, C, D], strategy: 'round-robin' } };
    const grown = new PlacementService(grownConfig, service.snapshot());
    expect(grown.assign('c4').wal).toBe(D);
    expect(
      findRemovedUrls(
        old.map((placement, index) => ({ name: `c${index + 1}`, placement })),
        grownConfig,
      ),
    ).toEqual([]);
  });
});

describe('hash affinity', () => {
  const storage = config({ wal: { urls: [A, B, C], strategy: 'hash' }, viper: { urls: [A, B, C], strategy: 'hash' } });
  /** fnv1a32(id) mod 3, pinned: a release that changes these moves every hash-placed collection. */
  const PINNED: [string, number][] = [
    ['docs-0a1b2c3d', 2],
    ['x-00000001', 1],
    ['f-33333333', 0],
    ['vectors-9f8e7d6c', 0],
  ];

  it('maps an id to the same URL in every instance, whatever was assigned before, and matches pinned values', () => {
    for (const [id, index] of PINNED) {
      const fresh = new PlacementService(storage).assign(id);
      const busy = new PlacementService(storage, { wal: 17, viper: 5, lsm: 3, index: 9, metadata: 1 });
      for (let i = 0; i < 10; i++) busy.assign(`other-${i}`);
      expect(fresh.wal).toBe([A, B, C][index]);
      expect(busy.assign(id)).toEqual(fresh);
      expect(fresh.viper).toBe(fresh.wal);
    }
  });

  it('maps ids the same way in another process', () => {
    const module = fileURLToPath(new URL('../../storage/placement.ts', import.meta.url));
    const ids = PINNED.map(([id]) => id);
    const script = `import { PlacementService } from ${JSON.stringify(module)};
      const service = new PlacementService(${JSON.stringify(storage)});
      console.log(JSON.stringify(${JSON.stringify(ids)}.map((id) => service.assign(id).wal)));`;
    const output = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(output.trim().split('\n').at(-1) ?? '[]')).toEqual(
      ids.map((id) => new PlacementService(storage).assign(id).wal),
    );
  });

  it('spreads many collections over every URL', () => {
    const service = new PlacementService(storage);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const url = service.assign(`c-${i.toString(16).padStart(8, '0')}`).wal;
      counts.set(url, (counts.get(url) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([A, B, C]);
    for (const count of counts.values()) expect(count).toBeGreaterThan(60);
  });
});

describe('layout and removed URLs', () => {
  it('puts a component of a shard under <url>/<component>/<collectionId>/<shard>', () => {
    const placement: Placement = { ...uniformPlacement(A), wal: B };
    expect(componentDir(placement, 'wal', 'docs-1', 3)).toBe('/mnt/b/wal/docs-1/3');
    expect(shardDirs(placement, 'docs-1', 0)).toEqual({
      walDir: '/mnt/b/wal/docs-1/0',
      viperDir: '/mnt/a/viper/docs-1/0',
      lsmDir: '/mnt/a/lsm/docs-1/0',
      indexDir: '/mnt/a/index/docs-1/0',
      metadataDir: '/mnt/a/metadata/docs-1/0',
    });
  });

  it('lists every URL that still holds collections but is no longer configured, with those collections', () => {
    const collections = [
      { name: 'one', placement: { ...uniformPlacement('file:///data'), wal: A } },
      { name: 'two', placement: { ...uniformPlacement('file:///data'), wal: B } },
      { name: 'three', placement: { ...uniformPlacement('file:///data'), wal: B, viper: C } },
    ];
    const removed = findRemovedUrls(collections, config({ wal: { urls: [A], strategy: 'round-robin' } }));
    expect(removed).toEqual([
      { component: 'wal', url: B, collections: ['two', 'three'] },
      { component: 'viper', url: C, collections: ['three'] },
    ]);
    const error = removedUrlsError(removed);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('storage.wal.urls no longer lists file:///mnt/b, which holds two, three');
    expect(error.message).toContain('storage.viper.urls no longer lists file:///mnt/c, which holds three');
  });
});
