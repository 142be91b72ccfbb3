// Proves the metadata map replicated by 3- and 5-node clusters of pure Raft cores is linearizable as its clients see
// it: concurrent clients create, drop and read (writes proposed to the presumed leader with redirects and resends,
// reads through ReadIndex) while the network drops, duplicates, delays, reorders and partitions and nodes crash and
// restart, and the WGL checker accepts every recorded history; and that the same checker catches reads served from
// local state without ReadIndex, by a follower or by a deposed leader. RAFT_SEED reproduces a run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../linearizability.js';
import type { CheckResult, Operation } from '../linearizability.js';
import { describeMetadata, metadataModel } from '../metadata-map-model.js';
import type { MetadataInput, MetadataOutput } from '../metadata-map-model.js';
import type { ClientStats } from './metadata-clients.js';
import { MetadataCluster } from './metadata-cluster.js';
import type { MetadataAction, MetadataClusterOptions } from './metadata-cluster.js';

const node = fc.nat(15);
const pick = fc.nat(1_000);

/**
 * The fault mix of `raft-cluster.property.test.ts` without membership
 * changes, plus quiet spells (`flush`) so that clients get answers between
 * faults, leader isolation so that deposed leaders meet clients, and
 * clients issuing operations.
 */
const action: fc.Arbitrary<MetadataAction> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<MetadataAction>({ kind: 'tick-all' }) },
  { weight: 4, arbitrary: node.map((n): MetadataAction => ({ kind: 'tick', node: n })) },
  { weight: 1, arbitrary: node.map((n): MetadataAction => ({ kind: 'campaign', node: n })) },
  { weight: 12, arbitrary: node.map((n): MetadataAction => ({ kind: 'ready', node: n })) },
  { weight: 10, arbitrary: fc.constant<MetadataAction>({ kind: 'ready-all' }) },
  { weight: 6, arbitrary: fc.constant<MetadataAction>({ kind: 'flush' }) },
  { weight: 50, arbitrary: pick.map((p): MetadataAction => ({ kind: 'deliver', pick: p })) },
  { weight: 3, arbitrary: pick.map((p): MetadataAction => ({ kind: 'duplicate', pick: p })) },
  { weight: 3, arbitrary: pick.map((p): MetadataAction => ({ kind: 'drop', pick: p })) },
  { weight: 1, arbitrary: node.map((n): MetadataAction => ({ kind: 'drop-to', node: n })) },
  { weight: 2, arbitrary: node.map((n): MetadataAction => ({ kind: 'compact', node: n })) },
  { weight: 1, arbitrary: node.map((n): MetadataAction => ({ kind: 'crash', node: n })) },
  { weight: 2, arbitrary: node.map((n): MetadataAction => ({ kind: 'restart', node: n })) },
  { weight: 1, arbitrary: fc.nat(127).map((mask): MetadataAction => ({ kind: 'partition', mask })) },
  { weight: 1, arbitrary: fc.constant<MetadataAction>({ kind: 'isolate-leader' }) },
  { weight: 2, arbitrary: fc.constant<MetadataAction>({ kind: 'heal' }) },
  { weight: 1, arbitrary: fc.tuple(node, node).map(([n, to]): MetadataAction => ({ kind: 'transfer', node: n, to })) },
  {
    weight: 10,
    arbitrary: fc.tuple(fc.nat(7), pick).map(([client, p]): MetadataAction => ({ kind: 'issue', client, pick: p })),
  },
);

const STEPS = 1_200;
const actions = fc.array(action, { minLength: STEPS, maxLength: STEPS });
const SETTLE_ROUNDS_MAX = 400;
const CHECK_STEPS_MAX = 2_000_000;
const SEED = Number(process.env['RAFT_SEED'] ?? 20_240_606);

interface Run {
  readonly size: number;
  readonly seed: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly reads: MetadataClusterOptions['reads'];
  readonly readsAnywhere: boolean;
}

interface Outcome {
  readonly history: Operation<MetadataInput, MetadataOutput>[];
  readonly settled: boolean;
  readonly stats: ClientStats;
  readonly result: CheckResult;
}

function newCluster(run: Run): MetadataCluster {
  return new MetadataCluster({
    size: run.size,
    seed: run.seed,
    preVote: run.preVote,
    checkQuorum: run.checkQuorum,
    electionTicks: 5,
    queueMax: 200,
    reads: run.reads,
    clients: { clients: 4, timeoutTicks: 6, attemptsMax: 8, readsAnywhere: run.readsAnywhere },
  });
}

/** Lets every client finish in a fault-free network, then checks the history. */
function finish(cluster: MetadataCluster): Outcome {
  const settled = cluster.settleClients(SETTLE_ROUNDS_MAX);
  const history = cluster.clients.history();
  const result = checkLinearizable(metadataModel(), history, { maxSteps: CHECK_STEPS_MAX });
  return { history, settled, stats: cluster.clients.stats, result };
}

function runActions(run: Run, script: readonly MetadataAction[]): Outcome {
  const cluster = newCluster(run);
  for (const each of script) cluster.act(each);
  return finish(cluster);
}

function describeHistory(history: readonly Operation<MetadataInput, MetadataOutput>[]): string {
  return history
    .map(
      (operation, index) =>
        `#${index} client ${operation.client} [${operation.call}, ${operation.return}] ${describeMetadata(operation.input, operation.output)}`,
    )
    .join('\n');
}

