// Proves the WGL linearizability checker right: hand-written register and metadata-map histories (linearizable, a stale
// read, overlapping operations that fit in one order only, unknown outcomes that did or did not take effect), agreement
// with a brute-force search over random small histories, and a bounded, fast search on histories of hundreds of
// operations.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './linearizability.js';
import type { CheckResult, Model, Operation } from './linearizability.js';
import { applyMetadata, metadataModel } from './metadata-map-model.js';
import type { MetadataInput, MetadataOutput, ClusterState } from './metadata-map-model.js';

type RegisterInput = { readonly kind: 'write'; readonly value: number } | { readonly kind: 'read' };
type RegisterOutput = 'ok' | number | null;

/** A single register holding a number (null before the first write). */
const register: Model<number | null, RegisterInput, RegisterOutput> = {
  init: () => null,
  step: (state, input, output) =>
    input.kind === 'write'
      ? { ok: output === undefined || output === 'ok', state: input.value }
      : { ok: output === undefined || output === state, state },
  key: (state) => String(state),
};

function write(
  client: number,
  value: number,
  call: number,
  returned: number,
): Operation<RegisterInput, RegisterOutput> {
  return {
    client,
    input: { kind: 'write', value },
    call,
    output: returned === Infinity ? undefined : 'ok',
    return: returned,
  };
}

function read(
  client: number,
  value: number | null,
  call: number,
  returned: number,
): Operation<RegisterInput, RegisterOutput> {
  return { client, input: { kind: 'read' }, call, output: value, return: returned };
}

function op(
  client: number,
  input: MetadataInput,
  output: MetadataOutput | undefined,
  call: number,
  returned: number,
): Operation<MetadataInput, MetadataOutput> {
  return { client, input, call, output, return: returned };
}

function expectOk(result: CheckResult): readonly number[] {
  if (result.ok !== true) throw new Error(result.explanation);
  return result.order;
}

describe('checkLinearizable on a register', () => {
  it('accepts a linearizable history and returns a valid order', () => {
    const history = [
      write(1, 1, 0, 10),
      read(2, 1, 5, 15),
      write(1, 2, 12, 20),
      read(2, 2, 21, 25),
      read(3, null, -5, 1),
    ];
    expect(expectOk(checkLinearizable(register, history))).toEqual([4, 0, 1, 2, 3]);
  });

  it('rejects a stale read after a completed write and explains why', () => {
    const history = [write(1, 1, 0, 1), write(1, 2, 2, 3), read(2, 1, 4, 5)];
    const result = checkLinearizable(register, history);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.longestPrefix).toEqual([0, 1]);
    expect(result.partition).toBeNull();
    expect(result.explanation).toContain('the state is 2');
    expect(result.explanation).toContain('#2 client 2 [4, 5]');
    expect(result.explanation).toContain('the model refuses this output here');
  });

  it('finds the only order of concurrent writes that explains the reads', () => {
    // Both writes overlap; the read after both sees 1, so 2 must have gone first.
    const history = [write(1, 1, 0, 10), write(2, 2, 0, 10), read(3, 1, 11, 12)];
    expect(expectOk(checkLinearizable(register, history))).toEqual([1, 0, 2]);
    // A read concurrent with both that sees 2, then a later read that sees 1: again 2 then 1.
    const flipped = [write(1, 1, 0, 10), write(2, 2, 0, 10), read(3, 2, 1, 9), read(3, 1, 11, 12)];
    expect(expectOk(checkLinearizable(register, flipped))).toEqual([1, 2, 0, 3]);
    // Two reads that disagree about the order after both writes completed cannot both hold.
    const contradictory = [write(1, 1, 0, 10), write(2, 2, 0, 10), read(3, 1, 11, 12), read(3, 2, 13, 14)];
    expect(checkLinearizable(register, contradictory).ok).toBe(false);
  });

  it('treats equal times as concurrent', () => {
    expect(checkLinearizable(register, [read(1, 1, 0, 5), write(2, 1, 5, 6)]).ok).toBe(true);
    expect(checkLinearizable(register, [read(1, 1, 0, 4), write(2, 1, 5, 6)]).ok).toBe(false);
  });

  it('lets an unknown-outcome write take effect after its call', () => {
    const history = [write(1, 1, 0, 1), write(2, 2, 2, Infinity), read(3, 1, 3, 4), read(3, 2, 5, 6), read(3, 2, 7, 8)];
    expect(expectOk(checkLinearizable(register, history))).toEqual([0, 2, 1, 3, 4]);
    // Once seen, its effect stays.
    const flickers = [write(1, 1, 0, 1), write(2, 2, 2, Infinity), read(3, 2, 3, 4), read(3, 1, 5, 6)];
    expect(checkLinearizable(register, flickers).ok).toBe(false);
    // It cannot take effect before it was called.
    const early = [write(1, 1, 0, 1), read(3, 2, 3, 4), write(2, 2, 5, Infinity)];
    expect(checkLinearizable(register, early).ok).toBe(false);
  });

  it('lets an unknown-outcome write never take effect', () => {
    const history = [write(1, 1, 0, 1), write(2, 2, 2, Infinity), read(3, 1, 3, 4), read(3, 1, 100, 101)];
    const order = expectOk(checkLinearizable(register, history));
    expect(order.slice(0, 3)).toEqual([0, 2, 3]);
    // Two unknown writes where only the later-called one is ever observed.
    const two = [write(1, 1, 0, Infinity), write(2, 2, 1, Infinity), read(3, 2, 5, 6), read(3, 2, 7, 8)];
    expect(checkLinearizable(register, two).ok).toBe(true);
  });

  it('rejects malformed histories and budgets', () => {
    expect(() => checkLinearizable(register, [read(1, 1, 5, 4)])).toThrow(/history\[0\]\.return/);
    expect(() => checkLinearizable(register, [{ ...read(1, 1, 0, Infinity), output: 1 }])).toThrow(
      /history\[0\]\.output/,
    );
    expect(() => checkLinearizable(register, [read(1, 1, 0, 1)], { maxSteps: 0 })).toThrow(/maxSteps/);
  });

  it('answers unknown instead of searching past its budget', () => {
    // Many concurrent writes and a read that no order satisfies: the search must try every subset.
    const history = [...Array.from({ length: 10 }, (_, value) => write(value, value, 0, 100)), read(99, 1_000, 0, 100)];
    const result = checkLinearizable(register, history, { maxSteps: 500 });
    expect(result.ok).toBe('unknown');
    expect(checkLinearizable(register, history).ok).toBe(false);
  });
});

