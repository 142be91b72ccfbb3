/**
 * Qdrant's filter language translated to Shoal's. Pure: a JSON value in, a
 * Shoal `Filter` out, or INVALID_ARGUMENT naming the construct Shoal cannot
 * honour (geo, datetime ranges, values_count, nested, full-text match).
 *
 * Clauses: `must` (all), `should` (at least one), `must_not` (none),
 * `min_should` (at least `min_count` of its conditions), each a condition or
 * a list; a filter is also a condition, so they nest. Conditions: a field
 * `match` (`value`, `any`, `except`), `range`, `is_empty`, `is_null`, and
 * `has_id`. Keys are dotted paths into nested objects; a trailing `[]` (the
 * elements of an array field) is the field itself, since Shoal already
 * matches an array field when one of its elements matches; `[]` inside a path
 * is refused.
 */
import { invalidArgument } from '../../runtime/errors.js';
import type { Filter } from '../public-api.js';
import { recordIdOf } from './qdrant-ids.js';

/** How deep filters may nest here (Shoal bounds them again). */
const DEPTH_MAX = 32;
/** The most conjunctions a `min_should` may expand into. */
const MIN_SHOULD_EXPANSION_MAX = 256;

type Json = Record<string, unknown>;

/** The Shoal filter of a Qdrant filter; undefined for none (`null`, absent or empty). */
export function shoalFilterOf(value: unknown, field = 'filter'): Filter | undefined {
  if (value === undefined || value === null) return undefined;
  const filter = translateFilter(value, field, 1);
  return Object.keys(filter).length === 0 ? undefined : filter;
}

function translateFilter(value: unknown, field: string, depth: number): Filter {
  if (depth > DEPTH_MAX) throw invalidArgument(field, `nests deeper than ${DEPTH_MAX} filters`);
  const filter = object(value, field);
  for (const key of Object.keys(filter)) {
    if (!['must', 'should', 'must_not', 'min_should'].includes(key)) {
      throw invalidArgument(`${field}.${key}`, 'is not a filter clause (must, should, must_not, min_should)');
    }
  }
  const parts: Filter[] = [];
  const must = conditions(filter['must'], `${field}.must`, depth);
  parts.push(...must);
  const should = conditions(filter['should'], `${field}.should`, depth);
  if (should.length > 0) parts.push(should.length === 1 ? (should[0] as Filter) : { $or: should });
  const mustNot = conditions(filter['must_not'], `${field}.must_not`, depth);
  for (const condition of mustNot) parts.push({ $not: condition });
  if (filter['min_should'] !== undefined && filter['min_should'] !== null) {
    parts.push(minShould(filter['min_should'], `${field}.min_should`, depth));
  }
  if (parts.length === 0) return {};
  return parts.length === 1 ? (parts[0] as Filter) : { $and: parts };
}

function conditions(value: unknown, field: string, depth: number): Filter[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((condition, index) =>
    translateCondition(condition, Array.isArray(value) ? `${field}[${index}]` : field, depth),
  );
}

function minShould(value: unknown, field: string, depth: number): Filter {
  const spec = object(value, field);
  const all = conditions(spec['conditions'], `${field}.conditions`, depth);
  const count = spec['min_count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw invalidArgument(`${field}.min_count`, 'must be a non-negative integer');
  }
  if (count === 0) return {};
  if (count > all.length) return NOTHING;
  const combinations = choose(all, count);
  if (combinations.length > MIN_SHOULD_EXPANSION_MAX) {
    throw invalidArgument(
      field,
      `expands into ${combinations.length} combinations, at most ${MIN_SHOULD_EXPANSION_MAX}`,
    );
  }
  return { $or: combinations.map((chosen) => (chosen.length === 1 ? (chosen[0] as Filter) : { $and: chosen })) };
}

/** A filter that matches no record: the negation of the empty filter, which matches every record. */
const NOTHING: Filter = { $not: {} };

function choose<T>(items: readonly T[], count: number): T[][] {
  if (count === 0) return [[]];
  const out: T[][] = [];
  items.forEach((item, index) => {
    if (items.length - index < count) return;
    for (const rest of choose(items.slice(index + 1), count - 1)) {
      out.push([item, ...rest]);
      if (out.length > MIN_SHOULD_EXPANSION_MAX) return;
    }
  });
  return out;
}

