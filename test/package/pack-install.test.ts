// Proves Shoal installs as a package: `npm pack` builds dist/ on its own (prepack) into a tarball that ships compiled
// JavaScript, declarations and the worker bootstrap but no sources, tests or benchmarks; `npm install <tarball>` into
// an empty project pulls only the runtime dependencies; there, plain `node` (no tsx) runs the quick start from compiled
// JavaScript with real worker threads, the `shoal/langchain` subpath works beside an installed @langchain/core, and
// TypeScript resolves the types of every entry through the exports map.
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../fixtures/vectors.js';

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPOSITORY, 'node_modules', 'typescript', 'bin', 'tsc');
const STEP_TIMEOUT_MS = 240_000;

const QUICK_START = `
import { Shoal } from 'shoal';
import { ShoalVectorStore } from 'shoal/langchain';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';

const db = await Shoal.open({ dataDir: './data' });
await db.createCollection({ name: 'docs', dimension: 3, metric: 'cosine' });
await db.upsert('docs', [
  { id: 'a', vector: [1, 0, 0], metadata: { lang: 'en' } },
  { id: 'b', vector: [0, 1, 0], metadata: { lang: 'de' } },
]);
const hits = await db.search('docs', { vector: [1, 0.1, 0], k: 2 });
const filtered = await db.search('docs', { vector: [1, 0.1, 0], k: 2, filter: { lang: 'de' } });
const store = await ShoalVectorStore.fromTexts(['foo', 'bar'], [{ n: 1 }, { n: 2 }], new SyntheticEmbeddings({ vectorSize: 4 }), {
  client: db,
  collectionName: 'lc',
});
const found = await store.similaritySearch('bar', 1);
await db.close();
console.log(JSON.stringify({ hits: hits.map((hit) => hit.id), filtered: filtered.map((hit) => hit.id), found: found.map((doc) => doc.pageContent) }));
`;

const TYPED_CONSUMER = `
import { Shoal, ShoalError } from 'shoal';
import type { SearchHit } from 'shoal';
import { ShoalVectorStore as LangChainStore } from 'shoal/langchain';
import { ShoalVectorStore as LlamaIndexStore } from 'shoal/llamaindex';
export async function use(db: Shoal): Promise<SearchHit[]> {
  const error: ShoalError | null = null;
  void error;
  void LangChainStore;
  void LlamaIndexStore;
  return db.search('docs', { vector: [1, 0, 0], k: 1 });
}
`;

let project: { path: string; remove: () => Promise<void> };
let tarball: string;

beforeAll(async () => {
  project = await temporaryDirectory('shoal-package-');
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', project.path], {
    cwd: REPOSITORY,
    timeout: STEP_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const first = packed[0] as { filename: string; files: { path: string }[] };
  tarball = join(project.path, first.filename);
  shipped = first.files.map((file) => file.path);
  const manifest = {
    name: 'consumer',
    private: true,
    type: 'module',
    // npm 11 runs no install script it was not told to: Shoal's HNSW and msgpack bindings build at install.
    allowScripts: { 'hnswlib-node': true, 'msgpackr-extract': true },
  };
  await writeFile(join(project.path, 'package.json'), JSON.stringify(manifest));
  await run('npm', ['install', tarball, '@langchain/core@1.4.0', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: project.path,
    timeout: STEP_TIMEOUT_MS,
  });
}, 2 * STEP_TIMEOUT_MS);

afterAll(async () => {
  await project?.remove();
});

let shipped: string[] = [];

describe('the packed package', () => {
  it('ships compiled JavaScript, declarations, the worker bootstrap and the README, nothing else', () => {
    expect(shipped).toContain('dist/index.js');
    expect(shipped).toContain('dist/index.d.ts');
    expect(shipped).toContain('dist/runtime/worker-bootstrap.mjs');
    expect(shipped).toContain('dist/actors/adapters/langchain.js');
    expect(shipped).toContain('dist/actors/adapters/llamaindex.d.ts');
    expect(shipped).toContain('README.md');
    const unexpected = shipped.filter(
      (path) => !(path === 'package.json' || path === 'README.md' || /^dist\/.*\.(js|d\.ts|mjs)$/.test(path)),
    );
    expect(unexpected).toEqual([]);
    expect(shipped.filter((path) => /(^|\/)(test|bench)\//.test(path))).toEqual([]);
  });

  it('installs only the runtime dependencies: no dev dependency, no optional peer', async () => {
    const installed = await readdir(join(project.path, 'node_modules'));
    for (const devOnly of ['vitest', 'tsx', 'typescript', 'usearch', 'fast-check', '@sap-ux'])
      expect(installed).not.toContain(devOnly);
    const scoped = await readdir(join(project.path, 'node_modules', '@llamaindex')).catch(() => []);
    expect(scoped).toEqual([]);
  });

  it('runs the quick start and the LangChain store from compiled JavaScript, workers included', async () => {
    await writeFile(join(project.path, 'quick-start.mjs'), QUICK_START);
    const { stdout } = await run(process.execPath, ['quick-start.mjs'], { cwd: project.path, timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({
      hits: ['a', 'b'],
      filtered: ['b'],
      found: ['bar'],
    });
    const files = await readdir(join(project.path, 'data'));
    expect(files.length).toBeGreaterThan(0);
  }, 90_000);

  it("installs the shoal command, which runs compiled (stats of the quick start's data directory)", async () => {
    const bin = join(project.path, 'node_modules', '.bin', 'shoal');
    const help = await run(bin, ['help'], { cwd: project.path, timeout: 30_000 });
    expect(help.stdout).toContain('usage: shoal <command>');
    const stats = await run(bin, ['stats', '--data-dir', './data'], { cwd: project.path, timeout: 60_000 });
    const names = (JSON.parse(stats.stdout) as { collections: { name: string }[] }).collections.map((c) => c.name);
    expect(names.sort()).toEqual(['docs', 'lc']);
  }, 90_000);

  it('gives TypeScript the types of every entry through the exports map', async () => {
    const config = {
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      files: ['consumer.ts'],
    };
    await writeFile(join(project.path, 'tsconfig.json'), JSON.stringify(config));
    await writeFile(join(project.path, 'consumer.ts'), TYPED_CONSUMER);
    const outcome = await run(process.execPath, [TSC, '-p', '.'], { cwd: project.path, timeout: 120_000 }).then(
      () => 'ok',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(outcome).toBe('ok');
    const manifest = JSON.parse(
      await readFile(join(project.path, 'node_modules', 'shoal', 'package.json'), 'utf8'),
    ) as {
      exports: Record<string, unknown>;
    };
    expect(Object.keys(manifest.exports)).toEqual(['.', './langchain', './llamaindex', './package.json']);
  }, 150_000);
});
