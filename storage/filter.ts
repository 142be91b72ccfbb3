/**
 * Metadata filters (Mongo/Chroma style): the `Filter` grammar, its one-time
 * validation, and its compilation into a fast predicate built from closures,
 * so that no filter is re-parsed per row. Pure code; imports only types and
 * the error helpers.
 *
 * Grammar, semantics and limits:
 * - `{ field: scalar }` is equality; `{ field: { $eq, $ne, $gt, $gte, $lt,
 *   $lte, $in, $nin } }` applies operators, several in one object are ANDed.
 * - `{ $and: [...] }`, `{ $or: [...] }` take non-empty arrays of filters;
 *   `{ $not: filter }` negates. Several keys in one object are ANDed; `{}`
 *   matches everything.
 * - A field name is a dotted path into nested plain objects (`'a.b'`); paths
 *   do not index into arrays. Only own properties are read.
 * - A missing field equals nothing (not even `null`), so `$eq`/`$in` are
 *   false and `$ne`/`$nin` are true on it.
 * - When the metadata value is an array, equality and `$in` match if any
 *   element matches (so `$ne`/`$nin` match only if no element does);
 *   comparisons against an array are false.
 * - `$gt/$gte/$lt/$lte` compare two numbers or two strings (code-unit order);
 *   any other pairing is false.
 * - `{ field: { $exists: true } }` matches when the field is present (any
 *   value, `null` included); `$exists: false` when it is missing.
 * - `{ $id: ... }` tests the record's id instead of a metadata field, with
 *   equality to a string, `$eq`, `$ne`, `$in` or `$nin` (strings only); it
 *   may appear wherever a field may (`{ $id: { $in: ['a', 'b'] } }`). The id
 *   is the predicate's second argument; without one, `$id` equals nothing.
 * - Limits: nesting at most FILTER_DEPTH_MAX filter objects deep, at most
 *   FILTER_CONDITIONS_MAX conditions (one per field operator or equality, and
 *   one per empty filter object), at most FILTER_IN_VALUES_MAX values per
 *   `$in`/`$nin`.
 */

import { invalidArgument } from '../runtime/errors.js';
import type { Metadata } from './types.js';

/** Deepest allowed nesting of filter objects (the top-level filter is depth 1). */
export const FILTER_DEPTH_MAX = 32;

/** Most conditions allowed in one filter, counted over the whole tree. */
export const FILTER_CONDITIONS_MAX = 1024;

/** Most values allowed in one `$in` or `$nin` list. */
export const FILTER_IN_VALUES_MAX = 10_000;

/** A value a field may be compared with for equality. */
export type FilterScalar = string | number | boolean | null;

/** Operators applied to one field; several in one object are ANDed. */
export interface FieldOperators {
  readonly $eq?: FilterScalar;
  readonly $ne?: FilterScalar;
  readonly $gt?: number | string;
  readonly $gte?: number | string;
  readonly $lt?: number | string;
  readonly $lte?: number | string;
  readonly $in?: readonly FilterScalar[];
  readonly $nin?: readonly FilterScalar[];
  /** True: the field is present (any value, null included); false: it is missing. */
  readonly $exists?: boolean;
}

/** What `$id` takes: an id (equality) or id operators. */
export type IdCondition =
  | string
  | {
      readonly $eq?: string;
      readonly $ne?: string;
      readonly $in?: readonly string[];
      readonly $nin?: readonly string[];
    };

/** What a field key maps to: a scalar (equality) or an operator object. */
export type FieldCondition = FilterScalar | FieldOperators;

/** A metadata filter; all keys of one object are ANDed (see the module header for semantics). */
export interface Filter {
  readonly $and?: readonly Filter[];
  readonly $or?: readonly Filter[];
  readonly $not?: Filter;
  /** Restricts to records by id: `{ $id: 'a' }`, `{ $id: { $in: ['a', 'b'] } }`, `$ne`, `$nin`. */
  readonly $id?: IdCondition;
  readonly [field: string]: FieldCondition | Filter | readonly Filter[] | undefined;
}

/** A compiled filter: true when the record (its metadata, and its id for `$id`) matches. */
export type FilterPredicate = (metadata: Metadata | null, id?: string) => boolean;

type ValueTest = (value: unknown) => boolean;
type Getter = (metadata: Metadata | null) => unknown;

/** The operators `$id` takes; every operand is a string (or a list of strings). */
const ID_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin']);

