/**
 * A linearizability checker in the style of Porcupine (Athalye): the
 * Wing & Gong search as improved by Lowe ("Testing for linearizability",
 * 2017), known as WGL. Pure code: a history and a sequential model go in, a
 * verdict comes out; no clock, randomness or I/O.
 *
 * The history is turned into a time-ordered, doubly linked list of call and
 * return events. The search walks the list from the front: a call may be
 * linearized next when the model accepts its (input, output) in the current
 * state; it is then lifted out of the list (with its return) and the search
 * restarts from the front. Reaching a return whose call is still in the list
 * means that operation had to take effect already, so the search backtracks
 * to the most recent choice. Lowe's memoization makes this fast: a pair
 * (set of linearized operations, model state) seen once is never explored
 * again, because what can follow depends on nothing else. The set is a
 * bitset and the state is compared through the model's canonical `key`.
 *
 * An operation whose answer never arrived (a timeout, a crashed server) has
 * `return = Infinity` and no output. As in Porcupine and Knossos it may take
 * effect at any point after its call, or never: it has no return event, so
 * nothing forces it in, and the search succeeds once every operation with a
 * known outcome is linearized. When it is linearized the model is stepped
 * with `undefined` as the output, meaning "any answer".
 *
 * When the model names a partition for each input (for a map, the key),
 * each partition is checked on its own. That is sound and complete because
 * linearizability is local (Herlihy & Wing 1990, Theorem 1): a history is
 * linearizable iff its restriction to each object is. The per-partition
 * orders are then merged into one linearization of the whole history.
 *
 * Every search is bounded by `maxSteps`; past it the answer is `unknown`
 * instead of a hang (the problem is NP-complete in general).
 */
import { invalidArgument } from '../../runtime/errors.js';

/** The outcome of applying one operation to a model state. */
export interface StepResult<State> {
  /** False when the output is impossible for this input in this state. */
  readonly ok: boolean;
  /** The state after the operation (ignored when `ok` is false). */
  readonly state: State;
}

/**
 * A sequential specification. `step` must be pure and must not mutate
 * `state`; states are compared only through `key`.
 */
export interface Model<State, Input, Output> {
  /** The state before any operation. */
  init(): State;
  /**
   * Applies `input` to `state` and says whether `output` is a legal answer.
   * `output` is `undefined` when the outcome is unknown: any answer is legal
   * and the result is the state after the operation takes effect. (So
   * outputs themselves must not be `undefined`; use `null`.)
   */
  step(state: State, input: Input, output: Output | undefined): StepResult<State>;
  /** A canonical string for `state`: two states are equal iff their keys are. */
  key(state: State): string;
  /** Optional: the partition an input belongs to; partitions are checked independently. */
  partition?(input: Input): string;
  /** Optional: text for an operation in explanations (default: JSON). */
  describeOperation?(input: Input, output: Output | undefined): string;
  /** Optional: text for a state in explanations (default: its key). */
  describeState?(state: State): string;
}

/**
 * One completed or abandoned operation. `call` and `return` are logical
 * times (any numbers, compared only with each other); an operation returns
 * after it is called. Equal times count as concurrent. An operation whose
 * outcome is unknown has `return = Infinity` and `output = undefined`.
 */
export interface Operation<Input, Output> {
  /** The client (process) that issued it; used only in explanations. */
  readonly client: number;
  readonly input: Input;
  readonly call: number;
  readonly output: Output | undefined;
  readonly return: number;
}

/** Search limits. */
export interface CheckOptions {
  /** Search steps (events visited, over all partitions) before giving up with `unknown`; default 1,000,000. */
  readonly maxSteps?: number;
}

/**
 * The history is linearizable; `order` lists operation indexes in one valid linearization (unknown-outcome operations
 * that need not take effect are left out).
 */
export interface Linearizable {
  readonly ok: true;
  readonly order: readonly number[];
}

/** The history is not linearizable. */
export interface NotLinearizable {
  readonly ok: false;
  /** The partition that failed, or null when the model does not partition. */
  readonly partition: string | null;
  /** The longest sequence of operations (history indexes) of that partition the search could linearize. */
  readonly longestPrefix: readonly number[];
  /** What went wrong, in words: the prefix, the state it leaves, and why no pending operation fits next. */
  readonly explanation: string;
}

/** The step budget ran out before a verdict. */
export interface Undecided {
  readonly ok: 'unknown';
  readonly steps: number;
  readonly explanation: string;
}

/** The checker's verdict. */
export type CheckResult = Linearizable | NotLinearizable | Undecided;

const DEFAULT_MAX_STEPS = 1_000_000;

/**
 * Decides whether `history` is linearizable with respect to `model`.
 * Throws `INVALID_ARGUMENT` for a malformed history (a non-finite call, a
 * return before its call, an unknown return with an output or vice versa).
 */
