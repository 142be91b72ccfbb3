// Proves the public boundary bounds a write batch's bytes as the WAL counts them (UTF-8 ids, four bytes a float, UTF-8
// metadata) before any shard is asked, so no shard's WAL can refuse its share after the others wrote theirs: a batch
// just over REQUEST_LIMITS.batchBytesMax is refused naming its bytes, one just under is packed; pure, no threads.
import { describe, expect, it } from 'vitest';
import { packUpsert } from '../../../actors/client/validation.js';
import { REQUEST_LIMITS } from '../../../runtime/limits.js';
import { ShoalError } from '../../../runtime/errors.js';

const DIMENSION = REQUEST_LIMITS.dimensionMax;
const VECTOR = new Float32Array(DIMENSION).fill(0.5);
const RECORDS_FITTING = Math.floor(REQUEST_LIMITS.batchBytesMax / (DIMENSION * 4)) - 1;

function batch(count: number, metadata?: Record<string, unknown>): unknown[] {
  return Array.from({ length: count }, (_, index) => ({ id: `r${index}`, vector: VECTOR, metadata }));
}

describe('the batch byte limit', () => {
  it('packs a batch just under the limit', () => {
    expect(packUpsert(batch(RECORDS_FITTING)).ids).toHaveLength(RECORDS_FITTING);
  });

  it('refuses a batch just over it with INVALID_ARGUMENT naming its bytes, counting metadata in UTF-8', () => {
    const refusal = (records: unknown[]): ShoalError => {
      try {
        packUpsert(records);
      } catch (error) {
        return error as ShoalError;
      }
      throw new Error('expected a refusal');
    };
    const over = refusal(batch(RECORDS_FITTING + 2));
    expect(over).toBeInstanceOf(ShoalError);
    expect(over.code).toBe('INVALID_ARGUMENT');
    expect(over.message).toMatch(/^records: are \d+ bytes/);
    // Two more records' worth of metadata, in a character that is three UTF-8 bytes but one UTF-16 unit.
    const perRecord = Math.ceil((2 * DIMENSION * 4) / RECORDS_FITTING / 3) + 16;
    const heavy = refusal(batch(RECORDS_FITTING, { text: '€'.repeat(perRecord) }));
    expect(heavy.code).toBe('INVALID_ARGUMENT');
    expect(heavy.details).toMatchObject({ limit: REQUEST_LIMITS.batchBytesMax });
  });
});
