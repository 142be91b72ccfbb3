/**
 * Test helper: simulated clients of the replicated metadata map and the
 * history they observe, for the linearizability checker. Each client runs
 * one operation at a time. It sends the request to the node it believes
 * leads, follows a refusal's leader hint (or tries the next node), and
 * resends after a timeout, up to `attemptsMax` sends; then it gives up and
 * the operation's outcome is unknown. A refusal that names no leader (an
 * election is under way) makes the client wait a tick before the next send.
 * Every send of one operation carries
 * the same operation id, so the replicas apply a write at most once and
 * any reply to any send answers it.
 *
 * Time is logical: one counter, bumped when an operation is called (the
 * client decides to issue it) and when its answer is delivered, so the
 * recorded intervals contain the real ones.
 */
import type { Operation } from '../linearizability.js';
import { NONE } from '../../../cluster/raft/index.js';
import type { MetadataInput, MetadataOutput } from '../metadata-map-model.js';

/** A client's request, addressed to node `to`. */
export interface ClientRequest {
  readonly kind: 'request';
  readonly to: number;
  readonly client: number;
  readonly opId: string;
  readonly input: MetadataInput;
}

/** A node's answer: the operation's output, or a refusal naming the leader it knows (NONE when it knows none). */
export interface ClientReply {
  readonly kind: 'reply';
  readonly client: number;
  readonly opId: string;
  readonly answer:
    | { readonly kind: 'done'; readonly output: MetadataOutput }
    | { readonly kind: 'redirect'; readonly leader: number };
}

/** How clients behave. */
export interface ClientOptions {
  readonly clients: number;
  readonly nodes: number;
  /** Ticks without an answer before a client resends elsewhere. */
  readonly timeoutTicks: number;
  /** Sends per operation (first send, redirects and resends) before the client gives up. */
  readonly attemptsMax: number;
  /** Send reads to the node `pick` names instead of the presumed leader (to expose stale local reads). */
  readonly readsAnywhere: boolean;
}

interface Outstanding {
  readonly index: number;
  readonly opId: string;
  readonly input: MetadataInput;
  target: number;
  attempts: number;
  waitedTicks: number;
  /** Waiting out an election: send again at the next tick. */
  backingOff: boolean;
}

/** An operation as recorded: output and return are filled in when the answer arrives. */
interface RecordedOperation {
  readonly client: number;
  readonly input: MetadataInput;
  readonly call: number;
  output: MetadataOutput | undefined;
  return: number;
}

interface Client {
  readonly id: number;
  /** The node this client currently believes leads. */
  leaderGuess: number;
  operations: number;
  outstanding: Outstanding | null;
}

/** What the clients did, for the test's report and its sanity assertions. */
export interface ClientStats {
  issued: number;
  completed: number;
  gaveUp: number;
  redirects: number;
  resends: number;
  readsCompleted: number;
  writesCompleted: number;
}

const NAMES = ['a', 'b', 'c'] as const;

/** The clients and their shared logical clock and history. */
export class MetadataClients {
  private readonly clients: Client[];
  private readonly operations: RecordedOperation[] = [];
  private clock = 0;
  private nextId = 1;
  readonly stats: ClientStats = {
    issued: 0,
    completed: 0,
    gaveUp: 0,
    redirects: 0,
    resends: 0,
    readsCompleted: 0,
    writesCompleted: 0,
  };

  constructor(private readonly options: ClientOptions) {
    this.clients = Array.from({ length: options.clients }, (_, id) => ({
      id,
      leaderGuess: (id % options.nodes) + 1,
      operations: 0,
      outstanding: null,
    }));
  }

