/**
 * Arrow values of a Parquet row as the plain object a JSON line would hold:
 * an id of text or integers (bigint included), a vector of any list of
 * numbers, metadata as JSON text or as a struct (nested structs, lists and
 * 64-bit integers become objects, arrays and numbers). Pure code.
 */
import { Vector } from 'apache-arrow';
import { invalidArgument } from '../../runtime/errors.js';

/** `{ id, vector, metadata }` from the three cells of a row (undefined: the file has no metadata column). */
export function parquetRow(id: unknown, vector: unknown, metadata: unknown): unknown {
  return {
    id: typeof id === 'bigint' ? String(id) : id,
    vector: vectorValue(vector),
    metadata: metadataValue(metadata),
  };
}

function vectorValue(cell: unknown): unknown {
  if (cell instanceof Vector) return cell.toArray();
  return cell;
}

function metadataValue(cell: unknown): unknown {
  if (cell === undefined || cell === null) return null;
  if (typeof cell === 'string') {
    try {
      return JSON.parse(cell) as unknown;
    } catch (error) {
      throw invalidArgument('metadata', `is not JSON text: ${(error as Error).message}`);
    }
  }
  return plainValue(cell);
}

/** An Arrow cell (struct row, list vector, bigint, ...) as plain JSON-compatible data. */
export function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, plainValue);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plainValue);
  if (value instanceof Date) return value.toISOString();
  // A struct (or map) row: its own toJSON gives its fields one level deep.
  const shallow = 'toJSON' in value && typeof value.toJSON === 'function' ? (value.toJSON() as object) : value;
  return Object.fromEntries(Object.entries(shallow).map(([key, field]) => [key, plainValue(field)]));
}
