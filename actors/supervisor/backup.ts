/**
 * Backups of one collection, while reads and writes go on. Each shard's
 * engine pins its cut in one turn (its LSN, checkpoint and live segments;
 * see storage/engine/segment-pins.ts); the pinned segment files are copied
 * with a segment set of their own, and the WAL records from the checkpoint
 * + 1 up to the cut are copied through the WAL writer's replay pages into a
 * fresh log (storage/backup-wal.ts), so the copy ends exactly at the LSN.
 * Every file and folder is fsynced; the pins are released; a pin lost
 * meanwhile (the shard restarted) fails the backup. `catalogue.json` makes
 * the folder a data directory that `Shoal.open` migrates, and `backup.json`,
 * written last and atomically, marks the backup complete
 * (storage/backup-format.ts has the layout).
 *
 * A restore copies a backup's files into this database's placement for a
 * new collection id, then commits the create through the metadata in a
 * message of its own (`restore-commit`, which holds the mailbox like any
 * create), so the copying never holds the supervisor. Until the command
 * commits, the folders belong to no collection: a crash leaves them as
 * unknown folders, reported and never loaded.
 */
import { dirname, join } from 'node:path';
import type { ActorContext } from '../../runtime/actor.js';
import { remainingMs } from '../../runtime/deadline.js';
import { ShoalError, invalidArgument, toShoalError } from '../../runtime/errors.js';
import { io } from '../../runtime/fs-errors.js';
import { writeFileAtomic } from '../../storage/atomic-file.js';
import { claimEmptyFolder, copyFiles, copyFolder, folderBytes, syncFolders } from '../../storage/backup-files.js';
import {
  BACKUP_CATALOGUE_FILE,
  BACKUP_COMPONENTS,
  BACKUP_FORMAT_VERSION,
  BACKUP_MANIFEST_FILE,
  BACKUP_RUNNING_FILE,
  backupCollection,
  backupShardDir,
  encodeBackupCatalogue,
  encodeBackupManifest,
  parseBackupManifest,
} from '../../storage/backup-format.js';
import type { BackupManifest, BackupShard } from '../../storage/backup-format.js';
import { BackupWal } from '../../storage/backup-wal.js';
import type { CollectionEntry } from '../../storage/collection-entry.js';
import type { ShardPin } from '../../storage/engine/segment-pins.js';
import { PlacementService, componentDir } from '../../storage/placement.js';
import { writeSegmentSet } from '../../storage/viper/segment-set.js';
import { engineAddress, walAddress } from '../addresses.js';
import type { BackupResult } from '../public-api.js';
import type { SupervisorArgs, SupervisorMessageOf } from '../supervisor-protocol.js';
import type { ReplayPage, WalWriterMessage } from '../wal-writer-actor.js';
import { recordCreate, refresh, removeFolders, startOrUndo } from './collection-lifecycle.js';
import { askShard } from './shard-asks.js';
import type { ShardRequest } from './shard-asks.js';
import { lookupCollection } from './state.js';
import type { SupervisorState } from './state.js';

/** A pin outlives the backup's deadline by this much, so it never lapses while the backup still runs. */
const PIN_LEASE_MARGIN_MS = 10_000;
/** WAL records asked per replay page while copying. */
const WAL_COPY_PAGE_RECORDS = 1_000;
/** How long releasing a pin may take. */
const UNPIN_TIMEOUT_MS = 10_000;

/** Writes a point-in-time copy of one collection into the empty (or missing) folder `to`. */
export async function backup(
  state: SupervisorState,
  message: SupervisorMessageOf<'backup'>,
  ctx: ActorContext,
  deadline: number,
): Promise<BackupResult> {
  const entry = lookupCollection(state, message.collection);
  const { to } = message;
  await claimEmptyFolder(ctx.fs, to, BACKUP_RUNNING_FILE, 'to');
  try {
    const pins = await pinShards(state, entry, ctx, deadline);
    const shards = await copyPinnedShards(entry, pins, to, ctx, deadline);
    const collection = backupCollection(entry);
    const bytes = shards.reduce((sum, shard) => sum + shard.bytes, 0);
    const { createdAt } = message;
    const manifest: BackupManifest = { version: BACKUP_FORMAT_VERSION, createdAt, collection, shards, bytes };
    await writeFileAtomic(ctx.fs, join(to, BACKUP_CATALOGUE_FILE), encodeBackupCatalogue(collection));
    await io(`removing ${BACKUP_RUNNING_FILE}`, () => ctx.fs.rm(join(to, BACKUP_RUNNING_FILE)));
    // The commit point of the backup: written last, so a folder without it is known to be incomplete.
    await writeFileAtomic(ctx.fs, join(to, BACKUP_MANIFEST_FILE), encodeBackupManifest(manifest));
    await syncFolders(ctx.fs, [to, dirname(to)]);
    ctx.log.info('backup-written', { collection: entry.name, to, bytes, lsns: shards.map((shard) => shard.lsn) });
    const results = shards.map(({ shard, lsn, records, segments }) => ({
      shard,
      lsn,
      records,
      segments: segments.length,
    }));
    return { collection: entry.name, shards: results, bytes };
  } catch (error) {
    // The folder was empty: what is in it now is this backup's, incomplete.
    await emptyFolder(ctx, to).catch(() => undefined);
    throw error;
  }
}

