// Proves key routing: ids spread over shards evenly and stably, rows partition by owning shard in input order.
import { describe, expect, it } from 'vitest';
import { partitionByShard, shardOf } from '../../cluster/routing.js';

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