function translateCondition(value: unknown, field: string, depth: number): Filter {
  const condition = object(value, field);
  if ('must' in condition || 'should' in condition || 'must_not' in condition || 'min_should' in condition) {
    return translateFilter(condition, field, depth + 1);
  }
  if ('has_id' in condition) return hasId(condition['has_id'], `${field}.has_id`);
  if ('is_empty' in condition)
    return isEmpty(keyOf(object(condition['is_empty'], `${field}.is_empty`), `${field}.is_empty`));
  if ('is_null' in condition)
    return isNull(keyOf(object(condition['is_null'], `${field}.is_null`), `${field}.is_null`));
  if ('nested' in condition) throw invalidArgument(`${field}.nested`, 'nested filters are not supported');
  if ('key' in condition) return fieldCondition(condition, field);
  throw invalidArgument(
    field,
    'is not a condition Shoal supports (a field condition, has_id, is_empty, is_null or a filter)',
  );
}

function fieldCondition(condition: Json, field: string): Filter {
  const key = keyOf(condition, field);
  for (const unsupported of ['geo_bounding_box', 'geo_radius', 'geo_polygon', 'values_count', 'datetime_range']) {
    if (condition[unsupported] !== undefined && condition[unsupported] !== null) {
      throw invalidArgument(`${field}.${unsupported}`, 'is not supported');
    }
  }
  const parts: Filter[] = [];
  if (condition['match'] !== undefined && condition['match'] !== null) {
    parts.push(match(key, condition['match'], `${field}.match`));
  }
  if (condition['range'] !== undefined && condition['range'] !== null) {
    parts.push(range(key, condition['range'], `${field}.range`));
  }
  if (condition['is_empty'] === true) parts.push(isEmpty(key));
  if (condition['is_null'] === true) parts.push(isNull(key));
  if (parts.length === 0) throw invalidArgument(field, 'needs match or range');
  return parts.length === 1 ? (parts[0] as Filter) : { $and: parts };
}

function match(key: string, value: unknown, field: string): Filter {
  const spec = object(value, field);
  if ('value' in spec) return { [key]: { $eq: scalar(spec['value'], `${field}.value`) } };
  if ('any' in spec) return { [key]: { $in: scalars(spec['any'], `${field}.any`) } };
  if ('except' in spec) return { [key]: { $nin: scalars(spec['except'], `${field}.except`) } };
  if ('text' in spec || 'phrase' in spec) throw invalidArgument(field, 'full-text match is not supported');
  throw invalidArgument(field, 'must hold value, any or except');
}

function range(key: string, value: unknown, field: string): Filter {
  const spec = object(value, field);
  const operators: Record<string, number> = {};
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const limit = spec[bound];
    if (limit === undefined || limit === null) continue;
    if (typeof limit !== 'number' || !Number.isFinite(limit)) {
      throw invalidArgument(`${field}.${bound}`, 'must be a finite number (datetime ranges are not supported)');
    }
    operators[`$${bound}`] = limit;
  }
  if (Object.keys(operators).length === 0) throw invalidArgument(field, 'needs gt, gte, lt or lte');
  return { [key]: operators };
}

/**
 * Qdrant's is_empty: the field is missing or null. (Qdrant also counts an empty array as empty; Shoal's filters
 * cannot test an array's length, so an empty array is not matched here.)
 */
function isEmpty(key: string): Filter {
  return { $or: [{ [key]: { $exists: false } }, { [key]: { $eq: null } }] };
}

/** Qdrant's is_null: the field holds null (a missing field is not null). */
function isNull(key: string): Filter {
  return { [key]: { $eq: null } };
}

function hasId(value: unknown, field: string): Filter {
  if (!Array.isArray(value)) throw invalidArgument(field, 'must be a list of point ids');
  return { $id: { $in: value.map((id, index) => recordIdOf(id, `${field}[${index}]`)) } };
}

function keyOf(condition: Json, field: string): string {
  const key = condition['key'];
  if (typeof key !== 'string' || key.length === 0) throw invalidArgument(`${field}.key`, 'must be a non-empty string');
  const path = key.endsWith('[]') ? key.slice(0, -2) : key;
  if (path.includes('[')) throw invalidArgument(`${field}.key`, `array paths inside a key are not supported: ${key}`);
  return path;
}

function scalar(value: unknown, field: string): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalidArgument(field, 'must be a string, a number or a boolean');
}

function scalars(value: unknown, field: string): (string | number | boolean)[] {
  if (!Array.isArray(value)) throw invalidArgument(field, 'must be a list');
  return value.map((element, index) => scalar(element, `${field}[${index}]`));
}

function object(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidArgument(field, 'must be an object');
  return value as Json;
}
