/**
 * The `shoal` command's usage text and the error that prints it: a bad
 * command line (unknown command or option, a missing or bad value) is a
 * UsageError, which main.ts turns into the usage on stderr and exit code 2.
 */

export const USAGE = `usage: shoal <command> [options]
  serve     --data-dir DIR [--host 127.0.0.1] [--port 6333] [--api-key KEY]
            serves Qdrant's REST API over the database in DIR until SIGINT or SIGTERM
            (the API key may also come from SHOAL_API_KEY)
  stats     --data-dir DIR                    prints the database statistics as JSON
  optimize  --data-dir DIR --collection NAME  flushes and merges a collection's segments
  import    --data-dir DIR --collection NAME [--metric cosine|l2|dot] [--format jsonl|parquet] FILE
            upserts the records of FILE (JSON lines or Parquet: id, vector, metadata), creating
            the collection when missing (its dimension from the first vector, metric cosine)
  export    --data-dir DIR --collection NAME [--format parquet|jsonl] FILE
            writes every record of the collection to FILE (Parquet unless FILE ends in .jsonl,
            .ndjson or .json, or --format says otherwise)
  help                                        prints this
Every command works on the database in --data-dir DIR, by default ./data, and takes
--max-workers N to cap its worker threads (actors share them beyond N).`;

/** A bad command line: the usage follows, exit code 2. */
export class UsageError extends Error {}
