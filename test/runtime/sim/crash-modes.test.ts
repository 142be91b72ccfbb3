// Proves the simulator's two crash modes and garbled writes, and the WAL fix they exposed: a process crash ends handles
// but keeps the page cache (a later power loss can still lose it), a power loss may leave a last kept write ending in
// garbage (only in files the pattern names) that the WAL's checksums catch as a torn tail, and a periodic WAL reopened
// after a process crash syncs what its dead predecessor acknowledged.
import { describe, expect, it } from 'vitest';
import { errnoCode } from '../../../runtime/fs-errors.js';
import { SeededRandom } from '../../../runtime/random.js';
import { Gate } from '../../../runtime/sim/gate.js';
import { Scheduler } from '../../../runtime/sim/scheduler.js';
import { SimFileSystem } from '../../../runtime/sim/sim-fs.js';
import { VirtualClock } from '../../../runtime/sim/virtual-clock.js';
import { Wal } from '../../../storage/wal/wal.js';
import type { WalEntry } from '../../../storage/wal/wal.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

function setup(seed = 1): { fs: SimFileSystem; scheduler: Scheduler; run: <T>(promise: Promise<T>) => Promise<T> } {
  const scheduler = new Scheduler();
  const fs = new SimFileSystem(scheduler, new SeededRandom(seed), { directories: ['/data'] });
  return { fs, scheduler, run: (promise) => scheduler.runUntil(promise) };
}

/** Creates `path` durably with `synced`, then appends `unsynced` without a sync. */
async function fileWithUnsyncedTail(fs: SimFileSystem, path: string, synced: string, unsynced: string): Promise<void> {
  const handle = await fs.open(path, 'wx');
  await handle.write(text(synced), 0);
  await handle.datasync();
  await fs.fsyncDir('/data');
  await handle.write(text(unsynced), synced.length);
}

function entry(id: string): WalEntry {
  return { op: 'upsert', id, vector: Float32Array.of(1, 2, 3, 4), metadata: null };
}

describe('simulated crashes', () => {
  it('keeps the page cache on a process crash, and loses it at a later power loss', async () => {
    const { fs, run, scheduler } = setup();
    await run(fileWithUnsyncedTail(fs, '/data/f', 'durable', '+cached'));
    const handle = await run(fs.open('/data/f', 'r'));
    const report = fs.crash({ powerLoss: false });
    expect(report.dataOperationsLost).toBe(0);
    expect(new TextDecoder().decode(fs.peek('/data/f') as Uint8Array)).toBe('durable+cached');
    expect(
      await run(
        handle.size().then(
          () => 'open',
          (error: unknown) => errnoCode(error),
        ),
      ),
    ).toBe('EBADF');
    expect(scheduler.trace.text()).toMatch(/fs-crash process: the page cache survives/);
    fs.crash({ keepProbability: 0 });
    expect(new TextDecoder().decode(fs.peek('/data/f') as Uint8Array)).toBe('durable');
  });

  it('garbles the end of the last kept write, only in files the pattern names', async () => {
    let garbled = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { fs, run } = setup(seed);
      await run(fileWithUnsyncedTail(fs, '/data/00.wal', 'AAAA', 'BBBBBBBBBBBBBBBBBBBBBBBB'));
      await run(fileWithUnsyncedTail(fs, '/data/other', 'AAAA', 'BBBBBBBBBBBBBBBBBBBBBBBB'));
      const report = fs.crash(
        { keepProbability: 1, garbleProbability: 1, garblePaths: /\.wal$/ },
        new SeededRandom(seed),
      );
      const other = new TextDecoder().decode(fs.peek('/data/other') as Uint8Array);
      expect(other).toMatch(/^AAAAB*$/);
      const wal = fs.peek('/data/00.wal') as Uint8Array;
      if (report.garbledWrites === 0) continue;
      garbled++;
      // The kept write is there at its full length; only its last 1 to 16 bytes may differ, and nothing after it is
      // torn.
      expect(wal.byteLength).toBe(28);
      expect(new TextDecoder().decode(wal.subarray(0, 12))).toBe('AAAABBBBBBBB');
    }
    expect(garbled).toBeGreaterThan(3);
  });

  it('makes a WAL reopened after a process crash sync what the dead instance acknowledged (periodic mode)', async () => {
    const { fs, run, scheduler } = setup();
    const options = { syncMode: 'periodic' as const, syncIntervalMs: 50, clock: new VirtualClock(scheduler) };
    const dead = new Gate();
    const first = await run(
      Wal.open(fs.forActor('first', dead), '/data/wal', {
        ...options,
        clock: new VirtualClock(scheduler, { name: 'first', gate: dead }),
      }),
    );
    await run(first.append([entry('a'), entry('b')]));
    // The process dies before the periodic sync: its timer dies with it, the page cache keeps the frame.
    dead.close();
    fs.crash({ powerLoss: false });
    const second = await run(Wal.open(fs, '/data/wal', options));
    expect(second.lastLsn).toBe(2);
    // Much later, with no append in between, the power fails: the acknowledged records must still be there.
    await scheduler.runFor(1_000);
    fs.crash({ keepProbability: 0 });
    const third = await run(Wal.open(fs, '/data/wal', options));
    expect((await run(third.read(1, 10))).map((record) => record.id)).toEqual(['a', 'b']);
  });
});
