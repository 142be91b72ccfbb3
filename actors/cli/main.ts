#!/usr/bin/env node
/**
 * The `shoal` command: `shoal serve` (the Qdrant-compatible HTTP server over
 * a data directory), `shoal stats` and `shoal optimize`. Bad arguments print
 * the usage and exit 2; a database error prints its code and message and
 * exits 1. In a clone: `npm run shoal -- <command> ...`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Shoal } from '../client/shoal.js';
import { ShoalError } from '../../runtime/errors.js';
import { startServer } from '../server/server.js';

const USAGE = `usage: shoal <command> [options]
  serve     --data-dir DIR [--host 127.0.0.1] [--port 6333] [--api-key KEY]
            serves Qdrant's REST API over the database in DIR until SIGINT or SIGTERM
            (the API key may also come from SHOAL_API_KEY)
  stats     --data-dir DIR                    prints the database statistics as JSON
  optimize  --data-dir DIR --collection NAME  flushes and merges a collection's segments
  help                                        prints this`;

/** A bad command line: the usage follows, exit code 2. */
class UsageError extends Error {}

const OPTIONS = {
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'api-key': { type: 'string' },
  collection: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Parsed = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

function parse(argv: readonly string[]): { command: string; options: Parsed } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...rest] = parsed.positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  return { command: parsed.values.help === true ? 'help' : (command ?? 'help'), options: parsed.values as Parsed };
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
  const dataDir = required(options, 'data-dir');
  const port = portOf(options.port);
  const apiKey = options['api-key'] ?? process.env['SHOAL_API_KEY'];
  const db = await Shoal.open({ dataDir });
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
  const db = await Shoal.open({ dataDir: required(options, 'data-dir') });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const { command, options } = parse(argv);
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
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`shoal: ${error.message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof ShoalError) {
      process.stderr.write(`shoal: ${error.code}: ${error.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`shoal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
