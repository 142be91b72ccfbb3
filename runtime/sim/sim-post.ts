/**
 * Messaging of the simulated system, with the contract of the threaded
 * `Station` (runtime/station.ts): `tell`; `ask` with a deadline (TIMEOUT
 * after `timeoutMs`, UNAVAILABLE when the target is unknown, not running or
 * dies before answering); replies; messages to a restarting actor held until
 * it is back; a message to oneself goes straight into one's own mailbox,
 * unchanged, as a local message does in a station.
 *
 * Every other message is deep-copied at send time (`structuredClone`, with
 * its transfer list: the sender's buffers are detached at once), crosses the
 * simulated network (one scheduler event per delivered copy, possibly
 * dropped, duplicated or cut off) and is one trace line when delivered.
 */
import type { Address, AskOptions, Message, Responder, SystemRequest, TransferList } from '../actor.js';
import type { ActorCell } from '../actor-cell.js';
import { ShoalError, toErrorData, toShoalError } from '../errors.js';
import type { ErrorData } from '../errors.js';
import { RUNTIME_LIMITS } from '../limits.js';
import { SYSTEM_ADDRESS } from '../protocol.js';
import type { Gate } from './gate.js';
import type { Network } from './network.js';
import type { Cancellable, Scheduler } from './scheduler.js';

/** The address the host (test or client) sends from. */
export const HOST_ADDRESS = '$host';

/** A sender or receiver: an actor incarnation, the host or the system. */
export interface Endpoint {
  readonly address: Address;
  /** Unique per actor incarnation; 0 for the host, negative for the system. */
  readonly id: number;
  /** Closed when this incarnation (or the system's epoch) is gone: nothing reaches its code any more. */
  readonly gate: Gate;
  /** The sender's own cell while it has one: a message to itself goes straight in. */
  readonly cell?: () => ActorCell | null;
}

/** Where an address lives now, as the post sees it. */
export type Whereabouts =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'restarting' }
  | { readonly kind: 'placed'; readonly endpoint: Endpoint; readonly cell: ActorCell };

/** What the post needs from the system. */
export interface PostOptions {
  readonly scheduler: Scheduler;
  readonly network: Network;
  readonly locate: (address: Address) => Whereabouts;
  /** Handles an ask addressed to the system. */
  readonly system: (request: SystemRequest, responder: Responder) => void;
  /** The system as a responder (its gate closes at a node crash). */
  readonly systemEndpoint: () => Endpoint;
}

interface PendingAsk {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ShoalError) => void;
  readonly timer: Cancellable;
  readonly to: Address;
  readonly owner: Endpoint;
  /** The incarnation the ask went to; its death fails the ask. */
  targetId: number | null;
}

/** A message on its way: the body is already the receiver's own copy. */
interface Letter {
  readonly from: Endpoint;
  readonly to: Address;
  readonly body: Message;
  readonly askId: number | null;
  readonly timeoutMs: number;
}

type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ErrorData };

/** A responder that answers once, like the station's. */
function makeResponder(
  deadline: number,
  send: (ok: boolean, value: unknown, transfer: TransferList) => void,
): Responder {
  let answered = false;
  return {
    deadline,
    ok(value, transfer = []) {
      if (answered) return;
      answered = true;
      send(true, value, transfer);
    },
    fail(error) {
      if (answered) return;
      answered = true;
      send(false, error, []);
    },
  };
}

/** A deep copy with `transfer`'s buffers moved (detached from the sender), as postMessage makes. */
export function copyMessage<T>(value: T, transfer: TransferList): T {
  const unique = transfer.length > 1 ? [...new Set(transfer)] : [...transfer];
  return structuredClone(value, { transfer: unique });
}

function askLabel(askId: number | null): string {
  return askId === null ? '' : ` ask#${askId}`;
}

/** Delivers messages between the endpoints of one simulated system. */
export class Post {
  private readonly asks = new Map<number, PendingAsk>();
  private readonly held = new Map<Address, Letter[]>();
  private nextAskId = 1;
  /** Bumped by a node crash: deliveries scheduled before it are lost. */
  private generation = 0;

  constructor(private readonly options: PostOptions) {}

  /** Sends without waiting; a message to an unknown actor is dropped (traced). */
  tell(from: Endpoint, to: Address, body: Message, transfer: TransferList = []): void {
    const own = this.ownCell(from, to);
    if (own !== null) {
      this.record(`local ${to} ${body.type}`);
      own.enqueue(body, null);
      return;
    }
    if (to === SYSTEM_ADDRESS) return;
    let copy: Message;
    try {
      copy = copyMessage(body, transfer);
    } catch (error) {
      this.record(`undeliverable ${from.address}->${to} ${body.type}: ${toShoalError(error).message}`);
      return;
    }
    this.route({ from, to, body: copy, askId: null, timeoutMs: 0 });
  }

