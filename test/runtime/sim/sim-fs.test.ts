// Proves the simulated filesystem's crash semantics and faults: unsynced data is lost (or kept as a possibly torn
// prefix) at a crash, entries are durable only after fsyncDir of their parent, injected EIO/ENOSPC fail exactly the
// chosen calls, a failed sync poisons the file, and every operation completes as a traced scheduler event.
import { describe, expect, it } from 'vitest';
import { errnoCode } from '../../../runtime/fs-errors.js';
import type { FileSystem } from '../../../runtime/fs.js';
import { SeededRandom } from '../../../runtime/random.js';
import { Scheduler } from '../../../runtime/sim/scheduler.js';
import { SimFileSystem } from '../../../runtime/sim/sim-fs.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

function setup(seed = 1): { fs: SimFileSystem; run: <T>(promise: Promise<T>) => Promise<T>; scheduler: Scheduler } {
  const scheduler = new Scheduler();
  const fs = new SimFileSystem(scheduler, new SeededRandom(seed), { directories: ['/data'] });
  return { fs, scheduler, run: (promise) => scheduler.runUntil(promise) };
}

async function writeFile(fs: FileSystem, path: string, chunks: readonly string[], syncAfter: number): Promise<void> {
  const handle = await fs.open(path, 'a');
  for (const [index, chunk] of chunks.entries()) {
    await handle.write(text(chunk));
    if (index + 1 === syncAfter) await handle.datasync();
  }
  await handle.close();
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return errnoCode(error);
  }
}

