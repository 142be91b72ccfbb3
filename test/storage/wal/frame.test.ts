// Proves frames round-trip random Avro batches bit-exactly, that merging a group's batches gives byte for byte the
// batch of all their records, and that the scanner calls a cut anywhere inside the last frame a torn tail (returning
// exactly the complete frames) while a flipped byte in any earlier frame is corruption at that frame's offset;
// fast-check drives the batches, cut points and flips.
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import {
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  encodeFrame,
  parseFrameAt,
  scanFrames,
  sealFrame,
} from '../../../storage/wal/frame.js';
import {
  WAL_BATCH_SCHEMA_V1,
  decodeBatch,
  encodeBatch,
  encodeEntries,
  entryBytes,
  mergeBatches,
  peekBatchSummary,
} from '../../../storage/wal/record-codec.js';
import type { WalRecord } from '../../../storage/wal/record-codec.js';

const entryArbitrary = fc.record({
  op: fc.constantFrom('upsert' as const, 'delete' as const),
  // Short ids, ASCII ids around the encoder's 64-character fast path, and long non-ASCII ones.
  id: fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 60, maxLength: 70 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
  ),
  vector: fc.option(
    fc.array(fc.integer(), { maxLength: 8 }).map((bits) => new Float32Array(Uint32Array.from(bits).buffer)),
    {
      nil: null,
    },
  ),
  metadata: fc.option(fc.json({ maxDepth: 1 }), { nil: null }),
});

