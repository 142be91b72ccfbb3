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
 * Each node serves clients the way the metadata replica does:
 * - a create or drop is proposed as an entry carrying the operation id; the
 *   node answers once it applies that entry. The state machine remembers
 *   each operation's result, so a resent operation applies once and gets
 *   the first answer (client sessions, Raft thesis §6.3);
 * - a read asks for a ReadIndex and is answered from the local map once the
 *   node has applied that index (thesis §6.4);
 * - a refused request is answered with the leader the node knows.
 * The `reads` option also offers two deliberately broken variants that
 * answer reads from the local map without ReadIndex, for the checker to catch.
 */
import { RaftNode } from '../../../cluster/raft/index.js';
import type { Entry, Message, RaftConfig, Snapshot } from '../../../cluster/raft/index.js';
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
  | { readonly kind: 'tick' | 'campaign' | 'ready' | 'compact' | 'crash' | 'restart' | 'drop-to'; readonly node: number }
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

interface PendingRead {
  readonly client: number;
  readonly opId: string;
  readonly name: string;
  /** Set when the ReadState arrives. */
  index: number | null;
}

interface Server {
  readonly id: number;
  readonly config: RaftConfig;
  readonly storage: MemoryStorage;
  node: RaftNode | null;
  machine: Machine;
  /** Volatile: lost in a crash, and the clients time out. */
  pendingWrites: Map<string, number>;
  pendingReads: Map<string, PendingRead>;
  /** Never reset, so a read id is not reused after a restart. */
  reads: number;
}

