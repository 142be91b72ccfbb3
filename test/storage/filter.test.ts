// Proves compiled filters match the documented semantics by evaluating each operator on records built to make it true
// and false, and that every malformed filter is rejected with INVALID_ARGUMENT naming the path of the problem.
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import type { Metadata } from '../../storage/types.js';
import { FILTER_CONDITIONS_MAX, FILTER_DEPTH_MAX, compileFilter } from '../../storage/filter.js';

function matches(filter: unknown, metadata: Metadata | null): boolean {
  const predicate = compileFilter(filter);
  if (predicate === null) throw new Error('expected a predicate');
  return predicate(metadata);
}

function expectInvalid(filter: unknown, messagePrefix: string): void {
  let caught: unknown;
  try {
    compileFilter(filter);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ShoalError);
  const shoalError = caught as ShoalError;
  expect(shoalError.code).toBe('INVALID_ARGUMENT');
  expect(shoalError.message.startsWith(messagePrefix)).toBe(true);
}

const record: Metadata = {
  lang: 'en',
  year: 2020,
  draft: false,
  editor: null,
  tags: ['a', 'b'],
  years: [2019, 2021],
  author: { name: 'ada', address: { city: 'london' } },
};

describe('compileFilter: no filter', () => {
  it('returns null for undefined, null and {}', () => {
    expect(compileFilter(undefined)).toBeNull();
    expect(compileFilter(null)).toBeNull();
    expect(compileFilter({})).toBeNull();
  });
});

describe('compileFilter: field operators', () => {
  it('equality by value', () => {
    expect(matches({ lang: 'en' }, record)).toBe(true);
    expect(matches({ lang: 'fr' }, record)).toBe(false);
    expect(matches({ year: 2020 }, record)).toBe(true);
    expect(matches({ year: '2020' }, record)).toBe(false);
    expect(matches({ draft: false }, record)).toBe(true);
    expect(matches({ draft: true }, record)).toBe(false);
    expect(matches({ editor: null }, record)).toBe(true);
    expect(matches({ lang: null }, record)).toBe(false);
  });

  it('$eq and $ne', () => {
    expect(matches({ lang: { $eq: 'en' } }, record)).toBe(true);
    expect(matches({ lang: { $eq: 'fr' } }, record)).toBe(false);
    expect(matches({ lang: { $ne: 'fr' } }, record)).toBe(true);
    expect(matches({ lang: { $ne: 'en' } }, record)).toBe(false);
  });

  it('$gt, $gte, $lt, $lte on numbers', () => {
    expect(matches({ year: { $gt: 2019 } }, record)).toBe(true);
    expect(matches({ year: { $gt: 2020 } }, record)).toBe(false);
    expect(matches({ year: { $gte: 2020 } }, record)).toBe(true);
    expect(matches({ year: { $gte: 2021 } }, record)).toBe(false);
    expect(matches({ year: { $lt: 2021 } }, record)).toBe(true);
    expect(matches({ year: { $lt: 2020 } }, record)).toBe(false);
    expect(matches({ year: { $lte: 2020 } }, record)).toBe(true);
    expect(matches({ year: { $lte: 2019 } }, record)).toBe(false);
  });

  it('comparisons on strings use code-unit order', () => {
    expect(matches({ lang: { $gt: 'de' } }, record)).toBe(true);
    expect(matches({ lang: { $gt: 'fr' } }, record)).toBe(false);
    expect(matches({ lang: { $lte: 'en' } }, record)).toBe(true);
    expect(matches({ lang: { $lt: 'en' } }, record)).toBe(false);
  });

  it('comparisons between different kinds are false', () => {
    expect(matches({ year: { $gt: '1000' } }, record)).toBe(false);
    expect(matches({ lang: { $lt: 5 } }, record)).toBe(false);
    expect(matches({ draft: { $lt: 5 } }, record)).toBe(false);
    expect(matches({ editor: { $gte: 0 } }, record)).toBe(false);
    expect(matches({ years: { $gt: 0 } }, record)).toBe(false);
  });

  it('several operators in one object are ANDed', () => {
    expect(matches({ year: { $gte: 2000, $lt: 2030 } }, record)).toBe(true);
    expect(matches({ year: { $gte: 2000, $lt: 2010 } }, record)).toBe(false);
  });

  it('$in and $nin', () => {
    expect(matches({ lang: { $in: ['fr', 'en'] } }, record)).toBe(true);
    expect(matches({ lang: { $in: ['fr', 'de'] } }, record)).toBe(false);
    expect(matches({ lang: { $in: [] } }, record)).toBe(false);
    expect(matches({ lang: { $nin: ['fr', 'de'] } }, record)).toBe(true);
    expect(matches({ lang: { $nin: ['en'] } }, record)).toBe(false);
    expect(matches({ editor: { $in: [null] } }, record)).toBe(true);
  });
});

