/**
 * The chaos task of a simulated campaign: runs the planned faults
 * (`sim-fault-plan.ts`) at their virtual times while the clients work, and
 * tells the histories what each fault may legitimately undo.
 */
import { RELIABLE_NETWORK } from '../../runtime/sim/network.js';
import { shardOf } from '../../cluster/routing.js';
import { checkpoint } from './sim-checkpoint.js';
import type { Campaign, CollectionModel } from './sim-context.js';
import { codeOf, violation } from './sim-context.js';
import type { PlannedFault } from './sim-fault-plan.js';
import { PERIODIC_SLACK_MS } from './sim-history.js';

/**
 * WAL segment files: the only files a power loss may garble (they carry checksums; other files rely on atomic renames).
 */
export const GARBLED_PATHS = /\/wal\/.*\.wal$/;

/** Most attempts at dropping or creating a collection (each may time out under a faulty network). */
const CONTROL_ATTEMPTS_MAX = 5;

/** Runs `faults` in order, each at its time after `startMs`, until the clients are done. */
export async function runChaos(campaign: Campaign, faults: readonly PlannedFault[], startMs: number): Promise<void> {
  for (const fault of faults) {
    const waitMs = startMs + fault.atMs - campaign.sim.now();
    if (waitMs > 0) await campaign.sim.sleep(waitMs);
    if (campaign.clientsDone) return;
    campaign.faults[fault.kind] = (campaign.faults[fault.kind] ?? 0) + 1;
    switch (fault.kind) {
      case 'node':
        await crashAndCheck(campaign, true);
        break;
      case 'process':
        await crashAndCheck(campaign, false);
        break;
      case 'actor':
        await actorFault(campaign, fault);
        break;
      case 'io':
        await ioFault(campaign, fault);
        break;
      case 'drop':
        await dropFault(campaign, fault);
        break;
    }
  }
}

function target(campaign: Campaign, fault: PlannedFault): CollectionModel {
  return campaign.collections[fault.collection % campaign.collections.length] as CollectionModel;
}

async function actorFault(campaign: Campaign, fault: PlannedFault): Promise<void> {
  const model = target(campaign, fault);
  if (!model.live) return;
  const actors = ['wal', 'engine', 'shard'] as const;
  const actor = actors[Math.floor(fault.choice * 6) % 3] as (typeof actors)[number];
  const kind = fault.choice < 0.5 ? 'crash' : 'kill-worker';
  await campaign.shoal
    .injectFault({ kind, actor, collection: model.spec.name, shard: fault.shard % model.spec.shards })
    .catch(() => undefined);
}

/**
 * Fails the next WAL write or fdatasync of one shard (EIO, or ENOSPC for a
 * write), then, a little later, crashes that WAL writer so the shard
 * recovers. A failed `periodic` WAL reopens cut back to its last fdatasync,
 * so the writes it acknowledged since may be gone: their outcome becomes
 * unknown. (`always` and `batch` acknowledge only synced writes; `never`
 * treats each completed write as final.)
 */
async function ioFault(campaign: Campaign, fault: PlannedFault): Promise<void> {
  const model = target(campaign, fault);
  if (!model.live || model.info === null) return;
  const shard = fault.shard % model.spec.shards;
  const operation = fault.choice < 0.5 ? 'write' : 'datasync';
  const code = operation === 'write' && fault.choice < 0.15 ? 'ENOSPC' : 'EIO';
  const armedAtMs = campaign.sim.now();
  campaign.sim.fs.failNext(operation, code, { pathIncludes: `/wal/${model.info.id}/${shard}/` });
  await campaign.sim.sleep(fault.delayMs);
  campaign.sim.fs.disarm();
  await campaign.shoal
    .injectFault({ kind: 'crash', actor: 'wal', collection: model.spec.name, shard })
    .catch(() => undefined);
  if (model.spec.syncMode === 'periodic') {
    const ids = model.history.ids().filter((id) => shardOf(id, model.spec.shards) === shard);
    model.history.weaken(ids, armedAtMs - (model.spec.syncIntervalMs ?? 200) - PERIODIC_SLACK_MS);
  }
}

