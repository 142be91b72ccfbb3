/**
 * The build pool's task, run in a piscina worker thread: builds one segment
 * with `buildSegment` on the real filesystem and replies with its manifest,
 * `aborted` when the task's abort flag stopped it, or the error as plain data
 * (a piscina error loses its `code`).
 * Loaded directly when compiled, through build-worker-bootstrap.mjs from source.
 */

import { threadId } from 'node:worker_threads';
import { toErrorData } from '../../runtime/errors.js';
import type { ErrorData } from '../../runtime/errors.js';
import { nodeFileSystem } from '../../runtime/fs.js';
import type { SegmentManifest } from './manifest.js';
import { isBuildAbortedError } from './build-abort.js';
import { buildSegment } from './segment-builder.js';
import type { SegmentBuildOptions } from './segment-builder.js';
import type { SegmentRows } from './segment-rows.js';

/** One build, as posted to the worker (the rows' buffers transferred; `options.abort` shared, never transferred). */
export interface BuildTask {
  readonly dir: string;
  readonly name: string;
  readonly rows: SegmentRows;
  readonly options: SegmentBuildOptions;
}

/**
 * The worker's reply: the manifest and the thread that built it, the build gave up on its abort flag, or the failure as
 * data.
 */
export type BuildReply =
  | { readonly kind: 'built'; readonly manifest: SegmentManifest; readonly threadId: number }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly error: ErrorData };

/** Builds the task's segment; never rejects (failures come back as a `failed` reply). */
export default async function runBuildTask(task: BuildTask): Promise<BuildReply> {
  try {
    const manifest = await buildSegment(nodeFileSystem, task.dir, task.name, task.rows, task.options);
    return { kind: 'built', manifest, threadId };
  } catch (error) {
    if (isBuildAbortedError(error)) return { kind: 'aborted' };
    return { kind: 'failed', error: toErrorData(error) };
  }
}
