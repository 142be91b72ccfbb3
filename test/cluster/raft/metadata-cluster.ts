/**
 * Test helper: a replicated metadata map (collection name → id) on a cluster
 * of pure Raft cores, with the clients of `metadata-clients.ts`, all talking
 * through one adversarial in-memory network that drops, duplicates, delays
 * and reorders messages, partitions the Raft nodes from each other (clients
 * reach every node), and crash-restarts nodes from their persisted state
 * (`MemoryStorage`), as `simulated-cluster.ts` does for the bare cores. Two
 * actions of its own: `flush` is a quiet spell (everything in flight is
 * delivered in order), so that clients get answers between faults, and
 * `isolate-leader` cuts the leader off, so that deposed leaders meet clients.
 *
 * Each node serves clients through the `ReplicaDriver` the metadata replica
 * actor runs (`cluster/raft/replica-driver.ts`), so the checker checks the
 * serving code that runs, not a copy of it:
 * - a create or drop is proposed as an entry carrying the operation id; the
 *   node answers once it applies that entry. The state machine remembers
 *   each operation's result, so a resent operation applies once and gets
 *   the first answer (client sessions, Raft thesis §6.3);
 * - a read asks for a ReadIndex and is answered from the local map once the
 *   node has applied that index (thesis §6.4);
 * - a refused or failed request is answered with the leader the node knows.
 * A driver's write is made durable (`MemoryStorage`) at the node's next
 * `ready` action, so a crash loses what was not yet written, and nothing
 * that waited on it (messages, answers) has left. Ticks are driven through
 * each node's own virtual clock, one `TICK_MS` per tick.
 * The `reads` option also offers two deliberately broken variants that
 * answer reads from the local map without ReadIndex, for the checker to catch.
 */
import type { Message, RaftConfig, Snapshot } from '../../../cluster/raft/index.js';
import { ReplicaDriver } from '../../../cluster/raft/replica-driver.js';
import type { ReplicaAction, ReplicaMachine, ReplicaWrite } from '../../../cluster/raft/replica-driver.js';
import { SeededRandom } from '../../../runtime/random.js';
import { applyMetadata } from '../metadata-map-model.js';
import type { MetadataInput, MetadataOutput } from '../metadata-map-model.js';
import { MetadataClients } from './metadata-clients.js';
import type { ClientOptions, ClientReply, ClientRequest } from './metadata-clients.js';
import { FaultyNetwork } from './faulty-network.js';
import { MemoryStorage } from './memory-storage.js';

/** One step of a run; `node`, `client` and `pick` are reduced modulo what they index. */
export type MetadataAction =
  | { readonly kind: 'tick-all' | 'ready-all' | 'flush' | 'heal' | 'isolate-leader' }
  | {
      readonly kind: 'tick' | 'campaign' | 'ready' | 'compact' | 'crash' | 'restart' | 'drop-to';
      readonly node: number;
    }
  | { readonly kind: 'deliver' | 'duplicate' | 'drop'; readonly pick: number }
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'transfer'; readonly node: number; readonly to: number }
  | { readonly kind: 'issue'; readonly client: number; readonly pick: number };

/** Options for one run. */
export interface MetadataClusterOptions {
  readonly size: number;
  readonly seed: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly electionTicks: number;
  readonly queueMax: number;
  /**
   * `read-index`: linearizable reads. Two deliberately broken variants answer
   * from the local map at once: `local` on any node, `leader-local` on a node
   * that believes it leads (a deposed leader does, until it hears of a newer term).
   */
  readonly reads: 'read-index' | 'local' | 'leader-local';
  readonly clients: Omit<ClientOptions, 'nodes'>;
}

type Envelope = { readonly kind: 'raft'; readonly message: Message } | ClientRequest | ClientReply;

/** A replicated command: the client's operation and its id. */
interface Command {
  readonly opId: string;
  readonly input: MetadataInput;
}

/** One replica's state machine: the map, each applied operation's answer, and the last applied index. */
interface Machine {
  readonly map: Map<string, number>;
  readonly results: Map<string, MetadataOutput>;
  applied: number;
}

