/**
 * The `shoal` command: `shoal serve` (the Qdrant-compatible HTTP server over
 * a data directory), `shoal stats`, `shoal optimize`, `shoal import` and
 * `shoal export` (import.ts, export.ts). This file parses the command line
 * and dispatches. Bad arguments print the usage and exit 2; a database error
 * prints its code and message and exits 1. In a clone: `npm run shoal -- <command> ...`. `main.ts` runs it.
 */
import { readFileSync } from '../../runtime/host-files.js';
import { parseArgs } from 'node:util';
import { Shoal } from '../client/shoal.js';
import { ShoalError } from '../../runtime/errors.js';
import { startServer } from '../server/server.js';
import { METRICS } from '../../storage/types.js';
import type { Metric } from '../public-api.js';
import { exportFile } from './export.js';
import { importFile } from './import.js';
import { rateText } from './progress.js';
import { FORMATS, formatOfFile } from './record-format.js';
import type { Format } from './record-format.js';
import { USAGE, UsageError } from './usage.js';

const OPTIONS = {
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'api-key': { type: 'string' },
  collection: { type: 'string' },
  metric: { type: 'string' },
  format: { type: 'string' },
  'max-workers': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Parsed = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

interface CommandLine {
  readonly command: string;
  readonly options: Parsed;
  /** The arguments after the command (import and export take FILE). */
  readonly operands: readonly string[];
}

function parse(argv: readonly string[]): CommandLine {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...operands] = parsed.positionals;
  return {
    command: parsed.values.help === true ? 'help' : (command ?? 'help'),
    options: parsed.values as Parsed,
    operands,
  };
}

/** The operands a command takes, one per name in `names` (FILE for import and export), no more, no fewer. */
function operandsOf(line: CommandLine, names: readonly string[]): string[] {
  if (line.operands.length > names.length) throw new UsageError(`unexpected argument ${line.operands[names.length]}`);
  const missing = names[line.operands.length];
  if (missing !== undefined) throw new UsageError(`${line.command}: ${missing} is required`);
  return [...line.operands];
}

function metricOf(value: string | undefined): Metric | undefined {
  if (value === undefined) return undefined;
  if (!(METRICS as readonly string[]).includes(value)) {
    throw new UsageError(`--metric must be one of ${METRICS.join(', ')}, got ${value}`);
  }
  return value as Metric;
}

/** --format, else the file's extension, else `fallback` (export: Parquet) or a usage error (import). */
function formatOf(value: string | undefined, file: string, fallback?: Format): Format {
  if (value !== undefined) {
    if (!(FORMATS as readonly string[]).includes(value)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got ${value}`);
    }
    return value as Format;
  }
  const format = formatOfFile(file) ?? fallback;
  if (format === undefined) {
    throw new UsageError(`cannot tell the format of ${file} (.jsonl, .ndjson, .json or .parquet): give --format`);
  }
  return format;
}

async function runImport(line: CommandLine): Promise<void> {
  const { options } = line;
  const [file = ''] = operandsOf(line, ['FILE']);
  const collection = required(options, 'collection');
  const importOptions = { collection, file, format: formatOf(options.format, file), metric: metricOf(options.metric) };
  const summary = await withDatabase(options, (db) => importFile(db, importOptions));
  const created = summary.created ? ' (created)' : '';
  const rate = rateText(summary.records, summary.elapsedMs);
  process.stdout.write(`imported ${summary.records} records into ${collection}${created} ${rate}\n`);
}

async function runExport(line: CommandLine): Promise<void> {
  const { options } = line;
  const [file = ''] = operandsOf(line, ['FILE']);
  const collection = required(options, 'collection');
  const format = formatOf(options.format, file, 'parquet');
  const summary = await withDatabase(options, (db) => exportFile(db, { collection, file, format }));
  const rate = rateText(summary.records, summary.elapsedMs);
  process.stdout.write(`exported ${summary.records} records of ${collection} to ${file} (${format}) ${rate}
`);
}

/** `--max-workers N`: at most N worker threads (actors share them beyond it); Shoal's default when absent. */
function maxWorkersOf(options: Parsed): { maxWorkers?: number } {
  const value = options['max-workers'];
  if (value === undefined) return {};
  const count = Number(value);
  if (!/^[0-9]+$/.test(value) || count < 1 || count > 1024) {
    throw new UsageError(`--max-workers must be 1 to 1024, got ${value}`);
  }
  return { maxWorkers: count };
}

/** The data directory: `--data-dir`, by default `./data` (as `npm start` uses). */
function dataDirOf(options: Parsed): string {
  const value = options['data-dir'];
  if (value === '') throw new UsageError('--data-dir must not be empty');
  return value ?? './data';
}

function required(options: Parsed, name: 'data-dir' | 'collection'): string {
  const value = options[name];
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function portOf(value: string | undefined): number {
  if (value === undefined) return 6333;
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65_535) throw new UsageError(`--port must be 0 to 65535, got ${value}`);
  return port;
}

function packageVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // Not at this depth: compiled files sit one folder deeper than the sources.
    }
  }
  return '0.0.0';
}

async function serve(options: Parsed): Promise<void> {
  const dataDir = dataDirOf(options);
  const port = portOf(options.port);
  const apiKey = options['api-key'] ?? process.env['SHOAL_API_KEY'];
  const db = await Shoal.open({ dataDir, ...maxWorkersOf(options) });
  const server = await startServer(db, {
    host: options.host ?? '127.0.0.1',
    port,
    ...(apiKey === undefined ? {} : { apiKey }),
    shoalVersion: packageVersion(),
  });
  process.stdout.write(`shoal listening on ${server.url} (data in ${dataDir}${apiKey ? ', API key required' : ''})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('shoal: stopping (answering requests in flight)\n');
  await server.close();
  await db.close();
}

async function withDatabase<T>(options: Parsed, work: (db: Shoal) => Promise<T>): Promise<T> {
  const db = await Shoal.open({ dataDir: dataDirOf(options), ...maxWorkersOf(options) });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const line = parse(argv);
  const { command, options } = line;
  if (command !== 'import' && command !== 'export') operandsOf(line, []);
  switch (command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'serve':
      await serve(options);
      return 0;
    case 'stats':
      process.stdout.write(`${JSON.stringify(await withDatabase(options, (db) => db.stats()), null, 2)}\n`);
      return 0;
    case 'optimize': {
      const collection = required(options, 'collection');
      const result = await withDatabase(options, (db) => db.optimize(collection));
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    case 'import':
      await runImport(line);
      return 0;
    case 'export':
      await runExport(line);
      return 0;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/** Runs one command line; resolves with the exit code (2: a bad command line, 1: a failure), having said why. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`shoal: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof ShoalError) {
      process.stderr.write(`shoal: ${error.code}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`shoal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
