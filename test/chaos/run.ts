/**
 * `npm run chaos -- <campaign> [options]`: long fault campaigns that `npm test`
 * only samples. Prints one line per round and a closing `N passed, M failed`
 * line; exits non-zero on any violation, printing the seed that reproduces it.
 * An unknown campaign or option, or a bad value, prints the usage and exits
 * with code 2.
 *
 *   wal [--kills 200] [--seed 1]   SIGKILL a WAL appender K times; check every acknowledged LSN
 *   --real [--kills 20] [--seed 1] [--flush-rows N] [--kill-workers]
 *                                  SIGKILL a live Shoal process (real threads and files) K times
 *   sim [--seed 1] [--runs 20] [--io-faults 0] [--drops 0] [--clients C] [--ops K] [--without kinds]
 *       [--skip-faults i,j] [--mutation M] [--shrink [--max-runs R]] [--trace]
 *                                  seeded simulations of a whole Shoal node (see sim-run.ts)
 *   metadata [--seed 1] [--runs 20] [--ops 16] [--faults 5] [--mutation split-brain|amnesia]
 *                                  seeded simulations of the metadata Raft group under faults (sim-metadata-run.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runRealCampaign } from './real-campaign.js';
import { runWalCrashCampaign } from './wal-campaign.js';

const USAGE = [
  'usage: npm run chaos -- wal [--kills N] [--seed S]',
  '       npm run chaos -- --real [--kills N] [--seed S] [--flush-rows N] [--kill-workers]',
  '       npm run chaos -- sim [--seed S] [--runs N] [--io-faults F] [--drops P] [--clients C] [--ops K]',
  '                            [--without kinds] [--skip-faults i,j] [--mutation M] [--shrink [--max-runs R]] [--trace]',
  '       npm run chaos -- metadata [--seed S] [--runs N] [--ops K] [--faults F] [--mutation split-brain|amnesia]',
].join('\n');

/** A command line the CLI cannot run: says why, prints the usage and exits with code 2 (never a stack trace). */
function refuse(reason: string): never {
  console.error(`chaos: ${reason}`);
  console.error(USAGE);
  process.exit(2);
}

/** True for the errors `parseArgs` throws on an unknown option, a missing value or an unexpected argument. */
function isParseError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Runs a campaign module that parses the rest of the command line itself; a line it cannot parse is refused. */
async function runCampaignModule(load: () => Promise<unknown>): Promise<never> {
  process.argv.splice(2, 1);
  try {
    await load();
  } catch (error) {
    if (isParseError(error)) refuse(error.message);
    throw error;
  }
  process.exit(process.exitCode ?? 0);
}

if (process.argv[2] === 'metadata') {
  if (process.argv.includes('--help')) {
    console.error(USAGE);
    process.exit(0);
  }
  await runCampaignModule(() => import('./sim-metadata-run.js'));
}

// The simulation campaign parses the rest of the command line itself (and answers --help with its own usage).
if (process.argv[2] === 'sim') await runCampaignModule(() => import('./sim-run.js'));

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

async function realCampaign(
  kills: number,
  seed: number,
  flushRows: number | undefined,
  killWorkers: boolean,
): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-chaos-real-'));
  let passed = 0;
  try {
    await runRealCampaign(
      dir,
      { kills, seed, killWorkers, ...(flushRows === undefined ? {} : { flushRows, killAfterMs: [3_000, 2_000] }) },
      (report) => {
        passed++;
        console.log(
          `round ${String(report.round).padStart(4)}: killed after ${report.killAfterMs} ms, ${report.acknowledgedThisRound} batches acknowledged, ` +
            `${report.failedThisRound} failed, ${report.workerKills} worker threads killed; ${report.recordsAcknowledged} records acknowledged in all, ${report.recordsPresent} present, ${report.segments} segments`,
        );
      },
    );
    console.log(`${passed} passed, 0 failed`);
    return true;
  } catch (error) {
    console.error(`round ${passed + 1} FAILED: ${(error as Error).message}`);
    console.error(
      `reproduce with: npm run chaos -- --real --kills ${passed + 1} --seed ${seed}${flushRows === undefined ? '' : ` --flush-rows ${flushRows}`}${killWorkers ? ' --kill-workers' : ''}`,
    );
    console.log(`${passed} passed, 1 failed`);
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values, positionals } = parseCommandLine();
const campaign = values.real || positionals[0] === 'real' ? 'real' : positionals[0];
if (values.help) {
  console.error(USAGE);
  process.exit(0);
}
if (campaign === undefined) refuse('no campaign given');
if (campaign !== 'wal' && campaign !== 'real') refuse(`unknown campaign ${campaign}`);
const kills = Number(values.kills ?? (campaign === 'real' ? '20' : '200'));
const seed = Number(values.seed);
const flushRows = values['flush-rows'] === undefined ? undefined : Number(values['flush-rows']);
if (!Number.isInteger(kills) || kills < 1) refuse(`--kills must be a whole number of at least 1, not ${values.kills}`);
if (!Number.isInteger(seed)) refuse(`--seed must be a whole number, not ${values.seed}`);
if (flushRows !== undefined && (!Number.isInteger(flushRows) || flushRows < 1)) {
  refuse(`--flush-rows must be a whole number of at least 1, not ${values['flush-rows']}`);
}
const ok =
  campaign === 'wal'
    ? await walCampaign(kills, seed)
    : await realCampaign(kills, seed, flushRows, values['kill-workers']);
process.exit(ok ? 0 : 1);

/** The options of the wal and real campaigns; a command line that does not parse is refused. */
function parseCommandLine() {
  try {
    return parseArgs({
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
  } catch (error) {
    if (isParseError(error)) refuse(error.message);
    throw error;
  }
}
