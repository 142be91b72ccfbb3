/**
 * The simulated network between actors: how long each hop takes and which
 * messages are lost, duplicated or cut off by a partition, all drawn from
 * its own seeded PRNG. By default delivery is reliable and FIFO per (sender,
 * receiver) link, as MessagePorts between worker threads are; delays still
 * differ per message, so messages from different senders interleave in
 * seed-dependent orders. Drops, duplicates, reordering within a link and
 * partitions are faults a campaign switches on: the threaded runtime never
 * does them, but a network between machines will.
 */
import type { Address } from '../actor.js';
import type { Random } from '../random.js';

/** Network behaviour; every probability is per message copy. */
export interface NetworkOptions {
  /** Delay of one hop in virtual microseconds, uniform in [min, max]. */
  readonly delayUsMin: number;
  readonly delayUsMax: number;
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  /** Lets messages of one link overtake each other (breaks the per-link FIFO the actors may rely on). */
  readonly reorder: boolean;
}

/** Reliable, FIFO per link, 20 to 300 µs per hop. */
export const RELIABLE_NETWORK: NetworkOptions = {
  delayUsMin: 20,
  delayUsMax: 300,
  dropProbability: 0,
  duplicateProbability: 0,
  reorder: false,
};

/** What happens to one message: when each copy arrives (µs from now), and the fault, if any. */
export interface DeliveryPlan {
  readonly delaysUs: readonly number[];
  readonly fault: 'drop' | 'partition' | 'duplicate' | null;
}

/** An address pattern: exact, or a prefix ending in `*` (`wal/*`). */
export type AddressPattern = string;

interface Partition {
  readonly left: readonly AddressPattern[];
  readonly right: readonly AddressPattern[];
}

function matches(patterns: readonly AddressPattern[], address: Address): boolean {
  return patterns.some((pattern) =>
    pattern.endsWith('*') ? address.startsWith(pattern.slice(0, -1)) : pattern === address,
  );
}

/** Plans deliveries between addresses. */
export class Network {
  private options: NetworkOptions;
  private readonly partitions: Partition[] = [];
  /** Per link, when its last message arrives: later messages never arrive earlier (FIFO). */
  private readonly linkArrivalUs = new Map<string, number>();

  constructor(
    private readonly random: Random,
    options: Partial<NetworkOptions> = {},
  ) {
    this.options = { ...RELIABLE_NETWORK, ...options };
  }

  /** The behaviour now. */
  get settings(): NetworkOptions {
    return this.options;
  }

  /** Changes the behaviour from now on. */
  configure(options: Partial<NetworkOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Cuts every link between an address matching `left` and one matching `right`, both ways, until `heal`. */
  partition(left: readonly AddressPattern[], right: readonly AddressPattern[]): void {
    this.partitions.push({ left: [...left], right: [...right] });
  }

  /** Removes every partition. */
  heal(): void {
    this.partitions.length = 0;
  }

  /** Forgets link state (after a node crash). */
  reset(): void {
    this.linkArrivalUs.clear();
  }

  /** True when a partition separates `from` and `to`. */
  isCut(from: Address, to: Address): boolean {
    return this.partitions.some(
      (cut) =>
        (matches(cut.left, from) && matches(cut.right, to)) || (matches(cut.right, from) && matches(cut.left, to)),
    );
  }

  /**
   * Plans one message from `from` to `to` sent at `nowUs`. `faulty` false
   * (hops to and from the system or the host) is never dropped or
   * duplicated, but may still be cut by a partition naming it.
   */
  plan(from: Address, to: Address, nowUs: number, faulty: boolean): DeliveryPlan {
    if (this.isCut(from, to)) return { delaysUs: [], fault: 'partition' };
    const { dropProbability, duplicateProbability } = this.options;
    if (faulty && dropProbability > 0 && this.random.next() < dropProbability) return { delaysUs: [], fault: 'drop' };
    const first = this.arrival(from, to, nowUs);
    if (!(faulty && duplicateProbability > 0 && this.random.next() < duplicateProbability))
      return { delaysUs: [first - nowUs], fault: null };
    return { delaysUs: [first - nowUs, this.arrival(from, to, nowUs) - nowUs], fault: 'duplicate' };
  }

  private arrival(from: Address, to: Address, nowUs: number): number {
    const { delayUsMin, delayUsMax, reorder } = this.options;
    const drawn = nowUs + delayUsMin + this.random.int(Math.max(0, delayUsMax - delayUsMin) + 1);
    if (reorder) return drawn;
    const link = `${from}\u0000${to}`;
    const arrival = Math.max(drawn, this.linkArrivalUs.get(link) ?? 0);
    this.linkArrivalUs.set(link, arrival);
    return arrival;
  }
}
