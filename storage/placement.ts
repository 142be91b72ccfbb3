/**
 * Storage placement: which storage URL holds each (component, collection).
 * Pure logic, no I/O: the components and strategies, storage URL checks, the
 * assignment service (round-robin with a persisted counter per component, or
 * hash affinity by the collection id), the folder of a component for one
 * shard (`<url>/<component>/<collectionId>/<shard>`), and the check that a
 * configuration still lists every URL the cluster metadata records. The supervisor
 * assigns and records; engines only receive the folders computed here.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { present } from '../runtime/assert.js';
import { ShoalError, invalidArgument } from '../runtime/errors.js';
import { fnv1a32 } from '../runtime/hash.js';

/** The storage components, each with its own list of URLs. */
export const STORAGE_COMPONENTS = ['wal', 'viper', 'lsm', 'index', 'metadata'] as const;

/** One storage component. */
export type StorageComponent = (typeof STORAGE_COMPONENTS)[number];

/** How a component picks a URL for a new collection. */
export const PLACEMENT_STRATEGIES = ['round-robin', 'hash'] as const;

/** `round-robin`: a counter per component; `hash`: a stable hash of the collection id. */
export type PlacementStrategy = (typeof PLACEMENT_STRATEGIES)[number];

/** The URLs of one component, normalised, and its strategy. */
export interface ComponentStorage {
  readonly urls: readonly string[];
  readonly strategy: PlacementStrategy;
}

/** The resolved storage configuration: every component present. Plain data, safe to post between threads. */
export type StorageConfig = { readonly [C in StorageComponent]: ComponentStorage };

/** Where one collection lives: one URL per component. */
export type Placement = { readonly [C in StorageComponent]: string };

/** Collections ever assigned, per component: the round-robin position. */
export type PlacementCounters = { readonly [C in StorageComponent]: number };

/** Schemes whose backends are designed (see storage-backend.ts) but not implemented yet. */
export const PLANNED_SCHEMES: readonly string[] = ['s3:', 'gs:', 'adls:'];

/** Most URLs per component. */
export const URLS_PER_COMPONENT_MAX = 64;

/** True when `value` is a storage component name. */
export function isStorageComponent(value: unknown): value is StorageComponent {
  return (STORAGE_COMPONENTS as readonly unknown[]).includes(value);
}

/**
 * Checks a storage URL and returns its normal form (`file:` + absolute path,
 * no trailing slash), so that two spellings of one folder compare equal.
 * Rejects with INVALID_ARGUMENT naming `field`: unparsable URLs, `file:` URLs
 * that are not absolute local paths, s3/gs/adls (not supported yet), any other scheme.
 */
export function normaliseStorageUrl(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidArgument(field, `must be a storage URL such as file:///mnt/a/shoal, got ${JSON.stringify(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidArgument(field, `${JSON.stringify(value)} is not a URL; write a folder as file:///absolute/path`);
  }
  if (PLANNED_SCHEMES.includes(url.protocol)) {
    throw invalidArgument(field, `${url.protocol}// storage is not supported yet (only file:// is); got ${value}`, {
      scheme: url.protocol,
    });
  }
  if (url.protocol !== 'file:')
    throw invalidArgument(field, `unsupported scheme ${url.protocol} in ${value}; only file:// is supported`, {
      scheme: url.protocol,
    });
  if (!/^file:\/\//i.test(value) || (url.host !== '' && url.host !== 'localhost')) {
    throw invalidArgument(field, `${value} is not an absolute local path; write file:///absolute/path (three slashes)`);
  }
  if (url.search !== '' || url.hash !== '') throw invalidArgument(field, `${value} must not have a query or fragment`);
  const path = fileURLToPath(url);
  if (!isAbsolute(path)) throw invalidArgument(field, `${value} is not an absolute path`);
  return pathToFileURL(resolve(path)).href;
}

/** The local folder of a `file:` storage URL (already normalised). */
export function storageRootPath(url: string): string {
  return fileURLToPath(url);
}

/** The `file:` URL of the data directory: the default of every component, and where version 1 put everything. */
export function dataDirUrl(dataDir: string): string {
  return pathToFileURL(resolve(dataDir)).href;
}

/** The default configuration: every component on the single URL of `dataDir`, round-robin. */
export function defaultStorageConfig(dataDir: string): StorageConfig {
  const url = dataDirUrl(dataDir);
  const component: ComponentStorage = { urls: [url], strategy: 'round-robin' };
  return { wal: component, viper: component, lsm: component, index: component, metadata: component };
}

