// Proves Raft's safety properties (one leader per term, log matching, leader completeness, applied sequences are
// prefixes, linearizable reads) hold, checked after every step, for 3- and 5-node clusters of pure cores under random
// message loss, duplication, delay, reordering, partitions and crash-restarts from persisted state (and, in a third
// run, membership changes), and that the cluster converges once faults stop; RAFT_SEED reproduces a run.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedCluster } from './simulated-cluster.js';
import type { Action } from './simulated-cluster.js';

const node = fc.nat(15);
const pick = fc.nat(1_000);

/** Weighted so that elections happen, messages mostly arrive, and faults are frequent but not constant. */
const faults: fc.WeightedArbitrary<Action>[] = [
  { weight: 12, arbitrary: fc.constant<Action>({ kind: 'tick-all' }) },
  { weight: 4, arbitrary: node.map((n): Action => ({ kind: 'tick', node: n })) },
  { weight: 1, arbitrary: node.map((n): Action => ({ kind: 'campaign', node: n })) },
  { weight: 12, arbitrary: node.map((n): Action => ({ kind: 'ready', node: n })) },
  { weight: 8, arbitrary: fc.constant<Action>({ kind: 'ready-all' }) },
  { weight: 40, arbitrary: pick.map((p): Action => ({ kind: 'deliver', pick: p })) },
  { weight: 3, arbitrary: pick.map((p): Action => ({ kind: 'duplicate', pick: p })) },
  { weight: 3, arbitrary: pick.map((p): Action => ({ kind: 'drop', pick: p })) },
  { weight: 1, arbitrary: node.map((n): Action => ({ kind: 'drop-to', node: n })) },
  { weight: 8, arbitrary: node.map((n): Action => ({ kind: 'propose', node: n })) },
  { weight: 3, arbitrary: node.map((n): Action => ({ kind: 'read', node: n })) },
  { weight: 2, arbitrary: node.map((n): Action => ({ kind: 'compact', node: n })) },
  { weight: 1, arbitrary: node.map((n): Action => ({ kind: 'crash', node: n })) },
  { weight: 2, arbitrary: node.map((n): Action => ({ kind: 'restart', node: n })) },
  { weight: 1, arbitrary: fc.nat(127).map((mask): Action => ({ kind: 'partition', mask })) },
  { weight: 2, arbitrary: fc.constant<Action>({ kind: 'heal' }) },
  { weight: 1, arbitrary: fc.tuple(node, node).map(([n, to]): Action => ({ kind: 'transfer', node: n, to })) },
];

const membership: fc.WeightedArbitrary<Action> = {
  weight: 4,
  arbitrary: fc.tuple(fc.nat(2), node).map(([change, n]): Action => ({ kind: 'conf', change, node: n })),
};

interface Run {
  readonly size: number;
  readonly spares: number;
  readonly numRuns: number;
  readonly steps: number;
}

function runCluster({ size, spares, numRuns, steps }: Run): void {
  const action = fc.oneof(...faults, ...(spares > 0 ? [membership] : []));
  fc.assert(
    fc.property(
      fc.nat(1_000_000),
      fc.boolean(),
      fc.boolean(),
      fc.array(action, { minLength: steps, maxLength: steps }),
      (seed, preVote, checkQuorum, actions) => {
        const cluster = new SimulatedCluster({
          size,
          spares,
          seed,
          preVote,
          checkQuorum,
          electionTicks: 5,
          queueMax: 200,
        });
        for (const each of actions) {
          cluster.act(each);
          cluster.check();
        }
        expect(cluster.converge(300)).toBe(true);
      },
    ),
    { numRuns, seed: Number(process.env['RAFT_SEED'] ?? 20_240_601) },
  );
}

describe('raft cluster under faults', () => {
  it('keeps every safety invariant in a 3-node cluster and converges after healing', () => {
    runCluster({ size: 3, spares: 0, numRuns: 400, steps: 800 });
  });

  it('keeps every safety invariant in a 5-node cluster and converges after healing', () => {
    runCluster({ size: 5, spares: 0, numRuns: 200, steps: 800 });
  });

  it('keeps every safety invariant through membership changes (3 voters, 2 joining nodes)', () => {
    runCluster({ size: 3, spares: 2, numRuns: 300, steps: 800 });
  });
});