export function checkLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult {
  validateHistory(history);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isSafeInteger(maxSteps) || maxSteps <= 0) throw invalidArgument('maxSteps', 'must be a positive integer');
  const budget = { left: maxSteps };
  const orders: number[][] = [];
  for (const [partition, indexes] of partitionHistory(model, history)) {
    const outcome = searchPartition(model, history, indexes, budget);
    if (outcome.kind === 'exhausted') {
      return {
        ok: 'unknown',
        steps: maxSteps,
        explanation: `search budget of ${maxSteps} steps exhausted${partitionLabel(partition)}`,
      };
    }
    if (outcome.kind === 'violation') {
      const longestPrefix = outcome.prefix;
      const explanation = explainViolation(model, history, indexes, longestPrefix, partition);
      return { ok: false, partition, longestPrefix, explanation };
    }
    orders.push(outcome.order);
  }
  return { ok: true, order: mergeOrders(history, orders) };
}

function validateHistory<Input, Output>(history: readonly Operation<Input, Output>[]): void {
  history.forEach((operation, index) => {
    if (!Number.isFinite(operation.call)) throw invalidArgument(`history[${index}].call`, 'must be a finite number');
    if (Number.isNaN(operation.return) || operation.return < operation.call) {
      throw invalidArgument(
        `history[${index}].return`,
        'must be at or after call (Infinity when the outcome is unknown)',
      );
    }
    const unknown = operation.return === Infinity;
    if (unknown !== (operation.output === undefined)) {
      throw invalidArgument(`history[${index}].output`, 'must be undefined exactly when return is Infinity');
    }
  });
}

/** Operation indexes grouped by partition, in first-seen order; one group keyed null without `model.partition`. */
function partitionHistory<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
): Map<string | null, number[]> {
  const groups = new Map<string | null, number[]>();
  history.forEach((operation, index) => {
    const key = model.partition === undefined ? null : model.partition(operation.input);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [index]);
    else group.push(index);
  });
  return groups;
}

function partitionLabel(partition: string | null): string {
  return partition === null ? '' : ` in partition ${JSON.stringify(partition)}`;
}

// ---------------------------------------------------------------- the search

/** A call or return event in the linked list; `operation` is the position within the partition. */
interface Event {
  readonly operation: number;
  readonly kind: 'call' | 'return';
  readonly time: number;
  /** For a call: its return event, or null when the outcome is unknown. */
  match: Event | null;
  previous: Event | null;
  next: Event | null;
}

type SearchOutcome =
  | { readonly kind: 'linearizable'; readonly order: number[] }
  | { readonly kind: 'violation'; readonly prefix: number[] }
  | { readonly kind: 'exhausted' };

/** Builds the event list: calls and known returns sorted by time, a call before a return at the same time. */
function buildEvents<Input, Output>(history: readonly Operation<Input, Output>[], indexes: readonly number[]): Event {
  const events: Event[] = [];
  indexes.forEach((historyIndex, operation) => {
    const { call, return: returned } = history[historyIndex] as Operation<Input, Output>;
    const callEvent: Event = { operation, kind: 'call', time: call, match: null, previous: null, next: null };
    events.push(callEvent);
    if (returned !== Infinity) {
      const returnEvent: Event = { operation, kind: 'return', time: returned, match: null, previous: null, next: null };
      callEvent.match = returnEvent;
      events.push(returnEvent);
    }
  });
  events.sort(
    (a, b) => a.time - b.time || (a.kind === b.kind ? a.operation - b.operation : a.kind === 'call' ? -1 : 1),
  );
  const head: Event = { operation: -1, kind: 'call', time: -Infinity, match: null, previous: null, next: null };
  let last = head;
  for (const event of events) {
    last.next = event;
    event.previous = last;
    last = event;
  }
  return head;
}

/** Unlinks a call and its return: the operation is linearized. */
function lift(event: Event): void {
  unlink(event);
  if (event.match !== null) unlink(event.match);
}

/** Relinks what `lift` removed, in reverse order (each removed event remembers its neighbours). */
function unlift(event: Event): void {
  if (event.match !== null) relink(event.match);
  relink(event);
}

function unlink(event: Event): void {
  (event.previous as Event).next = event.next;
  if (event.next !== null) event.next.previous = event.previous;
}

function relink(event: Event): void {
  (event.previous as Event).next = event;
  if (event.next !== null) event.next.previous = event;
}

/** A fixed-size bitset of linearized operations; `key` is a compact string for the memo. */
class Bitset {
  private readonly words: Uint16Array;

  constructor(size: number) {
    this.words = new Uint16Array(Math.ceil(size / 16));
  }

  set(bit: number): void {
    this.words[bit >> 4] = (this.words[bit >> 4] as number) | (1 << (bit & 15));
  }

  clear(bit: number): void {
    this.words[bit >> 4] = (this.words[bit >> 4] as number) & ~(1 << (bit & 15));
  }

  key(): string {
    let text = '';
    for (const word of this.words) text += String.fromCharCode(word);
    return text;
  }
}

interface Choice<State> {
  readonly event: Event;
  readonly state: State;
}