  /** Sends and waits for the answer, at most `timeoutMs` of virtual time. */
  ask<T>(from: Endpoint, to: Address, body: Message, options: AskOptions): Promise<T> {
    const timeoutMs = options.timeoutMs;
    if (!(timeoutMs > 0))
      return Promise.reject(new ShoalError('INVALID_ARGUMENT', `ask timeoutMs must be positive, got ${timeoutMs}`));
    return new Promise<T>((resolve, reject) => {
      const askId = this.nextAskId++;
      const timer = this.options.scheduler.at(timeoutMs * 1000, () => this.timedOut(askId, body.type, timeoutMs));
      this.asks.set(askId, {
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
        to,
        owner: from,
        targetId: null,
      });
      this.dispatchAsk(from, to, body, askId, timeoutMs, options.transfer ?? []);
    });
  }

  /** `address` is running again, or gone for good: re-routes the messages held for it, in order. */
  release(address: Address): void {
    const queue = this.held.get(address);
    if (queue === undefined) return;
    this.held.delete(address);
    for (const letter of queue) {
      if (letter.askId !== null && !this.asks.has(letter.askId)) continue;
      this.route(letter);
    }
  }

  /** The incarnation `id` died with its thread: asks it made vanish, asks made to it fail UNAVAILABLE. */
  killed(id: number): void {
    for (const [askId, pending] of this.asks) {
      if (pending.owner.id === id) {
        pending.timer.cancel();
        this.asks.delete(askId);
      } else if (pending.targetId === id) {
        this.settle(
          askId,
          false,
          new ShoalError('UNAVAILABLE', `${pending.to} died before answering`, { to: pending.to }),
        );
      }
    }
    for (const [address, queue] of this.held)
      this.held.set(
        address,
        queue.filter((letter) => letter.from.id !== id),
      );
  }

  /** The whole node crashed: the host's asks fail UNAVAILABLE, everything else in flight is forgotten. */
  nodeCrashed(hostId: number): void {
    this.generation++;
    this.held.clear();
    for (const [askId, pending] of this.asks) {
      if (pending.owner.id === hostId) {
        this.settle(
          askId,
          false,
          new ShoalError('UNAVAILABLE', `the node crashed before ${pending.to} answered`, { to: pending.to }),
        );
      } else {
        pending.timer.cancel();
        this.asks.delete(askId);
      }
    }
  }

  private dispatchAsk(
    from: Endpoint,
    to: Address,
    body: Message,
    askId: number,
    timeoutMs: number,
    transfer: TransferList,
  ): void {
    const own = this.ownCell(from, to);
    if (own !== null) {
      this.record(`local ${to} ${body.type}${askLabel(askId)}`);
      this.markTarget(askId, from.id);
      own.enqueue(
        body,
        makeResponder(this.options.scheduler.nowMs + timeoutMs, (ok, value) =>
          this.settle(askId, ok, ok ? value : toShoalError(value)),
        ),
      );
      return;
    }
    let copy: Message;
    try {
      copy = copyMessage(body, transfer);
    } catch (error) {
      this.settle(
        askId,
        false,
        new ShoalError('INTERNAL', `cannot post ${body.type} to ${to}: ${toShoalError(error).message}`),
      );
      return;
    }
    if (to === SYSTEM_ADDRESS) this.askSystem({ from, to, body: copy, askId, timeoutMs });
    else this.route({ from, to, body: copy, askId, timeoutMs });
  }

  private route(letter: Letter): void {
    const where = this.options.locate(letter.to);
    if (where.kind === 'unknown') {
      if (letter.askId !== null)
        this.settle(letter.askId, false, new ShoalError('UNAVAILABLE', `no actor at ${letter.to}`, { to: letter.to }));
      else this.record(`drop ${letter.from.address}->${letter.to} ${letter.body.type} (unknown)`);
      return;
    }
    if (where.kind === 'restarting') return this.hold(letter);
    if (letter.askId !== null) this.markTarget(letter.askId, where.endpoint.id);
    this.send(letter);
  }

  private hold(letter: Letter): void {
    const queue = this.held.get(letter.to) ?? [];
    if (queue.length >= RUNTIME_LIMITS.heldMessagesMax) {
      if (letter.askId !== null)
        this.settle(
          letter.askId,
          false,
          new ShoalError('UNAVAILABLE', `${letter.to} is restarting and its queue is full`, { to: letter.to }),
        );
      return;
    }
    queue.push(letter);
    this.held.set(letter.to, queue);
  }

  private send(letter: Letter): void {
    const { from, to, body } = letter;
    const faulty = !from.address.startsWith('$') && !to.startsWith('$');
    const plan = this.options.network.plan(from.address, to, this.options.scheduler.nowMicros, faulty);
    if (plan.fault !== null)
      this.record(`fault ${plan.fault} ${from.address}->${to} ${body.type}${askLabel(letter.askId)}`);
    plan.delaysUs.forEach((delayUs, copyIndex) => {
      const copy = copyIndex === 0 ? letter : { ...letter, body: structuredClone(body) };
      this.later(delayUs, () => this.deliver(copy));
    });
  }

