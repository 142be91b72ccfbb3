// Proves durability against kill -9 with real worker threads and files: a child process upserts batches and prints each
// acknowledged one; it is SIGKILLed at random moments (while it only writes; while segment builds and compactions run
// all the time; while its worker threads are being killed too), and after each reopen every acknowledged record is
// there, vector for vector and exactly once, and nothing unacknowledged is corrupted.
import { afterAll, describe, expect, it } from 'vitest';
import { runRealCampaign } from '../chaos/real-campaign.js';
import type { RealCampaignOptions } from '../chaos/real-campaign.js';
import { temporaryDirectory } from '../fixtures/vectors.js';

const SCENARIOS: { name: string; options: RealCampaignOptions }[] = [
  { name: 'while writing', options: { kills: 3, seed: 20261123 } },
  // Builds start about 3 s in (the build thread's first start), so these runs last long enough for segments and
  // compactions to commit.
  {
    name: 'during segment builds and compactions',
    options: { kills: 2, seed: 7, flushRows: 200, killAfterMs: [3_000, 2_000] },
  },
  {
    name: 'while worker threads are being killed',
    options: { kills: 2, seed: 11, killWorkers: true, killAfterMs: [1_500, 1_500] },
  },
];

describe('crash safety (SIGKILL)', () => {
  const directories: { remove: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const directory of directories) await directory.remove();
  });

  for (const { name, options } of SCENARIOS) {
    it(`keeps every acknowledged write across repeated kills ${name}`, async () => {
      const directory = await temporaryDirectory('crash');
      directories.push(directory);
      const reports = await runRealCampaign(directory.path, options, (report) => {
        console.log(
          `[crash ${name}] round ${report.round}: killed ${report.killAfterMs} ms after the first ack; ${report.acknowledgedThisRound} batches acknowledged (${report.failedThisRound} failed) this round, ${report.workerKills} worker threads killed; ${report.recordsAcknowledged} records acknowledged in all, ${report.recordsPresent} present, ${report.segments} segments`,
        );
      });
      expect(reports).toHaveLength(options.kills);
      expect(reports.every((report) => report.recordsPresent >= report.recordsAcknowledged)).toBe(true);
      if (options.killWorkers === true)
        expect(reports.reduce((sum, report) => sum + report.workerKills, 0)).toBeGreaterThan(0);
    }, 240_000);
  }
});
