/**
 * `npm run chaos -- sim [options]` (or `npx tsx test/chaos/sim-run.ts`):
 * simulated chaos campaigns (`sim-campaign.ts`), one seed after another.
 * Prints one line per run (operations, faults, virtual vs wall time, trace
 * digest) and a closing `N passed, M failed` line with the overall speed;
 * exits non-zero on any violation and prints the command that reproduces
 * it. With `--shrink`, a failing seed is re-run with fewer faults and
 * operations (`sim-shrink.ts`) and the smallest failing configuration is
 * printed with its trace command.
 *
 *   --seed S --runs N        seeds S .. S+N-1 (default 1, 20)
 *   --io-faults F            failed WAL writes/syncs per run (default 0)
 *   --drops P                network drop probability (default 0)
 *   --clients C --ops K      clients and operations per client (default 4, 30)
 *   --without k1,k2          leave out fault kinds: node, process, actor, io, drop
 *   --skip-faults i,j        leave out single faults by plan index
 *   --mutation M             wal-ack-before-fsync | periodic-never-syncs | wal-skip-crc
 *   --shrink [--max-runs R]  shrink each failing seed (R campaigns at most, default 60)
 *   --trace                  print every event of the run
 */
import { parseArgs } from 'node:util';
import { runSimCampaign } from './sim-campaign.js';
import type { SimCampaignOptions, SimCampaignReport } from './sim-campaign.js';
import { isFaultKind } from './sim-fault-plan.js';
import type { FaultKind } from './sim-fault-plan.js';
import { SIM_MUTATIONS, isSimMutation } from './sim-mutations.js';
import { campaignSize, reproduceCommand, shrinkCampaign } from './sim-shrink.js';

const USAGE =
  'usage: npm run chaos -- sim [--seed S] [--runs N] [--io-faults F] [--drops P] [--clients C] [--ops K]\n' +
  `         [--without node,process,actor,io,drop] [--skip-faults i,j] [--mutation ${SIM_MUTATIONS.join('|')}] [--shrink [--max-runs R]] [--trace]`;

function summary(report: SimCampaignReport): string {
  const faults =
    Object.entries(report.faults)
      .map(([kind, count]) => `${count} ${kind}`)
      .join(', ') || 'no faults';
  const failures =
    Object.entries(report.failures)
      .map(([code, count]) => `${count} ${code}`)
      .join(', ') || 'none';
  const ratio = report.virtualMs / report.realMs;
  const damage =
    report.tornWrites + report.garbledWrites > 0
      ? ` (${report.tornWrites} torn, ${report.garbledWrites} garbled writes)`
      : '';
  return (
    `seed ${String(report.seed).padStart(6)}: ${report.operations} ops (${report.acknowledged} ok, failed: ${failures}), ${faults}${damage}, ${report.checks} checkpoints, ` +
    `${(report.virtualMs / 1000).toFixed(1)} s virtual in ${(report.realMs / 1000).toFixed(2)} s (${ratio.toFixed(0)}x), trace ${report.traceDigest.slice(0, 12)}`
  );
}

function printViolations(report: SimCampaignReport): void {
  for (const violation of report.violations.slice(0, 10)) console.error(`  VIOLATION ${violation}`);
  if (report.violations.length > 10) console.error(`  ... and ${report.violations.length - 10} more`);
  console.error(`  last trace lines:\n${report.traceTail.map((line) => `    ${line}`).join('\n')}`);
}

function list(value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : value.split(',').map((each) => each.trim());
}

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
    'io-faults': { type: 'string', default: '0' },
    drops: { type: 'string', default: '0' },
    clients: { type: 'string' },
    ops: { type: 'string' },
    without: { type: 'string' },
    'skip-faults': { type: 'string' },
    mutation: { type: 'string' },
    shrink: { type: 'boolean', default: false },
    'max-runs': { type: 'string', default: '60' },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const first = Number(values.seed);
const runs = Number(values.runs);
const ioFaults = Number(values['io-faults']);
const dropProbability = Number(values.drops);
const clients = values.clients === undefined ? undefined : Number(values.clients);
const operationsPerClient = values.ops === undefined ? undefined : Number(values.ops);
const without = list(values.without);
const skipFaults = list(values['skip-faults']).map(Number);
const maxRuns = Number(values['max-runs']);
const positive = (value: number | undefined): boolean => value === undefined || (Number.isInteger(value) && value >= 1);
const valid =
  Number.isInteger(first) &&
  Number.isInteger(runs) &&
  runs >= 1 &&
  Number.isInteger(ioFaults) &&
  ioFaults >= 0 &&
  dropProbability >= 0 &&
  dropProbability < 1 &&
  positive(clients) &&
  positive(operationsPerClient) &&
  positive(maxRuns) &&
  without.every(isFaultKind) &&
  skipFaults.every((index) => Number.isInteger(index) && index >= 0) &&
  (values.mutation === undefined || isSimMutation(values.mutation));
if (values.help || !valid) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}

/** The options of one seed, from the command line. */
function optionsFor(seed: number): SimCampaignOptions {
  return {
    seed,
    ioFaults,
    network: { dropProbability },
    ...(clients === undefined ? {} : { clients }),
    ...(operationsPerClient === undefined ? {} : { operationsPerClient }),
    ...(without.length === 0 ? {} : { without: without as FaultKind[] }),
    ...(skipFaults.length === 0 ? {} : { skipFaults }),
    ...(isSimMutation(values.mutation) ? { mutation: values.mutation } : {}),
  };
}

async function shrink(options: SimCampaignOptions): Promise<void> {
  console.error(`  shrinking seed ${options.seed} (at most ${maxRuns} campaigns)...`);
  const result = await shrinkCampaign(options, { maxRuns, onStep: (line) => console.error(line) });
  const before = campaignSize(options);
  const after = campaignSize(result.options);
  console.error(
    `  smallest failing configuration after ${result.runs} campaigns: ${after.operations} operations (was ${before.operations}), ${after.faults} faults (was ${before.faults})`,
  );
  for (const violation of result.report.violations.slice(0, 5)) console.error(`    VIOLATION ${violation}`);
  console.error(`  reproduce with: ${reproduceCommand(result.options)}`);
}

let passed = 0;
let failed = 0;
let virtualMs = 0;
let realMs = 0;
for (let seed = first; seed < first + runs; seed++) {
  const options = optionsFor(seed);
  const report = await runSimCampaign({
    ...options,
    ...(values.trace ? { traceEcho: (line: string) => console.log(line) } : {}),
  });
  console.log(summary(report));
  virtualMs += report.virtualMs;
  realMs += report.realMs;
  if (report.violations.length === 0) {
    passed++;
    continue;
  }
  failed++;
  printViolations(report);
  console.error(`  reproduce with: ${reproduceCommand(options)}`);
  if (values.shrink) await shrink(options);
}
console.log(
  `${passed} passed, ${failed} failed; ${(virtualMs / 1000).toFixed(1)} s virtual in ${(realMs / 1000).toFixed(1)} s wall-clock (${(virtualMs / realMs).toFixed(0)}x real time)`,
);
process.exit(failed === 0 ? 0 : 1);
