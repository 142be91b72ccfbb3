// Proves the counted keep-alive: its timer is ref'd exactly while holds are outstanding, a release counts once
// however often it is called, and dispose drops the timer; in-process, with Node's real timer handle.
import { describe, expect, it } from 'vitest';
import { KeepAlive } from '../../runtime/keep-alive.js';

describe('KeepAlive', () => {
  it('holds the process while any hold is outstanding', () => {
    const keepAlive = new KeepAlive();
    expect(keepAlive.holding).toBe(false);
    const first = keepAlive.hold();
    const second = keepAlive.hold();
    expect(keepAlive.count).toBe(2);
    expect(keepAlive.holding).toBe(true);
    first();
    first();
    expect(keepAlive.count).toBe(1);
    expect(keepAlive.holding).toBe(true);
    second();
    expect(keepAlive.count).toBe(0);
    expect(keepAlive.holding).toBe(false);
    keepAlive.dispose();
  });

  it('holds again after going idle, and after dispose with a fresh timer', () => {
    const keepAlive = new KeepAlive();
    keepAlive.hold()();
    const again = keepAlive.hold();
    expect(keepAlive.holding).toBe(true);
    again();
    keepAlive.dispose();
    expect(keepAlive.holding).toBe(false);
    const afterDispose = keepAlive.hold();
    expect(keepAlive.holding).toBe(true);
    afterDispose();
    keepAlive.dispose();
  });
});
