/**
 * `npm run chaos -- <campaign> [options]`: long fault campaigns that `npm test`
 * only samples. Prints one line per round and a closing `N passed, M failed`
 * line; exits non-zero on any violation, printing the seed that reproduces it.
 *
 *   wal [--kills 200] [--seed 1]   SIGKILL a WAL appender K times; check every acknowledged LSN
 *   --real [--kills 20] [--seed 1] [--flush-rows N] [--kill-workers]
 *                                  SIGKILL a live Shoal process (real threads and files) K times
 *   sim [--seed 1] [--runs 20] [--io-faults 0] [--drops 0] [--clients C] [--ops K] [--without kinds]
 *       [--skip-faults i,j] [--mutation M] [--shrink [--max-runs R]] [--trace]
 *                                  seeded simulations of a whole Shoal node (see sim-run.ts)
 *   metadata [--seed 1] [--runs 20] [--ops 16] [--faults 5] [--mutation split-brain]
 *                                  seeded simulations of the metadata Raft group under faults (sim-metadata-run.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runRealCampaign } from './real-campaign.js';
import { runWalCrashCampaign } from './wal-campaign.js';

const USAGE = 'usage: npm run chaos -- wal [--kills N] [--seed S]\n       npm run chaos -- --real [--kills N] [--seed S] [--flush-rows N] [--kill-workers]\n       npm run chaos -- sim [--seed S] [--runs N] [--io-faults F] [--drops P] [--clients C] [--ops K] [--without kinds] [--skip-faults i,j] [--mutation M] [--shrink] [--trace]\n       npm run chaos -- metadata [--seed S] [--runs N] [--ops K] [--faults F] [--mutation split-brain]';

if (process.argv[2] === 'metadata') {
  process.argv.splice(2, 1);
  await import('./sim-metadata-run.js');
  process.exit(process.exitCode ?? 0);
}

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

async function realCampaign(kills: number, seed: number, flushRows: number | undefined, killWorkers: boolean): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-chaos-real-'));
  let passed = 0;
  try {
    await runRealCampaign(dir, { kills, seed, killWorkers, ...(flushRows === undefined ? {} : { flushRows, killAfterMs: [3_000, 2_000] }) }, (report) => {
      passed++;
      console.log(
        `round ${String(report.round).padStart(4)}: killed after ${report.killAfterMs} ms, ${report.acknowledgedThisRound} batches acknowledged, ` +
          `${report.failedThisRound} failed, ${report.workerKills} worker threads killed; ${report.recordsAcknowledged} records acknowledged in all, ${report.recordsPresent} present, ${report.segments} segments`,
      );
    });
    console.log(`${passed} passed, 0 failed`);
    return true;
  } catch (error) {
    console.error(`round ${passed + 1} FAILED: ${(error as Error).message}`);
    console.error(`reproduce with: npm run chaos -- --real --kills ${passed + 1} --seed ${seed}${flushRows === undefined ? '' : ` --flush-rows ${flushRows}`}${killWorkers ? ' --kill-workers' : ''}`);
    console.log(`${passed} passed, 1 failed`);
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    kills: { type: 'string' },
    seed: { type: 'string', default: '1' },
    real: { type: 'boolean', default: false },
    'flush-rows': { type: 'string' },
    'kill-workers': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const campaign = values.real || positionals[0] === 'real' ? 'real' : positionals[0];
const kills = Number(values.kills ?? (campaign === 'real' ? '20' : '200'));
const seed = Number(values.seed);
const flushRows = values['flush-rows'] === undefined ? undefined : Number(values['flush-rows']);
const valid = Number.isInteger(kills) && kills >= 1 && Number.isInteger(seed) && (flushRows === undefined || (Number.isInteger(flushRows) && flushRows >= 1));
if (values.help || (campaign !== 'wal' && campaign !== 'real') || !valid) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
const ok = campaign === 'wal' ? await walCampaign(kills, seed) : await realCampaign(kills, seed, flushRows, values['kill-workers']);
process.exit(ok ? 0 : 1);
