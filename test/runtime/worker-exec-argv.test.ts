// Proves the choice of a worker's Node options: the host's are inherited untouched unless they say --input-type,
// then the string-input flags (--input-type, -e/--eval, -p/--print and their values) are dropped and the rest kept
// in order; the fallback keeps only the module loading flags with their values; pure.
import { describe, expect, it } from 'vitest';
import { minimalExecArgv, workerExecArgv } from '../../runtime/worker-exec-argv.js';

describe('worker execArgv', () => {
  it('inherits the host options when they hold no --input-type', () => {
    expect(workerExecArgv([])).toBeUndefined();
    expect(workerExecArgv(['--import', 'tsx', '--conditions=dev'])).toBeUndefined();
    // -e alone does not break a worker: the options are inherited as they always were.
    expect(workerExecArgv(['--max-old-space-size=100', '-e', 'code'])).toBeUndefined();
  });

  it('drops the string input flags and their values when --input-type is there', () => {
    expect(workerExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'import x'])).toEqual(['--import', 'tsx']);
    expect(workerExecArgv(['--input-type', 'module', '--eval', '-p', '--conditions', 'dev'])).toEqual([
      '--conditions',
      'dev',
    ]);
    expect(workerExecArgv(['--input-type=module', '--print=1', '--eval=x', '-pe', 'x', '--no-warnings'])).toEqual([
      '--no-warnings',
    ]);
    expect(workerExecArgv(['-i', '--input-type=commonjs', '--check', '--enable-source-maps'])).toEqual([
      '--enable-source-maps',
    ]);
  });

  it('keeps a code argument that looks like a flag out of the result', () => {
    // The value of -e is code, whatever it looks like.
    expect(workerExecArgv(['--input-type=module', '-e', '--import', '--trace-warnings'])).toEqual(['--trace-warnings']);
  });

  it('falls back to the module loading flags only', () => {
    const host = [
      '--max-old-space-size=100',
      '--import',
      'tsx',
      '--input-type=module',
      '-r',
      'x.cjs',
      '-e',
      'y',
      '--loader=l.mjs',
      '-C',
      'dev',
    ];
    expect(minimalExecArgv(host)).toEqual(['--import', 'tsx', '-r', 'x.cjs', '--loader=l.mjs', '-C', 'dev']);
  });
});
