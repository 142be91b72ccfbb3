/**
 * The WAL's record types and the versioned Avro schema of a frame payload (one
 * batch of records): decoding through avsc, and an encoder written out for
 * version 1 that the tests hold byte for byte to avsc's. Owns the bytes
 * inside a frame, not the frame around them (`frame.ts`) nor files (`wal.ts`).
 *
 * Compatibility: every payload starts with its schema version (an Avro int).
 * A later release adds a new schema under a new version and keeps the old
 * one in `BATCH_TYPES`, so segments written by this release stay readable.
 * Vectors are stored as raw little-endian float32 bytes (Float32Array memory).
 */
import avro from 'avsc';
import { AssertionFailure } from '../../runtime/assert.js';
import { ShoalError } from '../../runtime/errors.js';

/** What a record does to its id. */
export type WalOp = 'upsert' | 'delete';

/** One change as handed to `Wal.append`. `metadata` is JSON text. */
export interface WalEntry {
  readonly op: WalOp;
  readonly id: string;
  readonly vector: Float32Array | null;
  readonly metadata: string | null;
}

/** A change with the log sequence number the WAL assigned to it. */
export interface WalRecord extends WalEntry {
  readonly lsn: number;
}

/** The version written by this release into every payload. */
export const WAL_SCHEMA_VERSION = 1;

/** Version 1 of the batch schema. Never edit it: add a version 2 instead. */
export const WAL_BATCH_SCHEMA_V1 = {
  type: 'record',
  name: 'WalBatch',
  namespace: 'shoal.wal',
  fields: [
    { name: 'version', type: 'int' },
    {
      name: 'records',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'WalRecord',
          fields: [
            { name: 'lsn', type: 'long' },
            { name: 'op', type: { type: 'enum', name: 'WalOp', symbols: ['upsert', 'delete'] } },
            { name: 'id', type: 'string' },
            { name: 'vector', type: ['null', 'bytes'] },
            { name: 'metadata', type: ['null', 'string'] },
          ],
        },
      },
    },
  ],
} as const;

/** The readers for every schema version this release understands. */
const BATCH_TYPES: ReadonlyMap<number, avro.Type> = new Map([
  [1, avro.Type.forSchema(structuredClone(WAL_BATCH_SCHEMA_V1) as unknown as avro.Schema)],
]);

/** What a payload's first bytes say, read without decoding the records. */
export interface BatchSummary {
  readonly version: number;
  readonly firstLsn: number;
  readonly recordCount: number;
}

interface AvroRecord {
  lsn: number;
  op: WalOp;
  id: string;
  vector: Buffer | null;
  metadata: string | null;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  // Vectors are stored as the memory of a Float32Array; on a big-endian host
  // that memory would not be the little-endian format the files promise.
  if (!LITTLE_ENDIAN) throw new ShoalError('INTERNAL', 'the WAL codec requires a little-endian host');
}

/** Bytes one entry contributes to `recordBytesMax`: UTF-8 id + vector bytes + UTF-8 metadata. */
export function entryBytes(entry: WalEntry): number {
  const vectorBytes = entry.vector === null ? 0 : entry.vector.byteLength;
  const metadataBytes = entry.metadata === null ? 0 : Buffer.byteLength(entry.metadata, 'utf8');
  return Buffer.byteLength(entry.id, 'utf8') + vectorBytes + metadataBytes;
}

/** Most bytes Avro adds to a record's content: lsn (long), op (enum index), three lengths and two union indexes. */
const RECORD_OVERHEAD_MAX = 10 + 5 + 3 * 5 + 2 * 5;
/** Most bytes of a batch around its records: version (int), array block count (long), end of array. */
const BATCH_OVERHEAD_MAX = 5 + 10 + 1;

/** Encodes a non-empty batch with the current schema version; the result shares no memory with the inputs. */
export function encodeBatch(records: readonly WalRecord[]): Uint8Array {
  return encodeV1(
    records,
    null,
    records.reduce((sum, record) => sum + entryBytes(record), 0),
  );
}

/**
 * `encodeBatch` of `entries` numbered from `firstLsn`, given their `entryBytes`
 * sum: the WAL's append path, without an intermediate record per entry.
 */
export function encodeEntries(entries: readonly WalEntry[], firstLsn: number, contentBytes: number): Uint8Array {
  return encodeV1(entries, firstLsn, contentBytes);
}

