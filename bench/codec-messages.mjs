// The three representative messages of the codec benchmark and their
// answers, shared by both worker threads (plain JS: workers need no TS loader).
// `search` and `upsert` mirror what the host client sends (a search request;
// a write carrying a columnar batch as in storage/record-batch.ts); `ping` is
// the smallest possible ask.

export const DIMENSION = 384;
export const BATCH_ROWS = 100;
export const MESSAGE_KINDS = ['search', 'upsert', 'ping'];

// mulberry32: the same floats on every run and in every thread.
function seededFloats(count, seed) {
  let state = seed >>> 0;
  const floats = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    floats[i] = (((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * 2 - 1;
  }
  return floats;
}

const LANGS = ['en', 'de', 'fr'];

// The 10 hits that answer every search (built once; each send clones or packs them).
const SEARCH_HITS = Array.from({ length: 10 }, (_, rank) => ({
  id: `doc-${String(1000 + rank * 37).padStart(6, '0')}`,
  score: 0.9 - rank * 0.0123,
  metadata: { title: `Document ${1000 + rank * 37}: a representative title of moderate length`, lang: 'en' },
}));

/** The request body of `kind`, built from a fixed seed. The caller keeps it and never transfers its buffers. */
export function sourceRequest(kind) {
  switch (kind) {
    case 'search':
      return { type: 'search', collection: 'docs', vector: seededFloats(DIMENSION, 1), k: 10, filter: { lang: 'en' } };
    case 'upsert': {
      const ids = Array.from({ length: BATCH_ROWS }, (_, row) => `doc-${String(row).padStart(6, '0')}`);
      const metadata = ids.map((_, row) =>
        JSON.stringify({ title: `Document ${row}: a representative title of moderate length`, lang: LANGS[row % 3] }),
      );
      const batch = {
        dimension: DIMENSION,
        ops: new Uint8Array(BATCH_ROWS),
        ids,
        vectors: seededFloats(BATCH_ROWS * DIMENSION, 2),
        metadata,
        lsns: null,
      };
      return { type: 'write', collection: 'docs', batch };
    }
    case 'ping':
      return { type: 'ping' };
    default:
      throw new Error(`unknown message kind ${kind}`);
  }
}

/**
 * A copy of `source` with fresh typed arrays, and the buffers to transfer.
 * The host client does the same (validation packs the caller's vectors into
 * new arrays), so the copy is part of what a structured-clone ask costs.
 */
export function transferableCopy(source) {
  switch (source.type) {
    case 'search': {
      const vector = source.vector.slice();
      return { body: { ...source, vector }, transfer: [vector.buffer] };
    }
    case 'write': {
      const ops = source.batch.ops.slice();
      const vectors = source.batch.vectors.slice();
      return { body: { ...source, batch: { ...source.batch, ops, vectors } }, transfer: [ops.buffer, vectors.buffer] };
    }
    default:
      return { body: source, transfer: [] };
  }
}

/** The answer to a request body; `state` carries the next LSN across writes. */
export function answerTo(body, state) {
  switch (body.type) {
    case 'search':
      if (body.vector.length !== DIMENSION) throw new Error('search vector has the wrong length');
      return SEARCH_HITS;
    case 'write': {
      const records = body.batch.ids.length;
      if (body.batch.vectors.length !== records * body.batch.dimension)
        throw new Error('batch vectors have the wrong length');
      const firstLsn = state.nextLsn;
      state.nextLsn += records;
      return { records, firstLsn, lastLsn: firstLsn + records - 1 };
    }
    case 'ping':
      return { ok: true };
    case 'echo':
      return body.payload;
    default:
      throw new Error(`unknown request ${body.type}`);
  }
}

/** The bytes of a Buffer or Uint8Array copied into an ArrayBuffer of their own (to transfer). */
export function ownBytes(view) {
  return view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
}