/** What a read sees: the map as it was when the driver answered. */
type View = ReadonlyMap<string, number>;
/** A driver's request handle is the client's request itself; a write's result is its answer (null: a no-op entry). */
type Driver = ReplicaDriver<ClientRequest, MetadataOutput, View>;
type Action = ReplicaAction<ClientRequest, MetadataOutput, View>;

interface Server {
  readonly id: number;
  readonly config: RaftConfig;
  readonly storage: MemoryStorage;
  /** Null while crashed; a crash loses its pending requests, and the clients time out. */
  driver: Driver | null;
  /** The state machine the driver applies to (replaced when it restores a snapshot). */
  machine: Machine;
  /** The write the driver waits on: made durable at the node's next `ready`, lost in a crash. */
  persisting: { readonly token: number; readonly write: ReplicaWrite } | null;
  /** The node's virtual clock: one `TICK_MS` per tick. */
  nowMs: number;
  /** Never reset, so read ids of one incarnation never reach another. */
  incarnations: number;
}

/** Deliveries in one `flush`; a flush adds at most a few messages per delivery, so this bounds it comfortably. */
const FLUSH_STEPS_MAX = 1_000;
/** Virtual milliseconds per tick: each tick action advances a node's clock by exactly one tick. */
const TICK_MS = 10;
/** Applied entries between automatic snapshots (the `compact` action also snapshots at once). */
const SNAPSHOT_ENTRIES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The cluster, its network and its clients. */
export class MetadataCluster {
  readonly clients: MetadataClients;
  private readonly servers: Server[] = [];
  private readonly network: FaultyNetwork<Envelope>;

  constructor(private readonly options: MetadataClusterOptions) {
    this.network = new FaultyNetwork(options.queueMax);
    this.clients = new MetadataClients({ ...options.clients, nodes: options.size });
    const peers = Array.from({ length: options.size }, (_, index) => index + 1);
    for (const id of peers) {
      const config: RaftConfig = {
        id,
        peers,
        electionTicks: options.electionTicks,
        heartbeatTicks: 1,
        preVote: options.preVote,
        checkQuorum: options.checkQuorum,
        random: new SeededRandom(options.seed * 97 + id),
        maxEntriesPerAppend: 2,
        maxInflightAppends: 4,
      };
      const server: Server = {
        id,
        config,
        storage: new MemoryStorage(),
        driver: null,
        machine: emptyMachine(),
        persisting: null,
        nowMs: 0,
        incarnations: 0,
      };
      this.servers.push(server);
      this.restart(server);
    }
  }

  /** Performs one action; actions that do not apply (a crashed node, an empty queue) do nothing. */
  act(action: MetadataAction): void {
    switch (action.kind) {
      case 'tick-all':
        for (const server of this.servers) this.tick(server);
        for (const request of this.clients.tickAll()) this.enqueue(request);
        return;
      case 'ready-all':
        for (const server of this.servers) this.processReady(server);
        return;
      case 'flush':
        this.flush();
        return;
      case 'heal':
        this.network.heal();
        return;
      case 'isolate-leader':
        this.isolateLeader();
        return;
      case 'partition':
        this.network.partition(this.servers.map((server, index) => [server.id, (action.mask >> index) & 1]));
        return;
      case 'deliver':
      case 'duplicate':
      case 'drop':
        this.actOnEnvelope(action.kind, action.pick);
        return;
      case 'issue': {
        const request = this.clients.issue(action.client, action.pick);
        if (request !== null) this.enqueue(request);
        return;
      }
      default:
        this.actOnServer(action);
    }
  }

  /**
   * Heals the network, restarts crashed nodes and runs fault-free rounds
   * (tick, then process and deliver everything) until no client waits for
   * an answer; returns whether that happened within `roundsMax` rounds.
   */
  settleClients(roundsMax: number): boolean {
    this.network.heal();
    for (const server of this.servers) if (server.driver === null) this.restart(server);
    for (let round = 0; round < roundsMax && !this.clients.idle(); round += 1) {
      this.act({ kind: 'tick-all' });
      this.flush();
    }
    return this.clients.idle();
  }