/**
 * Writes version 1 of the schema directly, once, into a buffer sized from the
 * content: byte for byte what avsc's encoder makes of `WAL_BATCH_SCHEMA_V1`
 * (the codec tests compare the two on random batches), at a lower cost per
 * record, which is what a bulk append spends on the writer's thread between
 * fdatasyncs. Avro's binary encoding of this schema is: the version (int),
 * one array block (its count, the records, then a 0 count), and per record
 * its fields in order: lsn (long), op (enum index), id (string), vector and
 * metadata (union branch index, then bytes or string). Decoding stays with
 * avsc. Strings must be well-formed UTF-16 (the WAL rejects lone surrogates
 * before encoding). With `firstLsn` null, each entry carries its own `lsn`.
 */
function encodeV1(
  entries: readonly (WalEntry | WalRecord)[],
  firstLsn: number | null,
  contentBytes: number,
): Uint8Array {
  assertLittleEndian();
  const bound = contentBytes + entries.length * RECORD_OVERHEAD_MAX + BATCH_OVERHEAD_MAX;
  const buffer = Buffer.allocUnsafe(bound);
  let position = writeLongAt(buffer, 0, WAL_SCHEMA_VERSION);
  position = writeLongAt(buffer, position, entries.length);
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as WalEntry;
    position = writeLongAt(buffer, position, firstLsn === null ? (entry as WalRecord).lsn : firstLsn + index);
    buffer[position++] = entry.op === 'upsert' ? 0 : 2; // zig-zag enum index 0 or 1
    position = writeStringAt(buffer, position, entry.id, bound);
    const vector = entry.vector;
    if (vector === null)
      buffer[position++] = 0; // union branch 0: null
    else {
      buffer[position++] = 2; // union branch 1: bytes
      position = writeLongAt(buffer, position, vector.byteLength);
      if (position + vector.byteLength > bound) throw overflow(position + vector.byteLength - bound);
      buffer.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), position);
      position += vector.byteLength;
    }
    if (entry.metadata === null) buffer[position++] = 0;
    else {
      buffer[position++] = 2;
      position = writeStringAt(buffer, position, entry.metadata, bound);
    }
  }
  // A byte stored past the end of a typed array is dropped while `position` still counts it, so
  // this one check catches any overflow of the small fields; contents are checked before each copy.
  if (position + 1 > bound) throw overflow(position + 1 - bound);
  buffer[position++] = 0; // end of the array
  return buffer.subarray(0, position);
}

/** The bound is computed from the content: passing it is a bug in the caller's byte count or in this encoder. */
function overflow(bytes: number): AssertionFailure {
  return new AssertionFailure(`WAL batch encoding overflowed its bound by ${bytes} bytes`);
}

/** Writes a non-negative integer below 2^52 as an Avro zig-zag varint at `position`; returns the position after it. */
function writeLongAt(buffer: Buffer, position: number, value: number): number {
  let unsigned = value * 2;
  let at = position;
  while (unsigned >= 0x80) {
    buffer[at++] = (unsigned & 0x7f) | 0x80; // & reads the low 32 bits, whose low 7 are unsigned's
    unsigned = Math.floor(unsigned / 0x80);
  }
  buffer[at++] = unsigned;
  return at;
}

