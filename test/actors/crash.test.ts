// Proves durability against kill -9: a child process upserts batches and prints each acknowledged one; the test SIGKILLs it at a random moment, reopens the data directory and finds every acknowledged record, vector for vector, three times over the same directory.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shoal } from '../../index.js';
import { SeededRandom } from '../../runtime/random.js';
import { temporaryDirectory, vectorForId } from '../fixtures/vectors.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const DIMENSION = 16;
const BATCH_SIZE = 25;
const ROUNDS = 3;

/** Runs the writer until `killAfterMs` after its first acknowledgement, SIGKILLs it, and returns the acknowledged batches. */
function runAndKill(dataDir: string, firstBatch: number, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, String(firstBatch)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acknowledged: number[] = [];
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ACK ')) acknowledged.push(Number(line.slice(4)));
        if (line.startsWith('ACK ') && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal} before the kill: ${stderr.slice(-2000)}`));
      else resolve(acknowledged);
    });
  });
}

describe('crash safety (SIGKILL)', () => {
  let directory: { path: string; remove: () => Promise<void> };
  beforeAll(async () => {
    directory = await temporaryDirectory('crash');
  });
  afterAll(async () => {
    await directory?.remove();
  });

  it('keeps every acknowledged write across repeated kills', async () => {
    const random = new SeededRandom(20261123);
    const everAcknowledged: number[] = [];
    let nextBatch = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const killAfterMs = 300 + random.int(1_500);
      const acknowledged = await runAndKill(directory.path, nextBatch, killAfterMs);
      expect(acknowledged.length).toBeGreaterThan(0);
      everAcknowledged.push(...acknowledged);
      nextBatch = Math.max(...everAcknowledged) + 100;

      const db = await Shoal.open({ dataDir: directory.path });
      try {
        const ids = everAcknowledged.flatMap((batch) => Array.from({ length: BATCH_SIZE }, (_, i) => `b${batch}-${i}`));
        for (let start = 0; start < ids.length; start += 5_000) {
          const wanted = ids.slice(start, start + 5_000);
          const found = await db.get('crash', wanted);
          expect(found.map((record) => record.id)).toEqual(wanted);
          for (const record of found) expect([...record.vector]).toEqual([...vectorForId(record.id, DIMENSION)]);
        }
        // Writes in flight at the kill were not acknowledged: each may be there or not, but never corrupted.
        const acknowledgedSet = new Set(everAcknowledged);
        const inFlight = Array.from({ length: 16 }, (_, i) => Math.max(...acknowledged) - 8 + i).filter((batch) => batch >= 0 && !acknowledgedSet.has(batch));
        const maybe = await db.get('crash', inFlight.flatMap((batch) => Array.from({ length: BATCH_SIZE }, (_, i) => `b${batch}-${i}`)));
        for (const record of maybe) expect([...record.vector]).toEqual([...vectorForId(record.id, DIMENSION)]);
        const stats = (await db.stats()).collections.find((collection) => collection.name === 'crash');
        expect(stats?.records).toBeGreaterThanOrEqual(ids.length);
        console.log(`[crash] round ${round + 1}: killed ${killAfterMs} ms after the first ack; ${acknowledged.length} batches acknowledged this round, ${ids.length} records acknowledged in all, ${stats?.records} present, ${stats?.walTruncatedBytes} torn WAL bytes cut`);
      } finally {
        await db.close();
      }
    }
  }, 240_000);
});
