#!/usr/bin/env node
/** The `shoal` executable: runs the command line (command.ts) and exits with its code. */
import { runCli } from './command.js';

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
