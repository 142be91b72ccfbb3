/**
 * Scroll cursors: what `scroll` hands back as `nextCursor` and takes as
 * `cursor`. A cursor names the last id of the page it ends (the next page
 * starts after it), as base64url of a small JSON object with a version, so
 * it is opaque to callers, safe in a URL, and checked when it comes back: a
 * cursor that does not decode to a valid id is INVALID_ARGUMENT. A cursor
 * stays valid across writes and restarts (it is a position in id order, not
 * a snapshot).
 */
import { invalidArgument } from '../../runtime/errors.js';
import { REQUEST_LIMITS } from '../../runtime/limits.js';

const CURSOR_VERSION = 1;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Base64url of the JSON of the longest id (escaped as \uXXXX at worst) and the version. */
const CURSOR_LENGTH_MAX = Math.ceil(((REQUEST_LIMITS.idLengthMax * 6 + 32) * 4) / 3);

/** The cursor of a page whose last id is `lastId`. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ v: CURSOR_VERSION, after: lastId }), 'utf8').toString('base64url');
}

/** The id a cursor continues after; null for no cursor (the first page). Throws INVALID_ARGUMENT for a bad cursor. */
export function decodeCursor(value: unknown, field = 'cursor'): string | null {
  if (value === undefined || value === null) return null;
  const bad = (why: string): Error => invalidArgument(field, `is not a cursor returned by scroll (${why})`);
  if (typeof value !== 'string' || value.length === 0) {
    throw bad(`got ${typeof value === 'string' ? 'an empty string' : typeof value}`);
  }
  if (value.length > CURSOR_LENGTH_MAX || !BASE64URL.test(value)) throw bad('malformed');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw bad('malformed');
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad('malformed');
  const { v, after } = parsed as { v?: unknown; after?: unknown };
  if (v !== CURSOR_VERSION) throw bad('unknown version');
  if (typeof after !== 'string' || after.length === 0 || after.length > REQUEST_LIMITS.idLengthMax) throw bad('no id');
  return after;
}