describe('checkLinearizable on the metadata map', () => {
  const model = metadataModel();

  it('accepts creates, drops and reads that fit one order, checking each name on its own', () => {
    const history = [
      op(1, { kind: 'create', name: 'a', id: 1 }, 'ok', 0, 10),
      op(2, { kind: 'create', name: 'a', id: 2 }, 'exists', 2, 8),
      op(3, { kind: 'read', name: 'a' }, 1, 9, 12),
      op(1, { kind: 'create', name: 'b', id: 3 }, 'ok', 11, 13),
      op(2, { kind: 'drop', name: 'a' }, 'ok', 13, 15),
      op(3, { kind: 'read', name: 'a' }, null, 16, 17),
      op(3, { kind: 'drop', name: 'a' }, 'not-found', 18, 19),
      op(2, { kind: 'read', name: 'b' }, 3, 16, 20),
    ];
    expect(expectOk(checkLinearizable(model, history))).toEqual([0, 1, 2, 3, 4, 5, 7, 6]);
    expect(checkLinearizable(metadataModel(false), history).ok).toBe(true);
  });

  it('rejects two successful creates of one name with no drop between, naming the partition', () => {
    const history = [
      op(1, { kind: 'create', name: 'b', id: 9 }, 'ok', 0, 1),
      op(1, { kind: 'create', name: 'a', id: 1 }, 'ok', 0, 10),
      op(2, { kind: 'create', name: 'a', id: 2 }, 'ok', 2, 8),
    ];
    const result = checkLinearizable(model, history);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe('a');
    expect(result.longestPrefix).toHaveLength(1);
    expect(result.explanation).toContain('not linearizable in partition "a"');
    expect(result.explanation).toContain('create a=2 -> ok');
  });

  it('handles unknown-outcome creates and drops that did or did not take effect', () => {
    const tookEffect = [
      op(1, { kind: 'create', name: 'a', id: 1 }, undefined, 0, Infinity),
      op(2, { kind: 'read', name: 'a' }, 1, 5, 6),
      op(2, { kind: 'drop', name: 'a' }, undefined, 7, Infinity),
      op(3, { kind: 'create', name: 'a', id: 3 }, 'ok', 8, 9),
    ];
    expect(checkLinearizable(model, tookEffect).ok).toBe(true);
    const neverTookEffect = [
      op(1, { kind: 'create', name: 'a', id: 1 }, undefined, 0, Infinity),
      op(2, { kind: 'read', name: 'a' }, null, 5, 6),
      op(3, { kind: 'create', name: 'a', id: 3 }, 'ok', 7, 8),
      op(2, { kind: 'read', name: 'a' }, 3, 9, 10),
    ];
    expect(checkLinearizable(model, neverTookEffect).ok).toBe(true);
    // Whether or not the drop took effect, nothing ever stored id 2 (that create answered exists).
    const impossible = [
      op(1, { kind: 'create', name: 'a', id: 1 }, 'ok', 0, 1),
      op(2, { kind: 'drop', name: 'a' }, undefined, 2, Infinity),
      op(3, { kind: 'create', name: 'a', id: 2 }, 'exists', 3, 4),
      op(3, { kind: 'read', name: 'a' }, 2, 5, 6),
    ];
    expect(checkLinearizable(model, impossible).ok).toBe(false);
  });

  it('checks a few hundred concurrent operations quickly', () => {
    const history = concurrentHistory(600, 6, 1);
    const started = performance.now();
    expect(checkLinearizable(model, history).ok).toBe(true);
    expect(checkLinearizable(metadataModel(false), history).ok).toBe(true);
    const broken = [...history];
    broken[400] = {
      ...(history[400] as Operation<MetadataInput, MetadataOutput>),
      input: { kind: 'read', name: 'a' },
      output: -1,
    };
    expect(checkLinearizable(model, broken).ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('checkLinearizable agrees with a brute-force search', () => {
  it('on random small metadata histories, partitioned and not', () => {
    fc.assert(
      fc.property(fc.array(plannedOperation, { minLength: 1, maxLength: 7 }), fc.nat(20), (plans, corrupt) => {
        const history = realize(plans, corrupt);
        const expected = bruteForce(history);
        for (const model of [metadataModel(true), metadataModel(false)]) {
          const result = checkLinearizable(model, history);
          expect(result.ok).toBe(expected);
          if (result.ok === true) expectValidOrder(history, result.order);
          if (result.ok === false) expectValidOrder(history, result.longestPrefix, false);
        }
      }),
      { numRuns: 400, seed: 6_2024 },
    );
  });
});

// ---------------------------------------------------------------- helpers

interface Plan {
  readonly client: number;
  readonly input: MetadataInput;
  readonly call: number;
  readonly duration: number;
  /** Where in [call, return] it takes effect, as a fraction. */
  readonly point: number;
  /** Unknown outcome: it takes effect `late` after its call, or never when `late` is null. */
  readonly unknown: boolean;
  readonly late: number | null;
}

const plannedOperation: fc.Arbitrary<Plan> = fc.record({
  client: fc.nat(3),
  input: fc.oneof(
    fc.record({ kind: fc.constant('create' as const), name: fc.constantFrom('a', 'b'), id: fc.nat(3) }),
    fc.record({ kind: fc.constant('drop' as const), name: fc.constantFrom('a', 'b') }),
    fc.record({ kind: fc.constant('read' as const), name: fc.constantFrom('a', 'b') }),
  ),
  call: fc.nat(12),
  duration: fc.nat(6),
  point: fc.double({ min: 0, max: 1, noNaN: true }),
  unknown: fc.nat(3).map((draw) => draw === 0),
  late: fc.option(fc.nat(20)),
});

/**
 * Runs the plans in order of their effect points to get true outputs; corrupts output number `corrupt` when it exists.
 */
function realize(plans: readonly Plan[], corrupt: number): Operation<MetadataInput, MetadataOutput>[] {
  const effects = plans
    .map((plan, index) => ({
      index,
      at: plan.unknown ? (plan.late === null ? null : plan.call + plan.late) : plan.call + plan.point * plan.duration,
    }))
    .filter((effect): effect is { index: number; at: number } => effect.at !== null)
    .sort((a, b) => a.at - b.at);
  const map = new Map<string, number>();
  const outputs = new Map<number, MetadataOutput>();
  for (const effect of effects) outputs.set(effect.index, applyMetadata(map, (plans[effect.index] as Plan).input));
  return plans.map((plan, index) => {
    if (plan.unknown) return op(plan.client, plan.input, undefined, plan.call, Infinity);
    const output = outputs.get(index) as MetadataOutput;
    const wrong = index === corrupt ? alternative(plan.input, output) : output;
    return op(plan.client, plan.input, wrong, plan.call, plan.call + plan.duration);
  });
}

function alternative(input: MetadataInput, output: MetadataOutput): MetadataOutput {
  if (input.kind === 'create') return output === 'ok' ? 'exists' : 'ok';
  if (input.kind === 'drop') return output === 'ok' ? 'not-found' : 'ok';
  return output === null ? 0 : null;
}

/** Tries every order of every subset that keeps all known operations; exponential, for tiny histories only. */
function bruteForce(history: readonly Operation<MetadataInput, MetadataOutput>[]): boolean {
  const model = metadataModel(false);
  const search = (remaining: readonly number[], state: ClusterState): boolean => {
    if (remaining.every((index) => (history[index] as Operation<MetadataInput, MetadataOutput>).return === Infinity))
      return true;
    return remaining.some((index) => {
      const candidate = history[index] as Operation<MetadataInput, MetadataOutput>;
      const blocked = remaining.some(
        (other) => (history[other] as Operation<MetadataInput, MetadataOutput>).return < candidate.call,
      );
      if (blocked) return false;
      const result = model.step(state, candidate.input, candidate.output);
      return (
        result.ok &&
        search(
          remaining.filter((other) => other !== index),
          result.state,
        )
      );
    });
  };
  return search(
    history.map((_, index) => index),
    model.init(),
  );
}

/** `order` replays through the model, respects real time and (when `complete`) holds every known operation. */
function expectValidOrder(
  history: readonly Operation<MetadataInput, MetadataOutput>[],
  order: readonly number[],
  complete = true,
): void {
  const model = metadataModel(false);
  let state = model.init();
  const byName = new Map<string, ClusterState>();
  for (const index of order) {
    const operation = history[index] as Operation<MetadataInput, MetadataOutput>;
    // A violation's prefix covers one partition only, so replay it against that name's own state.
    const own = complete ? state : (byName.get(operation.input.name) ?? model.init());
    const result = model.step(own, operation.input, operation.output);
    expect(result.ok).toBe(true);
    if (complete) state = result.state;
    else byName.set(operation.input.name, result.state);
  }
  order.forEach((later, position) => {
    for (const earlier of order.slice(0, position)) {
      expect((history[later] as Operation<MetadataInput, MetadataOutput>).return).toBeGreaterThanOrEqual(
        (history[earlier] as Operation<MetadataInput, MetadataOutput>).call,
      );
    }
  });
  if (!complete) return;
  history.forEach((operation, index) => {
    if (operation.return !== Infinity) expect(order).toContain(index);
  });
}

/**
 * `count` operations from `clients` clients over three names, each client
 * calling its next operation right after its last returned, with overlapping
 * intervals around sequential effect points (a small deterministic LCG picks
 * the operations and durations).
 */
function concurrentHistory(count: number, clients: number, seed: number): Operation<MetadataInput, MetadataOutput>[] {
  let random = seed;
  const next = (bound: number): number => {
    random = (random * 1_103_515_245 + 12_345) % 2_147_483_648;
    return random % bound;
  };
  const map = new Map<string, number>();
  const free = Array.from({ length: clients }, () => 0);
  const history: Operation<MetadataInput, MetadataOutput>[] = [];
  for (let time = 0; history.length < count; time += 1) {
    const client = next(clients);
    if ((free[client] as number) > time) continue;
    const name = ['a', 'b', 'c'][next(3)] as string;
    const kind = next(3);
    const input: MetadataInput =
      kind === 0
        ? { kind: 'create', name, id: history.length }
        : kind === 1
          ? { kind: 'drop', name }
          : { kind: 'read', name };
    const call = time - next(4);
    const returned = time + next(4);
    history.push(op(client, input, applyMetadata(map, input), Math.max(call, free[client] as number), returned));
    free[client] = returned + 1;
  }
  return history;
}
