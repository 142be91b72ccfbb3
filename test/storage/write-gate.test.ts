// Proves the write gate's ordering as a transcript of admissions and completions: shared writes run side by side, an
// exclusive item waits for every earlier write and holds back every later one, and arrival order is kept when the gate
// releases.
import { describe, expect, it } from 'vitest';
import { WriteGate } from '../../storage/write-gate.js';

describe('WriteGate', () => {
  it('runs shared items side by side', () => {
    const gate = new WriteGate<string>();
    expect([gate.admit('w1', false), gate.admit('w2', false)]).toEqual([true, true]);
    expect(gate.finished(false)).toEqual([]);
    expect(gate.finished(false)).toEqual([]);
  });

  it('starts an exclusive item only after earlier writes, and holds later ones behind it', () => {
    const gate = new WriteGate<string>();
    expect(gate.admit('w1', false)).toBe(true);
    expect(gate.admit('u1', true)).toBe(false);
    expect(gate.admit('w2', false)).toBe(false);
    expect(gate.waiting).toBe(2);
    expect(gate.finished(false)).toEqual(['u1']);
    expect(gate.admit('w3', false)).toBe(false);
    expect(gate.finished(true)).toEqual(['w2', 'w3']);
    expect(gate.waiting).toBe(0);
  });

  it('runs consecutive exclusive items one at a time, in order', () => {
    const gate = new WriteGate<string>();
    expect(gate.admit('u1', true)).toBe(true);
    expect(gate.admit('u2', true)).toBe(false);
    expect(gate.admit('w1', false)).toBe(false);
    expect(gate.admit('u3', true)).toBe(false);
    expect(gate.finished(true)).toEqual(['u2']);
    expect(gate.finished(true)).toEqual(['w1']);
    expect(gate.finished(false)).toEqual(['u3']);
    expect(gate.finished(true)).toEqual([]);
  });

  it('treats a finish with nothing running as a bug', () => {
    const gate = new WriteGate<string>();
    expect(() => gate.finished(false)).toThrow(/none was running/);
    expect(() => gate.finished(true)).toThrow(/none was running/);
  });
});