/** Counters of a store that never assigned anything. */
export function zeroCounters(): PlacementCounters {
  return { wal: 0, viper: 0, lsm: 0, index: 0, metadata: 0 };
}

/** The same placement for every component: how a version-1 catalogue's collections (all under dataDir) are read. */
export function uniformPlacement(url: string): Placement {
  return { wal: url, viper: url, lsm: url, index: url, metadata: url };
}

/**
 * The assignment service: picks one URL per component for each new
 * collection. Round-robin uses a counter per component (collections ever
 * assigned, persisted in the cluster metadata), so with three URLs collections
 * 1..6 land on 0,1,2,0,1,2 and the sequence continues after a restart; hash
 * uses `fnv1a32(collectionId) mod urls`, stable across processes and releases.
 * Adding a URL changes only where new collections go.
 */
export class PlacementService {
  private readonly counters: { [C in StorageComponent]: number };

  constructor(
    private readonly config: StorageConfig,
    counters: PlacementCounters = zeroCounters(),
  ) {
    this.counters = { ...counters };
  }

  /** Assigns a URL per component to a new collection and advances the round-robin counters. */
  assign(collectionId: string): Placement {
    const pick = (component: StorageComponent): string => {
      const { urls, strategy } = this.config[component];
      const index =
        strategy === 'hash' ? fnv1a32(collectionId) % urls.length : this.counters[component]++ % urls.length;
      return present(urls[index], `the storage URL of component ${component}`);
    };
    return {
      wal: pick('wal'),
      viper: pick('viper'),
      lsm: pick('lsm'),
      index: pick('index'),
      metadata: pick('metadata'),
    };
  }

  /** The counters to persist (a copy). */
  snapshot(): PlacementCounters {
    return { ...this.counters };
  }
}

/** The folder of `component` for a whole collection: `<url>/<component>/<collectionId>`. */
export function collectionDir(placement: Placement, component: StorageComponent, collectionId: string): string {
  return join(storageRootPath(placement[component]), component, collectionId);
}

/** The folder of `component` for one shard: `<url>/<component>/<collectionId>/<shard>`. */
export function componentDir(
  placement: Placement,
  component: StorageComponent,
  collectionId: string,
  shard: number,
): string {
  return join(collectionDir(placement, component, collectionId), String(shard));
}

/** The folders the engine of one shard may use besides its WAL; optional, so older engines ignore them. */
export interface EngineStorageDirs {
  readonly viperDir?: string;
  readonly lsmDir?: string;
  readonly indexDir?: string;
  readonly metadataDir?: string;
}

/** Every component folder of one shard. */
export function shardDirs(
  placement: Placement,
  collectionId: string,
  shard: number,
): { walDir: string } & Required<EngineStorageDirs> {
  const dir = (component: StorageComponent): string => componentDir(placement, component, collectionId, shard);
  return {
    walDir: dir('wal'),
    viperDir: dir('viper'),
    lsmDir: dir('lsm'),
    indexDir: dir('index'),
    metadataDir: dir('metadata'),
  };
}

/** A recorded placement whose URL the configuration no longer lists. */
export interface RemovedUrl {
  readonly component: StorageComponent;
  readonly url: string;
  /** Names of the collections placed there. */
  readonly collections: string[];
}

/** The recorded URLs missing from `config`, per component and URL, with the collections they hold. */
export function findRemovedUrls(
  collections: readonly { name: string; placement: Placement }[],
  config: StorageConfig,
): RemovedUrl[] {
  const removed = new Map<string, RemovedUrl>();
  for (const collection of collections) {
    for (const component of STORAGE_COMPONENTS) {
      const url = collection.placement[component];
      if (config[component].urls.includes(url)) continue;
      const key = `${component} ${url}`;
      const found = removed.get(key) ?? { component, url, collections: [] };
      found.collections.push(collection.name);
      removed.set(key, found);
    }
  }
  return [...removed.values()];
}

/** The INVALID_ARGUMENT refusing a configuration that dropped URLs still holding collections. */
export function removedUrlsError(removed: readonly RemovedUrl[]): ShoalError {
  const lines = removed.map(
    (each) => `storage.${each.component}.urls no longer lists ${each.url}, which holds ${each.collections.join(', ')}`,
  );
  return new ShoalError(
    'INVALID_ARGUMENT',
    `storage URLs removed while they still hold collections: ${lines.join('; ')}. ` +
      'Add them back to open; a URL can be removed once no collection is placed there',
    {
      removed: removed.map((each) => ({ ...each })),
    },
  );
}
