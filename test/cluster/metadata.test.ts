// The metadata state machine: every command's effect, refusals that change nothing, idempotent retries, epochs that
// rise on every assignment change, snapshot round trips, and replicas that apply the same log reaching the same state.
import { describe, expect, it } from 'vitest';
import { LOCAL_MEMBER, ClusterStore, decodeCommand, encodeCommand } from '../../cluster/metadata.js';
import type { ClusterCommand } from '../../cluster/metadata.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import { uniformPlacement, zeroCounters } from '../../storage/placement.js';

const PLACEMENT = uniformPlacement('file:///data');

function entry(name: string, id = `${name}-0000000a`, shards = 2): CollectionEntry {
  return { id, name, dimension: 4, metric: 'cosine', shards, syncMode: 'batch', placement: PLACEMENT };
}

function bootstrapped(): ClusterStore {
  const store = new ClusterStore();
  expect(
    store.apply({ type: 'bootstrap', members: [LOCAL_MEMBER], collections: [], counters: zeroCounters() }),
  ).toEqual({ ok: true, repeated: false });
  return store;
}

describe('metadata state machine', () => {
  it('bootstraps once, importing a catalogue with initial shard assignments', () => {
    const store = new ClusterStore();
    expect(store.current().initialized).toBe(false);
    const counters = { ...zeroCounters(), wal: 1 };
    store.apply({ type: 'bootstrap', members: [LOCAL_MEMBER], collections: [entry('a')], counters });
    expect(store.current().initialized).toBe(true);
    expect(store.collection('a')?.id).toBe('a-0000000a');
    expect(store.current().shards['a-0000000a']).toEqual([
      { shard: 0, leader: 'local', replicas: ['local'], epoch: 1 },
      { shard: 1, leader: 'local', replicas: ['local'], epoch: 1 },
    ]);
    expect(store.current().counters).toEqual(counters);
    expect(store.apply({ type: 'bootstrap', members: [], collections: [], counters: zeroCounters() })).toEqual({
      ok: true,
      repeated: true,
    });
    expect(store.collection('a')).toBeDefined();
  });

  it('creates a collection once; a retry with the same id is a repeat, another id is COLLECTION_EXISTS', () => {
    const store = bootstrapped();
    const counters = { ...zeroCounters(), wal: 1, viper: 1 };
    expect(store.apply({ type: 'create-collection', entry: entry('docs'), counters })).toEqual({
      ok: true,
      repeated: false,
    });
    expect(store.current().counters).toEqual(counters);
    expect(store.apply({ type: 'create-collection', entry: entry('docs'), counters })).toEqual({
      ok: true,
      repeated: true,
    });
    const clash = store.apply({
      type: 'create-collection',
      entry: entry('docs', 'docs-0000000b'),
      counters: zeroCounters(),
    });
    expect(clash).toMatchObject({ ok: false, code: 'COLLECTION_EXISTS' });
    expect(store.current().collections).toHaveLength(1);
    expect(store.current().counters).toEqual(counters);
  });

  it('drops by id; dropping again is a repeat; a re-created name gets new assignments', () => {
    const store = bootstrapped();
    store.apply({ type: 'create-collection', entry: entry('docs'), counters: zeroCounters() });
    store.apply({ type: 'set-shard-leader', collectionId: 'docs-0000000a', shard: 0, leader: 'local' });
    expect(store.apply({ type: 'drop-collection', id: 'docs-0000000a' })).toEqual({ ok: true, repeated: false });
    expect(store.collection('docs')).toBeUndefined();
    expect(store.current().shards['docs-0000000a']).toBeUndefined();
    expect(store.apply({ type: 'drop-collection', id: 'docs-0000000a' })).toEqual({ ok: true, repeated: true });
    store.apply({ type: 'create-collection', entry: entry('docs', 'docs-0000000c', 1), counters: zeroCounters() });
    expect(store.shardLeader('docs-0000000c', 0)).toBe('local');
    expect(store.current().shards['docs-0000000c']?.[0]?.epoch).toBe(1);
  });

  it('raises a shard epoch on every assignment change and only then', () => {
    const store = bootstrapped();
    store.apply({ type: 'add-member', member: { id: 'm2', address: 'host-2' } });
    store.apply({ type: 'create-collection', entry: entry('docs'), counters: zeroCounters() });
    const id = 'docs-0000000a';
    expect(
      store.apply({ type: 'assign-shard', collectionId: id, shard: 1, leader: 'local', replicas: ['local', 'm2'] }),
    ).toEqual({ ok: true, repeated: false });
    expect(store.current().shards[id]?.[1]).toEqual({ shard: 1, leader: 'local', replicas: ['local', 'm2'], epoch: 2 });
    expect(store.apply({ type: 'set-shard-leader', collectionId: id, shard: 1, leader: 'm2' })).toEqual({
      ok: true,
      repeated: false,
    });
    expect(store.shardLeader(id, 1)).toBe('m2');
    expect(store.shardReplicas(id, 1)).toEqual(['local', 'm2']);
    expect(store.current().shards[id]?.[1]?.epoch).toBe(3);
    // The same assignment again changes nothing, and the other shard never moved.
    expect(store.apply({ type: 'set-shard-leader', collectionId: id, shard: 1, leader: 'm2' })).toEqual({
      ok: true,
      repeated: true,
    });
    expect(store.current().shards[id]?.[1]?.epoch).toBe(3);
    expect(store.current().shards[id]?.[0]?.epoch).toBe(1);
  });

  it('refuses assignments to non-members, leaders outside the replicas and unknown shards, changing nothing', () => {
    const store = bootstrapped();
    store.apply({ type: 'create-collection', entry: entry('docs'), counters: zeroCounters() });
    const before = store.current();
    expect(
      store.apply({ type: 'set-shard-leader', collectionId: 'docs-0000000a', shard: 0, leader: 'ghost' }),
    ).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    store.apply({ type: 'add-member', member: { id: 'm2', address: 'host-2' } });
    const withMember = store.current();
    expect(
      store.apply({ type: 'set-shard-leader', collectionId: 'docs-0000000a', shard: 0, leader: 'm2' }),
    ).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(
      store.apply({
        type: 'assign-shard',
        collectionId: 'docs-0000000a',
        shard: 9,
        leader: 'local',
        replicas: ['local'],
      }),
    ).toMatchObject({ ok: false, code: 'COLLECTION_NOT_FOUND' });
    expect(store.current()).toBe(withMember);
    expect(withMember.shards).toBe(before.shards);
  });

  it('removes a member only once it hosts no shard', () => {
    const store = bootstrapped();
    store.apply({ type: 'add-member', member: { id: 'm2', address: 'host-2' } });
    store.apply({ type: 'create-collection', entry: entry('docs', 'docs-0000000a', 1), counters: zeroCounters() });
    store.apply({ type: 'assign-shard', collectionId: 'docs-0000000a', shard: 0, leader: 'm2', replicas: ['m2'] });
    expect(store.apply({ type: 'remove-member', id: 'm2' })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    store.apply({
      type: 'assign-shard',
      collectionId: 'docs-0000000a',
      shard: 0,
      leader: 'local',
      replicas: ['local'],
    });
    expect(store.apply({ type: 'remove-member', id: 'm2' })).toEqual({ ok: true, repeated: false });
    expect(store.current().members.map((member) => member.id)).toEqual(['local']);
  });

  it('moves a collection with set-placement', () => {
    const store = bootstrapped();
    store.apply({ type: 'create-collection', entry: entry('docs'), counters: zeroCounters() });
    const moved = uniformPlacement('file:///elsewhere');
    expect(store.apply({ type: 'set-placement', collectionId: 'docs-0000000a', placement: moved }).ok).toBe(true);
    expect(store.collection('docs')?.placement).toEqual(moved);
    expect(store.apply({ type: 'set-placement', collectionId: 'nope-00000000', placement: moved })).toMatchObject({
      ok: false,
      code: 'COLLECTION_NOT_FOUND',
    });
  });

  it('treats empty and undecodable entry data as no-ops', () => {
    const store = bootstrapped();
    const before = store.current();
    expect(store.applyData(new Uint8Array(0))).toBeNull();
    expect(store.applyData(new TextEncoder().encode('{not json'))).toBeNull();
    expect(store.applyData(new TextEncoder().encode('[1,2]'))).toBeNull();
    expect(store.applyData(encodeCommand({ type: 'no-such-command' } as unknown as ClusterCommand))).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
    });
    expect(store.current()).toBe(before);
  });

  it('round-trips commands and snapshots; replicas fed the same log agree', () => {
    const log: ClusterCommand[] = [
      { type: 'bootstrap', members: [LOCAL_MEMBER], collections: [entry('a')], counters: zeroCounters() },
      { type: 'create-collection', entry: entry('b', 'b-0000000b'), counters: { ...zeroCounters(), wal: 2 } },
      { type: 'add-member', member: { id: 'm2', address: 'host-2' } },
      { type: 'assign-shard', collectionId: 'b-0000000b', shard: 0, leader: 'm2', replicas: ['m2', 'local'] },
      { type: 'drop-collection', id: 'a-0000000a' },
      { type: 'create-collection', entry: entry('b', 'b-0000000c'), counters: zeroCounters() },
    ];
    const first = new ClusterStore();
    const second = new ClusterStore();
    const results = log.map((command) => first.apply(decodeCommand(encodeCommand(command)) as ClusterCommand));
    for (const command of log) second.applyData(encodeCommand(command));
    expect(results.map((result) => result.ok)).toEqual([true, true, true, true, true, false]);
    expect(second.current()).toEqual(first.current());
    const restored = ClusterStore.restore(first.snapshot());
    expect(restored.current()).toEqual(first.current());
    expect(ClusterStore.restore(new Uint8Array(0)).current().initialized).toBe(false);
  });
});
