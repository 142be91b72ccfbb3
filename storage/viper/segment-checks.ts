/**
 * Read-back checks of an opened segment: the decoded rows must agree with the
 * manifest (counts, dimension, LSN range) and be well formed (unique ids in
 * sorted order, valid columns). A disagreement is CORRUPTION naming the file.
 */

import { ShoalError } from '../../runtime/errors.js';
import type { SegmentManifest } from './manifest.js';
import { compareIds, liveRowCount, validateSegmentRows } from './segment-rows.js';
import type { SegmentRows } from './segment-rows.js';

/**
 * Throws CORRUPTION naming `path` unless `rows`, decoded from it, match `manifest` and are well formed and sorted by
 * id.
 */
export function checkOpenedRows(rows: SegmentRows, manifest: SegmentManifest, path: string): void {
  const problem = rowsProblem(rows, manifest);
  if (problem !== null) throw new ShoalError('CORRUPTION', `${path}: ${problem}`, { path, problem });
}

function rowsProblem(rows: SegmentRows, manifest: SegmentManifest): string | null {
  if (rows.dimension !== manifest.dimension) return `dimension ${rows.dimension}, manifest says ${manifest.dimension}`;
  if (rows.ids.length !== manifest.rows) return `${rows.ids.length} rows, manifest says ${manifest.rows}`;
  try {
    validateSegmentRows(rows);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const live = liveRowCount(rows);
  if (live !== manifest.liveRows) return `${live} live rows, manifest says ${manifest.liveRows}`;
  for (let row = 1; row < rows.ids.length; row++) {
    if (compareIds(rows.ids[row - 1] as string, rows.ids[row] as string) >= 0) return `ids out of order at row ${row}`;
  }
  for (const lsn of rows.lsns) {
    if (lsn < manifest.minLsn || lsn > manifest.maxLsn) return `LSN ${lsn} outside the manifest's range`;
  }
  return null;
}