interface CompileState {
  conditions: number;
}

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists']);

/**
 * Validates `filter` once and compiles it into a predicate. Returns null when
 * there is nothing to filter (`undefined`, `null` or `{}`). Throws
 * INVALID_ARGUMENT naming the path of the first problem, e.g.
 * `filter.$and[1].year: unknown operator $foo`.
 */
export function compileFilter(filter: unknown): FilterPredicate | null {
  if (filter === undefined || filter === null) return null;
  if (isPlainObject(filter) && Object.keys(filter).length === 0) return null;
  return compileNode(filter, 'filter', 1, { conditions: 0 });
}

function compileNode(node: unknown, path: string, depth: number, state: CompileState): FilterPredicate {
  if (!isPlainObject(node)) throw invalidArgument(path, `expected a plain object, got ${describe(node)}`);
  if (depth > FILTER_DEPTH_MAX) throw invalidArgument(path, `nesting deeper than ${FILTER_DEPTH_MAX} levels`);
  const keys = Object.keys(node);
  if (keys.length === 0) {
    countCondition(state, path);
    return () => true;
  }
  const predicates: FilterPredicate[] = [];
  for (const key of keys) {
    const value = node[key];
    if (key === '$and' || key === '$or') {
      const children = compileList(value, `${path}.${key}`, depth, state);
      predicates.push(key === '$and' ? allOf(children) : anyOf(children));
    } else if (key === '$not') {
      const child = compileNode(value, `${path}.$not`, depth + 1, state);
      predicates.push((metadata, id) => !child(metadata, id));
    } else if (key === '$id') {
      predicates.push(compileIdCondition(value, `${path}.$id`, state));
    } else if (key.startsWith('$')) {
      throw invalidArgument(path, `unknown operator ${key}`);
    } else {
      predicates.push(compileField(key, value, `${path}.${key}`, state));
    }
  }
  return allOf(predicates);
}

function compileList(value: unknown, path: string, depth: number, state: CompileState): FilterPredicate[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument(path, `expected a non-empty array of filters, got ${describe(value)}`);
  }
  return value.map((child: unknown, index) => compileNode(child, `${path}[${index}]`, depth + 1, state));
}

function compileField(field: string, condition: unknown, path: string, state: CompileState): FilterPredicate {
  const get = compileGetter(field, path);
  let test: ValueTest;
  if (isPlainObject(condition)) {
    test = compileOperators(condition, path, state);
  } else {
    requireScalar(condition, path);
    countCondition(state, path);
    test = equalsTest(condition);
  }
  return (metadata) => test(get(metadata));
}

function compileIdCondition(condition: unknown, path: string, state: CompileState): FilterPredicate {
  let test: ValueTest;
  if (isPlainObject(condition)) {
    for (const operator of Object.keys(condition)) {
      if (!ID_OPERATORS.has(operator)) {
        throw invalidArgument(path, `unknown $id operator ${operator} (use $eq, $ne, $in or $nin)`);
      }
      requireIdOperand(condition[operator], `${path}.${operator}`);
    }
    test = compileOperators(condition, path, state);
  } else {
    requireIdOperand(condition, path);
    countCondition(state, path);
    test = equalsTest(condition as string);
  }
  return (_metadata, id) => test(id);
}

function requireIdOperand(operand: unknown, path: string): void {
  const strings = Array.isArray(operand) ? operand : [operand];
  const bad = strings.findIndex((element) => typeof element !== 'string');
  if (bad === -1) return;
  const where = Array.isArray(operand) ? `${path}[${bad}]` : path;
  throw invalidArgument(where, `expected an id (a string), got ${describe(strings[bad])}`);
}

function compileOperators(operators: Record<string, unknown>, path: string, state: CompileState): ValueTest {
  const keys = Object.keys(operators);
  if (keys.length === 0) throw invalidArgument(path, 'empty operator object');
  const tests: ValueTest[] = [];
  for (const operator of keys) {
    if (!FIELD_OPERATORS.has(operator)) {
      const hint = operator.startsWith('$') ? '' : ' (use a dotted path for nested fields)';
      throw invalidArgument(path, `unknown operator ${operator}${hint}`);
    }
    countCondition(state, `${path}.${operator}`);
    tests.push(compileOperator(operator, operators[operator], `${path}.${operator}`));
  }
  return allOf(tests);
}

