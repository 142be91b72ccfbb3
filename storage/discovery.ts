/**
 * Discovery: what the storage URLs actually hold. Every component's URLs are
 * listed (`<url>/<component>/<collectionId>/…`) through a `StorageBackend`,
 * with the files and bytes under each collection folder. The comparison with
 * the recorded placements is pure: a folder no collection is placed at is
 * unknown (reported, never loaded); a collection whose WAL folder is absent
 * lost its data (reported, refused with CORRUPTION, never recreated empty).
 */
import { join } from 'node:path';
import { ShoalError } from '../runtime/errors.js';
import { storageFailed } from '../runtime/fs-errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { STORAGE_COMPONENTS, storageRootPath } from './placement.js';
import type { Placement, PlacementStrategy, StorageComponent, StorageConfig } from './placement.js';
import { openStorageBackend } from './storage-backend.js';
import type { StorageBackend } from './storage-backend.js';

/** A collection folder found on disk. */
export interface DiscoveredFolder {
  readonly url: string;
  readonly component: StorageComponent;
  readonly collectionId: string;
  /** Files anywhere under the folder, and their bytes. */
  readonly files: number;
  readonly bytes: number;
}

/** A collection as discovery compares it: the cluster metadata's view. */
export interface PlacedCollection {
  readonly id: string;
  readonly name: string;
  readonly placement: Placement;
}

/** A recorded collection whose folder is not where its placement says. */
export interface MissingFolder {
  readonly collection: string;
  readonly collectionId: string;
  readonly component: StorageComponent;
  readonly url: string;
  readonly path: string;
}

/** Discovery against the cluster metadata. */
export interface DiscoveryReport {
  /** Folders that no recorded collection is placed at: not loaded. */
  readonly unknown: DiscoveredFolder[];
  /** Recorded collections whose folder is gone. */
  readonly missing: MissingFolder[];
}

/** Usage of one URL of one component, as stats() reports it. */
export interface ComponentUsage {
  readonly component: StorageComponent;
  readonly url: string;
  readonly strategy: PlacementStrategy;
  /** Names of the collections placed there. */
  readonly collections: string[];
  /** Files and bytes of those collections under `<url>/<component>/`. */
  readonly files: number;
  readonly bytes: number;
}

/** The storage part of stats(). */
export interface StorageStats {
  readonly components: ComponentUsage[];
  readonly unknown: DiscoveredFolder[];
}

/** Components that always have a folder once a collection exists (the WAL writer creates it), so absence means loss. */
export const REQUIRED_COMPONENTS: readonly StorageComponent[] = ['wal'];

/** Deepest folder level walked below a URL (`<component>/<collectionId>/<shard>/<file>` is 4). */
const WALK_DEPTH_MAX = 16;

/** Files and bytes under the location of `segments`, walking at most WALK_DEPTH_MAX levels. */
async function usage(backend: StorageBackend, segments: readonly string[]): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await backend.list(backend.locate(...segments))) {
    if (!entry.isDirectory) {
      files++;
      bytes += entry.size;
    } else if (segments.length < WALK_DEPTH_MAX) {
      const below = await usage(backend, [...segments, entry.name]);
      files += below.files;
      bytes += below.bytes;
    }
  }
  return { files, bytes };
}

/** Lists `<url>/<component>/` of one URL: one DiscoveredFolder per collection folder (files there are ignored). */
export async function discoverComponent(
  fs: FileSystem,
  component: StorageComponent,
  url: string,
): Promise<DiscoveredFolder[]> {
  const backend = openStorageBackend(fs, url);
  const found: DiscoveredFolder[] = [];
  try {
    for (const entry of await backend.list(backend.locate(component))) {
      if (!entry.isDirectory) continue;
      const { files, bytes } = await usage(backend, [component, entry.name]);
      found.push({ url, component, collectionId: entry.name, files, bytes });
    }
  } catch (error) {
    throw storageFailed(`listing ${component} folders of ${url}`, error, { url, component });
  }
  return found;
}

