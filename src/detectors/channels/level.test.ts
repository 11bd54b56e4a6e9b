import { describe, expect, it } from 'vitest';
import { TimeLevel, quantumOf } from './level.ts';

describe('TimeLevel', () => {
  it('is the exponentially weighted mean of the readings from the first one, settled after `settle` time constants', () => {
    const l = new TimeLevel(1000, 3, 5);
    expect(l.advance(0, 2)).toBe(false);
    expect(l.level).toBe(2);
    expect(l.started).toBe(true);
    expect(l.advance(1000, 4)).toBe(false);
    // Weights e^-1 and 1: (2·e^-1 + 4) / (e^-1 + 1).
    expect(l.level).toBeCloseTo((2 * Math.exp(-1) + 4) / (Math.exp(-1) + 1), 12);
    expect(l.started).toBe(false);
    expect(l.dt).toBe(1000);
    l.advance(2000, 4);
    expect(l.advance(3000, 4)).toBe(true);
  });

  it('skips a reading that is not finite or steps back, and starts afresh after a gap or a restart', () => {
    const l = new TimeLevel(1000, 3, 5);
    for (let t = 0; t <= 4000; t += 100) l.advance(t, 1);
    expect(l.advance(3000, 100)).toBe(false);
    expect(l.advance(4100, Number.NaN)).toBe(false);
    expect(l.decay).toBe(0);
    expect(l.level).toBe(1);
    // 6 s later: more than 5 time constants, so the level starts again at the new reading.
    expect(l.advance(10_000, 7)).toBe(false);
    expect(l.started).toBe(true);
    expect(l.level).toBe(7);
    l.restart();
    l.advance(10_100, 3);
    expect(l.level).toBe(3);
  });

  it('round-trips its state', () => {
    const l = new TimeLevel(2000, 3, 5);
    for (let t = 0; t <= 9000; t += 100) l.advance(t, Math.sin(t));
    const m = new TimeLevel(2000, 3, 5);
    m.load(JSON.parse(JSON.stringify(l.toJSON())));
    expect(m.advance(9100, 1)).toBe(l.advance(9100, 1));
    expect(m.level).toBe(l.level);
  });
});

describe('quantumOf', () => {
  it('is the smallest step between consecutive finite readings', () => {
    expect(quantumOf([1, 1, 1.5, Number.NaN, 1.25, 2].map((value) => ({ value })))).toBe(0.25);
    expect(quantumOf([{ value: 3 }, { value: 3 }])).toBe(Infinity);
  });
});
