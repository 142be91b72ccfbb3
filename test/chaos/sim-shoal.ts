/**
 * The host client under the simulator: `Shoal` itself (actors/shoal.ts: the
 * same validation, packing and messages to the same supervisor actor), over a
 * `SimSystem` instead of worker threads. Only opening and restarting differ.
 *
 * One difference on purpose: engines build their segments in their own
 * thread through the simulated filesystem, with the `lsm` policy (see
 * `SIM_ENGINE_SETTINGS`), because hnswlib writes index files to a real disk
 * and piscina threads cannot run inside the simulator.
 */
import type { ActorSpec } from '../../runtime/actor.js';
import type { SimSystem } from '../../runtime/sim/sim-system.js';
import type { StorageOptions } from '../../actors/public-api.js';
import { Shoal, prepareOpen, rootGroup } from '../../actors/client/shoal.js';
import type { ShoalHost } from '../../actors/client/shoal.js';

/** Options of `SimShoal.start`: those of `Shoal.open` that mean something in one simulated node. */
export interface SimShoalOptions {
  readonly dataDir: string;
  readonly requestTimeoutMs?: number;
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  readonly storage?: StorageOptions;
}

/**
 * Engine settings the simulator forces: segments are built in the engine's
 * own thread through the simulated filesystem (`buildInThread`), with the
 * `lsm` policy (no HNSW index files: hnswlib writes those to a real disk),
 * and a small flush threshold so that flushes and compactions happen often.
 */
export const SIM_ENGINE_SETTINGS = { engine: 'lsm', flushThresholdRows: 5 } as const;

/** Rewrites engine specs with `SIM_ENGINE_SETTINGS` and in-thread builds; pass as `SimSystemOptions.specTransform`. */
export function simSpecTransform(spec: ActorSpec): ActorSpec {
  if (!spec.address.startsWith('engine/')) return spec;
  const args = spec.args as { settings?: Record<string, unknown> };
  return { ...spec, args: { ...args, buildInThread: true, settings: { ...args.settings, ...SIM_ENGINE_SETTINGS } } };
}

/** The simulator as a Shoal host: a killed worker thread is a killed actor (one actor per simulated thread). */
function simHost(sim: SimSystem): ShoalHost {
  return {
    ask: (to, message, options) => sim.ask(to, message, options),
    killWorkerOf: (address) => sim.killActor(address),
    crashActor: (address) => sim.crashActor(address),
    shutdown: () => sim.shutdown(),
    clock: sim.clock,
    // The simulation runs only inside an ask, so coalesced searches leave at the end of the microtask queue.
    defer: (callback) => queueMicrotask(callback),
  };
}

/** A Shoal instance inside a simulated node (fault injection on). Every method runs the simulation until it settles. */
export class SimShoal extends Shoal {
  private constructor(
    private readonly sim: SimSystem,
    requestTimeoutMs: number,
  ) {
    super(simHost(sim), requestTimeoutMs, true);
  }

  /**
   * Opens (or creates) the database in `options.dataDir` of the simulated filesystem, as `Shoal.open` does for threads.
   */
  static async start(sim: SimSystem, options: SimShoalOptions): Promise<SimShoal> {
    const { dataDir, requestTimeoutMs, supervisorArgs } = prepareOpen(options);
    // The campaigns pre-create /data durably; like Shoal.open, this only makes sure the folder exists.
    await sim.runUntil(sim.fs.mkdir(dataDir));
    await sim.startGroup(rootGroup(supervisorArgs));
    const shoal = new SimShoal(sim, requestTimeoutMs);
    await shoal.booted();
    return shoal;
  }

  /** After `sim.crashNode()`: restarts the node from its durable state and waits until the supervisor has booted. */
  async restart(): Promise<void> {
    await this.sim.restartNode();
    await this.booted();
  }
}
