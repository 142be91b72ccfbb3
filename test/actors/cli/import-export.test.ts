// Proves `shoal import` and `shoal export` as a user runs them, the CLI in a child process under tsx: a JSON lines file of a few hundred records (numeric and string ids, nested, unicode and absent metadata, float64 values) imports into a new collection, exports to Parquet (read back by hyparquet, an independent reader) and to JSON lines, and both exports re-import into another data directory with every record identical through the library (ids, float32 vectors, metadata); a third-party Parquet file with int64 ids, float64 vectors and struct metadata imports too; a bad line stops with exit 1 naming it after every record before it was written; bad command lines print the usage with exit 2 and never a stack trace.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Field, Float64, Int64, List, Struct, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../actors/cli/command.js';
import { Shoal } from '../../../index.js';
import type { Metadata, ScrollRecord } from '../../../index.js';
import { REPOSITORY_ROOT } from '../../architecture/source-tree.js';
import { runToExit } from '../../fixtures/child-process.js';
import type { ChildExit } from '../../fixtures/child-process.js';
import { randomVectors, temporaryDirectory } from '../../fixtures/vectors.js';

const DIMENSION = 8;
const COUNT = 340;
const CLI_TIMEOUT_MS = 120_000;

interface Expected {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Metadata | null;
}

/** Runs the CLI; a command that opens a database gets few threads (starting each under tsx costs ~0.25 s). */
function shoal(args: readonly string[]): Promise<ChildExit> {
  const [command, ...rest] = args;
  const threads = args.includes('--data-dir') ? ['--max-workers', '2'] : [];
  return runToExit(['--import', 'tsx', 'actors/cli/main.ts', ...(command ? [command] : []), ...threads, ...rest], {
    cwd: REPOSITORY_ROOT,
    watchdogMs: CLI_TIMEOUT_MS,
  });
}

/** The input lines: every fourth id a number, metadata absent, null, flat, nested or unicode; float64 values. */
function inputLines(): { lines: string[]; expected: Expected[] } {
  const vectors = randomVectors(COUNT, DIMENSION, 11);
  const lines: string[] = [];
  const expected: Expected[] = [];
  vectors.forEach((vector, i) => {
    const values = Array.from(vector, (value) => value + 1e-9 * i);
    const id = i % 4 === 0 ? i : `doc-${i}`;
    const metadata = [
      undefined,
      null,
      { n: i, ok: i % 2 === 0 },
      { nested: { tags: ['a', `t${i}`] } },
      { text: `héllo ✓ ${i}` },
    ][i % 5];
    lines.push(JSON.stringify(metadata === undefined ? { id, vector: values } : { id, vector: values, metadata }));
    expected.push({ id: String(id), vector: Float32Array.from(values), metadata: metadata ?? null });
  });
  return { lines, expected };
}

async function allRecords(db: Shoal, collection: string): Promise<ScrollRecord[]> {
  const records: ScrollRecord[] = [];
  for await (const page of db.iterate(collection, { batchSize: 500, withVectors: true })) records.push(...page);
  return records;
}

function expectSameRecords(actual: readonly ScrollRecord[], expected: readonly Expected[]): void {
  const byId = new Map(actual.map((record) => [record.id, record]));
  expect(byId.size).toBe(expected.length);
  for (const record of expected) {
    const found = byId.get(record.id);
    expect(found, record.id).toBeDefined();
    expect(Array.from(found?.vector ?? []), record.id).toEqual(Array.from(record.vector));
    expect(found?.metadata, record.id).toEqual(record.metadata);
  }
}

function expectCleanFailure(outcome: ChildExit, code: number): void {
  expect(outcome.code, outcome.stderr).toBe(code);
  expect(outcome.stderr).not.toMatch(/^\s+at /m);
}

