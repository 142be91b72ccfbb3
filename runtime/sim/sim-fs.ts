/**
 * The simulated filesystem: in memory, crash-aware and fault-injecting.
 *
 * - Every operation completes as a scheduler event after a latency drawn
 *   from the seeded PRNG (operations on one path complete in issue order),
 *   so I/O interleaves deterministically with messages and timers. Its
 *   effect happens at completion, and is one trace line.
 * - File data written but not yet synced (`datasync`/`sync`) is pending; a
 *   directory entry created, renamed or removed is pending until an
 *   `fsyncDir` of its parent (`sim-namespace.ts`).
 * - `crash()` loses pending state, or keeps a random prefix of it with a
 *   possibly torn last write (or, when asked, a last kept write whose final
 *   bytes are garbage), per file and for the metadata journal, as drawn from
 *   the seed. Operations in flight at the crash never complete. A process
 *   crash (`powerLoss: false`) only ends handles and operations in flight:
 *   the page cache keeps every write, still unsynced.
 * - `failNext`/`arm` make chosen operations fail with an errno code (EIO,
 *   ENOSPC, ...). A failed write writes nothing; a failed sync dooms the
 *   writes it should have covered: still readable, lost at a crash, never
 *   made durable by a later sync (see `sim-file-content.ts`).
 * - File handles have no blocking `writeSync`/`datasyncSync`: nothing may
 *   block the simulator's single thread.
 */
import { posix } from 'node:path';
import { errnoCode } from '../fs-errors.js';
import type { FileHandle, FileStat, FileSystem, OpenFlags } from '../fs.js';
import type { Random } from '../random.js';
import type { Gate } from './gate.js';
import type { Scheduler } from './scheduler.js';
import type { FileContent } from './sim-file-content.js';
import { fsError } from './sim-fs-errors.js';
import {
  fileAt,
  listEntries,
  makeDirectories,
  openEntry,
  removeTree,
  renameEntry,
  statEntry,
  syncDirectory,
  unlinkEntry,
} from './sim-fs-tree.js';
import { Namespace } from './sim-namespace.js';

/** Every operation of the simulated filesystem, as named in faults and in the trace. */
export type SimFsOperation =
  | 'open'
  | 'read'
  | 'write'
  | 'datasync'
  | 'sync'
  | 'truncate'
  | 'size'
  | 'close'
  | 'readFile'
  | 'rename'
  | 'unlink'
  | 'readdir'
  | 'mkdir'
  | 'rm'
  | 'stat'
  | 'fsyncDir';

/** Latency of each operation in virtual microseconds: uniform in [min, max]. */
export type LatencyTable = Record<SimFsOperation, readonly [number, number]>;

/** Options of a simulated filesystem. */
export interface SimFileSystemOptions {
  /** Folders that exist, durably, from the start (storage roots such as `/data`). */
  readonly directories?: readonly string[];
  /** Overrides of the default latencies. */
  readonly latencyUs?: Partial<LatencyTable>;
}

/** Narrows which calls a fault hits. */
export interface FaultMatch {
  /** Only paths containing this text. */
  readonly pathIncludes?: string;
}

/** How much unsynced state a crash keeps. */
export interface CrashOptions {
  /**
   * False: the process died, not the machine; unsynced data and entries stay in the page cache (nothing is lost).
   * Default true.
   */
  readonly powerLoss?: boolean;
  /**
   * Chance that a file (or the metadata journal) keeps a random prefix of its unsynced operations instead of losing
   * all. Default 0.5.
   */
  readonly keepProbability?: number;
  /**
   * Chance that, in a file that keeps a prefix, the first write lost is torn (a prefix of its bytes survives). Default
   * 0.5.
   */
  readonly tornProbability?: number;
  /**
   * Chance that, in a file that keeps a prefix ending in a write, some of
   * that write's last 16 bytes are garbage instead (a run of them, up to its
   * end), and nothing after it is kept: data that a checksum must catch.
   * Default 0.
   */
  readonly garbleProbability?: number;
  /** Only files whose path matches may be garbled. Default: every file. */
  readonly garblePaths?: RegExp;
}

/** What a crash did. */
export interface CrashReport {
  readonly filesWithPendingData: number;
  readonly dataOperationsKept: number;
  readonly dataOperationsLost: number;
  readonly tornWrites: number;
  readonly garbledWrites: number;
  readonly metadataOperationsKept: number;
  readonly metadataOperationsLost: number;
}

interface FaultRule {
  readonly operation: SimFsOperation;
  readonly code: string;
  readonly pathIncludes: string | null;
  remaining: number;
}

/** A garbled write has garbage only within its last this many bytes. */
const GARBLE_WINDOW_BYTES = 16;

