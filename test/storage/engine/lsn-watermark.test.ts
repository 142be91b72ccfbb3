// Proves the LSN watermark on its own: batches in order advance the applied LSN, batches beyond a hole wait until it
// fills, a WAL read to its end fills every hole below it, and the checkpoint moves only when told.
import { describe, expect, it } from 'vitest';
import { AssertionFailure } from '../../../runtime/assert.js';
import { LsnWatermark } from '../../../storage/engine/lsn-watermark.js';

describe('LsnWatermark', () => {
  it('starts at the checkpoint or the end of the replay, whichever is later', () => {
    expect(new LsnWatermark().appliedLsn).toBe(0);
    expect(new LsnWatermark(10, 4).appliedLsn).toBe(10);
    const replayed = new LsnWatermark(10, 25);
    expect([replayed.appliedLsn, replayed.nextMissingLsn, replayed.checkpointLsn]).toEqual([25, 26, 10]);
  });

  it('advances on contiguous batches and ignores ones already covered', () => {
    const watermark = new LsnWatermark();
    watermark.received(1, 3);
    watermark.received(4, 4);
    watermark.received(2, 3);
    expect([watermark.appliedLsn, watermark.rangesAhead]).toEqual([4, 0]);
  });

  it('keeps batches beyond a hole waiting until the hole fills, then absorbs them all', () => {
    const watermark = new LsnWatermark();
    watermark.received(1, 2);
    watermark.received(6, 7);
    watermark.received(8, 9);
    watermark.received(6, 6);
    expect([watermark.appliedLsn, watermark.nextMissingLsn, watermark.rangesAhead]).toEqual([2, 3, 2]);
    watermark.received(3, 5);
    expect([watermark.appliedLsn, watermark.rangesAhead]).toEqual([9, 0]);
  });

  it('takes a WAL read to its end as filling every hole below it', () => {
    const watermark = new LsnWatermark(0, 2);
    watermark.received(10, 12);
    watermark.received(20, 21);
    watermark.readTo(9);
    expect([watermark.appliedLsn, watermark.rangesAhead]).toEqual([12, 1]);
    watermark.readTo(15);
    expect([watermark.appliedLsn, watermark.rangesAhead]).toEqual([15, 1]);
  });

  it('moves the checkpoint only when a flush reports it, independent of what is applied', () => {
    const watermark = new LsnWatermark(5);
    watermark.received(6, 40);
    expect(watermark.checkpointLsn).toBe(5);
    watermark.checkpointed(30);
    expect([watermark.checkpointLsn, watermark.appliedLsn]).toEqual([30, 40]);
  });

  it('crashes on LSNs that cannot be', () => {
    expect(() => new LsnWatermark(-1)).toThrow(AssertionFailure);
    expect(() => new LsnWatermark().received(5, 4)).toThrow(AssertionFailure);
  });
});

describe('LsnWatermark.receivedLsn', () => {
  it('is the highest LSN received, beyond a hole too', () => {
    const watermark = new LsnWatermark(5, 10);
    expect(watermark.receivedLsn).toBe(10);
    watermark.received(20, 24);
    expect([watermark.appliedLsn, watermark.receivedLsn]).toEqual([10, 24]);
    watermark.received(11, 19);
    expect([watermark.appliedLsn, watermark.receivedLsn]).toEqual([24, 24]);
  });
});
