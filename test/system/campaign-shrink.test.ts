// Proves shrinking: a campaign that fails because of a deliberately broken WAL (acknowledging before fdatasync) is
// re-run with fault kinds, single faults, operations and clients removed while it still fails, and ends at a strictly
// smaller configuration that still fails, replays bit for bit, and is printed as a trace command.
import { expect, it } from 'vitest';
import { runSimCampaign } from '../chaos/sim-campaign.js';
import { campaignSize, reproduceCommand, shrinkCampaign } from '../chaos/sim-shrink.js';

it('shrinks a failing mutated campaign to a smaller configuration that still fails', async () => {
  const original = { seed: 1, mutation: 'wal-ack-before-fsync' as const };
  const result = await shrinkCampaign(original, { maxRuns: 14 });
  expect(result.failing).toBe(true);
  expect(result.original.violations.length).toBeGreaterThan(0);
  const before = campaignSize(original);
  const after = campaignSize(result.options);
  expect(after.operations).toBeLessThan(before.operations);
  expect(after.faults).toBeLessThanOrEqual(before.faults);
  expect(result.report.violations.length).toBeGreaterThan(0);
  // The shrunk configuration is a plain campaign: it replays exactly.
  const again = await runSimCampaign(result.options);
  expect(again.traceDigest).toBe(result.report.traceDigest);
  expect(reproduceCommand(result.options)).toMatch(
    /^npm run chaos -- sim --seed 1 --runs 1 .*--mutation wal-ack-before-fsync --trace$/,
  );
  console.log(
    `[sim] shrunk ${before.operations} ops / ${before.faults} faults to ${after.operations} ops / ${after.faults} faults in ${result.runs} runs: ${reproduceCommand(result.options)}`,
  );
});
