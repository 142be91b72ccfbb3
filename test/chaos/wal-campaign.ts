/**
 * The WAL crash campaign: starts a child that appends with group commit and
 * reports every acknowledged LSN range, SIGKILLs it at a random moment,
 * reopens the WAL and checks that every acknowledged LSN is present, LSNs are
 * contiguous from 1, and every record is intact; then does it again on the
 * same folder. Used by `npm test` (20 kills) and `npm run chaos -- wal` (200).
 */
import { fileURLToPath } from 'node:url';
import { nodeFileSystem } from '../../runtime/fs.js';
import { SeededRandom } from '../../runtime/random.js';
import { Wal } from '../../storage/wal/wal.js';
import { runUntilKilled } from '../fixtures/child-process.js';
import { isIntact } from './wal-records.js';

const APPENDER = fileURLToPath(new URL('./wal-appender.ts', import.meta.url));

/** What one kill round found. */
export interface WalRoundReport {
  readonly round: number;
  readonly killAfterMs: number;
  readonly acknowledgedThisRound: number;
  readonly highestAcknowledged: number;
  readonly recoveredLastLsn: number;
  readonly truncatedBytes: number;
}

/**
 * Runs the appender until `killAfterMs` after it is ready, SIGKILLs it, and returns the highest LSN it acknowledged.
 */
async function runAndKill(
  dir: string,
  seed: number,
  killAfterMs: number,
): Promise<{ highest: number; acknowledged: number }> {
  let highest = 0;
  let acknowledged = 0;
  await runUntilKilled(
    APPENDER,
    [dir, String(seed)],
    (line, kill) => {
      if (line.startsWith('READY')) setTimeout(kill, killAfterMs);
      if (!line.startsWith('ACK ')) return;
      acknowledged++;
      highest = Math.max(highest, Number(line.split(' ')[2]));
    },
    30_000,
  );
  return { highest, acknowledged };
}

/** Reopens the WAL and checks it against the highest LSN ever acknowledged; throws on any violation. */
async function check(dir: string, highestAcknowledged: number): Promise<{ lastLsn: number; truncatedBytes: number }> {
  const wal = await Wal.open(nodeFileSystem, dir, { syncMode: 'batch', segmentBytesMax: 256 * 1024 });
  try {
    if (wal.lastLsn < highestAcknowledged)
      throw new Error(
        `lost acknowledged writes: recovered up to LSN ${wal.lastLsn}, acknowledged up to ${highestAcknowledged}`,
      );
    let expected = 1;
    for (let from = 1; from <= wal.lastLsn; ) {
      const page = await wal.read(from, 50_000);
      if (page.length === 0) throw new Error(`LSN ${from} is missing although the log ends at ${wal.lastLsn}`);
      for (const record of page) {
        if (record.lsn !== expected) throw new Error(`LSN ${expected} expected, found ${record.lsn}`);
        if (!isIntact(record)) throw new Error(`record at LSN ${record.lsn} (${record.id}) is corrupted`);
        expected++;
      }
      from = expected;
    }
    return { lastLsn: wal.lastLsn, truncatedBytes: wal.recovery.truncatedBytes };
  } finally {
    await wal.close();
  }
}

/**
 * Runs `kills` rounds on `dir`, kill times drawn from `seed`; resolves with one report per round, throws on the first
 * violation.
 */
export async function runWalCrashCampaign(
  dir: string,
  kills: number,
  seed: number,
  onRound?: (report: WalRoundReport) => void,
): Promise<WalRoundReport[]> {
  const random = new SeededRandom(seed);
  const reports: WalRoundReport[] = [];
  let highestAcknowledged = 0;
  for (let round = 1; round <= kills; round++) {
    const killAfterMs = 20 + random.int(250);
    const { highest, acknowledged } = await runAndKill(dir, seed * 1000 + round, killAfterMs);
    highestAcknowledged = Math.max(highestAcknowledged, highest);
    const { lastLsn, truncatedBytes } = await check(dir, highestAcknowledged);
    const report = {
      round,
      killAfterMs,
      acknowledgedThisRound: acknowledged,
      highestAcknowledged,
      recoveredLastLsn: lastLsn,
      truncatedBytes,
    };
    reports.push(report);
    onRound?.(report);
  }
  return reports;
}
