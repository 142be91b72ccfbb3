/**
 * Test helper: the sequential specification of a metadata map (collection
 * name → collection id) for the linearizability checker, and the same
 * semantics as a mutable map for simulated replicas to apply. `create`
 * answers `ok` or `exists` (the map keeps the first id), `drop` answers `ok`
 * or `not-found`, `read` answers the id or null. Operations on different
 * names are independent, so the model partitions by name.
 */
import type { Model } from './linearizability.js';

/** An operation on the map. */
export type MetadataInput =
  | { readonly kind: 'create'; readonly name: string; readonly id: number }
  | { readonly kind: 'drop'; readonly name: string }
  | { readonly kind: 'read'; readonly name: string };

/** An answer: a write's status, or a read's id (null when the name is absent). */
export type MetadataOutput = 'ok' | 'exists' | 'not-found' | number | null;

/** The model state: name → id, never mutated (each step builds a new map). */
export type ClusterState = ReadonlyMap<string, number>;

/** Applies `input` to `map` in place and returns the answer; the replicas' state machine. */
export function applyMetadata(map: Map<string, number>, input: MetadataInput): MetadataOutput {
  const current = map.get(input.name);
  switch (input.kind) {
    case 'create':
      if (current !== undefined) return 'exists';
      map.set(input.name, input.id);
      return 'ok';
    case 'drop':
      if (current === undefined) return 'not-found';
      map.delete(input.name);
      return 'ok';
    case 'read':
      return current ?? null;
  }
}

/** The answer `input` gets in `state` and the state after it, without mutating `state`. */
function stepMetadata(
  state: ClusterState,
  input: MetadataInput,
): { readonly output: MetadataOutput; readonly state: ClusterState } {
  if (input.kind === 'read') return { output: state.get(input.name) ?? null, state };
  const next = new Map(state);
  const output = applyMetadata(next, input);
  return { output, state: output === 'ok' ? next : state };
}

/** `create a=7 -> ok`, `read a -> null`, `drop a -> ?` (unknown outcome). */
export function describeMetadata(input: MetadataInput, output: MetadataOutput | undefined): string {
  const head = input.kind === 'create' ? `create ${input.name}=${input.id}` : `${input.kind} ${input.name}`;
  return `${head} -> ${output === undefined ? '?' : String(output)}`;
}

function keyOf(state: ClusterState): string {
  return [...state]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, id]) => `${name}=${id}`)
    .join(',');
}

/** The metadata map as a checker model; `partitioned` (default true) checks each name on its own. */
export function metadataModel(partitioned = true): Model<ClusterState, MetadataInput, MetadataOutput> {
  const model: Model<ClusterState, MetadataInput, MetadataOutput> = {
    init: () => new Map(),
    step: (state, input, output) => {
      const result = stepMetadata(state, input);
      return { ok: output === undefined || output === result.output, state: result.state };
    },
    key: keyOf,
    describeOperation: describeMetadata,
    describeState: (state) => `{${keyOf(state)}}`,
  };
  return partitioned ? { ...model, partition: (input) => input.name } : model;
}