/** Random batches with contiguous LSNs starting at a random LSN. */
const batchesArbitrary = fc
  .tuple(
    fc.integer({ min: 1, max: 2 ** 40 }),
    fc.array(fc.array(entryArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
  )
  .map(([firstLsn, batches]) => {
    let lsn = firstLsn;
    return batches.map((batch) => batch.map((entry): WalRecord => ({ ...entry, lsn: lsn++ })));
  });

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function framesOf(batches: readonly WalRecord[][]): { bytes: Uint8Array; offsets: number[] } {
  const frames = batches.map((batch) => encodeFrame(encodeBatch(batch)));
  const offsets: number[] = [];
  let offset = 0;
  for (const frame of frames) {
    offsets.push(offset);
    offset += frame.byteLength;
  }
  return { bytes: concat(frames), offsets };
}

/** Compares records with vectors as raw bits, so NaN payloads and -0 count. */
function comparable(records: readonly WalRecord[]): unknown[] {
  return records.map((record) => ({
    ...record,
    vector:
      record.vector === null
        ? null
        : Array.from(new Uint32Array(record.vector.buffer, record.vector.byteOffset, record.vector.length)),
  }));
}

describe('frame layout', () => {
  it('uses CRC32C and a little-endian header with the SHW1 magic', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const payload = Buffer.from('123456789');
    const frame = encodeFrame(payload);
    expect(Array.from(frame.subarray(0, 4))).toEqual(Array.from(FRAME_MAGIC));
    expect(Buffer.from(frame).readUInt32LE(4)).toBe(9);
    expect(Buffer.from(frame).readUInt32LE(8)).toBe(0xe3069283);
    expect(frame.byteLength).toBe(FRAME_HEADER_BYTES + 9);
  });

  it('treats zero bytes after the last frame as a torn tail', () => {
    const frame = encodeFrame(Buffer.from('payload'));
    const scan = scanFrames(concat([frame, new Uint8Array(100)]));
    expect(scan.frames).toHaveLength(1);
    expect(scan.damage).toMatchObject({ kind: 'torn', offset: frame.byteLength });
  });
});

describe('frame round trip', () => {
  it('scans back every frame and decodes every batch bit-exactly', () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        const { bytes, offsets } = framesOf(batches);
        const scan = scanFrames(bytes);
        expect(scan.damage).toBeNull();
        expect(scan.validBytes).toBe(bytes.byteLength);
        expect(scan.frames.map((frame) => frame.offset)).toEqual(offsets);
        scan.frames.forEach((frame, index) => {
          const batch = batches[index] ?? [];
          expect(comparable(decodeBatch(frame.payload))).toEqual(comparable(batch));
          expect(peekBatchSummary(frame.payload)).toEqual({
            version: 1,
            firstLsn: batch[0]?.lsn,
            recordCount: batch.length,
          });
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe('merged batches', () => {
  it('merges the batches of a group into exactly the payload of all their records encoded at once', () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        const merged = mergeBatches(batches.map((batch) => encodeBatch(batch)));
        const all = batches.flat();
        expect(Buffer.from(merged).equals(Buffer.from(encodeBatch(all)))).toBe(true);
        expect(comparable(decodeBatch(merged))).toEqual(comparable(all));
        expect(peekBatchSummary(merged)).toEqual({ version: 1, firstLsn: all[0]?.lsn, recordCount: all.length });
      }),
      { numRuns: 100 },
    );
  });
});

describe('batch encoding', () => {
  const reference = avro.Type.forSchema(structuredClone(WAL_BATCH_SCHEMA_V1) as unknown as avro.Schema);
  const avroRecord = (record: WalRecord): object => ({
    ...record,
    vector:
      record.vector === null
        ? null
        : Buffer.from(record.vector.buffer, record.vector.byteOffset, record.vector.byteLength),
  });

  it("encodes once into a sized buffer, byte for byte what avsc's own toBuffer makes (the WAL's encoder is written out for v1)", () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        const all = batches.flat();
        const expected = reference.toBuffer({ version: 1, records: all.map(avroRecord) });
        expect(Buffer.from(encodeBatch(all)).equals(expected)).toBe(true);
        const entries = all.map(({ lsn: _lsn, ...entry }) => entry);
        const fromEntries = encodeEntries(
          entries,
          all[0]?.lsn ?? 1,
          entries.reduce((sum, entry) => sum + entryBytes(entry), 0),
        );
        expect(Buffer.from(fromEntries).equals(expected)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('fails loudly when told too few content bytes', () => {
    const entry = { op: 'upsert' as const, id: 'x'.repeat(200), vector: new Float32Array(64), metadata: null };
    expect(() => encodeEntries([entry], 1, 0)).toThrow(/overflowed/);
  });

  it('builds a merged group in place behind room for its frame header, in fresh or reused memory', () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        const payloads = batches.map((batch) => encodeBatch(batch));
        const framed = sealFrame(mergeBatches(payloads, FRAME_HEADER_BYTES));
        expect(Buffer.from(framed).equals(Buffer.from(encodeFrame(mergeBatches(payloads))))).toBe(true);
        const parsed = parseFrameAt(framed, 0);
        expect(parsed.kind).toBe('frame');
        // The WAL frames every group in one reused buffer: leftovers of an earlier, larger group must not show through.
        const reused = new Uint8Array(framed.byteLength + 64).fill(0xa5);
        const inReused = sealFrame(mergeBatches(payloads, FRAME_HEADER_BYTES, (bytes) => reused.subarray(0, bytes)));
        expect(inReused.buffer).toBe(reused.buffer);
        expect(Buffer.from(inReused).equals(Buffer.from(framed))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe('frame damage', () => {
  it('reports a cut at every offset inside the last frame as torn, keeping exactly the complete frames', () => {
    fc.assert(
      fc.property(batchesArbitrary, (batches) => {
        const { bytes, offsets } = framesOf(batches);
        const lastOffset = offsets[offsets.length - 1] ?? 0;
        for (let cut = lastOffset + 1; cut < bytes.byteLength; cut += 1) {
          const scan = scanFrames(bytes.subarray(0, cut));
          expect(scan.damage).toMatchObject({ kind: 'torn', offset: lastOffset });
          expect(scan.validBytes).toBe(lastOffset);
          expect(scan.frames.map((frame) => frame.offset)).toEqual(offsets.slice(0, -1));
          expect(parseFrameAt(bytes.subarray(0, cut), lastOffset).kind).not.toBe('frame');
        }
        expect(scanFrames(bytes.subarray(0, lastOffset)).damage).toBeNull();
      }),
      { numRuns: 40 },
    );
  });

  it('reports a flipped byte in an earlier frame as corruption at that frame offset', () => {
    const caseArbitrary = batchesArbitrary
      .filter((batches) => batches.length >= 2)
      .chain((batches) => fc.tuple(fc.constant(batches), fc.nat(), fc.integer({ min: 1, max: 255 })));
    fc.assert(
      fc.property(caseArbitrary, ([batches, position, mask]) => {
        const { bytes, offsets } = framesOf(batches);
        const lastOffset = offsets[offsets.length - 1] ?? 0;
        const flipAt = position % lastOffset;
        const damaged = bytes.slice();
        damaged[flipAt] = (damaged[flipAt] ?? 0) ^ mask;
        const frameIndex = offsets.filter((offset) => offset <= flipAt).length - 1;
        const frameOffset = offsets[frameIndex] ?? -1;
        const scan = scanFrames(damaged);
        expect(scan.damage).toMatchObject({ kind: 'corrupt', offset: frameOffset });
        expect(scan.frames.map((frame) => frame.offset)).toEqual(offsets.slice(0, frameIndex));
      }),
      { numRuns: 200 },
    );
  });

  it('reports a flipped byte in the last frame as torn (nothing valid follows it)', () => {
    const { bytes, offsets } = framesOf([
      [{ lsn: 1, op: 'delete', id: 'a', vector: null, metadata: null }],
      [{ lsn: 2, op: 'delete', id: 'b', vector: null, metadata: null }],
    ]);
    const lastOffset = offsets[1] ?? 0;
    const damaged = bytes.slice();
    damaged[bytes.byteLength - 1] = (damaged[bytes.byteLength - 1] ?? 0) ^ 0xff;
    expect(scanFrames(damaged).damage).toMatchObject({ kind: 'torn', offset: lastOffset });
  });
});