  private deliver(letter: Letter): void {
    const { from, to, body, askId } = letter;
    this.record(`deliver ${from.address}->${to} ${body.type}${askLabel(askId)}`);
    const where = this.options.locate(to);
    if (where.kind === 'placed' && where.cell.alive) {
      if (askId !== null) this.markTarget(askId, where.endpoint.id);
      where.cell.enqueue(body, askId === null ? null : this.remoteResponder(where.endpoint, letter));
      return;
    }
    if (askId === null) {
      this.record(`drop ${from.address}->${to} ${body.type} (not running)`);
      return;
    }
    const ghost: Endpoint = { address: to, id: Number.NaN, gate: this.options.systemEndpoint().gate };
    this.remoteResponder(ghost, letter).fail(new ShoalError('UNAVAILABLE', `${to} is not running`, { to }));
  }

  private askSystem(letter: Letter): void {
    const system = this.options.systemEndpoint();
    const plan = this.options.network.plan(
      letter.from.address,
      SYSTEM_ADDRESS,
      this.options.scheduler.nowMicros,
      false,
    );
    for (const delayUs of plan.delaysUs) {
      this.later(delayUs, () => {
        if (!system.gate.open) return;
        this.record(`deliver ${letter.from.address}->${SYSTEM_ADDRESS} ${letter.body.type}${askLabel(letter.askId)}`);
        this.options.system(letter.body as unknown as SystemRequest, this.remoteResponder(system, letter));
      });
    }
  }

  /** Answers `letter`'s ask from `responding`, across the network; nothing once `responding` is dead. */
  private remoteResponder(responding: Endpoint, letter: Letter): Responder {
    const askId = letter.askId as number;
    return makeResponder(this.options.scheduler.nowMs + letter.timeoutMs, (ok, value, transfer) => {
      if (!responding.gate.open) return;
      let reply: Reply;
      try {
        reply = ok ? { ok: true, value: copyMessage(value, transfer) } : { ok: false, error: toErrorData(value) };
      } catch (error) {
        this.record(
          `undeliverable reply ${responding.address}->${letter.from.address}${askLabel(askId)}: ` +
            toShoalError(error).message,
        );
        return;
      }
      this.sendReply(responding.address, letter.from, askId, reply);
    });
  }

  private sendReply(from: Address, asker: Endpoint, askId: number, reply: Reply): void {
    const faulty = !from.startsWith('$') && !asker.address.startsWith('$');
    const plan = this.options.network.plan(from, asker.address, this.options.scheduler.nowMicros, faulty);
    const outcome = reply.ok ? 'ok' : `ERR ${reply.error.code}`;
    if (plan.fault !== null) this.record(`fault ${plan.fault} reply ${from}->${asker.address}${askLabel(askId)}`);
    for (const delayUs of plan.delaysUs) {
      this.later(delayUs, () => {
        if (!this.asks.has(askId)) return;
        this.record(`reply ${from}->${asker.address}${askLabel(askId)} ${outcome}`);
        if (reply.ok) this.settle(askId, true, reply.value);
        else this.settle(askId, false, ShoalError.fromData(reply.error));
      });
    }
  }

  private timedOut(askId: number, type: string, timeoutMs: number): void {
    const pending = this.asks.get(askId);
    if (pending === undefined) return;
    this.record(`timeout ${pending.owner.address}->${pending.to} ${type}${askLabel(askId)}`);
    this.settle(
      askId,
      false,
      new ShoalError('TIMEOUT', `${type} to ${pending.to} timed out after ${timeoutMs} ms`, {
        to: pending.to,
        type,
        timeoutMs,
      }),
    );
  }

  private settle(askId: number, ok: boolean, value: unknown): void {
    const pending = this.asks.get(askId);
    if (pending === undefined) return;
    this.asks.delete(askId);
    pending.timer.cancel();
    if (!pending.owner.gate.open) return;
    if (ok) pending.resolve(value);
    else pending.reject(toShoalError(value));
  }

  /** Runs `action` after `delayUs` unless the node crashes first (messages in flight are lost with it). */
  private later(delayUs: number, action: () => void): void {
    const generation = this.generation;
    this.options.scheduler.at(delayUs, () => {
      if (generation === this.generation) action();
    });
  }

  private markTarget(askId: number, id: number): void {
    const pending = this.asks.get(askId);
    if (pending !== undefined) pending.targetId = id;
  }

  private ownCell(from: Endpoint, to: Address): ActorCell | null {
    if (from.address !== to || from.cell === undefined) return null;
    const cell = from.cell();
    return cell?.alive ? cell : null;
  }

  private record(line: string): void {
    this.options.scheduler.record(line);
  }
}
