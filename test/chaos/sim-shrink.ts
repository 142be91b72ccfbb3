/**
 * Shrinking a failing simulated campaign: re-runs its seed with less and
 * keeps each reduction that still fails, until none does (or the run
 * budget is spent). In order, per pass: whole fault kinds left out, then
 * single faults, then a binary search over the operations per client, then
 * fewer clients. Faults keep their planned times and targets and each client
 * its own random stream (`sim-fault-plan.ts`, `sim-clients.ts`), so a
 * reduced run replays the original schedule minus what was removed. "Still
 * fails" means any violation, not necessarily the original one.
 */
import type { SimCampaignOptions, SimCampaignReport } from './sim-campaign.js';
import { faultCounts, runSimCampaign } from './sim-campaign.js';
import { FAULT_KINDS, activeFaults, planFaults } from './sim-fault-plan.js';

/** What `shrinkCampaign` found. */
export interface ShrinkResult {
  /** False when the original configuration did not fail (nothing to shrink). */
  readonly failing: boolean;
  /** The smallest failing configuration found (the original when nothing smaller fails). */
  readonly options: SimCampaignOptions;
  /** Its report. */
  readonly report: SimCampaignReport;
  readonly original: SimCampaignReport;
  /** Campaigns run, the original included. */
  readonly runs: number;
}

/** Size of a configuration: operations and faults that run. */
export function campaignSize(options: SimCampaignOptions): { operations: number; faults: number } {
  const operations = (options.clients ?? 4) * (options.operationsPerClient ?? 30);
  const faults = activeFaults(
    planFaults(options.seed, faultCounts(options)),
    options.without ?? [],
    options.skipFaults ?? [],
  ).length;
  return { operations, faults };
}

/** Shrinks `options` (see the module header); `onStep` hears of every candidate run. */
export async function shrinkCampaign(
  options: SimCampaignOptions,
  budget: { readonly maxRuns?: number; readonly onStep?: (line: string) => void } = {},
): Promise<ShrinkResult> {
  const maxRuns = budget.maxRuns ?? 60;
  const original = await runSimCampaign(options);
  let runs = 1;
  let best = { options, report: original };
  if (original.violations.length === 0) return { failing: false, ...best, original, runs };
  /** Outcomes of the configurations already run (a later pass may propose one again). */
  const outcomes = new Map<string, boolean>([[configurationKey(options), true]]);
  /** Runs `candidate`; adopts it when it fails. */
  const tryCandidate = async (candidate: SimCampaignOptions, what: string): Promise<boolean> => {
    const key = configurationKey(candidate);
    const known = outcomes.get(key);
    if (known !== undefined || runs >= maxRuns) return false;
    const report = await runSimCampaign(candidate);
    runs++;
    const fails = report.violations.length > 0;
    outcomes.set(key, fails);
    budget.onStep?.(`  ${fails ? 'still fails' : 'passes    '}: ${what} (${describeSize(candidate)})`);
    if (fails) best = { options: candidate, report };
    return fails;
  };
  for (let changed = true; changed && runs < maxRuns; ) {
    changed = false;
    const plan = planFaults(options.seed, faultCounts(options));
    for (const kind of FAULT_KINDS) {
      const current = best.options;
      const without = current.without ?? [];
      if (
        without.includes(kind) ||
        !activeFaults(plan, without, current.skipFaults ?? []).some((fault) => fault.kind === kind)
      )
        continue;
      changed = (await tryCandidate({ ...current, without: [...without, kind] }, `without ${kind} faults`)) || changed;
    }
    for (const fault of activeFaults(plan, best.options.without ?? [], best.options.skipFaults ?? []).reverse()) {
      const current = best.options;
      changed =
        (await tryCandidate(
          { ...current, skipFaults: [...(current.skipFaults ?? []), fault.index].sort((a, b) => a - b) },
          `without fault #${fault.index} (${fault.kind} at ${fault.atMs} ms)`,
        )) || changed;
    }
    changed = (await shrinkNumber('operationsPerClient', 30, tryCandidate, () => best.options)) || changed;
    changed = (await shrinkNumber('clients', 4, tryCandidate, () => best.options)) || changed;
  }
  return { failing: true, ...best, original, runs };
}

/** Binary search for the smallest value of `field` (at least 1) that still fails; true when it went down. */
async function shrinkNumber(
  field: 'operationsPerClient' | 'clients',
  fallback: number,
  tryCandidate: (candidate: SimCampaignOptions, what: string) => Promise<boolean>,
  current: () => SimCampaignOptions,
): Promise<boolean> {
  const start = current()[field] ?? fallback;
  let failing = start;
  let passing = 0;
  while (failing - passing > 1) {
    const middle = Math.floor((failing + passing) / 2);
    if (await tryCandidate({ ...current(), [field]: middle }, `${field} ${middle}`)) failing = middle;
    else passing = middle;
  }
  return failing < start;
}

/** What tells two configurations of one seed apart here. */
function configurationKey(options: SimCampaignOptions): string {
  const sorted = <T>(values: readonly T[] | undefined): T[] => [...(values ?? [])].sort();
  return JSON.stringify([
    options.clients ?? 4,
    options.operationsPerClient ?? 30,
    sorted(options.without),
    sorted(options.skipFaults),
  ]);
}

function describeSize(options: SimCampaignOptions): string {
  const size = campaignSize(options);
  return `${options.clients ?? 4} clients x ${options.operationsPerClient ?? 30} ops, ${size.faults} faults`;
}

/** The command that runs `options` once with its trace. */
export function reproduceCommand(options: SimCampaignOptions): string {
  const parts = [`npm run chaos -- sim --seed ${options.seed} --runs 1`];
  if (options.clients !== undefined) parts.push(`--clients ${options.clients}`);
  if (options.operationsPerClient !== undefined) parts.push(`--ops ${options.operationsPerClient}`);
  if ((options.ioFaults ?? 0) > 0) parts.push(`--io-faults ${options.ioFaults}`);
  if ((options.network?.dropProbability ?? 0) > 0) parts.push(`--drops ${options.network?.dropProbability}`);
  if ((options.without ?? []).length > 0) parts.push(`--without ${options.without?.join(',')}`);
  if ((options.skipFaults ?? []).length > 0) parts.push(`--skip-faults ${options.skipFaults?.join(',')}`);
  if (options.mutation !== undefined) parts.push(`--mutation ${options.mutation}`);
  parts.push('--trace');
  return parts.join(' ');
}
