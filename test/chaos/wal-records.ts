/**
 * The records the WAL crash campaign writes: each id determines its vector
 * and metadata, so a checker can tell an intact record from a corrupted one
 * without remembering what was written.
 */
import type { WalEntry, WalRecord } from '../../storage/wal/wal.js';

/** The record written for `id`: a 150-float vector (600 bytes) derived from the id. */
export function walRecordFor(id: string): WalEntry {
  let state = 2166136261;
  for (let i = 0; i < id.length; i++) state = Math.imul(state ^ id.charCodeAt(i), 16777619) >>> 0;
  const vector = new Float32Array(150);
  for (let i = 0; i < vector.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    vector[i] = state / 4294967296 - 0.5;
  }
  return { op: 'upsert', id, vector, metadata: JSON.stringify({ id }) };
}

/** True when `record` is exactly what `walRecordFor(record.id)` writes. */
export function isIntact(record: WalRecord): boolean {
  const expected = walRecordFor(record.id);
  const vector = record.vector;
  if (vector === null || expected.vector === null || vector.length !== expected.vector.length) return false;
  for (let i = 0; i < vector.length; i++) if (vector[i] !== expected.vector[i]) return false;
  return record.metadata === expected.metadata && record.op === 'upsert';
}
