/**
 * The on-disk format of a collection backup, pure: the layout of the folder,
 * the `backup.json` manifest (written last, atomically: a folder without it
 * is an incomplete backup) and the `catalogue.json` that lets the folder be
 * opened as a data directory of its own. A backup folder is a complete data
 * directory holding one collection under its original id:
 *
 *   <to>/backup.json                      format version, collection entry, per-shard LSNs, time
 *   <to>/catalogue.json                   a version 1 catalogue of that collection (migrated on first open)
 *   <to>/wal/<collectionId>/<shard>/      a WAL holding the records above the checkpoint up to the shard's LSN
 *   <to>/viper/<collectionId>/<shard>/    the segments live at the cut and their segments.json
 *
 * The catalogue is version 1 (no placement): it is read as every component
 * at the opening data directory, so a backup folder may be moved or copied
 * before it is opened.
 */
import { join } from 'node:path';
import { ShoalError } from '../runtime/errors.js';
import type { CollectionEntry } from './collection-entry.js';
import { METRICS } from './types.js';
import { isSyncMode } from './wal/sync-mode.js';

/** The manifest's file name in a backup folder. */
export const BACKUP_MANIFEST_FILE = 'backup.json';
/** The catalogue's file name in a backup folder (what `Shoal.open` migrates). */
export const BACKUP_CATALOGUE_FILE = 'catalogue.json';
/** Present while a backup writes into the folder (claimed exclusively, removed before the manifest is written). */
export const BACKUP_RUNNING_FILE = 'backup.running';
/** The manifest format written by this release. */
export const BACKUP_FORMAT_VERSION = 1;
/** The components a backup holds files of. */
export const BACKUP_COMPONENTS = ['wal', 'viper'] as const;

/** One component a backup holds files of. */
export type BackupComponent = (typeof BACKUP_COMPONENTS)[number];

/** A collection as a backup records it: everything but its placement, which belongs to the database it lands in. */
export type BackupCollection = Omit<CollectionEntry, 'placement'>;

/** One shard of a backup. */
export interface BackupShard {
  readonly shard: number;
  /** Every write to this shard at or below this LSN is in the backup, none above it. */
  readonly lsn: number;
  /** Every record at or below it is in the shard's segments; the WAL copy holds the rest. */
  readonly checkpointLsn: number;
  /** Live records at the cut. */
  readonly records: number;
  /** WAL records copied (checkpoint + 1 .. lsn). */
  readonly walRecords: number;
  /** Segment names, oldest first. */
  readonly segments: readonly string[];
  /** Bytes of this shard's files in the backup. */
  readonly bytes: number;
}

/** The whole `backup.json`. */
export interface BackupManifest {
  readonly version: typeof BACKUP_FORMAT_VERSION;
  /** When the backup started (ISO 8601, the host's clock). */
  readonly createdAt: string;
  readonly collection: BackupCollection;
  readonly shards: readonly BackupShard[];
  readonly bytes: number;
}

/** A collection id is a folder name: never a path, never `..`. */
const FOLDER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** A collection name, as the public API accepts it. */
const COLLECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The folder of one component of one shard inside a backup (or data) folder `root`. */
export function backupShardDir(root: string, component: BackupComponent, collectionId: string, shard: number): string {
  return join(root, component, collectionId, String(shard));
}

/** The collection entry without its placement. */
export function backupCollection(entry: CollectionEntry): BackupCollection {
  const { placement: _placement, ...collection } = entry;
  return collection;
}

/** The manifest's bytes. */
export function encodeBackupManifest(manifest: BackupManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** A version 1 catalogue holding the backup's one collection, read as placed at the opening data directory. */
export function encodeBackupCatalogue(collection: BackupCollection): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ version: 1, collections: [collection] }, null, 2)}\n`);
}

/** Parses and checks a `backup.json`; anything else is CORRUPTION naming `path`. */
export function parseBackupManifest(bytes: Uint8Array, path: string): BackupManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw corrupt(path, `is not valid JSON: ${(error as Error).message}`);
  }
  const document = fieldsOf<BackupManifest>(parsed);
  if (document.version !== BACKUP_FORMAT_VERSION) {
    const version = JSON.stringify(document.version);
    throw corrupt(path, `has an unknown format version ${version} (this release reads ${BACKUP_FORMAT_VERSION})`);
  }
  const collection = checkCollection(document.collection, path);
  if (!Array.isArray(document.shards) || document.shards.length !== collection.shards) {
    throw corrupt(path, `must list ${collection.shards} shards`);
  }
  const shards = document.shards.map((shard: unknown, index: number) => checkShard(shard, index, path));
  const { createdAt, bytes: total } = document;
  if (typeof createdAt !== 'string' || !isCount(total)) throw corrupt(path, 'lacks createdAt or bytes');
  return { version: BACKUP_FORMAT_VERSION, createdAt, collection, shards, bytes: total };
}

function checkCollection(raw: unknown, path: string): BackupCollection {
  const entry = fieldsOf<BackupCollection>(raw);
  const valid =
    typeof entry.id === 'string' &&
    FOLDER_NAME_PATTERN.test(entry.id) &&
    typeof entry.name === 'string' &&
    COLLECTION_NAME_PATTERN.test(entry.name) &&
    Number.isInteger(entry.dimension) &&
    (METRICS as readonly unknown[]).includes(entry.metric) &&
    Number.isInteger(entry.shards) &&
    (entry.shards as number) >= 1 &&
    isSyncMode(entry.syncMode);
  if (!valid) throw corrupt(path, 'has no valid collection entry');
  return raw as BackupCollection;
}

function checkShard(raw: unknown, index: number, path: string): BackupShard {
  const shard = fieldsOf<BackupShard>(raw);
  const valid =
    shard.shard === index &&
    isCount(shard.lsn) &&
    isCount(shard.checkpointLsn) &&
    (shard.checkpointLsn as number) <= (shard.lsn as number) &&
    isCount(shard.records) &&
    isCount(shard.walRecords) &&
    isCount(shard.bytes) &&
    Array.isArray(shard.segments) &&
    shard.segments.every((name) => typeof name === 'string' && FOLDER_NAME_PATTERN.test(name));
  if (!valid) throw corrupt(path, `shards[${index}] is not a valid shard entry`);
  return raw as BackupShard;
}

/** The fields of a parsed JSON object as unknowns (none for anything but an object). */
function fieldsOf<T>(raw: unknown): Partial<Record<keyof T, unknown>> {
  return (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof T, unknown>>;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function corrupt(path: string, problem: string): ShoalError {
  return new ShoalError('CORRUPTION', `backup manifest ${path} ${problem}`, { path });
}
