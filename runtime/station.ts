/**
 * A station is the message router of one thread. It hosts that thread's actor
 * cells, keeps a directory of where every other actor lives, sends envelopes
 * over direct MessagePorts to other threads (asking the system to connect two
 * threads on first use), tracks pending asks with their deadlines, and holds
 * messages for actors that are restarting until they are back.
 */
import type {
  Actor,
  ActorContext,
  ActorFactory,
  ActorSpec,
  Address,
  AskOptions,
  Message,
  Outcome,
  Responder,
  SystemRequest,
  TransferList,
} from './actor.js';
import { ActorCell } from './actor-cell.js';
import { assert } from './assert.js';
import type { Clock, Timer } from './clock.js';
import { ShoalError, toErrorData, toShoalError } from './errors.js';
import type { FileSystem } from './fs.js';
import { RUNTIME_LIMITS } from './limits.js';
import { createLogger } from './log.js';
import { SYSTEM_ADDRESS } from './protocol.js';
import type { Envelope, MessageEnvelope, ReplyEnvelope, ReportEnvelope } from './protocol.js';
import type { Random } from './random.js';

/** Directory value of an actor that is being restarted: messages to it wait. */
const RESTARTING = -1;

/** The ports of a station to other stations. */
export interface StationLinks {
  /** Posts to `station`; false when there is no link to it (yet). */
  post(station: number, envelope: Envelope, transfer: ArrayBuffer[]): boolean;
  /** Asks the system for a link to `station`; false when no link can ever be made (this is the system). */
  requestLink(station: number): boolean;
  /** Forgets the link to a station that died. */
  drop(station: number): void;
}

/** Everything a station needs from its thread. */
export interface StationOptions {
  readonly id: number;
  readonly threadId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly fs: FileSystem;
  readonly links: StationLinks;
  readonly mailboxCapacity: number;
  readonly schedule: (work: () => void) => void;
  /** Loads an actor factory (dynamic import in threads). */
  readonly loadFactory: (spec: ActorSpec) => Promise<ActorFactory>;
  /** Station 0 only: handles asks addressed to the system. */
  readonly systemHandler?: (request: SystemRequest, responder: Responder) => void;
}

interface PendingAsk {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ShoalError) => void;
  readonly timer: Timer;
  readonly to: Address;
  station: number;
}

interface Held {
  readonly body: Message;
  readonly askId: number | null;
  readonly timeoutMs: number;
  readonly transfer: TransferList;
}

interface Hosted {
  readonly cell: ActorCell;
  readonly incarnation: number;
}

/** Routes messages for one thread. */
export class Station {
  private readonly cells = new Map<Address, Hosted>();
  private readonly directory = new Map<Address, number>([[SYSTEM_ADDRESS, 0]]);
  private readonly held = new Map<Address, Held[]>();
  private readonly unlinked = new Map<number, { envelope: Envelope; transfer: ArrayBuffer[] }[]>();
  private readonly asks = new Map<number, PendingAsk>();
  private nextAskId = 1;
  private readonly log;

  constructor(private readonly options: StationOptions) {
    this.log = createLogger(`station/${options.id}`);
  }

  get id(): number {
    return this.options.id;
  }

  /** Sends without waiting for an answer; a message to an unknown actor is dropped (and logged). */
  tell(to: Address, body: Message, transfer: TransferList = []): void {
    this.route(to, body, null, 0, transfer);
  }

