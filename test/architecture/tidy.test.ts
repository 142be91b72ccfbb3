// Proves the source tree is tidy by the rules of test/architecture/tidy.ts (no function with more than 70 lines of body, no line over 120 columns), reading every function with the TypeScript parser, and proves both rules fire on the fixtures in fixtures/tidy/: functions of every kind just past the limit are reported and one at it is not, lines of 121 columns are reported and lines of 120 are not, counted in code points.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT, sourceFiles } from './source-tree.js';
import { describeLongFunction, describeLongLine, longFunctions, longLines } from './tidy.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/tidy/', import.meta.url));

describe('the source tree', () => {
  const files = sourceFiles(REPOSITORY_ROOT);

  it('has no function longer than 70 lines', () => {
    expect(files.flatMap((file) => longFunctions(REPOSITORY_ROOT, file).map(describeLongFunction))).toEqual([]);
  });

  it('has no line over 120 columns', () => {
    expect(files.flatMap((file) => longLines(REPOSITORY_ROOT, file).map(describeLongLine))).toEqual([]);
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