  /** Cuts the leader of the highest term off from every other node (Jepsen's "isolate the primary"). */
  private isolateLeader(): void {
    let leader: Server | null = null;
    for (const server of this.servers) {
      const status = server.driver?.status();
      if (status?.role === 'leader' && status.term > (leader?.driver?.status().term ?? -1)) leader = server;
    }
    if (leader !== null) this.network.partition(this.servers.map((server) => [server.id, server === leader ? 1 : 0]));
  }

  /**
   * A quiet spell: complete every pending write and deliver messages in order until none is left
   * (partitions and crashes still apply).
   */
  private flush(): void {
    for (let step = 0; step < FLUSH_STEPS_MAX; step += 1) {
      for (const server of this.servers) this.processReady(server);
      if (this.network.length === 0) return;
      this.act({ kind: 'deliver', pick: 0 });
    }
  }

  private actOnServer(action: MetadataAction & { readonly node: number }): void {
    const server = this.servers[action.node % this.servers.length] as Server;
    const driver = server.driver;
    if (action.kind === 'restart') {
      if (driver === null) this.restart(server);
      return;
    }
    if (driver === null) return;
    switch (action.kind) {
      case 'tick':
        this.tick(server);
        return;
      case 'campaign':
        this.perform(server, driver.campaign(server.nowMs));
        return;
      case 'ready':
        this.processReady(server);
        return;
      case 'compact':
        // The image must reflect exactly the entries the core counts as applied.
        if (driver.status().applied !== server.machine.applied) {
          const applied = driver.status().applied;
          throw new Error(`node ${server.id}: core applied ${applied}, state machine ${server.machine.applied}`);
        }
        this.perform(server, driver.compact(server.nowMs));
        return;
      case 'crash':
        server.driver = null;
        server.persisting = null;
        return;
      case 'drop-to':
        this.network.discard((envelope) => envelope.kind === 'raft' && envelope.message.to === server.id);
        return;
      case 'transfer':
        if ('to' in action) {
          this.perform(server, driver.transferLeadership(server.nowMs, (action.to % this.servers.length) + 1));
        }
        return;
      default:
        return;
    }
  }

  private actOnEnvelope(kind: 'deliver' | 'duplicate' | 'drop', pick: number): void {
    const envelope = this.network.take(kind, pick);
    if (envelope === null) return;
    switch (envelope.kind) {
      case 'raft': {
        const target = this.servers[envelope.message.to - 1] as Server;
        const driver = target.driver;
        if (driver !== null && this.network.connected(envelope.message.from, envelope.message.to)) {
          this.perform(target, driver.step(target.nowMs, envelope.message));
        }
        return;
      }
      case 'request':
        this.serve(this.servers[envelope.to - 1] as Server, envelope);
        return;
      case 'reply': {
        const next = this.clients.receive(envelope);
        if (next !== null) this.enqueue(next);
        return;
      }
    }
  }

  /** One tick of `server`'s clock. */
  private tick(server: Server): void {
    const driver = server.driver;
    if (driver === null) return;
    server.nowMs += TICK_MS;
    this.perform(server, driver.tick(server.nowMs));
  }

  /** A client request arrives at `server`: a create or drop is proposed, a read served as `reads` says. */
  private serve(server: Server, request: ClientRequest): void {
    const driver = server.driver;
    if (driver === null) return;
    if (request.input.kind !== 'read') {
      const command: Command = { opId: request.opId, input: request.input };
      this.perform(server, driver.propose(server.nowMs, encoder.encode(JSON.stringify(command)), request));
      return;
    }
    switch (this.options.reads) {
      case 'local':
        this.perform(server, driver.read(server.nowMs, request, false));
        return;
      case 'leader-local': {
        const status = driver.status();
        if (status.role === 'leader') this.perform(server, driver.read(server.nowMs, request, false));
        else this.reply(request.client, request.opId, { kind: 'redirect', leader: status.leader });
        return;
      }
      case 'read-index':
        this.perform(server, driver.read(server.nowMs, request, true));
        return;
    }
  }

