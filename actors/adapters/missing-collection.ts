/**
 * What the adapters share: a store over a collection that does not exist yet behaves as an empty store, and
 * creates the collection on its first write.
 */
import { ShoalError } from '../../runtime/errors.js';
import type { Shoal } from '../client/shoal.js';
import type { Metric } from '../public-api.js';

/** What `request` answers, or `fallback` when the collection does not exist (yet). */
export async function orWhenMissing<T, F>(request: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ShoalError && error.code === 'COLLECTION_NOT_FOUND') return fallback;
    throw error;
  }
}

/** Whether `db` has a collection named `name`. */
export async function collectionExists(db: Shoal, name: string): Promise<boolean> {
  return (await db.listCollections()).some((collection) => collection.name === name);
}

/** What a store creates its collection with, on its first write. */
export interface CollectionShape {
  readonly name: string;
  readonly metric: Metric;
  readonly shards: number | undefined;
}

/**
 * Creates the collection with `dimension` when it is missing. Another store may create it meanwhile: a refused
 * create is fine when the collection exists afterwards.
 */
export async function createCollectionIfMissing(db: Shoal, shape: CollectionShape, dimension: number): Promise<void> {
  if (await collectionExists(db, shape.name)) return;
  const shards = shape.shards === undefined ? {} : { shards: shape.shards };
  await db
    .createCollection({ name: shape.name, dimension, metric: shape.metric, ...shards })
    .catch(async (error: unknown) => {
      if (!(await collectionExists(db, shape.name))) throw error;
    });
}
