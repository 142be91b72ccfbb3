/**
 * The clients of a simulated campaign. Each draws from a random stream of
 * its own, so its k-th operation is the same whatever the other clients or
 * the faults do (which keeps a shrunk run close to the original): pick a
 * collection, then upsert, delete, get or search over a small pool of ids,
 * then think for 10 to 100 ms. Every write goes into the collection's
 * history; every get is checked against it at once (linearizable per id).
 */
import { SeededRandom } from '../../runtime/random.js';
import type { Random } from '../../runtime/random.js';
import type { Campaign, CollectionModel } from './sim-context.js';
import { countFailure, pickIds, randomVector, violation } from './sim-context.js';
import { deriveSeed } from './sim-fault-plan.js';
import type { RecordValue } from './sim-history.js';

/** Runs client `client` for the campaign's number of operations, waiting while a checkpoint pauses the node. */
export async function runClient(campaign: Campaign, client: number): Promise<void> {
  const random = new SeededRandom(deriveSeed(campaign.settings.seed, `client ${client}`));
  for (let step = 0; step < campaign.settings.operationsPerClient; step++) {
    while (campaign.pause !== null) await campaign.pause;
    campaign.counts.operations++;
    const model = campaign.collections[random.int(campaign.collections.length)] as CollectionModel;
    const roll = random.next();
    if (roll < 0.5) await upsert(campaign, model, random, client, step);
    else if (roll < 0.65) await remove(campaign, model, random);
    else if (roll < 0.85) await read(campaign, model, random);
    else await search(campaign, model, random);
    await campaign.sim.sleep(10 + random.int(90));
  }
}

async function upsert(
  campaign: Campaign,
  model: CollectionModel,
  random: Random,
  client: number,
  step: number,
): Promise<void> {
  const { history } = model;
  const records = pickIds(random, history.ids(), 1 + random.int(3)).map((id) => ({
    id,
    vector: randomVector(random, campaign.settings.dimension),
    metadata: { client, step },
  }));
  const writes = records.map((record) =>
    history.issue(record.id, { vector: record.vector.slice(), metadata: record.metadata }),
  );
  const issued = history.stamp();
  try {
    await campaign.shoal.upsert(model.spec.name, records);
    campaign.counts.acknowledged++;
    model.acknowledgedWrites++;
    for (const write of writes) history.acknowledge(write, campaign.sim.now());
  } catch (error) {
    countFailure(campaign, model, issued, error);
  }
}

async function remove(campaign: Campaign, model: CollectionModel, random: Random): Promise<void> {
  const { history } = model;
  const ids = pickIds(random, history.ids(), 1 + random.int(2));
  const writes = ids.map((id) => history.issue(id, null));
  const issued = history.stamp();
  try {
    await campaign.shoal.delete(model.spec.name, ids);
    campaign.counts.acknowledged++;
    model.acknowledgedWrites++;
    for (const write of writes) history.acknowledge(write, campaign.sim.now());
  } catch (error) {
    countFailure(campaign, model, issued, error);
  }
}

async function read(campaign: Campaign, model: CollectionModel, random: Random): Promise<void> {
  const { history } = model;
  const ids = pickIds(random, history.ids(), 1 + random.int(4));
  const issued = history.stamp();
  try {
    const found = await campaign.shoal.get(model.spec.name, ids);
    const completed = history.stamp();
    campaign.counts.acknowledged++;
    const byId = new Map<string, RecordValue>(
      found.map((record) => [record.id, { vector: record.vector, metadata: record.metadata }]),
    );
    for (const record of found)
      if (!ids.includes(record.id))
        violation(campaign, `${model.spec.name}: a get of ${ids.join(', ')} returned ${record.id}`);
    for (const id of ids) {
      const problem = history.checkRead(id, byId.get(id) ?? null, issued, completed);
      if (problem !== null) violation(campaign, `${model.spec.name}: ${problem}`);
    }
  } catch (error) {
    countFailure(campaign, model, issued, error);
  }
}

async function search(campaign: Campaign, model: CollectionModel, random: Random): Promise<void> {
  const k = 1 + random.int(5);
  const vector = randomVector(random, campaign.settings.dimension);
  const issued = model.history.stamp();
  try {
    const hits = await campaign.shoal.search(model.spec.name, { vector, k, exact: true });
    campaign.counts.acknowledged++;
    const known = new Set(model.history.ids());
    if (hits.length > k || hits.some((hit) => !known.has(hit.id)))
      violation(
        campaign,
        `${model.spec.name}: search returned ${hits.length} hits for k=${k}: ${hits.map((hit) => hit.id).join(', ')}`,
      );
  } catch (error) {
    countFailure(campaign, model, issued, error);
  }
}