describe('SimFileSystem', () => {
  it('completes operations as scheduler events, in virtual time, and traces each one', async () => {
    const { fs, run, scheduler } = setup();
    let done = false;
    const pending = fs.mkdir('/data/a').then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    await run(pending);
    expect(done).toBe(true);
    expect(scheduler.nowMs).toBeGreaterThan(0);
    expect(scheduler.trace.text()).toMatch(/io \$host mkdir \/data\/a ok\n$/);
    const handle = await run(fs.open('/data/a/f', 'wx'));
    expect(handle.writeSync).toBeUndefined();
    expect(handle.datasyncSync).toBeUndefined();
  });

  it('fails like node:fs: ENOENT, EEXIST, EISDIR, ENOTDIR; readdir is sorted', async () => {
    const { fs, run } = setup();
    await run(fs.mkdir('/data/dir'));
    await run(writeFile(fs, '/data/b', ['x'], 1));
    await run(writeFile(fs, '/data/a', ['x'], 1));
    expect(await run(codeOf(fs.open('/data/missing', 'r')))).toBe('ENOENT');
    expect(await run(codeOf(fs.open('/data/a', 'wx')))).toBe('EEXIST');
    expect(await run(codeOf(fs.readFile('/data/dir')))).toBe('EISDIR');
    expect(await run(codeOf(fs.readdir('/data/a')))).toBe('ENOTDIR');
    expect(await run(codeOf(fs.open('/data/nope/f', 'w')))).toBe('ENOENT');
    expect(await run(fs.readdir('/data'))).toEqual(['a', 'b', 'dir']);
    expect(await run(fs.stat('/data/missing'))).toBeNull();
  });

  it('loses unsynced data at a crash and keeps synced data', async () => {
    const { fs, run } = setup();
    await run(writeFile(fs, '/data/log', ['abc', 'def'], 1));
    await run(fs.fsyncDir('/data'));
    fs.crash({ keepProbability: 0 });
    expect(decode(await run(fs.readFile('/data/log')))).toBe('abc');
  });

  it('can keep a torn prefix of unsynced writes at a crash', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const { fs, run } = setup(seed);
      await run(writeFile(fs, '/data/log', ['abc', 'defghij', 'klmnop'], 1));
      await run(fs.fsyncDir('/data'));
      fs.crash({ keepProbability: 1, tornProbability: 1 });
      const after = decode(await run(fs.readFile('/data/log'))) as string;
      expect('abcdefghijklmnop'.startsWith(after)).toBe(true);
      expect(after.length).toBeGreaterThanOrEqual(3);
      outcomes.add(after);
    }
    const torn = [...outcomes].filter((each) => each.length !== 3 && each.length !== 10 && each.length !== 16);
    expect(torn.length).toBeGreaterThan(0);
  });

  it('makes a created file or a rename durable only after fsyncDir of the parent', async () => {
    const { fs, run } = setup();
    await run(writeFile(fs, '/data/current', ['old'], 1));
    await run(fs.fsyncDir('/data'));
    await run(writeFile(fs, '/data/current.tmp', ['new'], 1));
    await run(fs.rename('/data/current.tmp', '/data/current'));
    expect(decode(fs.peek('/data/current'))).toBe('new');
    fs.crash({ keepProbability: 0 });
    expect(decode(await run(fs.readFile('/data/current')))).toBe('old');
    expect(await run(fs.stat('/data/current.tmp'))).toBeNull();

    await run(writeFile(fs, '/data/current.tmp', ['new'], 1));
    await run(fs.rename('/data/current.tmp', '/data/current'));
    await run(fs.fsyncDir('/data'));
    fs.crash({ keepProbability: 0 });
    expect(decode(await run(fs.readFile('/data/current')))).toBe('new');
    expect(fs.peekEntries('/data')).toEqual(['current']);
  });

  it('drops a durable entry whose parent folder was never made durable', async () => {
    const { fs, run } = setup();
    await run(fs.mkdir('/data/a/b'));
    await run(writeFile(fs, '/data/a/b/f', ['x'], 1));
    await run(fs.fsyncDir('/data/a/b'));
    await run(fs.fsyncDir('/data/a'));
    fs.crash({ keepProbability: 0 });
    expect(await run(fs.stat('/data/a'))).toBeNull();
  });

  it('fails the chosen write with EIO once, writing nothing, then works again', async () => {
    const { fs, run } = setup();
    const handle = await run(fs.open('/data/f', 'w'));
    fs.failNext('write', 'EIO', { pathIncludes: '/data/f' });
    expect(await run(codeOf(handle.write(text('lost'), 0)))).toBe('EIO');
    expect(fs.peek('/data/f')?.byteLength).toBe(0);
    await run(handle.write(text('kept'), 0));
    expect(decode(fs.peek('/data/f'))).toBe('kept');
    fs.arm('write', 'ENOSPC');
    expect(await run(codeOf(handle.write(text('x'), 4)))).toBe('ENOSPC');
    expect(await run(codeOf(handle.write(text('x'), 4)))).toBe('ENOSPC');
    fs.disarm();
    await run(handle.write(text('!'), 4));
    expect(decode(fs.peek('/data/f'))).toBe('kept!');
  });

  it('dooms the writes a failed datasync should have covered: readable until a crash, then lost, while later synced writes survive', async () => {
    const { fs, run } = setup();
    const handle = await run(fs.open('/data/f', 'w'));
    await run(fs.fsyncDir('/data'));
    await run(handle.write(text('abc'), 0));
    await run(handle.datasync());
    await run(handle.write(text('def'), 3));
    fs.failNext('datasync', 'EIO');
    expect(await run(codeOf(handle.datasync()))).toBe('EIO');
    await run(handle.write(text('ghi'), 6));
    await run(handle.datasync());
    expect(decode(fs.peek('/data/f'))).toBe('abcdefghi');
    fs.crash({ keepProbability: 1 });
    expect(Array.from(await run(fs.readFile('/data/f')))).toEqual([...text('abc'), 0, 0, 0, ...text('ghi')]);
  });

  it('never completes operations in flight at a crash', async () => {
    const { fs, run, scheduler } = setup();
    let settled = false;
    void fs.mkdir('/data/x').finally(() => {
      settled = true;
    });
    fs.crash();
    await scheduler.runFor(100);
    expect(settled).toBe(false);
    expect(await run(fs.stat('/data/x'))).toBeNull();
  });
});