function compileOperator(operator: string, operand: unknown, path: string): ValueTest {
  switch (operator) {
    case '$eq':
      requireScalar(operand, path);
      return equalsTest(operand);
    case '$ne': {
      requireScalar(operand, path);
      const equals = equalsTest(operand);
      return (value) => !equals(value);
    }
    case '$in':
      return inTest(requireScalarList(operand, path));
    case '$nin': {
      const inList = inTest(requireScalarList(operand, path));
      return (value) => !inList(value);
    }
    case '$exists': {
      if (typeof operand !== 'boolean') throw invalidArgument(path, `expected true or false, got ${describe(operand)}`);
      return (value) => (value !== undefined) === operand;
    }
    default:
      return comparisonTest(operator, requireComparable(operand, path));
  }
}

// Equality is strict (===); an array value matches when any element does.
function equalsTest(expected: FilterScalar): ValueTest {
  return (value) => value === expected || (Array.isArray(value) && value.includes(expected));
}

function inTest(values: readonly FilterScalar[]): ValueTest {
  const set = new Set<unknown>(values);
  return (value) => set.has(value) || (Array.isArray(value) && value.some((element) => set.has(element)));
}

// The typeof guard makes both sides numbers or both strings; the casts only
// satisfy the type checker, which cannot see that pairing.
function comparisonTest(operator: string, operand: number | string): ValueTest {
  const kind = typeof operand;
  const bound = operand as number;
  switch (operator) {
    case '$gt':
      return (value) => typeof value === kind && (value as number) > bound;
    case '$gte':
      return (value) => typeof value === kind && (value as number) >= bound;
    case '$lt':
      return (value) => typeof value === kind && (value as number) < bound;
    default:
      return (value) => typeof value === kind && (value as number) <= bound;
  }
}

function compileGetter(field: string, path: string): Getter {
  const segments = field.split('.');
  if (segments.some((segment) => segment.length === 0)) throw invalidArgument(path, 'empty segment in field path');
  const [first] = segments;
  if (segments.length === 1 && first !== undefined) {
    return (metadata) => (metadata !== null && Object.hasOwn(metadata, first) ? metadata[first] : undefined);
  }
  return (metadata) => {
    let current: unknown = metadata;
    for (const segment of segments) {
      if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
      if (!Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
    return current;
  };
}

function countCondition(state: CompileState, path: string): void {
  state.conditions += 1;
  if (state.conditions > FILTER_CONDITIONS_MAX) {
    throw invalidArgument(path, `more than ${FILTER_CONDITIONS_MAX} conditions in the filter`);
  }
}

function requireScalar(value: unknown, path: string): asserts value is FilterScalar {
  const ok =
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && !Number.isNaN(value));
  if (!ok) throw invalidArgument(path, `expected a string, number, boolean or null, got ${describe(value)}`);
}

function requireComparable(value: unknown, path: string): number | string {
  if (typeof value === 'string' || (typeof value === 'number' && !Number.isNaN(value))) return value;
  throw invalidArgument(path, `expected a number or string, got ${describe(value)}`);
}

function requireScalarList(value: unknown, path: string): FilterScalar[] {
  if (!Array.isArray(value)) throw invalidArgument(path, `expected an array, got ${describe(value)}`);
  if (value.length > FILTER_IN_VALUES_MAX) throw invalidArgument(path, `more than ${FILTER_IN_VALUES_MAX} values`);
  value.forEach((element: unknown, index) => requireScalar(element, `${path}[${index}]`));
  return value as FilterScalar[];
}

// Both combinators pass a second argument through (the id, for record predicates); value tests ignore it.
type Test<T, U> = (input: T, extra?: U) => boolean;

function allOf<T, U = undefined>(tests: readonly Test<T, U>[]): Test<T, U> {
  const [first, second] = tests;
  if (first === undefined) return () => true;
  if (tests.length === 1) return first;
  if (tests.length === 2 && second !== undefined) return (input, extra) => first(input, extra) && second(input, extra);
  return (input, extra) => {
    for (const test of tests) if (!test(input, extra)) return false;
    return true;
  };
}

function anyOf<T, U = undefined>(tests: readonly Test<T, U>[]): Test<T, U> {
  const [first] = tests;
  if (first !== undefined && tests.length === 1) return first;
  return (input, extra) => {
    for (const test of tests) if (test(input, extra)) return true;
    return false;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
  return typeof value === 'object' ? 'an object' : typeof value;
}
