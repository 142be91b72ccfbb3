// The metadata chaos campaign under the simulator: seeded runs with replica kills, crashes, partitions (often of the
// leader) and power losses keep creates, drops and lists linearizable, one leader per term and the durable Raft logs in
// agreement; the same seed replays the same run; and a split-brain cluster or replicas that forget their vote on
// restart are caught.
import { describe, expect, it } from 'vitest';
import { runMetadataCampaign } from '../chaos/sim-metadata-campaign.js';

const SEEDS = Array.from({ length: 12 }, (_, index) => index + 1);

describe('metadata chaos campaign (simulated)', () => {
  it('finds no violation over seeded runs, with faults injected and some outcomes unknown', async () => {
    let unknown = 0;
    let faults = 0;
    let elections = 0;
    for (const seed of SEEDS) {
      const report = await runMetadataCampaign({ seed });
      expect(report.violations, `seed ${seed}`).toEqual([]);
      expect(report.acknowledged).toBeGreaterThan(20);
      unknown += report.unknown;
      faults += Object.values(report.faults).reduce((total, count) => total + count, 0);
      elections += report.terms;
    }
    // The runs did meet trouble: failovers happened and some answers never came.
    expect(faults).toBeGreaterThanOrEqual(SEEDS.length * 2);
    expect(elections).toBeGreaterThan(SEEDS.length);
    expect(unknown).toBeGreaterThan(0);
  });

  it('replays a seed exactly', async () => {
    const first = await runMetadataCampaign({ seed: 7 });
    const second = await runMetadataCampaign({ seed: 7 });
    expect(second.traceDigest).toBe(first.traceDigest);
    expect(second.operations).toBe(first.operations);
  });

  it('catches a split brain (a replica that thinks it is alone)', async () => {
    const caught: number[] = [];
    for (const seed of [1, 2, 3]) {
      const report = await runMetadataCampaign({ seed, mutation: 'split-brain', operationsPerClient: 6, faults: 1 });
      if (report.violations.length > 0) caught.push(seed);
    }
    expect(caught.length).toBeGreaterThanOrEqual(2);
  });

  it('catches replicas that forget their term, vote and log on restart', async () => {
    const caught: number[] = [];
    for (const seed of [2, 5, 6]) {
      const report = await runMetadataCampaign({ seed, mutation: 'amnesia', operationsPerClient: 8, faults: 3 });
      if (report.violations.length > 0) caught.push(seed);
    }
    expect(caught.length).toBeGreaterThanOrEqual(2);
  });
});
