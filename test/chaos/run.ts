/**
 * `npm run chaos -- <campaign> [options]`: long fault campaigns that `npm test`
 * only samples. Prints one line per round and a closing `N passed, M failed`
 * line; exits non-zero on any violation, printing the seed that reproduces it.
 *
 *   wal [--kills 200] [--seed 1]   SIGKILL a WAL appender K times; check every acknowledged LSN
 *   sim [--seed 1] [--runs 20] [--io-faults 0] [--drops 0] [--trace]
 *                                  seeded simulations of a whole Shoal node (see sim-run.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runWalCrashCampaign } from './wal-campaign.js';

const USAGE = 'usage: npm run chaos -- wal [--kills N] [--seed S]\n       npm run chaos -- sim [--seed S] [--runs N] [--io-faults F] [--drops P] [--trace]';

if (process.argv[2] === 'sim') {
  // The simulation campaign parses the rest of the command line itself.
  process.argv.splice(2, 1);
  await import('./sim-run.js');
  process.exit(process.exitCode ?? 0);
}

async function walCampaign(kills: number, seed: number): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-chaos-wal-'));
  let passed = 0;
  const started = performance.now();
  try {
    await runWalCrashCampaign(dir, kills, seed, (report) => {
      passed++;
      console.log(
        `round ${String(report.round).padStart(4)}: killed after ${String(report.killAfterMs).padStart(3)} ms, ` +
          `${report.acknowledgedThisRound} appends acknowledged, highest LSN ${report.highestAcknowledged}, recovered ${report.recoveredLastLsn}` +
          (report.truncatedBytes > 0 ? `, cut ${report.truncatedBytes} torn bytes` : ''),
      );
    });
    console.log(`wal campaign, seed ${seed}: ${kills} kills in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, 0 failed`);
    return true;
  } catch (error) {
    console.error(`round ${passed + 1} FAILED: ${(error as Error).message}`);
    console.error(`reproduce with: npm run chaos -- wal --kills ${passed + 1} --seed ${seed}`);
    console.log(`${passed} passed, 1 failed`);
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { kills: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
});
const kills = Number(values.kills);
const seed = Number(values.seed);
if (values.help || positionals[0] !== 'wal' || !Number.isInteger(kills) || kills < 1 || !Number.isInteger(seed)) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
process.exit((await walCampaign(kills, seed)) ? 0 : 1);
