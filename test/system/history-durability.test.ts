// Proves the campaign checker encodes each sync mode's promise, on hand-built histories: after a power loss `always`
// and `batch` keep every acknowledged write, `periodic` those acknowledged more than syncIntervalMs (plus slack) before
// it, `never` none; a process crash loses nothing in any mode; a value never written is refused everywhere; a dropped
// collection's ids are absent for good, whatever the mode; a failed periodic WAL may undo its recent acknowledgements;
// once nothing is in flight, a write that did not show must not appear later; a read in flight across a power loss may
// return what the loss may leave.
import { describe, expect, it } from 'vitest';
import type { SyncMode } from '../../storage/wal/sync-mode.js';
import { History, PERIODIC_SLACK_MS } from '../chaos/sim-history.js';
import type { RecordValue } from '../chaos/sim-history.js';

const INTERVAL_MS = 50;

function value(tag: number): RecordValue {
  return { vector: Float32Array.of(tag, 0, 0, 1), metadata: { tag } };
}

/** A history of `x` in `syncMode`: write 1 acknowledged at 100 ms, write 2 acknowledged at 300 ms. */
function twoWrites(syncMode: SyncMode): History {
  const history = new History(['x'], { syncMode, syncIntervalMs: INTERVAL_MS });
  history.acknowledge(history.issue('x', value(1)), 100);
  history.acknowledge(history.issue('x', value(2)), 300);
  return history;
}

const powerLossAt = (atMs: number) => ({ powerLoss: true, atMs });

describe('the durability checker', () => {
  it('keeps every acknowledged write through a power loss in always and batch modes', () => {
    for (const mode of ['always', 'batch'] as const) {
      const history = twoWrites(mode);
      expect(history.check('x', value(2), powerLossAt(301))).toBeNull();
      expect(history.check('x', value(1), powerLossAt(301))).toMatch(/lost an acknowledged write/);
      expect(history.check('x', null, powerLossAt(301))).toMatch(/lost an acknowledged write/);
    }
  });

  it('in periodic mode, requires only writes acknowledged more than syncIntervalMs before the power loss', () => {
    const history = twoWrites('periodic');
    const window = INTERVAL_MS + PERIODIC_SLACK_MS;
    // Write 2 is younger than the window: losing it is allowed, losing write 1 as well is not.
    expect(history.check('x', value(1), powerLossAt(300 + window - 1))).toBeNull();
    expect(history.check('x', null, powerLossAt(300 + window - 1))).toMatch(/lost an acknowledged write/);
    // Once write 2 is older than the window, it must be there.
    expect(history.check('x', value(1), powerLossAt(300 + window))).toMatch(/lost an acknowledged write/);
    expect(history.check('x', value(2), powerLossAt(300 + window))).toBeNull();
  });

  it('in never mode, allows any acknowledged write to be lost on power loss, but none on a process crash', () => {
    const history = twoWrites('never');
    expect(history.check('x', null, powerLossAt(10_000))).toBeNull();
    expect(history.check('x', value(1), powerLossAt(10_000))).toBeNull();
    expect(history.check('x', value(1), { powerLoss: false, atMs: 10_000 })).toMatch(/lost an acknowledged write/);
    expect(history.check('x', value(1))).toMatch(/lost an acknowledged write/);
  });

  it('refuses a value that was never written, in every mode and after any crash', () => {
    for (const mode of ['always', 'batch', 'periodic', 'never'] as const) {
      const history = twoWrites(mode);
      for (const crash of [null, powerLossAt(10_000), { powerLoss: false, atMs: 10_000 }]) {
        expect(history.check('x', value(3), crash)).toMatch(/holds a value never written/);
      }
    }
  });

  it('keeps a dropped collection empty after a power loss even in never mode, and lets a re-created one start empty', () => {
    const history = twoWrites('never');
    for (const write of history.issueDrop()) history.acknowledge(write, 400);
    expect(history.check('x', null, powerLossAt(10_000))).toBeNull();
    expect(history.check('x', value(2), powerLossAt(10_000))).toMatch(/lost an acknowledged write/);
    // A write to the re-created collection may be lost again (never mode), but only back to "absent".
    history.acknowledge(history.issue('x', value(5)), 500);
    expect(history.check('x', null, powerLossAt(10_000))).toBeNull();
    expect(history.check('x', value(2), powerLossAt(10_000))).not.toBeNull();
  });

  it('after a process crash, takes what was read as the truth, which a later power loss may still undo', () => {
    const history = new History(['x'], { syncMode: 'never', syncIntervalMs: 0 });
    history.acknowledge(history.issue('x', value(1)), 100);
    history.issue('x', value(2)); // in flight at the crash: its effect is unknown
    history.settle(new Map([['x', value(2)]]), 200, { powerLoss: false, atMs: 200 });
    expect(history.checkRead('x', value(1), history.stamp(), history.stamp())).toMatch(/returned/);
    expect(history.check('x', value(1), powerLossAt(300))).toBeNull();
    expect(history.check('x', null, powerLossAt(300))).toBeNull();
  });

  it('lets a read in flight across a power loss return what the loss may leave, and only across one', () => {
    const history = twoWrites('never');
    const before = history.stamp();
    // With no crash during the read, write 2 (acknowledged before it) hides write 1.
    expect(history.checkRead('x', value(1), before, history.stamp())).toMatch(/returned/);
    const issued = history.stamp();
    history.noteCrash(powerLossAt(400)); // never: neither write must survive
    const completed = history.stamp();
    expect(history.checkRead('x', value(1), issued, completed)).toBeNull();
    expect(history.checkRead('x', null, issued, completed)).toBeNull();
    expect(history.checkRead('x', value(3), issued, completed)).toMatch(/returned/);
    // A read issued after the crash gets no such leeway.
    expect(history.checkRead('x', value(1), history.stamp(), history.stamp())).toMatch(/returned/);
    // In batch mode a power loss keeps write 2, so write 1 stays refused across it.
    const batch = twoWrites('batch');
    const batchIssued = batch.stamp();
    batch.noteCrash(powerLossAt(400));
    expect(batch.checkRead('x', value(1), batchIssued, batch.stamp())).toMatch(/returned/);
  });

  it('once quiescent, refuses a write that did not show and appears later (a zombie), in batch mode even after a power loss', () => {
    const history = new History(['x'], { syncMode: 'batch', syncIntervalMs: 0 });
    history.acknowledge(history.issue('x', value(1)), 100);
    history.issue('x', value(2)); // timed out; a read after every deadline still sees write 1
    history.settle(new Map([['x', value(1)]]), 10_000, null);
    expect(history.check('x', value(2))).toMatch(/revived an old one/);
    expect(history.check('x', value(2), powerLossAt(20_000))).not.toBeNull();
    expect(history.check('x', value(1), powerLossAt(20_000))).toBeNull();
  });

  it('lets a failed periodic WAL undo the writes acknowledged since its last sync', () => {
    const history = twoWrites('periodic');
    expect(history.check('x', value(1))).not.toBeNull();
    expect(history.weaken(['x'], 250)).toBe(1);
    expect(history.check('x', value(1))).toBeNull();
    expect(history.check('x', null)).not.toBeNull();
  });
});
