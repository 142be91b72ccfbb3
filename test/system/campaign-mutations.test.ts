// Proves the campaign's checkers catch deliberately broken durability (mutations applied by the simulator's spec
// rewrite, production code unchanged): a WAL whose frame checksums are never checked on recovery and replay, under
// power losses that garble WAL tails, and periodic WALs that never fdatasync; each caught within ten seeds, on a seed
// whose unmutated run passes, so the catch is due to the mutation.
import { describe, expect, it } from 'vitest';
import { runSimCampaign } from '../chaos/sim-campaign.js';
import type { SimCampaignOptions } from '../chaos/sim-campaign.js';
import { acceptEveryChecksum } from '../chaos/sim-mutations.js';
import { encodeFrame, scanFrames } from '../../storage/wal/frame.js';

/**
 * The violations of the first seed from 1 to 10 on which `mutation` breaks a
 * campaign of `options`, after checking that the same seed passes without
 * it (so the catch is due to the mutation).
 */
async function caught(
  options: Omit<SimCampaignOptions, 'seed'>,
  mutation: NonNullable<SimCampaignOptions['mutation']>,
): Promise<string[]> {
  for (let seed = 1; seed <= 10; seed++) {
    const violations = (await runSimCampaign({ seed, ...options, mutation })).violations;
    if (violations.length === 0) continue;
    expect((await runSimCampaign({ seed, ...options })).violations, `seed ${seed} without ${mutation}`).toEqual([]);
    return violations;
  }
  return [];
}

describe('campaign mutations', () => {
  it('the CRC-blind filesystem makes a damaged frame verify, but keeps magic and length checks', () => {
    const frames = new Uint8Array([...encodeFrame(Uint8Array.of(1, 2, 3)), ...encodeFrame(Uint8Array.of(4, 5, 6, 7))]);
    frames[frames.length - 1] = (frames[frames.length - 1] as number) ^ 0xff;
    expect(scanFrames(frames).damage?.kind).toBe('torn');
    const blind = acceptEveryChecksum(frames);
    expect(scanFrames(blind)).toMatchObject({ damage: null, validBytes: frames.byteLength });
    expect(scanFrames(acceptEveryChecksum(frames.subarray(0, frames.byteLength - 1))).damage?.kind).toBe('torn');
  });

  it('catches a WAL that skips CRC verification, with power losses that garble WAL tails', async () => {
    const violations = await caught({ garbleProbability: 1 }, 'wal-skip-crc');
    expect(violations.length).toBeGreaterThan(0);
    // The garbled frame decodes as data: the collection fails to open (bad Avro or JSON) or holds records never
    // written.
    expect(violations.join('\n')).toMatch(/after a power loss: .*(CORRUPTION|INTERNAL|never written)/);
  });

  it('catches periodic WALs that never fdatasync (acknowledged writes older than syncIntervalMs lost)', async () => {
    const violations = await caught({}, 'periodic-never-syncs');
    expect(violations.join('\n')).toMatch(
      /after a power loss: periodic \(periodic\): id-\d+ lost an acknowledged write/,
    );
  });
});
