/**
 * Ascending walks over the ids of a shard's tiers, for scrolling: several
 * lists, each sorted in code-unit order (JavaScript's `<` on strings), are
 * merged into one ascending sequence of distinct ids, starting after a given
 * id. Pure code; the tiers' newest-version rule is the caller's.
 */

/** The first index of `sorted` whose id is greater than `afterId` (0 for null), by binary search. */
export function firstAfter(sorted: readonly string[], afterId: string | null): number {
  if (afterId === null) return 0;
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as string) <= afterId) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The distinct ids of `sortedLists` greater than `afterId` (all of them for
 * null), ascending in code-unit order, lazily: a caller that stops after n
 * ids pays for about n steps per list, plus one binary search per list.
 */
export function* ascendingIds(sortedLists: readonly (readonly string[])[], afterId: string | null): Generator<string> {
  const positions = sortedLists.map((list) => firstAfter(list, afterId));
  for (;;) {
    let smallest: string | null = null;
    sortedLists.forEach((list, index) => {
      const id = list[positions[index] as number];
      if (id !== undefined && (smallest === null || id < smallest)) smallest = id;
    });
    if (smallest === null) return;
    const next: string = smallest;
    sortedLists.forEach((list, index) => {
      if (list[positions[index] as number] === next) positions[index] = (positions[index] as number) + 1;
    });
    // Every list at `next` moved past it, so each id is yielded once.
    yield next;
  }
}
