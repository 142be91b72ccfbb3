// Proves the ascending id walk: several sorted lists merge into one ascending sequence of distinct ids after the
// cursor, checked against a sort of their union for random lists and cursors, and the binary search finds the first id
// above a cursor.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../runtime/random.js';
import { ascendingIds, firstAfter } from '../../storage/id-scan.js';

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe('ascendingIds', () => {
  it('merges sorted lists into distinct ascending ids after the cursor', () => {
    const random = new SeededRandom(3);
    for (let round = 0; round < 200; round++) {
      const lists = Array.from({ length: random.int(5) }, () =>
        [...new Set(Array.from({ length: random.int(20) }, () => `k${random.int(50)}`))].sort(byCodeUnit),
      );
      const after = random.next() < 0.3 ? null : `k${random.int(50)}`;
      const union = [...new Set(lists.flat())].filter((id) => after === null || id > after).sort(byCodeUnit);
      expect([...ascendingIds(lists, after)]).toEqual(union);
    }
  });

  it('is lazy: a caller that stops early gets the smallest ids', () => {
    const walk = ascendingIds(
      [
        ['a', 'c', 'e'],
        ['b', 'd'],
      ],
      null,
    );
    expect([walk.next().value, walk.next().value, walk.next().value]).toEqual(['a', 'b', 'c']);
  });
});

describe('firstAfter', () => {
  it('finds the first index above the cursor', () => {
    const sorted = ['B', 'a', 'ab', 'b'];
    expect(firstAfter(sorted, null)).toBe(0);
    expect(firstAfter(sorted, 'A')).toBe(0);
    expect(firstAfter(sorted, 'a')).toBe(2);
    expect(firstAfter(sorted, 'aa')).toBe(2);
    expect(firstAfter(sorted, 'b')).toBe(4);
  });
});
