// Proves the one conversion of filesystem errors: an errno error becomes STORAGE_FAILED naming the action, the cause
// and the original message, a ShoalError passes unchanged, `io` converts what its step throws but lets an assertion
// failure through (it must crash the actor), and CORRUPTION names the file and offset; pure, with errors built by hand.
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from '../../runtime/assert.js';
import { ShoalError } from '../../runtime/errors.js';
import { corruptionAt, errnoCode, io, storageFailed } from '../../runtime/fs-errors.js';

const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });

describe('filesystem errors', () => {
  it('reads the errno code of an error, or nothing', () => {
    expect(errnoCode(enospc)).toBe('ENOSPC');
    expect(errnoCode(new Error('plain'))).toBeUndefined();
    expect(errnoCode('text')).toBeUndefined();
  });

  it('turns an errno error into STORAGE_FAILED naming the action and the cause', () => {
    const error = storageFailed('writing /d/f', enospc, { path: '/d/f' });
    expect(error).toBeInstanceOf(ShoalError);
    expect(error.toData()).toEqual({
      code: 'STORAGE_FAILED',
      message: 'writing /d/f failed (ENOSPC): no space left on device',
      details: { cause: 'ENOSPC', path: '/d/f' },
    });
    expect(storageFailed('reading', 'odd').toData()).toEqual({
      code: 'STORAGE_FAILED',
      message: 'reading failed (UNKNOWN): odd',
      details: { cause: 'UNKNOWN' },
    });
  });

  it('passes a ShoalError through unchanged', () => {
    const corrupt = new ShoalError('CORRUPTION', 'bad bytes');
    expect(storageFailed('reading', corrupt)).toBe(corrupt);
  });

  it('io converts what its step throws, except an assertion failure', async () => {
    expect(await io('opening', async () => 7)).toBe(7);
    await expect(io('opening /x', () => Promise.reject(enospc), { path: '/x' })).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      details: { cause: 'ENOSPC', path: '/x' },
    });
    const bug = new AssertionFailure('a bug');
    await expect(io('opening', () => Promise.reject(bug))).rejects.toBe(bug);
  });

  it('names the file and the offset of corruption', () => {
    expect(corruptionAt('WAL segment a.wal', 12, 'bad checksum', { segment: 'a.wal' }).toData()).toEqual({
      code: 'CORRUPTION',
      message: 'WAL segment a.wal is corrupt at byte offset 12: bad checksum',
      details: { segment: 'a.wal', offset: 12 },
    });
  });
});
