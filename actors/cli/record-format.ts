/**
 * What `shoal import` accepts and `shoal export` writes, as pure code: the
 * file formats and how a file name picks one, and the check that turns one
 * input object (a JSON line, a Parquet row) into an UpsertRecord with a
 * float32 vector. A record is checked exactly as `upsert` would check it
 * (id, finite float32 values, metadata a JSON object of at most 64 KiB), one
 * at a time, so a bad record is named by its line or row before anything
 * after it is written.
 */
import { invalidArgument } from '../../runtime/errors.js';
import { packUpsert } from '../client/validation.js';
import type { Metadata, UpsertRecord } from '../public-api.js';

export const FORMATS = ['jsonl', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

const JSON_LINES_EXTENSIONS = ['.jsonl', '.ndjson', '.json'];

/** The format a file name implies: JSON lines for .jsonl, .ndjson and .json, Parquet for .parquet, else undefined. */
export function formatOfFile(file: string): Format | undefined {
  const lower = file.toLowerCase();
  if (JSON_LINES_EXTENSIONS.some((extension) => lower.endsWith(extension))) return 'jsonl';
  if (lower.endsWith('.parquet')) return 'parquet';
  return undefined;
}

/** A record ready to upsert: its vector already float32. */
export interface ImportRecord extends UpsertRecord {
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

const FIELDS = new Set(['id', 'vector', 'metadata']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/**
 * `value` ({ id, vector, metadata? }) as a record, or INVALID_ARGUMENT /
 * DIMENSION_MISMATCH saying what is wrong. An integer id becomes its decimal
 * string (Qdrant's numeric ids); a field other than the three is refused, so
 * a misspelt `payload` is not dropped without a word.
 */
export function importRecord(value: unknown): ImportRecord {
  if (!isPlainObject(value)) throw invalidArgument('record', 'must be an object with id, vector and optional metadata');
  const unexpected = Object.keys(value).find((key) => !FIELDS.has(key));
  if (unexpected !== undefined) throw invalidArgument(unexpected, 'is not a field of a record (id, vector, metadata)');
  const rawId = value['id'];
  const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? String(rawId) : rawId;
  const metadata = (value['metadata'] ?? null) as Metadata | null;
  const record = { id: id as string, vector: value['vector'] as ArrayLike<number>, metadata };
  try {
    packUpsert([record]);
  } catch (error) {
    // packUpsert names fields as in an upsert call (records[0].vector[3]); here there is one record per line.
    if (error instanceof Error) error.message = error.message.replace(/^records\[0\]\.?/, '');
    throw error;
  }
  return { id: record.id, vector: Float32Array.from(record.vector), metadata };
}

/** At least the bytes a record adds to an upsert call as its 256 MiB limit counts them (UTF-8 of id and metadata). */
export function recordBytesMax(record: ImportRecord): number {
  const metadataLength = record.metadata === null ? 0 : JSON.stringify(record.metadata).length;
  // A UTF-16 code unit is at most 3 bytes of UTF-8.
  return (record.id.length + metadataLength) * 3 + record.vector.length * 4;
}

/** One record as a JSON line (no newline): the vector as numbers, exactly the float32 values. */
export function jsonLine(record: { id: string; vector: Float32Array; metadata: Metadata | null }): string {
  return JSON.stringify({ id: record.id, vector: Array.from(record.vector), metadata: record.metadata });
}