  /** Makes the write the driver waits on durable and hands the driver back the token. */
  private processReady(server: Server): void {
    const driver = server.driver;
    const persisting = server.persisting;
    if (driver === null || persisting === null) return;
    server.storage.save(persisting.write);
    server.persisting = null;
    this.perform(server, driver.persisted(server.nowMs, persisting.token));
  }

  /** Does what the driver asks, in order; a snapshot is written at once. */
  private perform(server: Server, actions: readonly Action[]): void {
    let compacted = false;
    for (const action of actions) {
      switch (action.type) {
        case 'persist':
          server.persisting = { token: action.token, write: action.write };
          break;
        case 'write-snapshot':
          server.storage.saveSnapshot(action.snapshot);
          compacted = true;
          break;
        case 'send':
          for (const message of action.messages) this.enqueue({ kind: 'raft', message });
          break;
        case 'answer-proposal':
          this.reply(action.request.client, action.request.opId, { kind: 'done', output: action.result });
          break;
        case 'answer-read':
          this.answerRead(action.request, action.view);
          break;
        case 'fail':
        case 'refuse': {
          const leader = action.type === 'fail' ? action.leader : action.refusal.leader;
          this.reply(action.request.client, action.request.opId, { kind: 'redirect', leader });
          break;
        }
      }
    }
    const driver = server.driver;
    if (compacted && driver !== null) this.perform(server, driver.compacted(server.nowMs));
  }

  private answerRead(request: ClientRequest, view: View): void {
    this.reply(request.client, request.opId, { kind: 'done', output: view.get(request.input.name) ?? null });
  }

  /** Starts (or restarts) a node from what its storage made durable. */
  private restart(server: Server): void {
    server.incarnations += 1;
    server.persisting = null;
    const driver: Driver = new ReplicaDriver({
      raft: server.config,
      restored: server.storage.restored(),
      tickMs: TICK_MS,
      snapshotEntries: SNAPSHOT_ENTRIES,
      readIdPrefix: `n${server.id}.i${server.incarnations}.r`,
      restore: (snapshot) => this.restoreMachine(server, snapshot),
    });
    server.driver = driver;
    this.perform(server, driver.start(server.nowMs));
  }

  /** The node's state machine as of `snapshot`, as the driver applies to it. */
  private restoreMachine(server: Server, snapshot: Snapshot | null): ReplicaMachine<MetadataOutput, View> {
    const machine = snapshot === null ? emptyMachine() : decodeMachine(snapshot);
    server.machine = machine;
    return {
      apply: (entry) => {
        if (entry.index <= machine.applied) {
          throw new Error(`node ${server.id} applies index ${entry.index} again (applied ${machine.applied})`);
        }
        machine.applied = entry.index;
        if (entry.kind !== 'normal' || entry.data.length === 0) return null;
        const command = JSON.parse(decoder.decode(entry.data)) as Command;
        let output = machine.results.get(command.opId);
        if (output === undefined) {
          output = applyMetadata(machine.map, command.input);
          machine.results.set(command.opId, output);
        }
        return output;
      },
      snapshot: () => encodeMachine(machine),
      view: () => new Map(machine.map),
    };
  }

  private reply(client: number, opId: string, answer: ClientReply['answer']): void {
    this.enqueue({ kind: 'reply', client, opId, answer });
  }

  private enqueue(envelope: Envelope): void {
    this.network.send(envelope);
  }
}

function emptyMachine(): Machine {
  return { map: new Map(), results: new Map(), applied: 0 };
}

/** The snapshot image: the map and the answers, as JSON arrays. */
function encodeMachine(machine: Machine): Uint8Array {
  return encoder.encode(JSON.stringify({ map: [...machine.map], results: [...machine.results] }));
}

function decodeMachine(snapshot: Snapshot): Machine {
  const image = JSON.parse(decoder.decode(snapshot.data)) as {
    map: [string, number][];
    results: [string, MetadataOutput][];
  };
  return { map: new Map(image.map), results: new Map(image.results), applied: snapshot.index };
}
