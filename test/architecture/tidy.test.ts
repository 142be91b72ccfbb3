// Proves the source tree is tidy by the rules of test/architecture/tidy.ts (no function with more than 70 lines of
// body, no line over 120 columns), reading every function with the TypeScript parser, and proves both rules fire on the
// fixtures in fixtures/tidy/: functions of every kind just past the limit are reported and one at it is not, lines of
// 121 columns are reported and lines of 120 are not, counted in code points.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, sourceFiles } from './source-tree.js';
import { describeLongFunction, describeLongLine, longFunctions, longLines } from './tidy.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/tidy/', import.meta.url));

/**
 * The violations the tree still had when the rules came in, per file. They may only go down: a file gains none, a
 * file not listed has none, and a count that went down must be lowered here (so the list never hides new ones).
 */
type Baseline = Record<string, { functions: number; lines: number }>;
const BASELINE = JSON.parse(readFileSync(new URL('./tidy-baseline.json', import.meta.url), 'utf8')) as Baseline;

function counts(files: readonly string[]): Baseline {
  const found: Baseline = {};
  for (const file of files) {
    const functions = longFunctions(REPOSITORY_ROOT, file).length;
    const lines = longLines(REPOSITORY_ROOT, file).length;
    if (functions + lines > 0) found[file] = { functions, lines };
  }
  return found;
}

/**
 * With REWRITE=1 the baseline is lowered to what the tree has now; a count is never raised (a file that gained a
 * violation still fails), so rewriting cannot hide a new one.
 */
function lowerBaseline(found: Baseline): void {
  const lowered: Baseline = {};
  for (const [file, now] of Object.entries(found).sort(([a], [b]) => a.localeCompare(b))) {
    const allowed = BASELINE[file] ?? { functions: 0, lines: 0 };
    const entry = { functions: Math.min(now.functions, allowed.functions), lines: Math.min(now.lines, allowed.lines) };
    if (entry.functions + entry.lines > 0) lowered[file] = entry;
  }
  writeFileSync(new URL('./tidy-baseline.json', import.meta.url), `${JSON.stringify(lowered, null, 2)}\n`);
}

describe('the source tree', () => {
  const files = sourceFiles(REPOSITORY_ROOT);
  const found = counts(files);
  if (process.env.REWRITE === '1') lowerBaseline(found);

  it('gains no function longer than 70 lines and no line over 120 columns past the recorded baseline', () => {
    const gained = files.flatMap((file) => {
      const allowed = BASELINE[file] ?? { functions: 0, lines: 0 };
      const now = found[file] ?? { functions: 0, lines: 0 };
      const functions =
        now.functions > allowed.functions ? longFunctions(REPOSITORY_ROOT, file).map(describeLongFunction) : [];
      const lines = now.lines > allowed.lines ? longLines(REPOSITORY_ROOT, file).map(describeLongLine) : [];
      return [...functions, ...lines];
    });
    expect(gained).toEqual([]);
  });

  it('keeps the baseline exact: a file that got tidier lowers its count in tidy-baseline.json', () => {
    expect(found).toEqual(Object.fromEntries(Object.entries(BASELINE).filter(([file]) => files.includes(file))));
  });
});

describe('the tidy rules', () => {
  it('report every kind of function past 70 lines of body, nested ones too, and not one at 70', () => {
    expect(longFunctions(FIXTURES, 'long-function.ts').map(describeLongFunction)).toEqual([
      'long-function.ts:78 pastTheLimit: 71 lines',
      'long-function.ts:160 long: 71 lines',
      'long-function.ts:236 longArrow: 71 lines',
      'long-function.ts:311 outer: 73 lines',
      'long-function.ts:312 callback: 71 lines',
    ]);
  });

  it('report lines past 120 columns, counted in code points, and not lines at 120', () => {
    expect(longLines(FIXTURES, 'long-line.ts').map(describeLongLine)).toEqual([
      'long-line.ts:5: 121 columns',
      'long-line.ts:8: 121 columns',
    ]);
  });

  it('measure any limit given', () => {
    expect(longFunctions(FIXTURES, 'long-function.ts', 71).map((found) => found.name)).toEqual(['outer']);
    expect(longLines(FIXTURES, 'long-line.ts', 121)).toEqual([]);
  });
});
