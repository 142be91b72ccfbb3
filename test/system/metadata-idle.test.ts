// Proves that an idle metadata group wakes only for what Raft needs: the leader's heartbeats (every 5 ticks) and the
// followers' answers, not a timer per tick per replica; that it holds one leader and one term while idle; and that
// followers still notice a dead leader in time (their one timer is their election timeout).
import { describe, expect, it } from 'vitest';
import { metadataReplicaAddress } from '../../actors/addresses.js';
import type { ReplicaStatus } from '../../actors/metadata-replica-actor.js';
import { SimSystem } from '../../runtime/sim/sim-system.js';
import { SimShoal, simSpecTransform } from '../chaos/sim-shoal.js';

const TICK_MS = 20; // the default metadataTickMs
const HEARTBEAT_TICKS = 5;
const IDLE_MS = 2_000;

/** Trace lines added since `from` lines. */
function linesSince(sim: SimSystem, from: number): string[] {
  return sim.trace().split('\n').slice(from);
}

function leaderOf(replicas: readonly object[]): { id: number; term: number } | null {
  const leader = replicas.find(
    (replica): replica is ReplicaStatus => 'role' in replica && (replica as ReplicaStatus).role === 'leader',
  );
  return leader === undefined ? null : { id: leader.id, term: leader.term };
}

describe('an idle metadata group', () => {
  it('wakes for heartbeats only, keeps its leader, and still elects a new one when the leader dies', async () => {
    const sim = new SimSystem({ seed: 5, fs: { directories: ['/data'] }, specTransform: simSpecTransform });
    const shoal = await SimShoal.start(sim, { dataDir: '/data' });
    await shoal.createCollection({ name: 'docs', dimension: 4, metric: 'cosine', shards: 1 });
    await sim.runFor(1_000);
    const before = leaderOf((await shoal.metadataStatus()).replicas);
    expect(before).not.toBeNull();

    const mark = sim.trace().split('\n').length;
    await sim.runFor(IDLE_MS);
    const idle = linesSince(sim, mark);
    const ticks = (id: number): number =>
      idle.filter((line) => line.endsWith(`local ${metadataReplicaAddress(id)} tick`)).length;
    const heartbeatRounds = IDLE_MS / (TICK_MS * HEARTBEAT_TICKS);
    // A timer per tick would be IDLE_MS / TICK_MS = 100 wake-ups per replica.
    expect(ticks(before?.id ?? 0)).toBeGreaterThanOrEqual(heartbeatRounds - 1);
    expect(ticks(before?.id ?? 0)).toBeLessThanOrEqual(heartbeatRounds + 1);
    for (const id of [1, 2, 3].filter((id) => id !== before?.id)) expect(ticks(id)).toBeLessThanOrEqual(1);
    expect(leaderOf((await shoal.metadataStatus()).replicas)).toEqual(before);

    await sim.killActor(metadataReplicaAddress(before?.id ?? 0));
    // Election timeouts are 25 to 50 ticks (0.5 to 1 s); the killed replica restarts as a follower.
    await sim.runFor(3_000);
    const after = leaderOf((await shoal.metadataStatus()).replicas);
    expect(after).not.toBeNull();
    expect(after?.term).toBeGreaterThan(before?.term ?? 0);
    await shoal.createCollection({ name: 'more', dimension: 4, metric: 'cosine', shards: 1 });
    expect((await shoal.listCollections()).map((entry) => entry.name).sort()).toEqual(['docs', 'more']);
  });
});
