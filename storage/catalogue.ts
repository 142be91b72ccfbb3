/**
 * The collection catalogue: which collections exist and their schema. One
 * JSON file, replaced atomically on every change, until the Raft metadata
 * store takes its place.
 */
import { ShoalError } from '../runtime/errors.js';
import type { FileSystem } from '../runtime/fs.js';
import { writeFileAtomic } from './atomic-file.js';
import { METRICS } from './types.js';
import type { Metric } from './types.js';
import type { SyncMode } from './wal/wal.js';

/** The catalogue format written by this release. */
const CATALOGUE_VERSION = 1;
const SYNC_MODES: readonly string[] = ['always', 'batch', 'periodic', 'never'];

/** One collection as the catalogue records it. */
export interface CollectionEntry {
  /** Stable folder name: the collection name plus a random suffix, so a re-created name never meets old files. */
  readonly id: string;
  readonly name: string;
  readonly dimension: number;
  readonly metric: Metric;
  readonly shards: number;
  readonly syncMode: SyncMode;
}

/** Reads the catalogue at `path`; an absent file is an empty catalogue, an unreadable one is CORRUPTION. */
export async function readCatalogue(fs: FileSystem, path: string): Promise<CollectionEntry[]> {
  if ((await fs.stat(path)) === null) return [];
  const text = new TextDecoder().decode(await fs.readFile(path));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ShoalError('CORRUPTION', `catalogue ${path} is not valid JSON: ${(error as Error).message}`, { path });
  }
  const document = parsed as { version?: unknown; collections?: unknown };
  if (document.version !== CATALOGUE_VERSION || !Array.isArray(document.collections)) {
    throw new ShoalError('CORRUPTION', `catalogue ${path} has an unknown format (version ${String(document.version)})`, { path });
  }
  return document.collections.map((entry, index) => checkEntry(entry, `${path} collections[${index}]`));
}

/** Replaces the catalogue at `path` atomically with `entries`. */
export async function writeCatalogue(fs: FileSystem, path: string, entries: readonly CollectionEntry[]): Promise<void> {
  const text = JSON.stringify({ version: CATALOGUE_VERSION, collections: entries }, null, 2);
  await writeFileAtomic(fs, path, new TextEncoder().encode(text));
}

function checkEntry(raw: unknown, where: string): CollectionEntry {
  const entry = raw as Partial<Record<keyof CollectionEntry, unknown>>;
  const valid =
    typeof entry.id === 'string' &&
    typeof entry.name === 'string' &&
    Number.isInteger(entry.dimension) &&
    (METRICS as readonly unknown[]).includes(entry.metric) &&
    Number.isInteger(entry.shards) &&
    SYNC_MODES.includes(entry.syncMode as string);
  if (!valid) throw new ShoalError('CORRUPTION', `${where} is not a valid collection entry`, { entry: raw });
  return raw as CollectionEntry;
}
