/**
 * A checkpoint of a simulated campaign, on a quiescent node (clients paused
 * or done, reliable network): the collections that exist are exactly those
 * the campaign created and did not drop, each as the incarnation it knows;
 * every id of every collection holds a value its history allows (after a
 * crash: under the collection's sync mode); exact searches, one of them
 * filtered on metadata, agree with the state read; and the files are where the placement says: each WAL and
 * segment folder under the storage URL its collection was assigned and
 * under no other, and nothing left of a dropped collection.
 */
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CollectionInfo, RecordResult } from '../../actors/public-api.js';
import { STORAGE_COMPONENTS } from '../../storage/placement.js';
import type { Campaign, CollectionModel } from './sim-context.js';
import { codeOf, randomVector, violation } from './sim-context.js';
import { checkExactSearch } from './sim-history.js';
import type { CrashEvent, RecordValue } from './sim-history.js';

/** Runs `work` up to four times (shards may still be restarting); null, with a violation, when every attempt failed. */
async function retried<T>(campaign: Campaign, what: string, work: () => Promise<T>): Promise<T | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= 3) {
        violation(campaign, `${what} failed: ${codeOf(error)} ${(error as Error).message}`);
        return null;
      }
    }
  }
}

/** Checks everything (see the module header); what was read becomes each history's truth (`History.settle`). */
export async function checkpoint(campaign: Campaign, when: string, crash: CrashEvent | null): Promise<void> {
  campaign.counts.checks++;
  const listed = await retried(campaign, `${when}: listing collections`, () => campaign.shoal.listCollections());
  if (listed !== null) checkCollectionList(campaign, when, listed);
  for (const model of campaign.collections) {
    if (!model.live) continue;
    await checkCollection(campaign, when, model, crash);
    checkPlacement(campaign, when, model);
  }
  checkDroppedFolders(campaign, when);
}

function checkCollectionList(campaign: Campaign, when: string, listed: readonly CollectionInfo[]): void {
  const byName = new Map(listed.map((info) => [info.name, info]));
  for (const model of campaign.collections) {
    const found = byName.get(model.spec.name);
    if (model.live && found === undefined)
      violation(campaign, `${when}: collection ${model.spec.name} (${model.info?.id}) is missing`);
    else if (model.live && found !== undefined && found.id !== model.info?.id)
      violation(campaign, `${when}: collection ${model.spec.name} is ${found.id}, created as ${model.info?.id}`);
    else if (!model.live && found !== undefined)
      violation(campaign, `${when}: collection ${model.spec.name} (${found.id}) exists after it was dropped`);
    byName.delete(model.spec.name);
  }
  for (const name of byName.keys()) violation(campaign, `${when}: collection ${name} was never created`);
}

async function checkCollection(
  campaign: Campaign,
  when: string,
  model: CollectionModel,
  crash: CrashEvent | null,
): Promise<void> {
  const { history, spec } = model;
  const ids = history.ids();
  const found = await retried<RecordResult[]>(campaign, `${when}: reading ${spec.name}`, () =>
    campaign.shoal.get(spec.name, ids),
  );
  if (found === null) return;
  const observed = new Map<string, RecordValue>(ids.map((id) => [id, null]));
  for (const record of found) {
    if (!observed.has(record.id))
      violation(campaign, `${when}: ${spec.name} returned ${record.id}, which was not asked for`);
    observed.set(record.id, { vector: record.vector, metadata: record.metadata });
  }
  for (const id of ids) {
    const problem = history.check(id, observed.get(id) ?? null, crash);
    if (problem !== null) violation(campaign, `${when}: ${spec.name} (${spec.syncMode}): ${problem}`);
  }
  history.settle(observed, campaign.sim.now(), crash);
  for (let query = 0; query < 4; query++) {
    const vector = randomVector(campaign.checkRandom, campaign.settings.dimension);
    const k = 1 + campaign.checkRandom.int(8);
    // The last query filters on the writing client (metadata `{ client, step }`): the model keeps that client's records
    // only.
    const client = query === 3 ? campaign.checkRandom.int(campaign.settings.clients) : null;
    const filter = client === null ? {} : { filter: { client } };
    const hits = await retried(campaign, `${when}: searching ${spec.name}`, () =>
      campaign.shoal.search(spec.name, { vector: vector.slice(), k, exact: true, ...filter }),
    );
    if (hits === null) return;
    const state =
      client === null
        ? observed
        : new Map(
            [...observed].filter(
              ([, value]) => value !== null && (value.metadata as { client?: unknown } | null)?.client === client,
            ),
          );
    const problem = checkExactSearch(state, vector, k, campaign.settings.metric, hits);
    if (problem !== null)
      violation(campaign, `${when}: ${spec.name}${client === null ? '' : ` (filter client=${client})`}: ${problem}`);
  }
}

/** Collection ids under `<root>/<component>`, in the simulated filesystem's current view. */
function idsUnder(campaign: Campaign, root: string, component: string): string[] {
  return campaign.sim.fs.peekEntries(posix.join(root, component));
}

function checkPlacement(campaign: Campaign, when: string, model: CollectionModel): void {
  const info = model.info;
  if (info === null) return;
  const { walUrls, viperUrls } = campaign.storage;
  for (const [component, urls] of [
    ['wal', walUrls],
    ['viper', viperUrls],
  ] as const) {
    const url = info.placement[component];
    if (!urls.includes(url))
      violation(campaign, `${when}: ${info.id} has ${component} at ${url}, not one of ${urls.join(', ')}`);
    for (const other of urls) {
      const holds = idsUnder(campaign, fileURLToPath(other), component).includes(info.id);
      if (other === url && !holds)
        violation(campaign, `${when}: ${info.id} has no ${component} folder under its storage URL ${url}`);
      if (other !== url && holds)
        violation(campaign, `${when}: ${info.id} has a ${component} folder under ${other}, but is placed at ${url}`);
    }
  }
  const walRoot = fileURLToPath(info.placement.wal);
  for (let shard = 0; shard < info.shards; shard++) {
    const segments = campaign.sim.fs
      .peekEntries(posix.join(walRoot, 'wal', info.id, String(shard)))
      .filter((name) => name.endsWith('.wal'));
    if (segments.length === 0)
      violation(campaign, `${when}: ${info.id} shard ${shard} has no WAL segment under ${walRoot}`);
  }
}

/** A dropped collection leaves no folder, unless a power loss since its drop undid the (unsynced) removal. */
function checkDroppedFolders(campaign: Campaign, when: string): void {
  for (const dropped of campaign.dropped) {
    if (campaign.lastPowerLossAtMs >= dropped.atMs) continue;
    for (const root of campaign.storage.roots) {
      for (const component of STORAGE_COMPONENTS) {
        if (idsUnder(campaign, root, component).includes(dropped.id))
          violation(
            campaign,
            `${when}: ${posix.join(root, component, dropped.id)} is still there after the collection was dropped`,
          );
      }
    }
  }
}