function emptyStats(): ClientStats {
  return { issued: 0, completed: 0, gaveUp: 0, redirects: 0, resends: 0, readsCompleted: 0, writesCompleted: 0 };
}

function addStats(total: ClientStats, stats: ClientStats): void {
  for (const key of Object.keys(total) as (keyof ClientStats)[]) total[key] += stats[key];
}

/** Checks `numRuns` random runs of a `size`-node cluster and returns what their clients did. */
function checkRandomRuns(size: number, numRuns: number): ClientStats {
  const total = emptyStats();
  fc.assert(
    fc.property(
      fc.nat(1_000_000),
      fc.boolean(),
      fc.boolean(),
      fc.boolean(),
      actions,
      (seed, preVote, checkQuorum, readsAnywhere, script) => {
        const outcome = runActions({ size, seed, preVote, checkQuorum, reads: 'read-index', readsAnywhere }, script);
        expect(outcome.settled).toBe(true);
        if (outcome.result.ok !== true)
          throw new Error(`${outcome.result.explanation}\nhistory:\n${describeHistory(outcome.history)}`);
        addStats(total, outcome.stats);
      },
    ),
    { numRuns, seed: SEED },
  );
  return total;
}

/** The runs must have exercised the interesting paths, not just idled. */
function expectExercised(total: ClientStats, numRuns: number): void {
  expect(total.writesCompleted).toBeGreaterThan(numRuns * 10);
  expect(total.readsCompleted).toBeGreaterThan(numRuns * 5);
  expect(total.redirects).toBeGreaterThan(numRuns * 10);
  expect(total.resends).toBeGreaterThan(numRuns * 5);
  expect(total.gaveUp).toBeGreaterThan(0);
}

/** `issue` picks for client operations on the name `a` (see `MetadataClients.issue`). */
const CREATE_A = 0;
const DROP_A = 2;
const READ_A = 3;

/** Fault-free rounds: every node ticks, then everything in flight is processed and delivered. */
function quietRounds(cluster: MetadataCluster, rounds: number): void {
  for (let round = 0; round < rounds; round += 1) {
    cluster.act({ kind: 'tick-all' });
    cluster.act({ kind: 'flush' });
  }
}

/**
 * A fixed schedule: client 0 creates `a`; client 1 reads it at the leader;
 * the leader is cut off, and with check-quorum off it keeps believing it
 * leads while the majority elects another; client 0 drops `a` through the
 * new leader; then client 1 reads `a` again from the old leader, the node
 * it last talked to.
 */
function deposedLeaderSchedule(reads: MetadataClusterOptions['reads']): Outcome {
  const cluster = newCluster({ size: 3, seed: 1, preVote: true, checkQuorum: false, reads, readsAnywhere: false });
  quietRounds(cluster, 30);
  cluster.act({ kind: 'issue', client: 0, pick: CREATE_A });
  quietRounds(cluster, 5);
  cluster.act({ kind: 'issue', client: 1, pick: READ_A });
  quietRounds(cluster, 5);
  cluster.act({ kind: 'isolate-leader' });
  cluster.act({ kind: 'issue', client: 0, pick: DROP_A });
  for (let round = 0; round < 100 && !cluster.clients.idle(); round += 1) quietRounds(cluster, 1);
  cluster.act({ kind: 'issue', client: 1, pick: READ_A });
  quietRounds(cluster, 1);
  return finish(cluster);
}

describe('raft metadata map under faults', () => {
  it('is linearizable in a 3-node cluster', () => {
    const numRuns = 60;
    expectExercised(checkRandomRuns(3, numRuns), numRuns);
  });

  it('is linearizable in a 5-node cluster', () => {
    const numRuns = 40;
    expectExercised(checkRandomRuns(5, numRuns), numRuns);
  });
});

describe('the checker catches reads served without ReadIndex', () => {
  it('from any node’s local state, for some of ten fixed seeds', () => {
    const violations: number[] = [];
    for (let seed = 1; seed <= 10; seed += 1) {
      const [script] = fc.sample(actions, { numRuns: 1, seed });
      const outcome = runActions(
        { size: 3, seed, preVote: true, checkQuorum: true, reads: 'local', readsAnywhere: true },
        script as MetadataAction[],
      );
      expect(outcome.result.ok).not.toBe('unknown');
      if (outcome.result.ok === false) violations.push(seed);
    }
    expect(violations.length).toBeGreaterThan(0);
  });

  it('from a deposed leader, in a fixed schedule that ReadIndex gets right', () => {
    const broken = deposedLeaderSchedule('leader-local');
    expect(broken.history.map((operation) => describeMetadata(operation.input, operation.output))).toEqual([
      'create a=1 -> ok',
      'read a -> 1',
      'drop a -> ok',
      'read a -> 1',
    ]);
    expect(broken.result.ok).toBe(false);
    if (broken.result.ok === false)
      expect(broken.result.explanation).toContain('read a -> 1: the model refuses this output here');

    const correct = deposedLeaderSchedule('read-index');
    expect(correct.history.map((operation) => describeMetadata(operation.input, operation.output))).toEqual([
      'create a=1 -> ok',
      'read a -> 1',
      'drop a -> ok',
      'read a -> null',
    ]);
    expect(correct.result.ok).toBe(true);
  });
});
