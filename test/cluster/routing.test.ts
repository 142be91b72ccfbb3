// Proves key routing: fnv1a32 matches the FNV reference test vectors, and ids spread over shards evenly and stably.
import { describe, expect, it } from 'vitest';
import { fnv1a32, partitionByShard, shardOf } from '../../cluster/routing.js';

describe('fnv1a32', () => {
  it('matches the FNV reference vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, so a string and its encoding agree', () => {
    expect(fnv1a32('grüße')).toBe(fnv1a32(new TextEncoder().encode('grüße')));
    expect(fnv1a32('grüße')).not.toBe(fnv1a32('grusse'));
  });
});

describe('shardOf', () => {
  it('is stable and in range', () => {
    for (const count of [1, 2, 3, 4, 7]) {
      for (let i = 0; i < 200; i++) {
        const shard = shardOf(`id-${i}`, count);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(count);
        expect(shardOf(`id-${i}`, count)).toBe(shard);
      }
    }
  });

  it('spreads 40,000 ids over 4 shards within 5% of even', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[shardOf(`doc-${i}`, 4)]!++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('partitions rows by shard in input order', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `x${i}`);
    const parts = partitionByShard(ids, 3);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(ids.map((_, i) => i));
    parts.forEach((rows, shard) => {
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
      for (const row of rows) expect(shardOf(ids[row]!, 3)).toBe(shard);
    });
  });
});