  /** Sends and waits for the answer, at most `timeoutMs`. */
  ask<T>(to: Address, body: Message, options: AskOptions): Promise<T> {
    const timeoutMs = options.timeoutMs;
    if (!(timeoutMs > 0))
      return Promise.reject(new ShoalError('INVALID_ARGUMENT', `ask timeoutMs must be positive, got ${timeoutMs}`));
    return new Promise<T>((resolve, reject) => {
      const id = this.nextAskId++;
      const timer = this.options.clock.setTimer(timeoutMs, () => {
        if (!this.asks.delete(id)) return;
        reject(
          new ShoalError('TIMEOUT', `${body.type} to ${to} timed out after ${timeoutMs} ms`, {
            to,
            type: body.type,
            timeoutMs,
          }),
        );
      });
      this.asks.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, to, station: RESTARTING });
      this.route(to, body, id, timeoutMs, options.transfer ?? []);
    });
  }

  /** Handles an envelope that arrived from another station. */
  receive(envelope: Envelope): void {
    switch (envelope.k) {
      case 'msg':
        return this.receiveMessage(envelope);
      case 'reply':
        return this.receiveReply(envelope);
      case 'dir':
        return this.updateDirectory(envelope.entries);
      case 'down':
        return this.stationDown(envelope.station);
      case 'spawn':
        void this.spawn(envelope.spec, envelope.incarnation);
        return;
      case 'stop':
        void this.stopLocal(envelope.address, envelope.incarnation);
        return;
      case 'crash':
        this.cells.get(envelope.address)?.cell.crash(new ShoalError('INTERNAL', 'crash injected'));
        return;
      case 'port':
      case 'started':
      case 'start-failed':
      case 'crashed':
      case 'stopped':
      case 'connect':
        // The worker's link code takes ports and the system takes reports: one reaching a station is a routing bug.
        assert(false, `station ${this.id} cannot handle ${envelope.k} here`);
    }
  }

  /** Flushes envelopes that waited for a link to `station`. */
  linked(station: number): void {
    const waiting = this.unlinked.get(station);
    if (waiting === undefined) return;
    this.unlinked.delete(station);
    for (const { envelope, transfer } of waiting) this.post(station, envelope, transfer);
  }

  /** Cells hosted here (for shutdown and tests). */
  localAddresses(): Address[] {
    return [...this.cells.keys()];
  }

  private route(to: Address, body: Message, askId: number | null, timeoutMs: number, transfer: TransferList): void {
    const local = this.cells.get(to);
    if (local !== undefined) {
      if (askId !== null) this.markStation(askId, this.id);
      local.cell.enqueue(body, askId === null ? null : this.localResponder(askId, timeoutMs));
      return;
    }
    const station = this.directory.get(to);
    if (station === undefined) {
      if (askId !== null) this.settle(askId, false, new ShoalError('UNAVAILABLE', `no actor at ${to}`, { to }));
      else this.log.debug('dropped', { to, type: body.type });
      return;
    }
    if (station === RESTARTING) {
      this.hold(to, { body, askId, timeoutMs, transfer });
      return;
    }
    if (askId !== null) this.markStation(askId, station);
    const envelope: MessageEnvelope = {
      k: 'msg',
      to,
      body,
      ask: askId === null ? null : { id: askId, station: this.id, timeoutMs },
    };
    this.post(station, envelope, [...transfer]);
  }

  private hold(to: Address, held: Held): void {
    const queue = this.held.get(to) ?? [];
    if (queue.length >= RUNTIME_LIMITS.heldMessagesMax) {
      if (held.askId !== null)
        this.settle(
          held.askId,
          false,
          new ShoalError('UNAVAILABLE', `${to} is restarting and its queue is full`, { to }),
        );
      return;
    }
    queue.push(held);
    this.held.set(to, queue);
  }

  private post(station: number, envelope: Envelope, transfer: ArrayBuffer[]): void {
    const unique = transfer.length > 1 ? [...new Set(transfer)] : transfer;
    let posted: boolean;
    try {
      posted = this.options.links.post(station, envelope, unique);
    } catch (error) {
      this.failEnvelope(
        envelope,
        new ShoalError('INTERNAL', `cannot post ${envelope.k} to station ${station}: ${toShoalError(error).message}`),
      );
      return;
    }
    if (posted) return;
    const waiting = this.unlinked.get(station);
    if (waiting !== undefined) {
      waiting.push({ envelope, transfer: unique });
      return;
    }
    if (!this.options.links.requestLink(station)) {
      this.failEnvelope(envelope, new ShoalError('UNAVAILABLE', `station ${station} is gone`));
      return;
    }
    this.unlinked.set(station, [{ envelope, transfer: unique }]);
  }

  private failEnvelope(envelope: Envelope, error: ShoalError): void {
    if (envelope.k === 'msg' && envelope.ask !== null && envelope.ask.station === this.id)
      this.settle(envelope.ask.id, false, error);
    else this.log.warn('undeliverable', { kind: envelope.k, error: error.message });
  }

  private receiveMessage(envelope: MessageEnvelope): void {
    const responder =
      envelope.ask === null
        ? null
        : this.remoteResponder(envelope.ask.station, envelope.ask.id, envelope.ask.timeoutMs);
    if (envelope.to === SYSTEM_ADDRESS && this.options.systemHandler !== undefined) {
      if (responder !== null) this.options.systemHandler(envelope.body as SystemRequest, responder);
      return;
    }
    const hosted = this.cells.get(envelope.to);
    if (hosted === undefined) {
      responder?.fail(new ShoalError('UNAVAILABLE', `${envelope.to} is not running`, { to: envelope.to }));
      return;
    }
    hosted.cell.enqueue(envelope.body, responder);
  }

  private receiveReply(envelope: ReplyEnvelope): void {
    if (envelope.ok) this.settle(envelope.id, true, envelope.value);
    else this.settle(envelope.id, false, ShoalError.fromData(envelope.error));
  }

  private settle(askId: number, ok: boolean, value: unknown): void {
    const pending = this.asks.get(askId);
    if (pending === undefined) return;
    this.asks.delete(askId);
    pending.timer.cancel();
    if (ok) pending.resolve(value);
    else pending.reject(value as ShoalError);
  }

  private markStation(askId: number, station: number): void {
    const pending = this.asks.get(askId);
    if (pending !== undefined) pending.station = station;
  }

  private localResponder(askId: number, timeoutMs: number): Responder {
    return this.responder(timeoutMs, (ok, value) => this.settle(askId, ok, ok ? value : toShoalError(value)));
  }

  private remoteResponder(station: number, askId: number, timeoutMs: number): Responder {
    return this.responder(timeoutMs, (ok, value, transfer) => {
      const envelope: ReplyEnvelope = ok
        ? { k: 'reply', id: askId, ok: true, value }
        : { k: 'reply', id: askId, ok: false, error: toErrorData(value) };
      this.post(station, envelope, transfer);
    });
  }

  private responder(
    timeoutMs: number,
    send: (ok: boolean, value: unknown, transfer: ArrayBuffer[]) => void,
  ): Responder {
    let answered = false;
    return {
      deadline: this.options.clock.now() + timeoutMs,
      ok(value, transfer = []) {
        if (answered) return;
        answered = true;
        send(true, value, [...transfer]);
      },
      fail(error) {
        if (answered) return;
        answered = true;
        send(false, error, []);
      },
    };
  }

  private updateDirectory(entries: readonly (readonly [Address, number | null])[]): void {
    for (const [address, station] of entries) {
      if (station === null) this.directory.delete(address);
      else this.directory.set(address, station);
      if (station !== RESTARTING) this.releaseHeld(address);
    }
  }

  private releaseHeld(address: Address): void {
    const queue = this.held.get(address);
    if (queue === undefined) return;
    this.held.delete(address);
    for (const held of queue) {
      if (held.askId !== null && !this.asks.has(held.askId)) continue;
      this.route(address, held.body, held.askId, held.timeoutMs, held.transfer);
    }
  }

  private stationDown(station: number): void {
    this.options.links.drop(station);
    this.unlinked.delete(station);
    for (const [address, where] of this.directory) if (where === station) this.directory.set(address, RESTARTING);
    for (const [id, pending] of this.asks) {
      if (pending.station !== station) continue;
      this.settle(id, false, new ShoalError('UNAVAILABLE', `${pending.to} died before answering`, { to: pending.to }));
    }
  }

  /** Creates, starts and registers an actor here, then reports to the system. */
  async spawn(spec: ActorSpec, incarnation: number): Promise<void> {
    let report: ReportEnvelope;
    try {
      const factory = await this.options.loadFactory(spec);
      const actor = (factory as (args: unknown) => Actor)(spec.args);
      const cell = this.createCell(spec.address, actor, incarnation);
      this.cells.set(spec.address, { cell, incarnation });
      await cell.start();
      report = { k: 'started', address: spec.address, incarnation, threadId: this.options.threadId };
    } catch (error) {
      if (this.cells.get(spec.address)?.incarnation === incarnation) this.cells.delete(spec.address);
      report = { k: 'start-failed', address: spec.address, incarnation, error: toErrorData(error) };
    }
    this.report(report);
  }

  /** Stops a local actor in order (its `stop` runs), then reports. */
  async stopLocal(address: Address, incarnation: number): Promise<void> {
    const hosted = this.cells.get(address);
    if (hosted !== undefined && hosted.incarnation === incarnation) {
      this.cells.delete(address);
      try {
        await hosted.cell.stop();
      } catch (error) {
        this.log.warn('stop-failed', { address, error: toShoalError(error).message });
      }
    }
    this.report({ k: 'stopped', address, incarnation });
  }

  private report(envelope: ReportEnvelope): void {
    this.post(0, envelope, []);
  }

  private createCell(address: Address, actor: Actor, incarnation: number): ActorCell {
    const options = this.options;
    let cell: ActorCell | null = null;
    const ctx: ActorContext = {
      self: address,
      clock: options.clock,
      random: options.random,
      fs: options.fs,
      log: createLogger(address),
      threadId: options.threadId,
      tell: (to, message, transfer) => this.tell(to, message, transfer),
      ask: (to, message, askOptions) => this.ask(to, message, askOptions),
      pipeToSelf<T>(promise: Promise<T>, toMessage: (outcome: Outcome<T>) => Message) {
        promise.then(
          (value) => cell?.enqueue(toMessage({ ok: true, value }), null),
          (error: unknown) => cell?.enqueue(toMessage({ ok: false, error: toShoalError(error) }), null),
        );
      },
      nextTurn: () => new Promise<void>((resolve) => options.schedule(resolve)),
      system: (request, timeoutMs) => this.ask(SYSTEM_ADDRESS, request, { timeoutMs }),
    };
    cell = new ActorCell(
      address,
      actor,
      ctx,
      {
        schedule: options.schedule,
        crashed: (error) => {
          if (this.cells.get(address)?.cell === cell) this.cells.delete(address);
          this.report({ k: 'crashed', address, incarnation, error: error.toData() });
        },
      },
      options.mailboxCapacity,
    );
    return cell;
  }
}
