// Proves the stable hash: fnv1a32 matches the FNV reference test vectors and hashes a string's UTF-8 bytes.
import { describe, expect, it } from 'vitest';
import { fnv1a32 } from '../../runtime/hash.js';

describe('fnv1a32', () => {
  it('matches the FNV reference vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-8 bytes, so a string and its encoding agree', () => {
    expect(fnv1a32('grüße')).toBe(fnv1a32(new TextEncoder().encode('grüße')));
    expect(fnv1a32('grüße')).not.toBe(fnv1a32('grusse'));
  });
});
