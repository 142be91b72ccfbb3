/**
 * Direct access to the user's own files, for code on the host's thread that
 * reads and writes files outside any data directory: the CLI's import and
 * export and its reading of the package manifest. Actors never use it (they
 * take ctx.fs, which the simulator replaces); this module is the one place
 * above runtime/ that names node:fs.
 */
export { createReadStream, createWriteStream, openAsBlob, readFileSync } from 'node:fs';
export { rename, rm, stat, writeFile } from 'node:fs/promises';
