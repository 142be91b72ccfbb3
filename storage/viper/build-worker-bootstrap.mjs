// Entry of the segment build pool's piscina workers when running from
// TypeScript source: Node 20 cannot start a .ts worker directly, so this
// registers tsx's loader, then imports the task module named in the pool's
// workerData and re-exports its default export (the task function). A
// compiled build may point piscina at build-worker.js directly, or use this
// file with useTsx false.
import { workerData } from 'piscina';

if (workerData.useTsx) {
  const { register } = await import('tsx/esm/api');
  register();
}
const task = await import(workerData.entry);
export default task.default;