/** Deliveries in one `flush`; a flush adds at most a few messages per delivery, so this bounds it comfortably. */
const FLUSH_STEPS_MAX = 1_000;
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
      this.servers.push({ id, config, storage: new MemoryStorage(), node: new RaftNode(config), machine: emptyMachine(), pendingWrites: new Map(), pendingReads: new Map(), reads: 0 });
    }
  }

  /** Performs one action; actions that do not apply (a crashed node, an empty queue) do nothing. */
  act(action: MetadataAction): void {
    switch (action.kind) {
      case 'tick-all':
        for (const server of this.servers) server.node?.tick();
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
    for (const server of this.servers) if (server.node === null) this.restart(server);
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
      const status = server.node?.status();
      if (status?.role === 'leader' && status.term > (leader?.node?.status().term ?? -1)) leader = server;
    }
    if (leader !== null) this.network.partition(this.servers.map((server) => [server.id, server === leader ? 1 : 0]));
  }

  /** A quiet spell: process every Ready and deliver messages in order until none is left (partitions and crashes still apply). */
  private flush(): void {
    for (let step = 0; step < FLUSH_STEPS_MAX; step += 1) {
      for (const server of this.servers) this.processReady(server);
      if (this.network.length === 0) return;
      this.act({ kind: 'deliver', pick: 0 });
    }
  }

  private actOnServer(action: MetadataAction & { readonly node: number }): void {
    const server = this.servers[action.node % this.servers.length] as Server;
    const node = server.node;
    if (action.kind === 'restart') {
      if (node === null) this.restart(server);
      return;
    }
    if (node === null) return;
    switch (action.kind) {
      case 'tick':
        node.tick();
        return;
      case 'campaign':
        node.campaign();
        return;
      case 'ready':
        this.processReady(server);
        return;
      case 'compact': {
        // The image must reflect exactly the entries the core counts as applied.
        if (node.status().applied !== server.machine.applied) {
          throw new Error(`node ${server.id}: core applied ${node.status().applied}, state machine ${server.machine.applied}`);
        }
        const snapshot = node.compact(encodeMachine(server.machine));
        if (snapshot !== null) server.storage.saveSnapshot(snapshot);
        return;
      }
      case 'crash':
        server.node = null;
        server.pendingWrites = new Map();
        server.pendingReads = new Map();
        return;
      case 'drop-to':
        this.network.discard((envelope) => envelope.kind === 'raft' && envelope.message.to === server.id);
        return;
      case 'transfer':
        if ('to' in action) node.transferLeadership((action.to % this.servers.length) + 1);
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
        if (target.node !== null && this.network.connected(envelope.message.from, envelope.message.to)) target.node.step(envelope.message);
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

  /** A client request arrives at `server`. */
  private serve(server: Server, request: ClientRequest): void {
    const node = server.node;
    if (node === null) return;
    if (request.input.kind === 'read') this.serveRead(server, node, request, request.input.name);
    else this.serveWrite(server, node, request);
  }

  /** Proposes a create or drop; the answer goes out when this node applies it. A refusal redirects. */
  private serveWrite(server: Server, node: RaftNode, request: ClientRequest): void {
    const command: Command = { opId: request.opId, input: request.input };
    const result = node.propose(encoder.encode(JSON.stringify(command)));
    if (result.ok) server.pendingWrites.set(request.opId, request.client);
    else this.reply(request.client, request.opId, { kind: 'redirect', leader: result.leader });
  }

  /** Starts a ReadIndex read (or, in the broken variants, answers from the local map at once). */
  private serveRead(server: Server, node: RaftNode, request: ClientRequest, name: string): void {
    const local = (): void => this.reply(request.client, request.opId, { kind: 'done', output: server.machine.map.get(name) ?? null });
    switch (this.options.reads) {
      case 'local':
        local();
        return;
      case 'leader-local': {
        const status = node.status();
        if (status.role === 'leader') local();
        else this.reply(request.client, request.opId, { kind: 'redirect', leader: status.leader });
        return;
      }
      case 'read-index': {
        server.reads += 1;
        const requestId = `n${server.id}.r${server.reads}`;
        const result = node.readIndex(requestId);
        if (result.ok) server.pendingReads.set(requestId, { client: request.client, opId: request.opId, name, index: null });
        else this.reply(request.client, request.opId, { kind: 'redirect', leader: result.leader });
        return;
      }
    }
  }

  /** Persists, sends and applies one Ready in the order its contract gives, then serves the reads it made ready. */
  private processReady(server: Server): void {
    const node = server.node;
    const ready = node?.ready() ?? null;
    if (node === null || ready === null) return;
    server.storage.save(ready);
    for (const message of ready.messages) this.enqueue({ kind: 'raft', message });
    if (ready.snapshot !== undefined) server.machine = decodeMachine(ready.snapshot);
    for (const entry of ready.committed) this.applyEntry(server, entry);
    for (const read of ready.readStates) {
      const pending = server.pendingReads.get(read.requestId);
      if (pending !== undefined) pending.index = read.index;
    }
    this.serveReads(server);
    node.advance(ready);
  }

  private applyEntry(server: Server, entry: Entry): void {
    const machine = server.machine;
    if (entry.index <= machine.applied) throw new Error(`node ${server.id} applies index ${entry.index} again (applied ${machine.applied})`);
    machine.applied = entry.index;
    if (entry.kind !== 'normal' || entry.data.length === 0) return;
    const command = JSON.parse(decoder.decode(entry.data)) as Command;
    let output = machine.results.get(command.opId);
    if (output === undefined) {
      output = applyMetadata(machine.map, command.input);
      machine.results.set(command.opId, output);
    }
    const client = server.pendingWrites.get(command.opId);
    if (client === undefined) return;
    server.pendingWrites.delete(command.opId);
    this.reply(client, command.opId, { kind: 'done', output });
  }

  private serveReads(server: Server): void {
    for (const [requestId, read] of server.pendingReads) {
      if (read.index === null || read.index > server.machine.applied) continue;
      server.pendingReads.delete(requestId);
      this.reply(read.client, read.opId, { kind: 'done', output: server.machine.map.get(read.name) ?? null });
    }
  }

  private restart(server: Server): void {
    server.node = new RaftNode(server.config, server.storage.restored());
    server.machine = server.storage.snapshot === null ? emptyMachine() : decodeMachine(server.storage.snapshot);
    server.pendingWrites = new Map();
    server.pendingReads = new Map();
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
  const image = JSON.parse(decoder.decode(snapshot.data)) as { map: [string, number][]; results: [string, MetadataOutput][] };
  return { map: new Map(image.map), results: new Map(image.results), applied: snapshot.index };
}
