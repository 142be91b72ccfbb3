/**
 * The collection catalogue: which collections exist, their schema and their
 * storage placement (one URL per component), plus the round-robin counters of
 * the assignment service. One JSON file at `<dataDir>/catalogue.json`,
 * replaced atomically on every change, until the Raft metadata store takes
 * its place. Version 1 files (no placement) are read as every component at
 * `file://<dataDir>`, which is exactly where version 1 put them.
 */
import { ShoalError } from '../runtime/errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { writeFileAtomic } from './atomic-file.js';
import type { CollectionEntry } from './collection-entry.js';
import { METRICS } from './types.js';
import { STORAGE_COMPONENTS, uniformPlacement, zeroCounters } from './placement.js';
import type { Placement, PlacementCounters } from './placement.js';
import { isSyncMode } from './wal/sync-mode.js';

/** The catalogue format written by this release. */
const CATALOGUE_VERSION = 2;
/** The format before placement, still read. */
const CATALOGUE_VERSION_UNPLACED = 1;
/** A collection id is a folder name: never a path, never `..`. */
const FOLDER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Importers of the entry type from here are moving to `./collection-entry.js`; this re-export goes with the last. */
export type { CollectionEntry } from './collection-entry.js';

/** The whole catalogue: collections in creation order and the round-robin counters. */
export interface Catalogue {
  readonly collections: CollectionEntry[];
  readonly counters: PlacementCounters;
}

/**
 * Reads the catalogue at `path`; an absent file is an empty catalogue, an
 * unreadable one is CORRUPTION. A version 1 file is migrated in memory:
 * every component at `dataUrl`, counters at the number of collections.
 */
export async function readCatalogue(fs: FileSystem, path: string, dataUrl: string): Promise<Catalogue> {
  if ((await fs.stat(path)) === null) return { collections: [], counters: zeroCounters() };
  const text = new TextDecoder().decode(await fs.readFile(path));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ShoalError('CORRUPTION', `catalogue ${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  const document = parsed as { version?: unknown; collections?: unknown; counters?: unknown };
  if (!Array.isArray(document.collections)) throw unknownFormat(path, document.version);
  const rows: unknown[] = document.collections;
  if (document.version === CATALOGUE_VERSION_UNPLACED) {
    const collections = rows.map((entry, index) =>
      checkEntry({ ...(entry as object), placement: uniformPlacement(dataUrl) }, `${path} collections[${index}]`),
    );
    const assigned = collections.length;
    return {
      collections,
      counters: { wal: assigned, viper: assigned, lsm: assigned, index: assigned, metadata: assigned },
    };
  }
  if (document.version !== CATALOGUE_VERSION) throw unknownFormat(path, document.version);
  return {
    collections: rows.map((entry, index) => checkEntry(entry, `${path} collections[${index}]`)),
    counters: checkCounters(document.counters, `${path} counters`),
  };
}

/** Replaces the catalogue at `path` atomically (always in the current version). */
export async function writeCatalogue(fs: FileSystem, path: string, catalogue: Catalogue): Promise<void> {
  const text = JSON.stringify(
    { version: CATALOGUE_VERSION, counters: catalogue.counters, collections: catalogue.collections },
    null,
    2,
  );
  await writeFileAtomic(fs, path, new TextEncoder().encode(text));
}

function unknownFormat(path: string, version: unknown): ShoalError {
  return new ShoalError('CORRUPTION', `catalogue ${path} has an unknown format (version ${String(version)})`, { path });
}

function isPlacement(value: unknown): value is Placement {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return STORAGE_COMPONENTS.every(
    (component) => typeof record[component] === 'string' && URL.canParse(record[component]),
  );
}

function checkCounters(raw: unknown, where: string): PlacementCounters {
  const record = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const valid = STORAGE_COMPONENTS.every(
    (component) => Number.isSafeInteger(record[component]) && (record[component] as number) >= 0,
  );
  if (!valid) throw new ShoalError('CORRUPTION', `${where} are not valid placement counters`, { counters: raw });
  return raw as PlacementCounters;
}

function checkEntry(raw: unknown, where: string): CollectionEntry {
  const entry = raw as Partial<Record<keyof CollectionEntry, unknown>>;
  const valid =
    typeof entry.id === 'string' &&
    FOLDER_NAME_PATTERN.test(entry.id) &&
    typeof entry.name === 'string' &&
    Number.isInteger(entry.dimension) &&
    (METRICS as readonly unknown[]).includes(entry.metric) &&
    Number.isInteger(entry.shards) &&
    isSyncMode(entry.syncMode) &&
    (entry.syncIntervalMs === undefined || Number.isInteger(entry.syncIntervalMs)) &&
    (entry.engine === undefined || ['auto', 'lsm', 'viper'].includes(entry.engine as string)) &&
    (entry.flushThresholdRows === undefined || Number.isInteger(entry.flushThresholdRows)) &&
    (entry.hnsw === undefined || (typeof entry.hnsw === 'object' && entry.hnsw !== null)) &&
    isPlacement(entry.placement);
  if (!valid) throw new ShoalError('CORRUPTION', `${where} is not a valid collection entry`, { entry: raw });
  return raw as CollectionEntry;
}
