// Proves the stats roll-up: a collection's counters are summed over the shards that answered and its latencies
// and longest stall are the worst shard's, the shards that did not answer count as unavailable, WAL repairs are
// listed per answering shard, and the instance's stats add up the actors' restarts; plain objects in and out.
import { describe, expect, it } from 'vitest';
import { answeredStats, rollUpCollection, rollUpShoal } from '../../../actors/supervisor/stats-roll-up.js';
import type { CollectionIdentity, ShardStatsRolledUp } from '../../../actors/supervisor/stats-roll-up.js';
import type { StorageStats } from '../../../storage/discovery.js';
import type { WalRepair } from '../../../storage/wal/wal.js';

const COLLECTION: CollectionIdentity = {
  name: 'docs',
  id: 'docs-1',
  dimension: 4,
  metric: 'l2',
  shards: 3,
  syncMode: 'batch',
};

function shard(scale: number, repaired: WalRepair | null = null): ShardStatsRolledUp {
  return {
    wal: {
      bytes: 100 * scale,
      segments: scale,
      syncs: 5 * scale,
      appends: 6 * scale,
      recovery: { truncatedBytes: 7 * scale, repaired },
    },
    engine: {
      rows: 10 * scale,
      memoryBytes: 1000 * scale,
      searchP50Ms: scale,
      searchP99Ms: 3 * scale,
      replayedRecords: 2 * scale,
      memtableRows: 4 * scale,
      frozenRows: scale,
      segments: scale,
      indexedSegments: scale,
      segmentBytes: 500 * scale,
      flushes: scale,
      compactions: scale,
      buildsRunning: 1,
      buildFailures: 0,
      buildMsTotal: 20 * scale,
      frozenMemtables: scale,
      stalls: scale,
      stalledWrites: 5 * scale,
      stalledMs: 9 * scale,
      writesHeld: scale,
    },
  };
}

const REPAIR: WalRepair = {
  segment: '0001.wal',
  offset: 64,
  problem: 'bad checksum',
  keptLsn: 3,
  resumeLsn: 10,
  discardedBytes: 128,
  discardedSegments: [],
};

describe('rollUpCollection', () => {
  it('sums counters, takes the worst latency and stall, and counts the missing shard as unavailable', () => {
    const stats = rollUpCollection(COLLECTION, [shard(1), shard(2)], 12, null);
    expect(stats).toEqual({
      ...COLLECTION,
      searches: 12,
      records: 30,
      memoryBytes: 3000,
      walBytes: 300,
      walSegments: 3,
      walSyncs: 15,
      walAppends: 18,
      walTruncatedBytes: 21,
      walRepairs: [],
      searchP50Ms: 2,
      searchP99Ms: 6,
      replayedRecords: 6,
      memtableRows: 15,
      segments: 3,
      indexedSegments: 3,
      segmentBytes: 1500,
      flushes: 3,
      compactions: 3,
      buildsRunning: 2,
      buildFailures: 0,
      buildMsTotal: 60,
      frozenMemtables: 3,
      stalls: 3,
      stalledWrites: 15,
      stalledMs: 18,
      writesHeld: 3,
      unavailableShards: 1,
      error: null,
    });
  });

  it('lists the WAL repairs of the shards that answered, numbered by their place among them', () => {
    const stats = rollUpCollection(COLLECTION, [shard(1), shard(1, REPAIR), shard(1)], 0, null);
    expect(stats.walRepairs).toEqual([{ shard: 1, ...REPAIR }]);
  });

  it('answers zeros, every shard unavailable and the error for a collection that failed to open', () => {
    const failure = { code: 'CORRUPTION' as const, message: 'WAL folder missing' };
    const stats = rollUpCollection(COLLECTION, [], 0, failure);
    expect(stats).toMatchObject({ records: 0, searchP99Ms: 0, stalledMs: 0, unavailableShards: 3, error: failure });
  });
});

describe('answeredStats', () => {
  it('keeps the fulfilled answers in shard order and drops the failed ones', () => {
    const answers: PromiseSettledResult<number>[] = [
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('gone') },
      { status: 'fulfilled', value: 3 },
    ];
    expect(answeredStats(answers)).toEqual([1, 3]);
  });
});

describe('rollUpShoal', () => {
  it('adds up the actors restarts and lists the stopped groups', () => {
    const collections = [rollUpCollection(COLLECTION, [shard(1)], 0, null)];
    const actors = [
      { address: 'supervisor', threadId: 0, restarts: 1 },
      { address: 'wal/docs-1/0', threadId: 2, restarts: 4 },
    ];
    const system = { workers: 2, actors, groups: [] };
    const storage: StorageStats = { components: [], unknown: [] };
    const stats = rollUpShoal(collections, system, new Set(['shard-group/docs-1/2']).keys(), storage);
    const failedShards = ['shard-group/docs-1/2'];
    expect(stats).toEqual({ collections, actors, workers: 2, restarts: 5, failedShards, storage });
  });
});
