// Proves WAL durability against kill -9 in a real process: a child appends with group commit and reports each
// acknowledged LSN; it is SIGKILLed at random moments 20 times over the same folder, and after every restart each
// acknowledged LSN is present, LSNs are contiguous from 1, and every record is intact.
import { describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../fixtures/vectors.js';
import { runWalCrashCampaign } from './wal-campaign.js';

describe('WAL crash campaign', () => {
  it('keeps every acknowledged LSN across 20 SIGKILLs', async () => {
    const directory = await temporaryDirectory('wal-crash');
    try {
      const reports = await runWalCrashCampaign(directory.path, 20, 1123);
      const last = reports[reports.length - 1];
      expect(reports).toHaveLength(20);
      expect(last?.highestAcknowledged).toBeGreaterThan(0);
      expect(last?.recoveredLastLsn).toBeGreaterThanOrEqual(last?.highestAcknowledged ?? Infinity);
      const acknowledged = reports.reduce((sum, report) => sum + report.acknowledgedThisRound, 0);
      const torn = reports.filter((report) => report.truncatedBytes > 0).length;
      console.log(
        `[wal-crash] 20 kills: ${acknowledged} acknowledged appends, highest LSN ${last?.highestAcknowledged}, recovered ${last?.recoveredLastLsn}; ${torn} recoveries cut a torn tail`,
      );
    } finally {
      await directory.remove();
    }
  }, 180_000);
});