describe('shoal import and export', () => {
  let directory: { path: string; remove: () => Promise<void> };
  let source: { lines: string[]; expected: Expected[] };
  const path = (name: string): string => join(directory.path, name);
  let badRuns = 0;

  beforeAll(async () => {
    directory = await temporaryDirectory('cli-io');
    source = inputLines();
    await writeFile(path('input.jsonl'), `${source.lines.join('\n')}\n`);
  });
  afterAll(() => directory.remove());

  it('round-trips JSON lines through Parquet and JSON lines exports into another data directory', async () => {
    const first = path('first');
    const imported = await shoal([
      'import',
      '--data-dir',
      first,
      '--collection',
      'docs',
      '--metric',
      'dot',
      path('input.jsonl'),
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.lines.at(-1)).toMatch(
      new RegExp(`^imported ${COUNT} records into docs \\(created\\) in [0-9.]+ s \\([0-9]+ records/s\\)$`),
    );
    for (const [format, file] of [
      ['parquet', 'out.parquet'],
      ['jsonl', 'out.jsonl'],
    ]) {
      const exported = await shoal(['export', '--data-dir', first, '--collection', 'docs', path(file ?? '')]);
      expect(exported.code, exported.stderr).toBe(0);
      expect(exported.lines.at(-1)).toMatch(
        new RegExp(`^exported ${COUNT} records of docs to .*${file} \\(${format}\\) in `),
      );
    }
    const second = path('second');
    for (const [collection, file] of [
      ['fromParquet', 'out.parquet'],
      ['fromJsonl', 'out.jsonl'],
    ]) {
      const again = await shoal(['import', '--data-dir', second, '--collection', collection ?? '', path(file ?? '')]);
      expect(again.code, again.stderr).toBe(0);
    }
    const written = await parquetReadObjects({ file: await asyncBufferFromFile(path('out.parquet')) });
    expect(written).toHaveLength(COUNT);
    expect(Object.keys(written[0] ?? {}).sort()).toEqual(['id', 'metadata', 'vector']);

    const original = await Shoal.open({ dataDir: first, maxWorkers: 2 });
    try {
      expect(
        (await original.listCollections()).map(({ name, dimension, metric }) => ({ name, dimension, metric })),
      ).toEqual([{ name: 'docs', dimension: DIMENSION, metric: 'dot' }]);
      expectSameRecords(await allRecords(original, 'docs'), source.expected);
    } finally {
      await original.close();
    }
    const copy = await Shoal.open({ dataDir: second, maxWorkers: 2 });
    try {
      const metrics = (await copy.listCollections()).map(({ name, metric }) => `${name}:${metric}`).sort();
      expect(metrics).toEqual(['fromJsonl:cosine', 'fromParquet:cosine']);
      expectSameRecords(await allRecords(copy, 'fromParquet'), source.expected);
      expectSameRecords(await allRecords(copy, 'fromJsonl'), source.expected);
    } finally {
      await copy.close();
    }
  }, 600_000);

  it('imports a foreign Parquet file: int64 ids, float64 list vectors, struct metadata, other columns', async () => {
    const rows = 50;
    const vectors = randomVectors(rows, 3, 5).map((vector) => Array.from(vector));
    const metadataType = new Struct([new Field('name', new Utf8(), true), new Field('count', new Int64(), true)]);
    const table = new Table({
      id: vectorFromArray(
        Array.from({ length: rows }, (_, i) => BigInt(1000 + i)),
        new Int64(),
      ),
      vector: vectorFromArray(vectors, new List(new Field('item', new Float64(), true))),
      metadata: vectorFromArray(
        Array.from({ length: rows }, (_, i) => ({ name: `n${i}`, count: BigInt(i) })),
        metadataType,
      ),
      other: vectorFromArray(
        Array.from({ length: rows }, (_, i) => `unused ${i}`),
        new Utf8(),
      ),
    });
    await writeFile(path('foreign.parquet'), writeParquet(WasmTable.fromIPCStream(tableToIPC(table, 'stream'))));
    const dataDir = path('foreign');
    const imported = await shoal(['import', '--data-dir', dataDir, '--collection', 'foreign', path('foreign.parquet')]);
    expect(imported.code, imported.stderr).toBe(0);
    const db = await Shoal.open({ dataDir, maxWorkers: 2 });
    try {
      const expected = vectors.map((vector, i) => ({
        id: String(1000 + i),
        vector: Float32Array.from(vector),
        metadata: { name: `n${i}`, count: i },
      }));
      expectSameRecords(await allRecords(db, 'foreign'), expected);
    } finally {
      await db.close();
    }
  }, 300_000);

  it.each([
    ['invalid JSON', '{"id": "broken", "vector": [1, 2', /line 201: .*is not JSON/],
    [
      'a vector of the wrong dimension',
      JSON.stringify({ id: 'short', vector: [1, 2, 3] }),
      /DIMENSION_MISMATCH: .*line 201: /,
    ],
    // A bad id stops the import the same way; record-format.test.ts checks the id rules themselves.
  ])(
    'stops at %s with exit 1, naming the line, after writing every record before it',
    async (_, badLine, reason) => {
      const lines = [...source.lines.slice(0, 200), badLine, ...source.lines.slice(200, 260)];
      badRuns++;
      const file = path(`bad-${badRuns}.jsonl`);
      await writeFile(file, `${lines.join('\n')}\n`);
      const dataDir = path(`bad-${badRuns}`);
      const outcome = await shoal(['import', '--data-dir', dataDir, '--collection', 'partial', file]);
      expectCleanFailure(outcome, 1);
      expect(outcome.stderr).toMatch(reason);
      expect(outcome.stderr).toContain('the 200 records before line 201 were imported, none from it on');
      const db = await Shoal.open({ dataDir, maxWorkers: 2 });
      try {
        expectSameRecords(await allRecords(db, 'partial'), source.expected.slice(0, 200));
      } finally {
        await db.close();
      }
    },
    300_000,
  );
});

describe('shoal command line', () => {
  it.each([
    [['import', '--data-dir', 'd', '--collection', 'c'], /import: FILE is required/],
    [['export', '--data-dir', 'd', '--collection', 'c'], /export: FILE is required/],
    [['import', '--data-dir', 'd', '--collection', 'c', 'a.jsonl', 'b.jsonl'], /unexpected argument b\.jsonl/],
    [
      ['import', '--data-dir', 'd', '--collection', 'c', '--metric', 'hamming', 'a.jsonl'],
      /--metric must be one of cosine, l2, dot, got hamming/,
    ],
    [
      ['export', '--data-dir', 'd', '--collection', 'c', '--format', 'csv', 'a.out'],
      /--format must be one of jsonl, parquet, got csv/,
    ],
    [['import', '--data-dir', 'd', '--collection', 'c', 'records.csv'], /cannot tell the format of records\.csv/],
    [['import', '--data-dir', 'd', 'a.jsonl'], /--collection is required/],
    [['export', '--collection', 'c', '--data-dir', '', 'a.parquet'], /--data-dir must not be empty/],
    [['import', '--data-dir', 'd', '--collection', 'c', '--metric'], /argument missing/],
    [['export', '--bogus', 'a.parquet'], /Unknown option '--bogus'/],
    [['stats', '--data-dir', 'd', 'extra'], /unexpected argument extra/],
    [['frobnicate'], /unknown command frobnicate/],
  ])('refuses %j with the usage and exit code 2 (in this process)', async (args, reason) => {
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(args)).toBe(2);
      expect(stdout).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
    expect(written.join('')).toMatch(reason);
    expect(written.join('')).toContain('usage: shoal <command> [options]');
  });

  it.each([
    [['import', '--data-dir', 'd', '--collection', 'c'], /import: FILE is required/],
    [['export', '--bogus', 'a.parquet'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command frobnicate/],
  ])(
    'refuses %j as a process: the usage on stderr, nothing on stdout, exit code 2, no stack trace',
    async (args, reason) => {
      const outcome = await shoal(args);
      expectCleanFailure(outcome, 2);
      expect(outcome.stderr).toMatch(reason);
      expect(outcome.stderr).toContain('usage: shoal <command> [options]');
      expect(outcome.lines).toEqual([]);
    },
    60_000,
  );

  it('answers help with the usage, import and export included, and exit code 0', async () => {
    const outcome = await shoal(['help']);
    expect(outcome.code).toBe(0);
    expect(outcome.lines.join('\n')).toMatch(
      /import {4}--data-dir DIR --collection NAME[\s\S]*export {4}--data-dir DIR/,
    );
  }, 60_000);
});
