/**
 * The one conversion of filesystem errors into Shoal's error model: an errno
 * error (`EIO`, `ENOSPC`, ...) from any `FileSystem` becomes STORAGE_FAILED
 * naming the action and the cause, and damaged bytes become CORRUPTION naming
 * the file and the offset. A leaf module: it imports only errors and assert,
 * so every layer may use it.
 */
import { AssertionFailure } from './assert.js';
import { ShoalError } from './errors.js';

/** The Node error code of a filesystem error (`ENOENT`, `EIO`, ...), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * `error` as STORAGE_FAILED: "`action` failed (`cause`): `message`", with the
 * errno code as `details.cause` (UNKNOWN when there is none) and `details`
 * added. A ShoalError (already converted, or bad input) is returned as it is.
 */
export function storageFailed(action: string, error: unknown, details?: Record<string, unknown>): ShoalError {
  if (error instanceof ShoalError) return error;
  const cause = errnoCode(error) ?? 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  return new ShoalError('STORAGE_FAILED', `${action} failed (${cause}): ${message}`, { cause, ...details });
}

/**
 * Runs one I/O step; what it throws is rethrown through `storageFailed`,
 * except an assertion failure: that is a bug, and must crash the actor.
 */
export async function io<T>(action: string, step: () => Promise<T>, details?: Record<string, unknown>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof AssertionFailure) throw error;
    throw storageFailed(action, error, details);
  }
}

/** CORRUPTION of `file` (its description, such as "WAL segment x.wal") at byte `offset`, with `details` added. */
export function corruptionAt(
  file: string,
  offset: number,
  problem: string,
  details?: Record<string, unknown>,
): ShoalError {
  const message = `${file} is corrupt at byte offset ${offset}: ${problem}`;
  return new ShoalError('CORRUPTION', message, { ...details, offset });
}
