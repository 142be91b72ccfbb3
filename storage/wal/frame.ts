/**
 * WAL frames: the checksummed envelope around one batch payload, and the
 * scanner that walks a segment's bytes and classifies damage as a torn tail
 * or as corruption. Pure functions over byte arrays; no I/O.
 *
 * Layout (little-endian), 12-byte header then payload:
 *   0  magic     4 bytes, ASCII "SHW1"
 *   4  length    u32, payload bytes, 1 ..= FRAME_PAYLOAD_BYTES_MAX
 *   8  checksum  u32, CRC32C (Castagnoli) of the payload
 *  12  payload   `length` bytes (an Avro batch, see record-codec.ts)
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '../../runtime/assert.js';
import { WAL_LIMITS } from '../../runtime/limits.js';

/** ASCII "SHW1": Shoal WAL, frame format 1. */
export const FRAME_MAGIC: Uint8Array = Uint8Array.from([0x53, 0x48, 0x57, 0x31]);

/** Bytes before the payload: magic, length, checksum. */
export const FRAME_HEADER_BYTES = 12;

/** The largest payload a frame may carry; a header claiming more is invalid (the value lives in the limits table). */
export const FRAME_PAYLOAD_BYTES_MAX = WAL_LIMITS.framePayloadBytesMax;

const MAGIC_BUFFER = Buffer.from(FRAME_MAGIC);

/** The outcome of reading one frame at an offset. */
export type FrameParse =
  | { readonly kind: 'frame'; readonly payload: Uint8Array; readonly end: number }
  /** More bytes are needed; `frameBytes` is the whole frame's size when the header was readable. */
  | { readonly kind: 'incomplete'; readonly frameBytes: number | null }
  | { readonly kind: 'invalid'; readonly reason: string };

/** A verified frame found by `scanFrames`; `payload` is a view into the scanned bytes. */
export interface ScannedFrame {
  readonly offset: number;
  readonly end: number;
  readonly payload: Uint8Array;
}

/**
 * Where a scan stopped early. `torn`: nothing valid follows, so the bytes
 * from `offset` on are an unfinished write. `corrupt`: a verified frame
 * follows, so bytes that were once complete have changed.
 */
export interface FrameDamage {
  readonly kind: 'torn' | 'corrupt';
  readonly offset: number;
  readonly reason: string;
}

/** Every verified frame from offset 0, the end of the last one, and the damage that stopped the scan (if any). */
export interface FrameScan {
  readonly frames: ScannedFrame[];
  readonly validBytes: number;
  readonly damage: FrameDamage | null;
}

/** Wraps a payload (1 ..= FRAME_PAYLOAD_BYTES_MAX bytes) in a header; returns a new buffer. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  frame.set(payload, FRAME_HEADER_BYTES);
  return sealFrame(frame);
}

/**
 * Writes the header of a frame whose payload already fills `frame` from
 * FRAME_HEADER_BYTES on (a writer that builds the payload in place saves
 * copying it); returns `frame`.
 */
export function sealFrame(frame: Uint8Array): Uint8Array {
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  // Writers bound their payloads before framing them (the WAL rejects a larger batch as bad input).
  const size = payload.byteLength;
  const within = size >= 1 && size <= FRAME_PAYLOAD_BYTES_MAX;
  assert(within, `frame payload of ${size} bytes is outside 1..${FRAME_PAYLOAD_BYTES_MAX}`);
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  frame.set(FRAME_MAGIC, 0);
  view.setUint32(4, payload.byteLength, true);
  view.setUint32(8, crc32c(payload), true);
  return frame;
}

/** Reads the frame starting at `offset`, verifying magic, length bound and checksum; never throws. */
export function parseFrameAt(bytes: Uint8Array, offset: number): FrameParse {
  const remaining = bytes.byteLength - offset;
  const magicBytes = Math.min(FRAME_MAGIC.byteLength, remaining);
  for (let index = 0; index < magicBytes; index += 1) {
    if (bytes[offset + index] !== FRAME_MAGIC[index]) return { kind: 'invalid', reason: 'bad magic' };
  }
  if (remaining < FRAME_HEADER_BYTES) return { kind: 'incomplete', frameBytes: null };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  const length = view.getUint32(4, true);
  if (length < 1 || length > FRAME_PAYLOAD_BYTES_MAX)
    return { kind: 'invalid', reason: `bad payload length ${length}` };
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > bytes.byteLength) return { kind: 'incomplete', frameBytes: FRAME_HEADER_BYTES + length };
  const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32c(payload) !== view.getUint32(8, true)) return { kind: 'invalid', reason: 'checksum mismatch' };
  return { kind: 'frame', payload, end };
}

/**
 * Walks `bytes` frame by frame from offset 0. At the first frame that is
 * incomplete or invalid it searches forward byte by byte for the magic
 * followed by a frame whose checksum verifies: if one exists the damage is
 * `corrupt`, otherwise it is a `torn` tail. Frames after damage are not returned.
 */
export function scanFrames(bytes: Uint8Array): FrameScan {
  const frames: ScannedFrame[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    const parsed = parseFrameAt(bytes, offset);
    if (parsed.kind !== 'frame') {
      const reason = parsed.kind === 'incomplete' ? 'incomplete frame' : parsed.reason;
      const next = findNextFrame(bytes, offset + 1);
      const damage: FrameDamage =
        next === null
          ? { kind: 'torn', offset, reason }
          : { kind: 'corrupt', offset, reason: `${reason}; a valid frame follows at byte ${next}` };
      return { frames, validBytes: offset, damage };
    }
    frames.push({ offset, end: parsed.end, payload: parsed.payload });
    offset = parsed.end;
  }
  return { frames, validBytes: offset, damage: null };
}

/** The offset of the first verified frame at or after `from`, or null when there is none. */
export function findNextFrame(bytes: Uint8Array, from: number): number | null {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = haystack.indexOf(MAGIC_BUFFER, from);
  while (at >= 0) {
    if (parseFrameAt(bytes, at).kind === 'frame') return at;
    at = haystack.indexOf(MAGIC_BUFFER, at + 1);
  }
  return null;
}

/**
 * Whether every byte from `offset` to the end is zero (a preallocated, never-written tail; no frame starts with a zero
 * byte).
 */
export function isZeroFrom(bytes: Uint8Array, offset: number): boolean {
  for (let index = offset; index < bytes.byteLength; index += 1) if (bytes[index] !== 0) return false;
  return true;
}
