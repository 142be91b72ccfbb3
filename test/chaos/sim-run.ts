/**
 * `npx tsx test/chaos/sim-run.ts [--seed 1] [--runs 20] [--io-faults 0] [--drops 0] [--trace]`:
 * simulated chaos campaigns (`sim-campaign.ts`), one seed after another.
 * Prints one line per run and a closing `N passed, M failed` line; exits
 * non-zero on any violation and prints the command that reproduces it.
 */
import { parseArgs } from 'node:util';
import { runSimCampaign } from './sim-campaign.js';
import type { SimCampaignReport } from './sim-campaign.js';

const USAGE = 'usage: npx tsx test/chaos/sim-run.ts [--seed S] [--runs N] [--io-faults F] [--drops P] [--trace]';

function summary(report: SimCampaignReport): string {
  const faults = Object.entries(report.faults).map(([kind, count]) => `${count} ${kind}`).join(', ') || 'no faults';
  const failures = Object.entries(report.failures).map(([code, count]) => `${count} ${code}`).join(', ') || 'none';
  const ratio = report.virtualMs / report.realMs;
  return `seed ${String(report.seed).padStart(6)}: ${report.operations} ops (${report.acknowledged} ok, failed: ${failures}), ${faults}, ${report.checks} checkpoints, ${(report.virtualMs / 1000).toFixed(1)} s virtual in ${(report.realMs / 1000).toFixed(2)} s (${ratio.toFixed(0)}x), trace ${report.traceDigest.slice(0, 12)}`;
}

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
    'io-faults': { type: 'string', default: '0' },
    drops: { type: 'string', default: '0' },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const first = Number(values.seed);
const runs = Number(values.runs);
const ioFaults = Number(values['io-faults']);
const dropProbability = Number(values.drops);
if (values.help || !Number.isInteger(first) || !Number.isInteger(runs) || runs < 1 || !Number.isInteger(ioFaults) || !(dropProbability >= 0 && dropProbability < 1)) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
let passed = 0;
let failed = 0;
for (let seed = first; seed < first + runs; seed++) {
  const report = await runSimCampaign({ seed, ioFaults, network: { dropProbability }, ...(values.trace ? { traceEcho: (line: string) => console.log(line) } : {}) });
  console.log(summary(report));
  if (report.violations.length === 0) {
    passed++;
    continue;
  }
  failed++;
  for (const violation of report.violations.slice(0, 10)) console.error(`  VIOLATION ${violation}`);
  console.error(`  last trace lines:\n${report.traceTail.map((line) => `    ${line}`).join('\n')}`);
  console.error(`  reproduce with: npx tsx test/chaos/sim-run.ts --seed ${seed} --runs 1 --io-faults ${ioFaults} --drops ${dropProbability} --trace`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