describe('compileFilter: paths, arrays and missing fields', () => {
  it('dotted paths read nested objects', () => {
    expect(matches({ 'author.name': 'ada' }, record)).toBe(true);
    expect(matches({ 'author.address.city': { $in: ['london', 'paris'] } }, record)).toBe(true);
    expect(matches({ 'author.address.city': 'paris' }, record)).toBe(false);
    expect(matches({ 'author.name.first': 'ada' }, record)).toBe(false);
    expect(matches({ 'tags.0': 'a' }, record)).toBe(false);
  });

  it('array values match equality and $in when any element matches', () => {
    expect(matches({ tags: 'b' }, record)).toBe(true);
    expect(matches({ tags: 'c' }, record)).toBe(false);
    expect(matches({ tags: { $in: ['c', 'a'] } }, record)).toBe(true);
    expect(matches({ tags: { $in: ['c', 'd'] } }, record)).toBe(false);
    expect(matches({ tags: { $ne: 'a' } }, record)).toBe(false);
    expect(matches({ tags: { $nin: ['c'] } }, record)).toBe(true);
    expect(matches({ years: 2021 }, record)).toBe(true);
  });

  it('a missing field equals nothing, and $ne/$nin on it are true', () => {
    expect(matches({ missing: null }, record)).toBe(false);
    expect(matches({ missing: { $eq: 'x' } }, record)).toBe(false);
    expect(matches({ missing: { $in: [null, 'x'] } }, record)).toBe(false);
    expect(matches({ missing: { $gt: 0 } }, record)).toBe(false);
    expect(matches({ missing: { $ne: null } }, record)).toBe(true);
    expect(matches({ missing: { $nin: [null] } }, record)).toBe(true);
    expect(matches({ 'author.missing': { $ne: 'x' } }, record)).toBe(true);
  });

  it('null metadata has every field missing', () => {
    expect(matches({ lang: 'en' }, null)).toBe(false);
    expect(matches({ lang: { $ne: 'en' } }, null)).toBe(true);
  });

  it('reads own properties only', () => {
    expect(matches({ constructor: { $ne: null } }, {})).toBe(true);
    expect(matches({ 'constructor.name': 'Object' }, {})).toBe(false);
  });
});

describe('compileFilter: logical operators', () => {
  it('$and, $or and $not', () => {
    expect(matches({ $and: [{ lang: 'en' }, { year: 2020 }] }, record)).toBe(true);
    expect(matches({ $and: [{ lang: 'en' }, { year: 2021 }] }, record)).toBe(false);
    expect(matches({ $or: [{ lang: 'fr' }, { year: 2020 }] }, record)).toBe(true);
    expect(matches({ $or: [{ lang: 'fr' }, { year: 2021 }] }, record)).toBe(false);
    expect(matches({ $not: { lang: 'fr' } }, record)).toBe(true);
    expect(matches({ $not: { lang: 'en' } }, record)).toBe(false);
  });

  it('several keys in one object are ANDed', () => {
    expect(matches({ lang: 'en', year: 2020, $or: [{ draft: true }, { tags: 'a' }] }, record)).toBe(true);
    expect(matches({ lang: 'en', year: 2021 }, record)).toBe(false);
  });

  it('accepts nesting up to the depth limit', () => {
    let filter: unknown = { lang: 'en' };
    for (let level = 1; level < FILTER_DEPTH_MAX; level++) filter = { $and: [filter] };
    expect(matches(filter, record)).toBe(true);
  });
});