/** Pins every shard's cut, in parallel; if any shard cannot be pinned, the others are released. */
async function pinShards(
  state: SupervisorState,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
): Promise<ShardPin[]> {
  const leaseMs = remainingMs(deadline, ctx.clock) + PIN_LEASE_MARGIN_MS;
  const build = (): ShardRequest => ({ message: { type: 'backup-pin', leaseMs }, transfer: [] });
  const asks = Array.from({ length: entry.shards }, (_, shard) =>
    askShard<ShardPin>(ctx, state.failedGroups, entry, shard, build, deadline, 'engine'),
  );
  const settled = await Promise.allSettled(asks);
  const pins = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed === undefined) return pins;
  const releases = settled.map((outcome, shard) =>
    outcome.status === 'fulfilled' ? unpin(entry, shard, outcome.value, ctx) : null,
  );
  await Promise.all(releases);
  throw toShoalError(failed.reason);
}

/** Copies every pinned shard, then releases the pins; a pin that was lost meanwhile fails the backup. */
async function copyPinnedShards(
  entry: CollectionEntry,
  pins: readonly ShardPin[],
  to: string,
  ctx: ActorContext,
  deadline: number,
): Promise<BackupShard[]> {
  const copies = Promise.all(pins.map((pin, shard) => copyShard(entry, shard, pin, to, ctx, deadline)));
  const copied = await copies.then(
    (shards) => ({ ok: true as const, shards }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const held = await Promise.all(pins.map((pin, shard) => unpin(entry, shard, pin, ctx)));
  const lost = held.findIndex((each) => !each);
  if (lost >= 0) {
    // Its segments or WAL records may have gone while it was copied: whatever the copy did, it is void.
    const message =
      `shard ${lost} of ${entry.name} restarted during the backup, ` + 'so its copy cannot be trusted; back up again';
    throw new ShoalError('UNAVAILABLE', message, { collection: entry.name, shard: lost });
  }
  if (!copied.ok) throw copied.error;
  return copied.shards;
}

/** Releases a pin; true when it was still held (an engine that does not answer counts as restarted). */
async function unpin(entry: CollectionEntry, shard: number, pin: ShardPin, ctx: ActorContext): Promise<boolean> {
  const release = { type: 'backup-unpin', pin: pin.pin } as const;
  try {
    const options = { timeoutMs: UNPIN_TIMEOUT_MS };
    const answer = await ctx.ask<{ held: boolean }>(engineAddress(entry.id, shard), release, options);
    return answer.held;
  } catch {
    return false;
  }
}

/** Copies one shard's pinned segments (with a segment set of their own) and its WAL up to the cut. */
async function copyShard(
  entry: CollectionEntry,
  shard: number,
  pin: ShardPin,
  to: string,
  ctx: ActorContext,
  deadline: number,
): Promise<BackupShard> {
  const segmentsTo = backupShardDir(to, 'viper', entry.id, shard);
  const files = pin.segments.flatMap((segment) => segment.files);
  const from = pin.segmentDir ?? segmentsTo;
  await copyFiles(ctx.fs, from, segmentsTo, pin.segmentDir === null ? [] : files);
  const names = pin.segments.map((segment) => segment.name);
  const { checkpointLsn, nextSegment } = pin;
  await writeSegmentSet(ctx.fs, segmentsTo, { segments: names, checkpointLsn, nextSegment });
  const walTo = backupShardDir(to, 'wal', entry.id, shard);
  const wal = await BackupWal.create(ctx.fs, walTo, pin.checkpointLsn, pin.lsn);
  try {
    await copyWal(entry, shard, pin, wal, ctx, deadline);
  } finally {
    await wal.close();
  }
  await syncFolders(ctx.fs, [dirname(segmentsTo), dirname(walTo)]);
  const bytes = (await folderBytes(ctx.fs, segmentsTo)) + (await folderBytes(ctx.fs, walTo));
  const { lsn, records } = pin;
  return { shard, lsn, checkpointLsn, records, walRecords: wal.records, segments: names, bytes };
}

/** Reads the shard's WAL from the checkpoint + 1 page by page into the backup's log, until the cut. */
async function copyWal(
  entry: CollectionEntry,
  shard: number,
  pin: ShardPin,
  wal: BackupWal,
  ctx: ActorContext,
  deadline: number,
): Promise<void> {
  for (let fromLsn = pin.checkpointLsn + 1; fromLsn <= pin.lsn; ) {
    const read: WalWriterMessage = { type: 'read', fromLsn, maxRecords: WAL_COPY_PAGE_RECORDS };
    const timeoutMs = remainingMs(deadline, ctx.clock);
    const page = await ctx.ask<ReplayPage>(walAddress(entry.id, shard), read, { timeoutMs });
    const added = await wal.add(page.batch);
    if (added.reachedCut) return;
    if (page.batch.ids.length === 0) {
      const ended =
        `the WAL of shard ${shard} of ${entry.name} ends at ${page.lastLsn}, ` + `below the backup's LSN ${pin.lsn}`;
      throw new ShoalError('UNAVAILABLE', `${ended} (it restarted during the backup); back up again`, { shard });
    }
    fromLsn = wal.nextLsn;
  }
}

/** Removes everything in `dir` (a backup that failed part-way), leaving the folder. */
async function emptyFolder(ctx: ActorContext, dir: string): Promise<void> {
  for (const name of await ctx.fs.readdir(dir)) await ctx.fs.rm(join(dir, name));
  await ctx.fs.fsyncDir(dir);
}

// ------------------------------------------------------------------ restore

/**
 * Restores the backup in `from` as a new collection (named `name`, or as it
 * was): its files are copied into this database's placement for a new id,
 * then `restore-commit` records and starts it. Copied folders of a restore
 * that fails before its commit are removed.
 */
export async function restore(
  state: SupervisorState,
  args: SupervisorArgs,
  message: SupervisorMessageOf<'restore'>,
  ctx: ActorContext,
  deadline: number,
): Promise<CollectionEntry> {
  const manifest = await readBackupManifest(ctx, message.from);
  const name = message.name ?? manifest.collection.name;
  if (state.collections.has(name)) throw collectionExists(name);
  const suffix = ctx.random.int(0x1_0000_0000).toString(16).padStart(8, '0');
  const id = `${name}-${suffix}`;
  const placement = new PlacementService(args.storage, state.counters).assign(id);
  const entry: CollectionEntry = { ...manifest.collection, id, name, placement };
  state.settling.add(id);
  try {
    try {
      await copyIntoPlace(ctx, manifest, message.from, entry);
    } catch (error) {
      await removeFolders(entry, ctx).catch(() => undefined);
      throw error;
    }
    const commit = { type: 'restore-commit', entry } as const;
    return await ctx.ask<CollectionEntry>(ctx.self, commit, { timeoutMs: remainingMs(deadline, ctx.clock) });
  } finally {
    state.settling.delete(id);
  }
}

/**
 * Records and starts a restored collection whose files are in place: the
 * create command with the placement the files were copied to (the
 * round-robin counters advance as for any create). Holds the mailbox, like
 * every create and drop. A refusal removes the copied folders.
 */
export async function commitRestore(
  state: SupervisorState,
  args: SupervisorArgs,
  entry: CollectionEntry,
  ctx: ActorContext,
  deadline: number,
): Promise<CollectionEntry> {
  await refresh(state, args, ctx, deadline);
  if (state.collections.has(entry.name)) {
    await removeFolders(entry, ctx).catch(() => undefined);
    throw collectionExists(entry.name);
  }
  const placements = new PlacementService(args.storage, state.counters);
  placements.assign(entry.id);
  state.settling.add(entry.id);
  try {
    await recordCreate(state, entry, placements, ctx, deadline);
    state.counters = placements.snapshot();
    state.collections.set(entry.name, entry);
    await startOrUndo(state, args, entry, ctx, deadline);
  } finally {
    state.settling.delete(entry.id);
  }
  ctx.log.info('backup-restored', { collection: entry.name, id: entry.id });
  return entry;
}

/** The manifest of the backup in `from`; a folder without one is refused as incomplete. */
async function readBackupManifest(ctx: ActorContext, from: string): Promise<BackupManifest> {
  const found = await io(`checking ${from}`, () => ctx.fs.stat(from));
  if (found === null || !found.isDirectory) throw invalidArgument('from', `${from} is not a folder`);
  const path = join(from, BACKUP_MANIFEST_FILE);
  if ((await io(`checking ${path}`, () => ctx.fs.stat(path))) === null) {
    const incomplete =
      `${from} holds no ${BACKUP_MANIFEST_FILE}: it is not a complete backup (one that crashed, ` +
      'failed or is still being written); restore refuses it';
    throw invalidArgument('from', incomplete, { path });
  }
  return parseBackupManifest(await io(`reading ${path}`, () => ctx.fs.readFile(path)), path);
}

/** Copies every shard's component folders of the backup into the placement of `entry`. */
async function copyIntoPlace(
  ctx: ActorContext,
  manifest: BackupManifest,
  from: string,
  entry: CollectionEntry,
): Promise<void> {
  const sourceId = manifest.collection.id;
  for (let shard = 0; shard < entry.shards; shard++) {
    for (const component of BACKUP_COMPONENTS) {
      const target = componentDir(entry.placement, component, entry.id, shard);
      await copyFolder(ctx.fs, backupShardDir(from, component, sourceId, shard), target);
    }
  }
  for (const component of BACKUP_COMPONENTS) {
    const collectionFolder = dirname(componentDir(entry.placement, component, entry.id, 0));
    await syncFolders(ctx.fs, [collectionFolder, dirname(collectionFolder)]);
  }
}

function collectionExists(name: string): ShoalError {
  return new ShoalError('COLLECTION_EXISTS', `collection ${name} already exists`, { collection: name });
}