/** Writes an Avro string (byte length, then UTF-8) at `position`; returns the position after it. */
function writeStringAt(buffer: Buffer, position: number, text: string, bound: number): number {
  const length = text.length;
  if (length <= 64) {
    // Short ids are almost always ASCII: one pass, no native call.
    let ascii = true;
    for (let i = 0; i < length; i++) {
      if (text.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      const at = writeLongAt(buffer, position, length);
      if (at + length > bound) throw overflow(at + length - bound);
      for (let i = 0; i < length; i++) buffer[at + i] = text.charCodeAt(i);
      return at + length;
    }
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  const at = writeLongAt(buffer, position, bytes);
  if (at + bytes > bound) throw overflow(at + bytes - bound);
  buffer.write(text, at, bytes, 'utf8');
  return at + bytes;
}

/**
 * Decodes a payload of any known version. Vectors are copied into fresh,
 * aligned Float32Arrays, so the result does not alias `payload`. Throws
 * CORRUPTION when the bytes do not decode or the LSNs are not contiguous.
 */
export function decodeBatch(payload: Uint8Array): WalRecord[] {
  assertLittleEndian();
  const summary = peekBatchSummary(payload);
  const type = BATCH_TYPES.get(summary.version);
  if (type === undefined) throw corrupt(`unknown WAL schema version ${summary.version}`);
  let decoded: { version: number; records: AvroRecord[] };
  try {
    decoded = type.fromBuffer(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  } catch (error) {
    throw corrupt(`payload does not decode: ${(error as Error).message}`);
  }
  const records = decoded.records.map((record, index) => {
    if (record.lsn !== summary.firstLsn + index)
      throw corrupt(`LSN ${record.lsn} at position ${index} breaks the sequence`);
    return {
      lsn: record.lsn,
      op: record.op,
      id: record.id,
      vector: copyVector(record.vector),
      metadata: record.metadata,
    };
  });
  if (records.length !== summary.recordCount) throw corrupt('record count does not match the array header');
  return records;
}

function copyVector(bytes: Buffer | null): Float32Array | null {
  if (bytes === null) return null;
  if (bytes.byteLength % Float32Array.BYTES_PER_ELEMENT !== 0)
    throw corrupt(`vector of ${bytes.byteLength} bytes is not float32`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * Reads a payload's version, first LSN and record count from its first bytes
 * (Avro zig-zag varints), without decoding any record. This is what lets
 * recovery check LSN continuity and `read` skip frames cheaply. Throws
 * CORRUPTION for an unknown version, an empty batch or a malformed header.
 */
export function peekBatchSummary(payload: Uint8Array): BatchSummary {
  const version = readVarLong(payload, 0);
  if (!BATCH_TYPES.has(version.value)) throw corrupt(`unknown WAL schema version ${version.value}`);
  // Version 1: the array's first block count follows; avsc writes one block
  // holding every item (a negative count means a byte size follows it).
  const count = readVarLong(payload, version.position);
  if (count.value === 0) throw corrupt('empty batch');
  const lsnPosition = count.value < 0 ? readVarLong(payload, count.position).position : count.position;
  const lsn = readVarLong(payload, lsnPosition);
  if (lsn.value < 1) throw corrupt(`LSN ${lsn.value} is below 1`);
  return { version: version.value, firstLsn: lsn.value, recordCount: Math.abs(count.value) };
}

/**
 * One payload holding the records of `payloads` in order, byte for byte what
 * `encodeBatch` makes of all their records at once: the WAL writes a group of
 * appends as one frame, so that a group whose write was cut short is one torn
 * frame. Each payload must be a batch of one version whose LSNs continue the
 * previous one's (the WAL's appends are). Throws CORRUPTION on a malformed one.
 * With `prefixBytes`, the result is a new buffer that starts with that many
 * bytes before the payload (room for a frame header), taken from `allocate`:
 * zeros by default, whatever a caller's reused buffer held otherwise.
 */
export function mergeBatches(
  payloads: readonly Uint8Array[],
  prefixBytes = 0,
  allocate: (bytes: number) => Uint8Array = (bytes) => new Uint8Array(bytes),
): Uint8Array {
  const only = payloads[0];
  if (payloads.length === 1 && only !== undefined) {
    if (prefixBytes === 0) return only;
    const framed = allocate(prefixBytes + only.byteLength);
    framed.set(only, prefixBytes);
    return framed;
  }
  let version: number | null = null;
  let records = 0;
  const items: Uint8Array[] = [];
  for (const payload of payloads) {
    const header = readVarLong(payload, 0);
    if (version !== null && header.value !== version)
      throw corrupt(`cannot merge batches of versions ${version} and ${header.value}`);
    version = header.value;
    // Version 1: one array block (count, then a byte size when the count is negative), its items, then a 0 count.
    const count = readVarLong(payload, header.position);
    const start = count.value < 0 ? readVarLong(payload, count.position).position : count.position;
    if (count.value === 0 || payload[payload.byteLength - 1] !== 0)
      throw corrupt('a merged batch must hold one non-empty block');
    records += Math.abs(count.value);
    items.push(payload.subarray(start, payload.byteLength - 1));
  }
  const headBuffer = Buffer.alloc(20); // two varints of at most 10 bytes
  const head = headBuffer.subarray(
    0,
    writeLongAt(headBuffer, writeLongAt(headBuffer, 0, version ?? WAL_SCHEMA_VERSION), records),
  );
  const merged = allocate(prefixBytes + head.length + items.reduce((sum, part) => sum + part.byteLength, 0) + 1);
  merged.set(head, prefixBytes);
  let offset = prefixBytes + head.length;
  for (const part of items) {
    merged.set(part, offset);
    offset += part.byteLength;
  }
  merged[offset] = 0;
  return merged;
}

/** Reads one Avro zig-zag varint (int or long) exactly for magnitudes below 2^52. */
function readVarLong(bytes: Uint8Array, start: number): { value: number; position: number } {
  let unsigned = 0;
  let scale = 1;
  for (let position = start; position < bytes.length && position < start + 10; position += 1) {
    const byte = bytes[position] ?? 0;
    unsigned += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      const value = unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
      return { value, position: position + 1 };
    }
    scale *= 128;
  }
  throw corrupt(`malformed varint at payload byte ${start}`);
}

function corrupt(problem: string): ShoalError {
  return new ShoalError('CORRUPTION', `WAL batch: ${problem}`);
}
