// Proves the Qdrant filter translation selects exactly what Qdrant's documented semantics select: each construct (must,
// should, must_not, min_should, nested filters, match value/any/except, range, is_null, is_empty, has_id, dotted keys
// and a trailing key[]) is evaluated by a small oracle written straight from Qdrant's filtering docs and by Shoal's
// compiled filter on the translated form, over payloads with missing, null, scalar, array and nested fields, and the
// two must agree on every point; the constructs Shoal cannot honour are refused with INVALID_ARGUMENT naming them.
// Pure: no threads.
import { describe, expect, it } from 'vitest';
import { shoalFilterOf } from '../../../actors/server/qdrant-filter.js';
import { ShoalError } from '../../../runtime/errors.js';
import { compileFilter } from '../../../storage/filter.js';

type Payload = Record<string, unknown>;
const POINTS: readonly { id: string; payload: Payload }[] = [
  { id: '1', payload: { city: 'London', color: 'green', price: 10, tags: ['a', 'b'], meta: { level: 1 } } },
  { id: '2', payload: { city: 'London', color: 'red', price: 25, tags: ['b'] } },
  { id: '3', payload: { city: 'London', color: 'blue', price: null } },
  { id: '4', payload: { city: 'Berlin', color: 'red', price: 40, tags: ['c'], meta: { level: 3 } } },
  { id: '5', payload: { city: 'Moscow', color: 'green', in_stock: true } },
  { id: '6', payload: { city: 'Moscow', color: 'blue', price: 5, in_stock: false, meta: { level: 2 } } },
];

type Condition = Record<string, unknown>;

/** The values at a dotted key (an array's elements for a trailing `[]` or an array value). */
function valuesAt(payload: Payload, key: string): unknown[] {
  const path = key.endsWith('[]') ? key.slice(0, -2) : key;
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    value = (value as Payload)[part];
  }
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Qdrant's semantics, from its documentation, evaluated directly. */
function oracleCondition(condition: Condition, point: { id: string; payload: Payload }): boolean {
  if ('must' in condition || 'should' in condition || 'must_not' in condition || 'min_should' in condition)
    return oracle(condition, point);
  if ('has_id' in condition) return (condition['has_id'] as unknown[]).map(String).includes(point.id);
  if ('is_null' in condition) {
    const key = (condition['is_null'] as { key: string }).key;
    return point.payload[key] === null;
  }
  if ('is_empty' in condition) {
    const key = (condition['is_empty'] as { key: string }).key;
    return point.payload[key] === undefined || point.payload[key] === null;
  }
  const values = valuesAt(point.payload, condition['key'] as string);
  const match = condition['match'] as Record<string, unknown> | undefined;
  if (match !== undefined) {
    if ('value' in match) return values.includes(match['value']);
    if ('any' in match) return values.some((value) => (match['any'] as unknown[]).includes(value));
    // except is a NOR of its values: no value of the point is among them (so a missing field passes).
    if ('except' in match) return !values.some((value) => (match['except'] as unknown[]).includes(value));
  }
  const range = condition['range'] as Record<string, number> | undefined;
  if (range !== undefined) {
    return values.some(
      (value) =>
        typeof value === 'number' &&
        (range['gt'] === undefined || value > range['gt']) &&
        (range['gte'] === undefined || value >= range['gte']) &&
        (range['lt'] === undefined || value < range['lt']) &&
        (range['lte'] === undefined || value <= range['lte']),
    );
  }
  throw new Error(`the oracle cannot evaluate ${JSON.stringify(condition)}`);
}

function list(value: unknown): Condition[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as Condition[];
}

function oracle(filter: Condition, point: { id: string; payload: Payload }): boolean {
  const must = list(filter['must']).every((condition) => oracleCondition(condition, point));
  const shouldList = list(filter['should']);
  const should = shouldList.length === 0 || shouldList.some((condition) => oracleCondition(condition, point));
  const mustNot = !list(filter['must_not']).some((condition) => oracleCondition(condition, point));
  const minShould = filter['min_should'] as { conditions: Condition[]; min_count: number } | undefined;
  const enough =
    minShould === undefined ||
    minShould.conditions.filter((condition) => oracleCondition(condition, point)).length >= minShould.min_count;
  return must && should && mustNot && enough;
}

