// Proves the shared option checks: an integer in range or a boolean passes (a missing boolean takes its fallback),
// anything else is INVALID_ARGUMENT naming the option and the allowed range; pure.
import { describe, expect, it } from 'vitest';
import { ShoalError } from '../../runtime/errors.js';
import { booleanOr, integerIn } from '../../runtime/options.js';

function failure(check: () => unknown): ShoalError {
  try {
    check();
  } catch (error) {
    if (error instanceof ShoalError) return error;
  }
  throw new Error('expected a ShoalError');
}

describe('option checks', () => {
  it('accepts an integer within the inclusive range', () => {
    expect(integerIn(1, 'shards', 1, 256)).toBe(1);
    expect(integerIn(256, 'shards', 1, 256)).toBe(256);
  });

  it('rejects a fraction, a number out of range or a non-number, naming the option and the range', () => {
    for (const value of [0, 257, 1.5, Number.NaN, '3', undefined]) {
      const error = failure(() => integerIn(value, 'shards', 1, 256));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details).toEqual({ field: 'shards' });
      expect(error.message).toBe(`shards: must be an integer from 1 to 256, got ${String(value)}`);
    }
  });

  it('takes a boolean, the fallback when absent, and rejects anything else', () => {
    expect(booleanOr(true, 'repair', false)).toBe(true);
    expect(booleanOr(undefined, 'repair', false)).toBe(false);
    expect(booleanOr(undefined, 'repair', true)).toBe(true);
    const error = failure(() => booleanOr('yes', 'repair', false));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('repair: must be true or false, got yes');
  });
});
