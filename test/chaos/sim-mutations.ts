/**
 * Deliberately broken components for the simulated campaigns: each proves
 * that some checker can fail. A mutation is a spec rewrite applied by the
 * simulator (`SimSystemOptions.specTransform`) on top of the simulator's own
 * engine settings; production code is never changed.
 *
 * - `wal-ack-before-fsync`: every WAL writer runs with `syncMode: 'never'`,
 *   so appends are acknowledged after the write, before any fdatasync.
 * - `periodic-never-syncs`: WAL writers of `periodic` collections never
 *   fdatasync, so acknowledged writes older than `syncIntervalMs` can be lost.
 * - `wal-skip-crc`: every WAL writer reads its segments through a filesystem
 *   that rewrites each frame's CRC32C to match its payload, as if the WAL
 *   skipped checksum verification on recovery and replay. A torn or
 *   garbled tail (`CrashOptions.garbleProbability`) is then decoded as data.
 */
import { crc32c } from '@node-rs/crc32';
import type { Actor, ActorContext, ActorSpec } from '../../runtime/actor.js';
import type { FileHandle, FileSystem } from '../../runtime/fs.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, FRAME_PAYLOAD_BYTES_MAX } from '../../storage/wal/frame.js';
import { createWalWriter } from '../../actors/wal-writer-actor.js';
import type { WalWriterArgs } from '../../actors/wal-writer-actor.js';
import { simSpecTransform } from './sim-shoal.js';

/** The mutations a campaign may run with. */
export const SIM_MUTATIONS = ['wal-ack-before-fsync', 'periodic-never-syncs', 'wal-skip-crc'] as const;

/** One deliberately broken component. */
export type SimMutation = (typeof SIM_MUTATIONS)[number];

/** True when `value` names a mutation. */
export function isSimMutation(value: unknown): value is SimMutation {
  return (SIM_MUTATIONS as readonly unknown[]).includes(value);
}

const THIS_MODULE = import.meta.url;

/** The spec rewrite of a campaign: the simulator's engine settings, plus the mutation (if any). */
export function campaignSpecTransform(mutation: SimMutation | undefined): (spec: ActorSpec) => ActorSpec {
  return (spec) => {
    const rewritten = simSpecTransform(spec);
    if (mutation === undefined || !spec.address.startsWith('wal/')) return rewritten;
    const args = rewritten.args as WalWriterArgs;
    switch (mutation) {
      case 'wal-ack-before-fsync':
        return { ...rewritten, args: { ...args, syncMode: 'never' } };
      case 'periodic-never-syncs': {
        if (args.syncMode !== 'periodic') return rewritten;
        const { syncIntervalMs: _interval, ...rest } = args;
        return { ...rewritten, args: { ...rest, syncMode: 'never' } };
      }
      case 'wal-skip-crc':
        return { ...rewritten, module: THIS_MODULE, factory: 'createCrcBlindWalWriter' };
    }
  };
}

/** The `wal-skip-crc` WAL writer: the real one, over a filesystem on which every WAL frame's checksum verifies. */
export function createCrcBlindWalWriter(args: WalWriterArgs): Actor {
  const inner = createWalWriter(args);
  return {
    start: (ctx: ActorContext) => inner.start?.({ ...ctx, fs: crcBlindFileSystem(ctx.fs) }),
    receive: (message, ctx, responder) => inner.receive(message, ctx, responder),
    stop: (ctx) => inner.stop?.(ctx),
  };
}

const SEGMENT = /\.wal$/;

/**
 * Rewrites the checksum of every frame that has a valid magic and length
 * and fits in `bytes` (walking from offset 0, as the WAL's scanner does),
 * so that only magic and length are still checked. Returns a copy.
 */
export function acceptEveryChecksum(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  for (let offset = 0; offset + FRAME_HEADER_BYTES <= copy.byteLength; ) {
    if (!FRAME_MAGIC.every((byte, index) => copy[offset + index] === byte)) break;
    const length = view.getUint32(offset + 4, true);
    const end = offset + FRAME_HEADER_BYTES + length;
    if (length < 1 || length > FRAME_PAYLOAD_BYTES_MAX || end > copy.byteLength) break;
    view.setUint32(offset + 8, crc32c(copy.subarray(offset + FRAME_HEADER_BYTES, end)), true);
    offset = end;
  }
  return copy;
}

/**
 * `fs`, except that WAL segments read (whole, or through a read-only handle) with every frame checksum made to verify.
 */
function crcBlindFileSystem(fs: FileSystem): FileSystem {
  return {
    open: async (path, flags) => {
      const handle = await fs.open(path, flags);
      if (flags !== 'r' || !SEGMENT.test(path)) return handle;
      return crcBlindHandle(handle, acceptEveryChecksum(await fs.readFile(path)));
    },
    readFile: async (path) => (SEGMENT.test(path) ? acceptEveryChecksum(await fs.readFile(path)) : fs.readFile(path)),
    rename: (from, to) => fs.rename(from, to),
    unlink: (path) => fs.unlink(path),
    readdir: (path) => fs.readdir(path),
    mkdir: (path) => fs.mkdir(path),
    rm: (path) => fs.rm(path),
    stat: (path) => fs.stat(path),
    fsyncDir: (path) => fs.fsyncDir(path),
  };
}

/**
 * A read-only handle whose reads come from `content` (the file as it was at open, checksums rewritten) where it covers
 * them.
 */
function crcBlindHandle(handle: FileHandle, content: Uint8Array): FileHandle {
  return {
    write: (data, position) => handle.write(data, position),
    read: async (buffer, offset, length, position) => {
      const count = await handle.read(buffer, offset, length, position);
      if (position + count <= content.byteLength) buffer.set(content.subarray(position, position + count), offset);
      return count;
    },
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    truncate: (length) => handle.truncate(length),
    size: () => handle.size(),
    close: () => handle.close(),
  };
}
