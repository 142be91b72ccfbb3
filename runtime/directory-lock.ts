/**
 * One owner per data directory. `Shoal.open` takes an exclusive lock on the
 * data directory and on every storage root it writes to, and holds it until
 * `close()`: two owners of one WAL would each acknowledge writes the other
 * overwrites.
 *
 * The lock is a file, `shoal.lock`, created with O_EXCL and holding the
 * owner's pid, the owner process's start time (so a reused pid is not taken
 * for the owner) and a random token. A holder killed with SIGKILL leaves the
 * file behind, but its pid is gone (or belongs to a younger process), so the
 * next open recognises the lock as stale at once and breaks it. Breaking is
 * itself guarded by an O_EXCL directory (`shoal.lock.breaking`), so two opens
 * that find the same stale lock cannot both break it and both win.
 *
 * Used by the host only: the workers never take or check locks; the host that owns
 * the directory starts them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from './errors.js';
import { errnoCode as errno } from './fs.js';

/** The lock file's name in every locked folder. */
export const LOCK_FILE = 'shoal.lock';
const BREAKING_SUFFIX = '.breaking';
/** A breaker holds its guard for microseconds; one this old belongs to a process that died while breaking. */
const BREAKING_STALE_MS = 10_000;
const ACQUIRE_ATTEMPTS = 50;
const RETRY_PAUSE_MS = 5;

/** What a lock file says about its owner. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** The owner process's start time in clock ticks since boot (Linux), or null where unknown. */
  readonly startTicks: number | null;
  readonly token: string;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly folder: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/**
 * Tokens of the locks this process holds or is creating: the same process opening a folder twice is refused like
 * another process, and a lock of our pid whose token is not here is a leftover of an earlier process with our pid.
 * A token is added before its file is created, so a racing open never sees our fresh lock as stale.
 */
const tokensHere = new Set<string>();

/** Takes the lock of each folder (in order); on a refusal releases those already taken and rethrows. */
export async function lockFolders(folders: readonly string[], what: (folder: string) => string): Promise<HeldLock[]> {
  const held: HeldLock[] = [];
  try {
    for (const folder of folders) held.push(await lockFolder(folder, what(folder)));
  } catch (error) {
    await releaseAll(held);
    throw error;
  }
  return held;
}

/** Releases every lock, in reverse order of taking. */
export async function releaseAll(locks: readonly HeldLock[]): Promise<void> {
  for (const lock of [...locks].reverse()) await lock.release();
}

/**
 * Takes the exclusive lock of `folder` (which must exist). Rejects with
 * LOCKED, naming the folder and the holder's pid, when a live process holds
 * it (this one included), and with STORAGE_FAILED when the file cannot be
 * written. `what` names the folder in the error ("data directory /x").
 */
export async function lockFolder(folder: string, what: string): Promise<HeldLock> {
  const path = join(folder, LOCK_FILE);
  const self: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startTicks: processStartTicks(process.pid),
    token: randomToken(),
  };
  for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
    tokensHere.add(self.token);
    if (await tryCreate(path, self).catch(forget(self.token))) return heldLock(folder, path, self.token);
    tokensHere.delete(self.token);
    const text = await readIfPresent(path);
    if (text === null) continue;
    const owner = parseOwner(text);
    if (owner !== null && ownerAlive(owner)) throw lockedError(what, folder, owner);
    await breakStale(path, text);
    await pause(RETRY_PAUSE_MS);
  }
  throw new ShoalError('LOCKED', `${what} could not be locked: its lock file ${path} kept changing`, { folder });
}

function heldLock(folder: string, path: string, token: string): HeldLock {
  let released = false;
  return {
    folder,
    async release() {
      if (released) return;
      released = true;
      const text = await readIfPresent(path);
      if (text !== null && parseOwner(text)?.token === token) await unlink(path).catch(() => undefined);
      tokensHere.delete(token);
    },
  };
}

/** Creates the lock file exclusively with `owner` in it, fsynced; false when one exists. */
async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errno(error) === 'EEXIST') return false;
    throw storageFailed(path, error);
  }
  try {
    await handle.writeFile(`${JSON.stringify(owner)}\n`);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw storageFailed(path, error);
  }
  await handle.close();
  return true;
}

/** Removes the stale lock whose content was `staleText`, unless someone replaced it meanwhile. */
async function breakStale(path: string, staleText: string): Promise<void> {
  const guard = `${path}${BREAKING_SUFFIX}`;
  try {
    await mkdir(guard);
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw storageFailed(guard, error);
    const since = await stat(guard).catch(() => null);
    if (since !== null && Date.now() - since.mtimeMs > BREAKING_STALE_MS) await rmdir(guard).catch(() => undefined);
    return;
  }
  try {
    // Only a breaker holding the guard unlinks, and only the exact stale content: a fresh lock has a new token.
    if ((await readIfPresent(path)) === staleText) await unlink(path).catch(() => undefined);
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

/** True when the lock's owner still runs: this process holding it now, or another live process with that start time. */
function ownerAlive(owner: LockOwner): boolean {
  // Another host's pid cannot be checked from here: treat it as alive and let the operator decide.
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return tokensHere.has(owner.token);
  if (!pidExists(owner.pid)) return false;
  const startTicks = processStartTicks(owner.pid);
  return owner.startTicks === null || startTicks === null || startTicks === owner.startTicks;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot; null off Linux. */
function processStartTicks(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string' || typeof value.host !== 'string') return null;
    return {
      pid: value.pid,
      host: value.host,
      startTicks: typeof value.startTicks === 'number' ? value.startTicks : null,
      token: value.token,
    };
  } catch {
    // A torn lock file (its writer died between create and write) names nobody alive.
    return null;
  }
}

function lockedError(what: string, folder: string, owner: LockOwner): ShoalError {
  const holder =
    owner.pid === process.pid
      ? `this process (pid ${owner.pid}): close the other Shoal on it first`
      : `process ${owner.pid} on ${owner.host}`;
  return new ShoalError('LOCKED', `${what} is in use by ${holder}`, { folder, pid: owner.pid, host: owner.host });
}

async function readIfPresent(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return null;
    throw storageFailed(path, error);
  }
}

function storageFailed(path: string, error: unknown): ShoalError {
  const cause = errno(error) ?? 'UNKNOWN';
  return new ShoalError(
    'STORAGE_FAILED',
    `the lock file ${path} could not be written or read (${cause}): ${(error as Error).message}`,
    { path, cause },
  );
}

/** A rejection handler that forgets `token` and rethrows. */
function forget(token: string): (error: unknown) => never {
  return (error) => {
    tokensHere.delete(token);
    throw error;
  };
}

function randomToken(): string {
  return randomBytes(12).toString('hex');
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
