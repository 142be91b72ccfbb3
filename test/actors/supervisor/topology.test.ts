// Proves the supervisor's pure topology: a collection's shard groups name the WAL writer, engine and shard actor
// of each shard under the stable addresses, restarted rest_for_one with the configured intensity, with the
// arguments the collection records (absent settings left out) and its placement's folders; the metadata group has
// one one_for_one group per replica with the Raft timing. Plain data in and out, no actors started.
import { describe, expect, it } from 'vitest';
import {
  ACTOR_MODULES,
  METADATA_RAFT,
  collectionGroupNames,
  collectionGroupSpecs,
  metadataGroupSpecs,
  shardGroupSpec,
  shardTargetAddress,
} from '../../../actors/supervisor/topology.js';
import type { SupervisorArgs } from '../../../actors/supervisor-protocol.js';
import type { CollectionEntry } from '../../../storage/collection-entry.js';
import { PlacementService, defaultStorageConfig, shardDirs, zeroCounters } from '../../../storage/placement.js';

const ARGS: SupervisorArgs = {
  dataDir: '/data',
  storage: defaultStorageConfig('/data'),
  maxRestarts: 5,
  withinMs: 60_000,
  metadata: { replicas: 3, tickMs: 20 },
};

function entry(fields: Partial<CollectionEntry> = {}): CollectionEntry {
  const placement = new PlacementService(ARGS.storage, zeroCounters()).assign('docs-0000abcd');
  const recorded = { name: 'docs', dimension: 4, metric: 'cosine', shards: 2, syncMode: 'batch' } as const;
  return { id: 'docs-0000abcd', ...recorded, placement, ...fields };
}

describe('shard groups', () => {
  it('starts the WAL writer, the engine and the shard actor of a shard, in that order, rest_for_one', () => {
    const group = shardGroupSpec(ARGS, entry(), 1);
    expect(group).toMatchObject({ name: 'shard-group/docs-0000abcd/1', strategy: 'rest_for_one', maxRestarts: 5 });
    expect(group.withinMs).toBe(60_000);
    expect(group.owner).toBe('supervisor');
    expect(group.children.map((child) => [child.address, child.module, child.factory])).toEqual([
      ['wal/docs-0000abcd/1', ACTOR_MODULES.wal, 'createWalWriter'],
      ['engine/docs-0000abcd/1', ACTOR_MODULES.engine, 'createEngine'],
      ['shard/docs-0000abcd/1', ACTOR_MODULES.shard, 'createShard'],
    ]);
  });

  it('gives each actor the collection settings and its placement folders, leaving absent settings out', () => {
    const dirs = shardDirs(entry().placement, 'docs-0000abcd', 0);
    const [wal, engine, shard] = shardGroupSpec(ARGS, entry(), 0).children;
    expect(wal?.args).toEqual({ dir: dirs.walDir, dimension: 4, syncMode: 'batch', repair: false });
    const { walDir: _walDir, ...engineDirs } = dirs;
    const wal0 = 'wal/docs-0000abcd/0';
    expect(engine?.args).toEqual({ dimension: 4, metric: 'cosine', wal: wal0, settings: {}, ...engineDirs });
    expect(shard?.args).toEqual({ wal: 'wal/docs-0000abcd/0', engine: 'engine/docs-0000abcd/0' });
  });

  it('passes the settings a collection records and the WAL repair switch', () => {
    const recorded = entry({ syncMode: 'periodic', syncIntervalMs: 50, flushThresholdRows: 100, hnsw: { m: 8 } });
    const [wal, engine] = shardGroupSpec({ ...ARGS, repairWal: true }, recorded, 0).children;
    expect(wal?.args).toMatchObject({ syncMode: 'periodic', syncIntervalMs: 50, repair: true });
    expect(engine?.args).toMatchObject({ settings: { flushThresholdRows: 100, hnsw: { m: 8 } } });
  });

  it('lists one group per shard, shard 0 first, under the names the group specs carry', () => {
    const specs = collectionGroupSpecs(ARGS, entry({ shards: 3 }));
    expect(specs.map((spec) => spec.name)).toEqual(collectionGroupNames(entry({ shards: 3 })));
    expect(collectionGroupNames({ id: 'c1', shards: 2 })).toEqual(['shard-group/c1/0', 'shard-group/c1/1']);
  });

  it('addresses a shard ask to the shard actor or to the engine', () => {
    expect(shardTargetAddress('shard', 'c1', 3)).toBe('shard/c1/3');
    expect(shardTargetAddress('engine', 'c1', 3)).toBe('engine/c1/3');
  });
});

describe('actor modules', () => {
  it('name the actor files beside the supervisor, with the extension Shoal runs from', () => {
    expect(new URL(ACTOR_MODULES.wal).pathname).toMatch(/\/actors\/wal-writer-actor\.ts$/);
    expect(new URL(ACTOR_MODULES.engine).pathname).toMatch(/\/actors\/engine-actor\.ts$/);
    expect(new URL(ACTOR_MODULES.shard).pathname).toMatch(/\/actors\/shard-actor\.ts$/);
    expect(new URL(ACTOR_MODULES.metadata).pathname).toMatch(/\/actors\/metadata-replica-actor\.ts$/);
  });
});

describe('metadata groups', () => {
  it('runs each replica alone in a one_for_one group, with every peer and the Raft timing', () => {
    const groups = metadataGroupSpecs(ARGS, [1, 2, 3]);
    expect(groups.map((group) => [group.name, group.strategy, group.children.length])).toEqual([
      ['metadata-group/1', 'one_for_one', 1],
      ['metadata-group/2', 'one_for_one', 1],
      ['metadata-group/3', 'one_for_one', 1],
    ]);
    const replica = groups[1]?.children[0];
    const module = ACTOR_MODULES.metadata;
    expect(replica).toMatchObject({ address: 'metadata/2', module, factory: 'createMetadataReplica' });
    const dir = '/data/cluster/replica-2';
    expect(replica?.args).toEqual({ id: 2, peers: [1, 2, 3], dir, tickMs: 20, ...METADATA_RAFT });
  });
});
