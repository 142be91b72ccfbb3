/** What the adapters share: a store over a collection that does not exist yet behaves as an empty store. */
import { ShoalError } from '../../runtime/errors.js';

/** What `request` answers, or `fallback` when the collection does not exist (yet). */
export async function orWhenMissing<T, F>(request: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ShoalError && error.code === 'COLLECTION_NOT_FOUND') return fallback;
    throw error;
  }
}