  /**
   * Client `client % clients` starts an operation chosen by `pick`, if it is
   * idle, and returns the request to send. `pick % 5` chooses create (0, 1),
   * drop (2) or read (3, 4); `⌊pick / 5⌋ % 3` the name `a`, `b` or `c`; with
   * `readsAnywhere`, `⌊pick / 15⌋` the node a read goes to. Creates get fresh ids.
   */
  issue(client: number, pick: number): ClientRequest | null {
    const state = this.clients[client % this.clients.length] as Client;
    if (state.outstanding !== null) return null;
    const name = NAMES[Math.floor(pick / 5) % NAMES.length] as string;
    const kind = pick % 5;
    const input: MetadataInput =
      kind <= 1
        ? { kind: 'create', name, id: this.nextId++ }
        : kind === 2
          ? { kind: 'drop', name }
          : { kind: 'read', name };
    state.operations += 1;
    const opId = `c${state.id}.${state.operations}`;
    const target =
      input.kind === 'read' && this.options.readsAnywhere
        ? (Math.floor(pick / 15) % this.options.nodes) + 1
        : state.leaderGuess;
    this.operations.push({ client: state.id, input, call: this.tick(), output: undefined, return: Infinity });
    state.outstanding = {
      index: this.operations.length - 1,
      opId,
      input,
      target,
      attempts: 1,
      waitedTicks: 0,
      backingOff: false,
    };
    this.stats.issued += 1;
    return this.request(state);
  }

  /** Delivers a reply; returns the request to send next when it redirects an operation still outstanding. */
  receive(reply: ClientReply): ClientRequest | null {
    const state = this.clients[reply.client] as Client;
    const outstanding = state.outstanding;
    // A duplicate, or an answer to an operation the client already finished or gave up on.
    if (outstanding === null || outstanding.opId !== reply.opId) return null;
    if (reply.answer.kind === 'done') {
      const operation = this.operations[outstanding.index] as RecordedOperation;
      operation.output = reply.answer.output;
      operation.return = this.tick();
      state.outstanding = null;
      state.leaderGuess = outstanding.target;
      this.stats.completed += 1;
      if (outstanding.input.kind === 'read') this.stats.readsCompleted += 1;
      else this.stats.writesCompleted += 1;
      return null;
    }
    this.stats.redirects += 1;
    const hinted = reply.answer.leader;
    if (hinted !== NONE && hinted !== outstanding.target) {
      state.leaderGuess = hinted;
      return this.retry(state);
    }
    state.leaderGuess = this.following(outstanding.target);
    outstanding.backingOff = true;
    return null;
  }

  /** Advances every waiting client by one tick; returns the resends of those that timed out. */
  tickAll(): ClientRequest[] {
    const resends: ClientRequest[] = [];
    for (const state of this.clients) {
      const outstanding = state.outstanding;
      if (outstanding === null) continue;
      outstanding.waitedTicks += 1;
      if (!outstanding.backingOff) {
        if (outstanding.waitedTicks < this.options.timeoutTicks) continue;
        this.stats.resends += 1;
        state.leaderGuess = this.following(outstanding.target);
      }
      const request = this.retry(state);
      if (request !== null) resends.push(request);
    }
    return resends;
  }

  /** True when no client waits for an answer. */
  idle(): boolean {
    return this.clients.every((state) => state.outstanding === null);
  }

  /**
   * The history so far. Operations still outstanding have an unknown outcome.
   * Reads without an answer are left out: they changed nothing and constrain nothing.
   */
  history(): Operation<MetadataInput, MetadataOutput>[] {
    return this.operations
      .filter((operation) => operation.return !== Infinity || operation.input.kind !== 'read')
      .map((operation) => ({ ...operation }));
  }

  /** Sends the outstanding operation again to the client's current guess, or gives up after `attemptsMax` sends. */
  private retry(state: Client): ClientRequest | null {
    const outstanding = state.outstanding as Outstanding;
    if (outstanding.attempts >= this.options.attemptsMax) {
      state.outstanding = null;
      this.stats.gaveUp += 1;
      return null;
    }
    outstanding.attempts += 1;
    outstanding.waitedTicks = 0;
    outstanding.backingOff = false;
    outstanding.target = state.leaderGuess;
    return this.request(state);
  }

  private request(state: Client): ClientRequest {
    const outstanding = state.outstanding as Outstanding;
    return {
      kind: 'request',
      to: outstanding.target,
      client: state.id,
      opId: outstanding.opId,
      input: outstanding.input,
    };
  }

  private following(node: number): number {
    return (node % this.options.nodes) + 1;
  }

  private tick(): number {
    this.clock += 1;
    return this.clock;
  }
}