const CASES: [string, Condition][] = [
  [
    'must of two matches',
    {
      must: [
        { key: 'city', match: { value: 'London' } },
        { key: 'color', match: { value: 'red' } },
      ],
    },
  ],
  [
    'should',
    {
      should: [
        { key: 'city', match: { value: 'London' } },
        { key: 'color', match: { value: 'red' } },
      ],
    },
  ],
  [
    'must_not',
    {
      must_not: [
        { key: 'city', match: { value: 'London' } },
        { key: 'color', match: { value: 'red' } },
      ],
    },
  ],
  ['a single condition instead of a list', { must: { key: 'color', match: { value: 'green' } } }],
  [
    'nested clauses',
    {
      must: [
        {
          should: [
            { key: 'color', match: { value: 'red' } },
            { key: 'color', match: { value: 'blue' } },
          ],
        },
      ],
      must_not: [{ key: 'city', match: { value: 'Berlin' } }],
    },
  ],
  [
    'min_should',
    {
      min_should: {
        conditions: [
          { key: 'city', match: { value: 'London' } },
          { key: 'color', match: { value: 'red' } },
          { key: 'price', range: { gte: 20 } },
        ],
        min_count: 2,
      },
    },
  ],
  ['match a boolean', { must: [{ key: 'in_stock', match: { value: true } }] }],
  ['match any', { must: [{ key: 'color', match: { any: ['red', 'blue'] } }] }],
  ['match except (a missing field passes)', { must: [{ key: 'tags', match: { except: ['b'] } }] }],
  ['match an array element', { must: [{ key: 'tags', match: { value: 'b' } }] }],
  ['a trailing []', { must: [{ key: 'tags[]', match: { any: ['a', 'c'] } }] }],
  ['range', { must: [{ key: 'price', range: { gt: 5, lte: 25 } }] }],
  ['a dotted key', { must: [{ key: 'meta.level', range: { gte: 2 } }] }],
  ['is_null', { must: [{ is_null: { key: 'price' } }] }],
  ['is_empty', { must: [{ is_empty: { key: 'price' } }] }],
  ['has_id', { must: [{ has_id: [1, 4, 6] }] }],
  [
    'has_id in must_not beside a match',
    { must: [{ key: 'color', match: { value: 'blue' } }], must_not: [{ has_id: [3] }] },
  ],
];

describe('the Qdrant filter translation', () => {
  it.each(CASES)('%s: selects what Qdrant selects', (_, filter) => {
    const expected = POINTS.filter((point) => oracle(filter, point)).map((point) => point.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(POINTS.length);
    const predicate = compileFilter(shoalFilterOf(filter));
    const selected = POINTS.filter((point) => predicate === null || predicate(point.payload, point.id)).map(
      (point) => point.id,
    );
    expect(selected).toEqual(expected);
  });

  it('treats no filter, null and an empty filter as no filter', () => {
    expect(shoalFilterOf(undefined)).toBeUndefined();
    expect(shoalFilterOf(null)).toBeUndefined();
    expect(shoalFilterOf({})).toBeUndefined();
    expect(shoalFilterOf({ must: [] })).toBeUndefined();
  });

  it.each([
    ['full-text match', { must: [{ key: 'city', match: { text: 'Lon' } }] }, 'full-text'],
    ['nested', { must: [{ nested: { key: 'meta', filter: { must: [] } } }] }, 'nested'],
    ['geo', { must: [{ key: 'loc', geo_radius: { center: { lat: 0, lon: 0 }, radius: 1 } }] }, 'geo_radius'],
    ['an array path inside a key', { must: [{ key: 'a[].b', match: { value: 1 } }] }, 'array paths'],
    ['an unknown clause', { maybe: [] }, 'maybe'],
    ['a datetime range', { must: [{ key: 'at', range: { gt: '2024-01-01' } }] }, 'datetime'],
    ['a point id above 2^53', { must: [{ has_id: [2 ** 60] }] }, 'has_id[0]'],
  ])('refuses %s with INVALID_ARGUMENT naming it', (_, filter, named) => {
    let caught: unknown = null;
    try {
      shoalFilterOf(filter);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ShoalError);
    expect((caught as ShoalError).code).toBe('INVALID_ARGUMENT');
    expect((caught as ShoalError).message).toContain(named);
  });
});
