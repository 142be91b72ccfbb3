/**
 * The metadata consensus benchmark: a Raft group of metadata replica actors
 * (each in its own worker thread, exactly as Shoal runs them) committing
 * metadata commands, proposed from this thread to the leader. It reports the
 * commit latency (p50/p99) of one proposal at a time, and commits per second
 * with many proposals in flight (group commit), for 1 and 3 replicas, next
 * to the latency of a raw write+fdatasync on the same disk measured in the
 * same run. A commit with 3 replicas needs at least two sequential fsyncs
 * (the leader's and a follower's, in parallel, then the commit is recorded),
 * so about 2 to 3 raw fsync latencies is the floor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActorSystem } from '../runtime/system.js';
import { siblingModuleUrl } from '../runtime/module-url.js';
import { metadataGroupName, metadataReplicaAddress } from '../actors/addresses.js';
import type { MetadataReplicaArgs, ReplicaStatus } from '../actors/metadata-replica-actor.js';
import type { ClusterCommand } from '../cluster/metadata.js';
import { LOCAL_MEMBER } from '../cluster/metadata.js';
import { zeroCounters } from '../storage/placement.js';
import type { BenchOptions, BenchOutcome, Figures } from './harness.js';
import {
  formatNumber,
  formatRatio,
  formatTable,
  heading,
  latencySummary,
  median,
  rawAppends,
  significant,
} from './harness.js';

const MODULE = siblingModuleUrl('../actors/metadata-replica-actor', import.meta.url);
const IN_FLIGHT = 64;

interface Plan {
  readonly sequential: number;
  readonly concurrentMs: number;
  readonly rawMs: number;
}

const PLANS: Record<'full' | 'quick', Plan> = {
  full: { sequential: 400, concurrentMs: 3_000, rawMs: 1_500 },
  quick: { sequential: 40, concurrentMs: 500, rawMs: 250 },
};

interface GroupFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly commitsPerSecond: number;
}

async function leaderOf(system: ActorSystem, ids: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const statuses = await Promise.all(
      ids.map((id) => system.ask<ReplicaStatus>(metadataReplicaAddress(id), { type: 'status' }, { timeoutMs: 5_000 })),
    );
    const leader = statuses.find((status) => status.role === 'leader');
    if (leader !== undefined) return leader.id;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('no metadata leader elected');
}

async function measureGroup(root: string, replicas: number, plan: Plan): Promise<GroupFigures> {
  const system = new ActorSystem();
  const ids = Array.from({ length: replicas }, (_, index) => index + 1);
  try {
    for (const id of ids) {
      const args: MetadataReplicaArgs = {
        id,
        peers: ids,
        dir: join(root, `replicas-${replicas}`, `replica-${id}`),
        tickMs: 20,
        electionTicks: 25,
        heartbeatTicks: 5,
        snapshotEntries: 1_000,
      };
      await system.startGroup({
        name: metadataGroupName(id),
        strategy: 'one_for_one',
        maxRestarts: 0,
        withinMs: 1_000,
        children: [{ address: metadataReplicaAddress(id), module: MODULE, factory: 'createMetadataReplica', args }],
      });
    }
    const leader = metadataReplicaAddress(await leaderOf(system, ids));
    const propose = (command: ClusterCommand): Promise<unknown> =>
      system.ask(leader, { type: 'propose', command }, { timeoutMs: 30_000 });
    await propose({ type: 'bootstrap', members: [LOCAL_MEMBER], collections: [], counters: zeroCounters() });
    let member = 0;
    const next = (): ClusterCommand => ({ type: 'add-member', member: { id: `m${member++}`, address: 'bench' } });
    const samples: number[] = [];
    for (let i = 0; i < plan.sequential; i++) {
      const start = performance.now();
      await propose(next());
      samples.push(performance.now() - start);
    }
    let commits = 0;
    const start = performance.now();
    const loop = async (): Promise<void> => {
      while (performance.now() - start < plan.concurrentMs) {
        await propose(next());
        commits++;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, loop));
    const commitsPerSecond = (commits * 1000) / (performance.now() - start);
    return { ...latencySummary(samples), commitsPerSecond };
  } finally {
    await system.shutdown();
  }
}

/** Runs the Raft benchmark and prints its table. */
export async function runRaftBench(options: BenchOptions): Promise<BenchOutcome> {
  const plan = options.quick ? PLANS.quick : PLANS.full;
  const root = mkdtempSync(join(tmpdir(), 'shoal-bench-raft-'));
  heading(
    `raft: metadata commits through the leader (replica actors in worker threads; ${plan.sequential} sequential, then ${IN_FLIGHT} in flight for ${plan.concurrentMs} ms)`,
  );
  try {
    const record = Buffer.alloc(200, 7);
    const rawSamples = [rawAppends(join(root, 'raw'), record, plan.rawMs)];
    const one = await measureGroup(root, 1, plan);
    rawSamples.push(rawAppends(join(root, 'raw'), record, plan.rawMs));
    const three = await measureGroup(root, 3, plan);
    rawSamples.push(rawAppends(join(root, 'raw'), record, plan.rawMs));
    const rawSyncs = median(rawSamples);
    const rawLatencyMs = 1000 / rawSyncs;
    const row = (name: string, group: GroupFigures): string[] => [
      name,
      group.p50Ms.toFixed(2),
      group.p99Ms.toFixed(2),
      formatRatio(group.p50Ms / rawLatencyMs),
      formatNumber(group.commitsPerSecond),
    ];
    process.stdout.write(
      `${formatTable(
        ['workload', 'p50 ms', 'p99 ms', 'p50 ÷ raw fsync', `commits/s (${IN_FLIGHT} in flight)`],
        [
          [
            `raw write+fdatasync of 200 bytes (median of ${rawSamples.map((sample) => formatNumber(sample)).join(', ')} per s)`,
            rawLatencyMs.toFixed(2),
            '',
            '1.00×',
            formatNumber(rawSyncs),
          ],
          row('1 replica', one),
          row('3 replicas', three),
        ],
      )}\n`,
    );
    const figures = (group: GroupFigures): Figures => ({
      p50Ms: significant(group.p50Ms),
      p99Ms: significant(group.p99Ms),
      commitsPerSecond: significant(group.commitsPerSecond),
      p50OverRawFsync: significant(group.p50Ms / rawLatencyMs),
    });
    return {
      figures: { rawFsyncMs: significant(rawLatencyMs), oneReplica: figures(one), threeReplicas: figures(three) },
      ok: true,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
