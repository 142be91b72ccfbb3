/**
 * `npm run chaos -- metadata [--seed 1] [--runs 20] [--ops 16] [--faults 5] [--mutation split-brain|amnesia]`:
 * seeded runs of the metadata campaign (`sim-metadata-campaign.ts`), one line
 * each; exits non-zero on any violation and prints the command that replays it.
 */
import { parseArgs } from 'node:util';
import { runMetadataCampaign } from './sim-metadata-campaign.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
    ops: { type: 'string', default: '16' },
    faults: { type: 'string', default: '5' },
    mutation: { type: 'string' },
  },
});
const [seed, runs, ops, faults] = [values.seed, values.runs, values.ops, values.faults].map(Number) as [
  number,
  number,
  number,
  number,
];
const mutation = values.mutation === undefined ? null : values.mutation;
if (
  ![seed, runs, ops, faults].every((value) => Number.isSafeInteger(value) && value >= 0) ||
  (mutation !== null && mutation !== 'split-brain' && mutation !== 'amnesia')
) {
  console.error(
    'usage: npm run chaos -- metadata [--seed S] [--runs N] [--ops K] [--faults F] [--mutation split-brain|amnesia]',
  );
  process.exit(2);
}
let failed = 0;
let virtualMs = 0;
const started = performance.now();
for (let run = 0; run < runs; run++) {
  const report = await runMetadataCampaign({
    seed: seed + run,
    operationsPerClient: ops,
    faults,
    mutation: mutation as 'split-brain' | 'amnesia' | null,
  });
  virtualMs += report.virtualMs;
  const faultText = Object.entries(report.faults)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  console.log(
    `seed ${String(report.seed).padStart(6)}: ${report.operations} ops (${report.acknowledged} answered, ${report.unknown} unknown), ${faultText || 'no faults'}, ${report.terms} terms seen, ${(report.virtualMs / 1000).toFixed(1)} s virtual in ${(report.realMs / 1000).toFixed(2)} s`,
  );
  if (report.violations.length > 0) {
    failed++;
    for (const violation of report.violations.slice(0, 5)) console.log(`  violation: ${violation}`);
    console.log(
      `  replay: npm run chaos -- metadata --seed ${report.seed} --runs 1 --ops ${ops} --faults ${faults}${mutation === null ? '' : ` --mutation ${mutation}`}`,
    );
  }
}
const wallMs = performance.now() - started;
console.log(
  `${runs - failed} passed, ${failed} failed; ${(virtualMs / 1000).toFixed(1)} s virtual in ${(wallMs / 1000).toFixed(1)} s wall-clock (${Math.round(virtualMs / wallMs)}x real time)`,
);
process.exitCode = failed > 0 ? 1 : 0;