const DEFAULT_LATENCY_US: LatencyTable = {
  open: [5, 50],
  read: [5, 60],
  write: [10, 150],
  datasync: [300, 3_000],
  sync: [300, 3_000],
  truncate: [10, 80],
  size: [2, 20],
  close: [2, 20],
  readFile: [10, 200],
  rename: [10, 100],
  unlink: [10, 100],
  readdir: [5, 60],
  mkdir: [10, 100],
  rm: [10, 200],
  stat: [2, 30],
  fsyncDir: [200, 2_000],
};

function normalise(path: string): string {
  return posix.resolve('/', path);
}

/** The surface a handle needs from its filesystem. */
interface HandleHost {
  perform<T>(
    owner: string,
    operation: SimFsOperation,
    path: string,
    detail: string,
    work: () => T,
    failed?: () => void,
  ): Promise<T>;
  readonly epoch: number;
}

/** An open simulated file. Positions are byte offsets; no blocking variants. */
class SimFileHandle implements FileHandle {
  private closed = false;
  private readonly epoch: number;

  constructor(
    private readonly host: HandleHost,
    private readonly owner: string,
    private readonly path: string,
    private readonly content: FileContent,
    private readonly flags: OpenFlags,
  ) {
    this.epoch = host.epoch;
  }

  write(data: Uint8Array, position?: number): Promise<void> {
    const copy = data.slice();
    const at = position === undefined ? 'end' : String(position);
    return this.host.perform(this.owner, 'write', this.path, ` @${at}+${copy.byteLength}`, () => {
      this.check('write', true);
      this.content.write(copy, this.flags === 'a' || position === undefined ? this.content.size : position);
    });
  }

  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.host.perform(this.owner, 'read', this.path, ` @${position}+${length}`, () => {
      this.check('read', false);
      return this.content.read(buffer, offset, length, position);
    });
  }

  datasync(): Promise<void> {
    return this.syncAs('datasync');
  }

  sync(): Promise<void> {
    return this.syncAs('sync');
  }

  truncate(length: number): Promise<void> {
    return this.host.perform(this.owner, 'truncate', this.path, ` to ${length}`, () => {
      this.check('ftruncate', true);
      this.content.truncate(length);
    });
  }

  size(): Promise<number> {
    return this.host.perform(this.owner, 'size', this.path, '', () => {
      this.check('fstat', false);
      return this.content.size;
    });
  }

  close(): Promise<void> {
    return this.host.perform(this.owner, 'close', this.path, '', () => {
      this.closed = true;
    });
  }

  private syncAs(operation: 'datasync' | 'sync'): Promise<void> {
    return this.host.perform(
      this.owner,
      operation,
      this.path,
      '',
      () => {
        this.check(operation === 'sync' ? 'fsync' : 'fdatasync', false);
        this.content.sync();
      },
      () => this.content.failSync(),
    );
  }

  private check(syscall: string, writing: boolean): void {
    if (this.closed || this.epoch !== this.host.epoch) throw fsError('EBADF', syscall, this.path);
    if (writing && this.flags === 'r') throw fsError('EBADF', syscall, this.path);
  }
}

/** How much of a file's unsynced operations a crash keeps: a prefix, then a torn write, or a garbled last write. */
function drawKeptPrefix(
  content: FileContent,
  path: string,
  options: CrashOptions,
  random: Random,
): { kept: number; tornBytes: number; garble: { offset: number; bytes: Uint8Array } | null } {
  const kept = random.int(content.pendingOperations + 1);
  const lastBytes = kept > 0 ? content.pendingWriteBytes(kept - 1) : 0;
  const garbleProbability = options.garbleProbability ?? 0;
  if (
    garbleProbability > 0 &&
    lastBytes > 0 &&
    (options.garblePaths?.test(path) ?? true) &&
    random.next() < garbleProbability
  ) {
    const offset =
      lastBytes - Math.min(lastBytes, GARBLE_WINDOW_BYTES) + random.int(Math.min(lastBytes, GARBLE_WINDOW_BYTES));
    const bytes = Uint8Array.from({ length: 1 + random.int(lastBytes - offset) }, () => random.int(256));
    return { kept, tornBytes: 0, garble: { offset, bytes } };
  }
  const nextBytes = content.pendingWriteBytes(kept);
  const tornBytes =
    nextBytes > 1 && random.next() < (options.tornProbability ?? 0.5) ? 1 + random.int(nextBytes - 1) : 0;
  return { kept, tornBytes, garble: null };
}