/**
 * WGL over one partition (`indexes` into `history`). Returns a linearization
 * (history indexes), or the longest linearizable prefix found when there is
 * none, or `exhausted` when `budget` ran out.
 */
function searchPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  indexes: readonly number[],
  budget: { left: number },
): SearchOutcome {
  const operationOf = (event: Event): Operation<Input, Output> =>
    history[indexes[event.operation] as number] as Operation<Input, Output>;
  const head = buildEvents(history, indexes);
  const known = indexes.filter((index) => (history[index] as Operation<Input, Output>).return !== Infinity).length;
  const linearized = new Bitset(indexes.length);
  const seen = new Set<string>();
  const stack: Choice<State>[] = [];
  let longest: number[] = [];
  let knownLinearized = 0;
  let state = model.init();
  let event = head.next;
  while (knownLinearized < known) {
    if (budget.left <= 0) return { kind: 'exhausted' };
    budget.left -= 1;
    if (event !== null && event.kind === 'call') {
      const operation = operationOf(event);
      const result = model.step(state, operation.input, operation.output);
      if (result.ok) {
        linearized.set(event.operation);
        const memo = `${linearized.key()}\u0000${model.key(result.state)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ event, state });
          state = result.state;
          if (event.match !== null) knownLinearized += 1;
          lift(event);
          if (stack.length > longest.length) longest = stack.map((choice) => indexes[choice.event.operation] as number);
          event = head.next;
          continue;
        }
        linearized.clear(event.operation);
      }
      event = event.next;
      continue;
    }
    // A return whose call is still pending (or the end of the list): undo the latest choice and try its successor.
    const choice = stack.pop();
    if (choice === undefined) return { kind: 'violation', prefix: longest };
    state = choice.state;
    linearized.clear(choice.event.operation);
    if (choice.event.match !== null) knownLinearized -= 1;
    unlift(choice.event);
    event = choice.event.next;
  }
  return { kind: 'linearizable', order: stack.map((choice) => indexes[choice.event.operation] as number) };
}

// ---------------------------------------------------------------- results

/**
 * Merges per-partition linearizations into one for the whole history by
 * repeatedly taking, among the partitions' next operations, the one called
 * first. That respects real time: an operation y still waiting behind a
 * partition's next operation h returns no earlier than h is called (h
 * precedes y in a valid order), and h is called no earlier than the chosen one.
 */
function mergeOrders<Input, Output>(
  history: readonly Operation<Input, Output>[],
  orders: readonly number[][],
): number[] {
  const positions = orders.map(() => 0);
  const merged: number[] = [];
  for (;;) {
    let best = -1;
    let bestCall = Infinity;
    orders.forEach((order, partition) => {
      const next = order[positions[partition] as number];
      if (next === undefined) return;
      const call = (history[next] as Operation<Input, Output>).call;
      if (best === -1 || call < bestCall) {
        best = partition;
        bestCall = call;
      }
    });
    if (best === -1) return merged;
    merged.push((orders[best] as number[])[positions[best] as number] as number);
    positions[best] = (positions[best] as number) + 1;
  }
}

function describeOperation<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  index: number,
): string {
  const operation = history[index] as Operation<Input, Output>;
  const text =
    model.describeOperation?.(operation.input, operation.output) ??
    `${JSON.stringify(operation.input)} -> ${operation.output === undefined ? '?' : JSON.stringify(operation.output)}`;
  const returned = operation.return === Infinity ? '∞' : String(operation.return);
  return `#${index} client ${operation.client} [${operation.call}, ${returned}] ${text}`;
}

/**
 * Replays the longest prefix and lists the operations that could have come
 * next (called no later than the earliest pending return), each with why it
 * does not fit: the model refuses its output in that state.
 */
function explainViolation<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  indexes: readonly number[],
  prefix: readonly number[],
  partition: string | null,
): string {
  const at = (index: number): Operation<Input, Output> => history[index] as Operation<Input, Output>;
  let state = model.init();
  for (const index of prefix) state = model.step(state, at(index).input, at(index).output).state;
  const done = new Set(prefix);
  const pending = indexes.filter((index) => !done.has(index));
  const deadline = Math.min(...pending.map((index) => at(index).return));
  const candidates = pending.filter((index) => at(index).call <= deadline);
  const stateText = model.describeState?.(state) ?? model.key(state);
  const lines = [
    `not linearizable${partitionLabel(partition)}: after the longest linearizable prefix of ${prefix.length} operation(s)`,
    ...prefix.map((index) => `  ${describeOperation(model, history, index)}`),
    `the state is ${stateText}, and no operation that may go next fits:`,
    ...candidates.map((index) => {
      const operation = at(index);
      const fits = model.step(state, operation.input, operation.output).ok;
      const why = fits ? 'fits here, but every order from there fails later' : 'the model refuses this output here';
      return `  ${describeOperation(model, history, index)}: ${why}`;
    }),
  ];
  return lines.join('\n');
}