describe('compileFilter: invalid filters', () => {
  it('rejects non-plain-object filters', () => {
    expectInvalid('lang', 'filter: expected a plain object');
    expectInvalid([{ lang: 'en' }], 'filter: expected a plain object');
    expectInvalid(new Map(), 'filter: expected a plain object');
    expectInvalid({ $and: [{ lang: 'en' }, 3] }, 'filter.$and[1]: expected a plain object');
    expectInvalid({ $not: [] }, 'filter.$not: expected a plain object');
  });

  it('rejects unknown operators, naming the path', () => {
    expectInvalid({ $and: [{ lang: 'en' }, { year: { $foo: 1 } }] }, 'filter.$and[1].year: unknown operator $foo');
    expectInvalid({ $nor: [{ lang: 'en' }] }, 'filter: unknown operator $nor');
    expectInvalid({ author: { name: 'ada' } }, 'filter.author: unknown operator name');
    expectInvalid({ year: {} }, 'filter.year: empty operator object');
  });

  it('rejects $in/$nin that are not arrays of scalars', () => {
    expectInvalid({ lang: { $in: 'en' } }, 'filter.lang.$in: expected an array');
    expectInvalid({ lang: { $nin: { a: 1 } } }, 'filter.lang.$nin: expected an array');
    expectInvalid(
      { lang: { $in: ['en', { a: 1 }] } },
      'filter.lang.$in[1]: expected a string, number, boolean or null',
    );
  });

  it('rejects $and/$or that are not non-empty arrays', () => {
    expectInvalid({ $and: [] }, 'filter.$and: expected a non-empty array');
    expectInvalid({ $or: { lang: 'en' } }, 'filter.$or: expected a non-empty array');
  });

  it('rejects operator and field values that are objects, functions or NaN', () => {
    expectInvalid({ lang: { $eq: { a: 1 } } }, 'filter.lang.$eq: expected a string, number, boolean or null');
    expectInvalid({ lang: { $ne: () => true } }, 'filter.lang.$ne: expected a string, number, boolean or null');
    expectInvalid({ lang: ['en'] }, 'filter.lang: expected a string, number, boolean or null');
    expectInvalid({ lang: undefined }, 'filter.lang: expected a string, number, boolean or null');
    expectInvalid({ year: { $gt: Number.NaN } }, 'filter.year.$gt: expected a number or string');
    expectInvalid({ year: { $lt: null } }, 'filter.year.$lt: expected a number or string');
    expectInvalid({ year: { $gte: [1] } }, 'filter.year.$gte: expected a number or string');
  });

  it('rejects empty path segments', () => {
    expectInvalid({ 'author..name': 'ada' }, 'filter.author..name: empty segment');
    expectInvalid({ '': 'x' }, 'filter.: empty segment');
  });

  it(`rejects nesting deeper than ${FILTER_DEPTH_MAX} levels`, () => {
    let filter: unknown = { lang: 'en' };
    for (let level = 1; level <= FILTER_DEPTH_MAX; level++) filter = { $not: filter };
    const path = `filter${'.$not'.repeat(FILTER_DEPTH_MAX)}`;
    expectInvalid(filter, `${path}: nesting deeper than ${FILTER_DEPTH_MAX} levels`);
  });

  it(`rejects more than ${FILTER_CONDITIONS_MAX} conditions`, () => {
    const clauses = Array.from({ length: FILTER_CONDITIONS_MAX + 1 }, (_, index) => ({ field: index }));
    expectInvalid(
      { $or: clauses },
      `filter.$or[${FILTER_CONDITIONS_MAX}].field: more than ${FILTER_CONDITIONS_MAX} conditions`,
    );
    const atLimit = Array.from({ length: FILTER_CONDITIONS_MAX }, (_, index) => ({ field: index }));
    expect(matches({ $or: atLimit }, { field: 7 })).toBe(true);
  });
});