/**
 * The configured URLs whose root folder does not exist (an unmounted disk, a typo): Shoal never creates a storage root.
 */
export async function missingRoots(
  fs: FileSystem,
  config: StorageConfig,
): Promise<{ component: StorageComponent; url: string }[]> {
  const missing: { component: StorageComponent; url: string }[] = [];
  for (const component of STORAGE_COMPONENTS) {
    for (const url of config[component].urls) {
      const stat = await fs.stat(storageRootPath(url));
      if (stat === null || !stat.isDirectory) missing.push({ component, url });
    }
  }
  return missing;
}

/** Lists every URL of every component of `config`. */
export async function discoverStorage(fs: FileSystem, config: StorageConfig): Promise<DiscoveredFolder[]> {
  const listings = STORAGE_COMPONENTS.flatMap((component) =>
    config[component].urls.map((url) => discoverComponent(fs, component, url)),
  );
  return (await Promise.all(listings)).flat();
}

/**
 * Compares what discovery found with the recorded placements; `ignoredIds` are collections being created or dropped.
 */
export function compareWithMetadata(
  found: readonly DiscoveredFolder[],
  collections: readonly PlacedCollection[],
  ignoredIds: ReadonlySet<string> = new Set(),
): DiscoveryReport {
  const placedAt = new Set(
    collections.flatMap((collection) =>
      STORAGE_COMPONENTS.map((component) => `${component} ${collection.placement[component]} ${collection.id}`),
    ),
  );
  const foundAt = new Set(found.map((folder) => `${folder.component} ${folder.url} ${folder.collectionId}`));
  const unknown = found.filter(
    (folder) =>
      !placedAt.has(`${folder.component} ${folder.url} ${folder.collectionId}`) && !ignoredIds.has(folder.collectionId),
  );
  const missing: MissingFolder[] = [];
  for (const collection of collections) {
    if (ignoredIds.has(collection.id)) continue;
    for (const component of REQUIRED_COMPONENTS) {
      const url = collection.placement[component];
      if (foundAt.has(`${component} ${url} ${collection.id}`)) continue;
      const path = join(storageRootPath(url), component, collection.id);
      missing.push({ collection: collection.name, collectionId: collection.id, component, url, path });
    }
  }
  return { unknown, missing };
}

/** The CORRUPTION error every request to a collection with a missing folder answers. */
export function missingFolderError(missing: MissingFolder): ShoalError {
  return new ShoalError(
    'CORRUPTION',
    `its ${missing.component} folder ${missing.path} is missing from ${missing.url} (deleted or moved outside ` +
      'Shoal?); the collection refuses to open rather than start empty',
    {
      collection: missing.collection,
      collectionId: missing.collectionId,
      component: missing.component,
      url: missing.url,
      path: missing.path,
    },
  );
}

/** Usage per component and URL of `config`, and the unknown folders. */
export function storageStats(
  found: readonly DiscoveredFolder[],
  collections: readonly PlacedCollection[],
  config: StorageConfig,
  ignoredIds: ReadonlySet<string> = new Set(),
): StorageStats {
  const components: ComponentUsage[] = [];
  for (const component of STORAGE_COMPONENTS) {
    for (const url of config[component].urls) {
      const placed = collections.filter((collection) => collection.placement[component] === url);
      const ids = new Set(placed.map((collection) => collection.id));
      const folders = found.filter(
        (folder) => folder.component === component && folder.url === url && ids.has(folder.collectionId),
      );
      components.push({
        component,
        url,
        strategy: config[component].strategy,
        collections: placed.map((collection) => collection.name),
        files: folders.reduce((total, folder) => total + folder.files, 0),
        bytes: folders.reduce((total, folder) => total + folder.bytes, 0),
      });
    }
  }
  return { components, unknown: compareWithMetadata(found, collections, ignoredIds).unknown };
}