/** Wraps a handle so that its completions pass the owner's gate. */
function gatedHandle(handle: FileHandle, pass: <T>(promise: Promise<T>) => Promise<T>): FileHandle {
  return {
    write: (data, position) => pass(handle.write(data, position)),
    read: (buffer, offset, length, position) => pass(handle.read(buffer, offset, length, position)),
    datasync: () => pass(handle.datasync()),
    sync: () => pass(handle.sync()),
    truncate: (length) => pass(handle.truncate(length)),
    size: () => pass(handle.size()),
    close: () => pass(handle.close()),
  };
}

/** An in-memory FileSystem whose operations are scheduler events; see the module header. */
export class SimFileSystem implements FileSystem {
  private readonly namespace = new Namespace();
  private readonly faults: FaultRule[] = [];
  private readonly latency: LatencyTable;
  /** Per path, when its last scheduled operation completes (operations on one path complete in order). */
  private readonly lastCompletionUs = new Map<string, number>();
  private readonly host: FileSystem;
  private currentEpoch = 0;
  private nextFileId = 1;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    options: SimFileSystemOptions = {},
  ) {
    this.latency = { ...DEFAULT_LATENCY_US, ...options.latencyUs };
    for (const dir of options.directories ?? []) this.namespace.createDurableDirectory(normalise(dir));
    this.host = this.view('$host', null);
  }

  /** Bumped by every crash: operations and handles of an older epoch never complete. */
  get epoch(): number {
    return this.currentEpoch;
  }

  open(path: string, flags: OpenFlags): Promise<FileHandle> {
    return this.host.open(path, flags);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.host.readFile(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.host.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.host.unlink(path);
  }

  readdir(path: string): Promise<string[]> {
    return this.host.readdir(path);
  }

  mkdir(path: string): Promise<void> {
    return this.host.mkdir(path);
  }

  rm(path: string): Promise<void> {
    return this.host.rm(path);
  }

  stat(path: string): Promise<FileStat | null> {
    return this.host.stat(path);
  }

  fsyncDir(path: string): Promise<void> {
    return this.host.fsyncDir(path);
  }

  /** The filesystem as one actor sees it: named `owner` in the trace, completing only while `gate` is open. */
  forActor(owner: string, gate: Gate): FileSystem {
    return this.view(owner, gate);
  }

  /** The next `count` (default 1) calls of `operation` (matching `match`) fail with errno `code`. */
  failNext(operation: SimFsOperation, code: string, match: FaultMatch = {}, count = 1): void {
    this.faults.push({ operation, code, pathIncludes: match.pathIncludes ?? null, remaining: count });
  }

  /** Every later call of `operation` (matching `match`) fails with errno `code`, until `disarm`. */
  arm(operation: SimFsOperation, code: string, match: FaultMatch = {}): void {
    this.failNext(operation, code, match, Number.POSITIVE_INFINITY);
  }

  /** Clears every armed or pending fault. */
  disarm(): void {
    this.faults.length = 0;
  }

  /**
   * A power failure: operations in flight never complete, open handles die,
   * and unsynced state is lost or partly kept (a random prefix, the last
   * write possibly torn or garbled) as drawn from `random`. With
   * `powerLoss: false`, a process crash: only operations in flight and open
   * handles are lost. Clears armed faults.
   */
  crash(options: CrashOptions = {}, random: Random = this.random): CrashReport {
    this.currentEpoch++;
    this.lastCompletionUs.clear();
    this.disarm();
    if (options.powerLoss === false) {
      this.scheduler.record('fs-crash process: the page cache survives');
      return {
        filesWithPendingData: 0,
        dataOperationsKept: 0,
        dataOperationsLost: 0,
        tornWrites: 0,
        garbledWrites: 0,
        metadataOperationsKept: 0,
        metadataOperationsLost: 0,
      };
    }
    const keepProbability = options.keepProbability ?? 0.5;
    const metadataPending = this.namespace.pendingOperations;
    const metadataKept = metadataPending > 0 && random.next() < keepProbability ? random.int(metadataPending + 1) : 0;
    this.namespace.crash(metadataKept);
    const report = {
      filesWithPendingData: 0,
      dataOperationsKept: 0,
      dataOperationsLost: 0,
      tornWrites: 0,
      garbledWrites: 0,
      metadataOperationsKept: metadataKept,
      metadataOperationsLost: metadataPending - metadataKept,
    };
    for (const { path, content } of this.namespace.durableFiles()) {
      const pending = content.pendingOperations;
      const doomed = content.doomedOperations;
      if (pending === 0 && doomed === 0) continue;
      const { kept, tornBytes, garble } =
        pending > 0 && random.next() < keepProbability
          ? drawKeptPrefix(content, path, options, random)
          : { kept: 0, tornBytes: 0, garble: null };
      content.crash(kept, tornBytes, garble);
      report.filesWithPendingData++;
      report.dataOperationsKept += kept;
      report.dataOperationsLost += pending - kept + doomed;
      if (tornBytes > 0) report.tornWrites++;
      if (garble !== null) report.garbledWrites++;
    }
    const {
      filesWithPendingData,
      dataOperationsKept,
      dataOperationsLost,
      tornWrites,
      garbledWrites,
      metadataOperationsLost,
    } = report;
    const garbled = (options.garbleProbability ?? 0) > 0 ? ` garbled=${garbledWrites}` : '';
    this.scheduler.record(
      `fs-crash files=${filesWithPendingData} kept=${dataOperationsKept} lost=${dataOperationsLost} ` +
        `torn=${tornWrites}${garbled} metadata-kept=${metadataKept} metadata-lost=${metadataOperationsLost}`,
    );
    return report;
  }

  /** The current content of a file, read synchronously without an event (for checkers), or null. */
  peek(path: string): Uint8Array | null {
    const node = this.namespace.get(normalise(path));
    return node?.kind === 'file' ? node.content.snapshot() : null;
  }

  /** Entry names of a folder, synchronously (for checkers); empty when absent. */
  peekEntries(path: string): string[] {
    const node = this.namespace.get(normalise(path));
    return node?.kind === 'dir' ? this.namespace.children(normalise(path)) : [];
  }

  /** Whether `path` is in the durable tree: it would survive a crash now (its content may not). */
  isDurableEntry(path: string): boolean {
    return this.namespace.getDurable(normalise(path)) !== undefined;
  }

  /** Runs `work` as the completion event of one operation; see the module header. */
  perform<T>(
    owner: string,
    operation: SimFsOperation,
    path: string,
    detail: string,
    work: () => T,
    failed?: () => void,
  ): Promise<T> {
    const epoch = this.currentEpoch;
    const [minUs, maxUs] = this.latency[operation];
    const dueUs = Math.max(
      this.scheduler.nowMicros + minUs + this.random.int(maxUs - minUs + 1),
      this.lastCompletionUs.get(path) ?? 0,
    );
    this.lastCompletionUs.set(path, dueUs);
    return new Promise<T>((resolve, reject) => {
      this.scheduler.at(dueUs - this.scheduler.nowMicros, () => {
        if (epoch !== this.currentEpoch) return;
        const line = `io ${owner} ${operation} ${path}${detail}`;
        const fault = this.takeFault(operation, path);
        try {
          if (fault !== null) {
            failed?.();
            throw fsError(fault, operation, path, true);
          }
          const result = work();
          this.scheduler.record(`${line} ok`);
          resolve(result);
        } catch (error) {
          this.scheduler.record(`${line} ERR ${errnoCode(error) ?? 'UNKNOWN'}`);
          reject(error);
        }
      });
    });
  }

  private takeFault(operation: SimFsOperation, path: string): string | null {
    const index = this.faults.findIndex(
      (rule) => rule.operation === operation && (rule.pathIncludes === null || path.includes(rule.pathIncludes)),
    );
    const rule = this.faults[index];
    if (rule === undefined) return null;
    rule.remaining--;
    if (rule.remaining <= 0) this.faults.splice(index, 1);
    return rule.code;
  }

  private view(owner: string, gate: Gate | null): FileSystem {
    const pass = <T>(promise: Promise<T>): Promise<T> => (gate === null ? promise : gate.promise(promise));
    const tree = this.namespace;
    const run = <T>(
      operation: SimFsOperation,
      path: string,
      detail: string,
      work: (normalised: string) => T,
    ): Promise<T> => {
      const normalised = normalise(path);
      return pass(this.perform(owner, operation, normalised, detail, () => work(normalised)));
    };
    return {
      open: async (path, flags) => {
        const content = await run('open', path, ` ${flags}`, (at) => ({
          at,
          content: openEntry(tree, at, flags, () => this.nextFileId++),
        }));
        return gatedHandle(new SimFileHandle(this, owner, content.at, content.content, flags), pass);
      },
      readFile: (path) => run('readFile', path, '', (at) => fileAt(tree, at, 'open').snapshot()),
      rename: (from, to) => run('rename', from, ` -> ${normalise(to)}`, (at) => renameEntry(tree, at, normalise(to))),
      unlink: (path) => run('unlink', path, '', (at) => unlinkEntry(tree, at)),
      readdir: (path) => run('readdir', path, '', (at) => listEntries(tree, at)),
      mkdir: (path) => run('mkdir', path, '', (at) => makeDirectories(tree, at)),
      rm: (path) => run('rm', path, '', (at) => removeTree(tree, at)),
      stat: (path) => run('stat', path, '', (at) => statEntry(tree, at)),
      fsyncDir: (path) => run('fsyncDir', path, '', (at) => syncDirectory(tree, at)),
    };
  }
}
