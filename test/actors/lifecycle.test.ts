// Proves that an idle Shoal does not keep its host process alive while work in flight does, with real child
// processes: a script that forgets close() exits by itself (code 0) soon after its last line, having closed Shoal
// on the way out (its lock is gone and a reopen finds its writes, in every sync mode); a script that returns with
// a write and a search still unanswered stays alive until both are answered; a host started with
// `node --input-type=module -e` (whose flags workers must not inherit) opens, writes, searches and exits 0; and
// `await using` closes the database (the lock is released, so a second open succeeds).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { LOCK_FILE } from '../../runtime/directory-lock.js';
import { runToExit } from '../fixtures/child-process.js';
import type { ChildExit } from '../fixtures/child-process.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const FORGETFUL = fileURLToPath(new URL('../fixtures/forgetful-host.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How soon after its last line a child with nothing left to do must have exited (closing Shoal included). */
const EXIT_WITHIN_MS = 10_000;
const WATCHDOG_MS = 90_000;

function expectCleanExit(exit: ChildExit): void {
  expect(exit.signal, `killed by the watchdog; stderr: ${exit.stderr}`).toBeNull();
  expect(exit.code, exit.stderr).toBe(0);
  expect(exit.quietBeforeExitMs).toBeLessThan(EXIT_WITHIN_MS);
}

async function lockFileExists(folder: string): Promise<boolean> {
  return stat(join(folder, LOCK_FILE)).then(
    () => true,
    () => false,
  );
}

describe('process lifecycle', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function folder(): Promise<string> {
    const directory = await temporaryDirectory('lifecycle');
    cleanups.push(directory.remove);
    return directory.path;
  }

  for (const syncMode of ['batch', 'periodic', 'never'] as const) {
    it(`a script that forgets close() exits by itself, and its ${syncMode} writes are there`, async () => {
      const dataDir = await folder();
      const exit = await runToExit(['--import', 'tsx', FORGETFUL, dataDir, 'idle', syncMode], {
        watchdogMs: WATCHDOG_MS,
      });
      expectCleanExit(exit);
      expect(exit.lines).toContain('searched r0,r1,r2');
      // It closed on the way out: no lock left behind to be broken.
      expect(await lockFileExists(dataDir)).toBe(false);
      const db = await Shoal.open({ dataDir, maxWorkers: 4, metadataReplicas: 1 });
      try {
        expect((await db.get('c', ['r0', 'r1', 'r2'])).map((record) => record.id)).toEqual(['r0', 'r1', 'r2']);
      } finally {
        await db.close();
      }
    });
  }

  it('a script that returns with requests in flight stays alive until they are answered', async () => {
    const dataDir = await folder();
    const exit = await runToExit(['--import', 'tsx', FORGETFUL, dataDir, 'in-flight'], { watchdogMs: WATCHDOG_MS });
    expectCleanExit(exit);
    expect(exit.lines).toEqual(['started', 'answered 5000 r0,r1']);
  });

  it('a host started with node --input-type=module -e opens, writes, searches and exits 0', async () => {
    const dataDir = await folder();
    const code = [
      "import { Shoal } from './index.ts';",
      `const db = await Shoal.open({ dataDir: ${JSON.stringify(dataDir)}, maxWorkers: 4, metadataReplicas: 1 });`,
      "await db.createCollection({ name: 'c', dimension: 2, metric: 'l2', shards: 1 });",
      "await db.upsert('c', [{ id: 'a', vector: [1, 2] }, { id: 'b', vector: [5, 5] }]);",
      "const hits = await db.search('c', { vector: [1, 2], k: 1 });",
      "console.log('hits ' + hits.map((hit) => hit.id).join(','));",
      'await db.close();',
    ].join('\n');
    const args = ['--import', 'tsx', '--input-type=module', '-e', code];
    const exit = await runToExit(args, { cwd: ROOT, watchdogMs: WATCHDOG_MS });
    expectCleanExit(exit);
    expect(exit.lines).toEqual(['hits a']);
    expect(exit.stderr).not.toContain('worker-error');
  });

  it('await using closes the database when the block is left, releasing its lock', async () => {
    const dataDir = await folder();
    let inside: Shoal | undefined;
    {
      await using db = await Shoal.open({ dataDir, maxWorkers: 4, metadataReplicas: 1 });
      inside = db;
      await db.createCollection({ name: 'c', dimension: 2, metric: 'l2', shards: 1 });
      await db.upsert('c', [{ id: 'a', vector: [1, 2] }]);
      expect(await lockFileExists(dataDir)).toBe(true);
    }
    expect(await lockFileExists(dataDir)).toBe(false);
    await expect(inside.stats()).rejects.toMatchObject({ code: 'CLOSED' });
    const again = await Shoal.open({ dataDir, maxWorkers: 4, metadataReplicas: 1 });
    try {
      expect((await again.get('c', ['a'])).map((record) => record.id)).toEqual(['a']);
    } finally {
      await again.close();
    }
  });
});
