// Proves the chaos CLI refuses a command line it cannot run with its usage and exit code 2, never a stack trace: it
// spawns test/chaos/run.ts under tsx's loader as `npm run chaos` does, with unknown campaigns and options (for every
// campaign), a missing value and a bad one, and checks that --help still exits 0.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../architecture/source-tree.js';

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runChaos(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const command = ['--import', 'tsx', 'test/chaos/run.ts', ...args];
    execFile(process.execPath, command, { cwd: REPOSITORY_ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run chaos', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['nonsense'], /unknown campaign nonsense/],
    [[], /no campaign given/],
    [['wal', '--bogus'], /Unknown option '--bogus'/],
    [['wal', '--seed'], /argument missing/],
    [['wal', '--kills', 'many'], /--kills must be a whole number/],
    [['sim', '--bogus'], /Unknown option '--bogus'/],
    [['sim', 'extra'], /Unexpected argument 'extra'/],
    [['metadata', '--bogus'], /Unknown option '--bogus'/],
  ])('refuses %j with the usage and exit code 2', async (args, reason) => {
    const outcome = await runChaos(args);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(reason);
    expect(outcome.stderr).toContain('usage: npm run chaos --');
    expect(outcome.stderr).not.toMatch(/^\s+at /m);
    expect(outcome.stdout).toBe('');
  });

  it.each([[['--help']], [['sim', '--help']], [['metadata', '--help']]])(
    'answers %j with the usage and exit code 0',
    async (args) => {
      const outcome = await runChaos(args);
      expect(outcome.code).toBe(0);
      expect(outcome.stderr).toContain('usage: npm run chaos --');
    },
  );
});