describe('compileFilter: $exists', () => {
  it('matches present fields (null included) with true and missing ones with false', () => {
    expect(matches({ lang: { $exists: true } }, record)).toBe(true);
    expect(matches({ editor: { $exists: true } }, record)).toBe(true);
    expect(matches({ missing: { $exists: true } }, record)).toBe(false);
    expect(matches({ missing: { $exists: false } }, record)).toBe(true);
    expect(matches({ 'author.name': { $exists: true } }, record)).toBe(true);
    expect(matches({ 'author.age': { $exists: false } }, record)).toBe(true);
    expect(matches({ lang: { $exists: false } }, null)).toBe(true);
    expect(matches({ year: { $exists: true, $gte: 2020 } }, record)).toBe(true);
    expect(matches({ $not: { lang: { $exists: true } } }, record)).toBe(false);
  });

  it('rejects a non-boolean operand', () => {
    expectInvalid({ lang: { $exists: 1 } }, 'filter.lang.$exists: expected true or false');
    expectInvalid({ lang: { $exists: 'yes' } }, 'filter.lang.$exists: expected true or false');
  });
});

describe('compileFilter: $id', () => {
  function matchesId(filter: unknown, id: string | undefined): boolean {
    const predicate = compileFilter(filter);
    if (predicate === null) throw new Error('expected a predicate');
    return predicate(record, id);
  }

  it('tests the record id with equality, $eq, $ne, $in and $nin, combined with metadata conditions', () => {
    expect(matchesId({ $id: 'a' }, 'a')).toBe(true);
    expect(matchesId({ $id: 'a' }, 'b')).toBe(false);
    expect(matchesId({ $id: { $eq: 'a' } }, 'a')).toBe(true);
    expect(matchesId({ $id: { $ne: 'a' } }, 'b')).toBe(true);
    expect(matchesId({ $id: { $in: ['a', 'b'] } }, 'b')).toBe(true);
    expect(matchesId({ $id: { $in: ['a', 'b'] } }, 'c')).toBe(false);
    expect(matchesId({ $id: { $nin: ['a', 'b'] } }, 'c')).toBe(true);
    expect(matchesId({ $id: { $in: ['a'] }, lang: 'en' }, 'a')).toBe(true);
    expect(matchesId({ $id: { $in: ['a'] }, lang: 'de' }, 'a')).toBe(false);
    expect(matchesId({ $or: [{ $id: 'x' }, { lang: 'de' }] }, 'x')).toBe(true);
    expect(matchesId({ $not: { $id: 'x' } }, 'x')).toBe(false);
  });

  it('equals nothing without an id', () => {
    expect(matchesId({ $id: 'a' }, undefined)).toBe(false);
    expect(matchesId({ $id: { $nin: ['a'] } }, undefined)).toBe(true);
  });

  it('rejects operands that are not ids and operators other than $eq, $ne, $in, $nin', () => {
    expectInvalid({ $id: 3 }, 'filter.$id: expected an id (a string)');
    expectInvalid({ $id: { $in: ['a', 2] } }, 'filter.$id.$in[1]: expected an id (a string)');
    expectInvalid({ $id: { $gt: 'a' } }, 'filter.$id: unknown $id operator $gt');
    expectInvalid({ $id: { $in: 'a' } }, 'filter.$id.$in: expected an array');
    expectInvalid({ $and: [{ $id: null }] }, 'filter.$and[0].$id: expected an id (a string)');
  });
});
