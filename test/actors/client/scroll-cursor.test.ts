// Proves scroll cursors round-trip every id the public API accepts (ASCII, accents, astral characters, lone surrogates,
// the longest id) through an opaque URL-safe string, and that anything else (wrong type, malformed, tampered, oversize,
// an unknown version) is refused with INVALID_ARGUMENT naming the cursor.
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../actors/client/scroll-cursor.js';
import { ShoalError } from '../../../runtime/errors.js';

function refusal(value: unknown): ShoalError {
  try {
    decodeCursor(value);
  } catch (error) {
    if (error instanceof ShoalError) return error;
    throw error;
  }
  throw new Error(`accepted ${String(value)}`);
}

describe('scroll cursors', () => {
  it('round-trip every valid id through a URL-safe string', () => {
    const ids = ['a', 'doc-17', 'É-ü', '😀 emoji', '\ud800lone', 'x'.repeat(512), '"quoted" \\ {json}'];
    for (const id of ids) {
      const cursor = encodeCursor(id);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toBe(id);
    }
    expect(decodeCursor(undefined)).toBeNull();
    expect(decodeCursor(null)).toBeNull();
  });

  it('refuses anything scroll did not return with INVALID_ARGUMENT naming the cursor', () => {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const bad: unknown[] = [
      42,
      '',
      'not a cursor',
      'abc+/=',
      encode({ v: 2, after: 'a' }),
      encode({ v: 1 }),
      encode({ v: 1, after: '' }),
      encode({ v: 1, after: 'x'.repeat(513) }),
      encode([1, 'a']),
      encodeCursor('a').slice(0, -2),
      'A'.repeat(10_000),
    ];
    for (const value of bad) {
      const error = refusal(value);
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toContain('cursor');
    }
  });
});
