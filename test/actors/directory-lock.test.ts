// Proves one owner per data directory with real processes and files: while a child process holds a data directory, an
// open from this process is refused at once with LOCKED naming the child's pid and writes nothing; after the child is
// killed with SIGKILL the next open breaks the stale lock at once and finds every record the child had acknowledged; a
// second open in the same process is refused until the first closes; a storage folder shared by two data directories is
// locked too; and the lock file itself is recognised as stale for a dead pid, a reused pid, a torn file, while racing
// opens let exactly one win.
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal, ShoalError } from '../../index.js';
import { LOCK_FILE, lockFolder } from '../../runtime/directory-lock.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const HOLDER = new URL('../fixtures/lock-holder.ts', import.meta.url).pathname;
const RECORDS = 300;

async function refusal(promise: Promise<unknown>): Promise<ShoalError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ShoalError);
  return outcome as ShoalError;
}

/** Every file below `folder` with its size and modification time: what a refused open must leave alone. */
async function snapshot(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true });
  const described = await Promise.all(
    entries.map(async (entry) => {
      const info = await stat(join(folder, entry));
      return `${entry} ${info.size} ${info.mtimeMs}`;
    }),
  );
  return described.sort();
}

/** The pid of a process that has exited: its pid is free. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid as number;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

describe('one owner per data directory', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function folder(prefix: string): Promise<string> {
    const directory = await temporaryDirectory(prefix);
    cleanups.push(directory.remove);
    return directory.path;
  }

  it('refuses a second process with LOCKED, and after kill -9 the next open finds every acknowledged record', async () => {
    const dataDir = await folder('lock-processes');
    let acked = -1;
    let checked: Promise<void> | null = null;
    let before: string[] = [];
    await runUntilKilled(
      HOLDER,
      [dataDir, String(RECORDS)],
      (line, kill) => {
        if (line.startsWith('acked ')) acked = Number(line.slice(6));
        if (line === 'acked 100') {
          checked = (async () => {
            before = await snapshot(dataDir);
            const error = await refusal(Shoal.open({ dataDir, maxWorkers: 2 }));
            expect(error.code).toBe('LOCKED');
            expect(error.message).toContain(dataDir);
            expect(error.details?.['pid']).toEqual(expect.any(Number));
            expect(error.details?.['pid']).not.toBe(process.pid);
          })();
        }
        if (line === 'done') void checked?.finally(kill);
      },
      120_000,
    );
    await checked;
    expect(acked).toBe(RECORDS - 1);
    expect(before.some((entry) => entry.startsWith(LOCK_FILE))).toBe(true);
    const db = await Shoal.open({ dataDir, maxWorkers: 2 });
    try {
      const ids = Array.from({ length: RECORDS }, (_, index) => `r${index}`);
      expect((await db.get('c', ids)).map((record) => record.id)).toEqual(ids);
    } finally {
      await db.close();
    }
  }, 180_000);

  it('refuses a second open in the same process until the first closes, and the refusal writes nothing', async () => {
    const dataDir = await folder('lock-same');
    const first = await Shoal.open({ dataDir, maxWorkers: 2 });
    await first.createCollection({ name: 'c', dimension: 2, metric: 'l2', shards: 1 });
    await first.upsert('c', [{ id: 'a', vector: [1, 2] }]);
    const before = await snapshot(dataDir);
    const error = await refusal(Shoal.open({ dataDir, maxWorkers: 2 }));
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain('this process');
    expect(error.details?.['pid']).toBe(process.pid);
    expect(await snapshot(dataDir)).toEqual(before);
    await first.close();
    const second = await Shoal.open({ dataDir, maxWorkers: 2 });
    expect((await second.get('c', ['a'])).map((record) => record.id)).toEqual(['a']);
    await second.close();
  }, 60_000);

  it('locks a storage folder shared by two data directories', async () => {
    const shared = await folder('lock-shared');
    const storage = { wal: { urls: [pathToFileURL(shared).href] } };
    const first = await Shoal.open({ dataDir: await folder('lock-a'), maxWorkers: 2, storage });
    try {
      const error = await refusal(Shoal.open({ dataDir: await folder('lock-b'), maxWorkers: 2, storage }));
      expect(error.code).toBe('LOCKED');
      expect(error.details?.['folder']).toBe(shared);
      expect(error.message).toContain(`storage folder ${shared}`);
    } finally {
      await first.close();
    }
    expect((await readdir(shared)).includes(LOCK_FILE)).toBe(false);
  }, 60_000);

  it('breaks a stale lock at once: a dead pid, a reused pid, our own pid not held, a torn file', async () => {
    const locked = await folder('lock-stale');
    const path = join(locked, LOCK_FILE);
    const owners = [
      { pid: await deadPid(), host: (await import('node:os')).hostname(), startTicks: null, token: 'dead' },
      { pid: process.ppid, host: (await import('node:os')).hostname(), startTicks: -1, token: 'reused' },
      { pid: process.pid, host: (await import('node:os')).hostname(), startTicks: null, token: 'not-held' },
    ];
    for (const text of [...owners.map((owner) => JSON.stringify(owner)), '']) {
      await writeFile(path, text);
      const lock = await lockFolder(locked, 'the test folder');
      expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
      await lock.release();
    }
    const live = { pid: process.ppid, host: (await import('node:os')).hostname(), startTicks: null, token: 'live' };
    await writeFile(path, JSON.stringify(live));
    expect((await refusal(lockFolder(locked, 'the test folder'))).code).toBe('LOCKED');
  });

  it('lets exactly one of several racing opens of a stale lock win', async () => {
    const locked = await folder('lock-race');
    const stale = { pid: await deadPid(), host: (await import('node:os')).hostname(), startTicks: null, token: 'dead' };
    await writeFile(join(locked, LOCK_FILE), JSON.stringify(stale));
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => lockFolder(locked, 'the test folder')));
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect((outcome.reason as ShoalError).code).toBe('LOCKED');
    }
  });
});