/**
 * Drops the target collection (its history: "absent" for every id, durable
 * once acknowledged), then, for most choices, creates it again after a
 * while: the new incarnation starts empty. A target already dropped is
 * created again. Retries until the outcome is known.
 */
async function dropFault(campaign: Campaign, fault: PlannedFault): Promise<void> {
  const model = target(campaign, fault);
  if (model.live) {
    await dropCollection(campaign, model);
    if (fault.choice >= 0.7) return;
    await campaign.sim.sleep(fault.delayMs);
  }
  await createCollection(campaign, model);
}

async function dropCollection(campaign: Campaign, model: CollectionModel): Promise<void> {
  const writes = model.history.issueDrop();
  model.live = false;
  const id = model.info?.id ?? '?';
  for (let attempt = 1; ; attempt++) {
    try {
      await campaign.shoal.dropCollection(model.spec.name);
      break;
    } catch (error) {
      // A retry after a drop that happened although its answer was lost finds nothing to drop.
      if (attempt > 1 && codeOf(error) === 'COLLECTION_NOT_FOUND') break;
      if (attempt >= CONTROL_ATTEMPTS_MAX) {
        violation(
          campaign,
          `dropping ${model.spec.name} (${id}) failed ${attempt} times: ${codeOf(error)} ${(error as Error).message}`,
        );
        return;
      }
    }
  }
  for (const write of writes) model.history.acknowledge(write, campaign.sim.now());
  campaign.dropped.push({ id, atMs: campaign.sim.now() });
  model.info = null;
}

async function createCollection(campaign: Campaign, model: CollectionModel): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      model.info = await campaign.shoal.createCollection(collectionOptions(campaign, model));
      break;
    } catch (error) {
      if (attempt > 1 && codeOf(error) === 'COLLECTION_EXISTS') {
        model.info = (await campaign.shoal.listCollections()).find((info) => info.name === model.spec.name) ?? null;
        break;
      }
      if (attempt >= CONTROL_ATTEMPTS_MAX) {
        violation(
          campaign,
          `creating ${model.spec.name} failed ${attempt} times: ${codeOf(error)} ${(error as Error).message}`,
        );
        return;
      }
    }
  }
  if (model.info === null) {
    violation(campaign, `creating ${model.spec.name} answered COLLECTION_EXISTS, but it is not listed`);
    return;
  }
  model.live = true;
  model.liveSince = model.history.stamp();
  model.incarnations++;
  model.walUrls.add(model.info.placement.wal);
}

/** The `createCollection` options of a modelled collection. */
export function collectionOptions(
  campaign: Campaign,
  model: CollectionModel,
): Parameters<Campaign['shoal']['createCollection']>[0] {
  const { name, syncMode, syncIntervalMs, shards } = model.spec;
  return {
    name,
    dimension: campaign.settings.dimension,
    metric: campaign.settings.metric,
    shards,
    syncMode,
    ...(syncIntervalMs === undefined ? {} : { syncIntervalMs }),
  };
}

/**
 * Crashes the node with the clients paused: a power loss (unsynced data
 * lost, torn or garbled) or a process crash (the page cache survives);
 * restarts it and checks what survived against each collection's promise.
 */
export async function crashAndCheck(campaign: Campaign, powerLoss: boolean): Promise<void> {
  let resume: () => void = () => undefined;
  campaign.pause = new Promise<void>((resolve) => (resume = resolve));
  try {
    const crash = { powerLoss, atMs: campaign.sim.now() };
    for (const model of campaign.collections) model.history.noteCrash(crash);
    const report = campaign.sim.crashNode({
      powerLoss,
      garbleProbability: campaign.settings.garbleProbability,
      garblePaths: GARBLED_PATHS,
    });
    if (powerLoss) {
      campaign.counts.powerLosses++;
      campaign.lastPowerLossAtMs = crash.atMs;
    } else {
      campaign.counts.processCrashes++;
    }
    campaign.counts.tornWrites += report.tornWrites;
    campaign.counts.garbledWrites += report.garbledWrites;
    campaign.sim.network.configure(RELIABLE_NETWORK);
    await campaign.shoal.restart();
    await checkpoint(campaign, powerLoss ? 'after a power loss' : 'after a process crash', crash);
  } finally {
    campaign.sim.network.configure(campaign.network);
    campaign.pause = null;
    resume();
  }
}
