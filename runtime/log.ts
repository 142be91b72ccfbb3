/**
 * Structured, quiet logging: one JSON line per event on stderr, at or above
 * the level in `SHOAL_LOG` (`debug`, `info`, `warn` (default), `error`, `silent`).
 */

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: an event name and fields. */
export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function thresholdFromEnvironment(): number {
  const name = process.env['SHOAL_LOG'];
  if (name !== undefined && name in RANK) return RANK[name as LogLevel];
  return RANK.warn;
}

/** A logger whose lines carry `source` (an actor address or component name). */
export function createLogger(source: string): Logger {
  const threshold = thresholdFromEnvironment();
  const emit = (level: LogLevel, event: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < threshold) return;
    process.stderr.write(`${JSON.stringify({ level, source, event, ...fields })}\n`);
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
  };
}
