// Starts a Shoal worker thread. Node 20 cannot start a .ts worker directly:
// when the entry is TypeScript (running from source), register tsx's loader
// first; compiled builds import the .js entry as is.
import { workerData } from 'node:worker_threads';

if (workerData.useTsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
