/**
 * Qdrant point ids as Shoal record ids. Qdrant's ids are unsigned integers or
 * UUIDs; Shoal's are strings. An integer id is stored as its decimal text, a
 * UUID as its lowercase hyphenated form, and a stored id that is a decimal
 * integer without leading zeros is answered as a number (so a record written
 * through the library with the id "42" reads back as the point 42). Integers
 * above 2^53 - 1 are refused rather than rounded.
 */
import { invalidArgument } from '../../runtime/errors.js';

/** A Qdrant point id as JSON carries it. */
export type PointId = number | string;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** The Shoal id of a Qdrant point id, checked. */
export function recordIdOf(value: unknown, field: string): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalidArgument(field, `must be an unsigned integer up to 2^53 - 1 or a UUID, got ${value}`);
    }
    return String(value);
  }
  if (typeof value === 'string') {
    if (UUID.test(value)) return canonicalUuid(value);
    // Qdrant accepts only integers and UUIDs; a decimal string is how an integer arrives from some clients.
    if (DECIMAL.test(value) && Number.isSafeInteger(Number(value))) return value;
    throw invalidArgument(field, `must be an unsigned integer or a UUID, got ${JSON.stringify(value).slice(0, 80)}`);
  }
  throw invalidArgument(field, `must be an unsigned integer or a UUID, got ${typeof value}`);
}

/** The Qdrant point id of a Shoal record id. */
export function pointIdOf(id: string): PointId {
  if (DECIMAL.test(id)) {
    const number = Number(id);
    if (Number.isSafeInteger(number)) return number;
  }
  return id;
}

function canonicalUuid(value: string): string {
  const hex = value.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
