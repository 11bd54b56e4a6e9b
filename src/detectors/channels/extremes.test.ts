import { describe, expect, it } from 'vitest';
import { EXTREME_MARGIN, EXTREME_REST, EXTREME_WARMUP, NewExtremes } from './extremes.ts';

/** `n` values spread evenly over [0, 1] in a scrambled order (range exactly [0, 1] once all are seen). */
const spread = (n: number): number[] => Array.from({ length: n }, (_, i) => ((i * 7919) % n) / (n - 1));

describe('NewExtremes (a value beyond the range seen so far)', () => {
  it('stays quiet in its warm-up, however far a value goes', () => {
    const e = NewExtremes.of([]);
    const alarms = [...spread(EXTREME_WARMUP - 1), 50].map((v) => e.push(v));
    expect(alarms.filter(Boolean)).toEqual([]);
  });

  it(`alarms on a value more than ${EXTREME_MARGIN * 100} % of the range beyond it, on either side, and not on one within`, () => {
    const within = NewExtremes.of(spread(EXTREME_WARMUP));
    expect(within.push(1 + 0.9 * EXTREME_MARGIN)).toBe(false);
    expect(within.push(-0.9 * EXTREME_MARGIN)).toBe(false);
    const above = NewExtremes.of(spread(EXTREME_WARMUP));
    expect(above.push(1 + 1.2 * EXTREME_MARGIN)).toBe(true);
    const below = NewExtremes.of(spread(EXTREME_WARMUP));
    expect(below.push(-1.2 * EXTREME_MARGIN)).toBe(true);
  });

  it(`rests ${EXTREME_REST} readings after an alarm, widening its range, then alarms on the next new extreme`, () => {
    const e = NewExtremes.of(spread(EXTREME_WARMUP));
    expect(e.push(2)).toBe(true);
    // During the rest a climb widens the range without alarming.
    const climb = Array.from({ length: EXTREME_REST - 1 }, (_, i) => e.push(2 + 0.5 * (i + 1)));
    expect(climb.filter(Boolean)).toEqual([]);
    expect(e.toJSON().hi).toBe(2 + 0.5 * (EXTREME_REST - 1));
    expect(e.push(0.5)).toBe(false);
    const hi = e.toJSON().hi;
    expect(e.push(hi + 0.5 * EXTREME_MARGIN * hi)).toBe(false);
    expect(e.push(hi * (1 + 2 * EXTREME_MARGIN))).toBe(true);
  });

  it('skips values that are not finite', () => {
    const e = NewExtremes.of([...spread(EXTREME_WARMUP), Number.NaN]);
    expect(e.push(Number.POSITIVE_INFINITY)).toBe(false);
    expect(e.toJSON()).toEqual({ n: EXTREME_WARMUP, lo: 0, hi: 1, rest: EXTREME_REST });
  });

  it('round-trips through JSON and refuses malformed states', () => {
    const a = NewExtremes.of(spread(EXTREME_WARMUP));
    a.push(3);
    const b = NewExtremes.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    const next = [3.05, 3.2, -1, 0.5, 4];
    expect(next.map((v) => b.push(v))).toEqual(next.map((v) => a.push(v)));
    for (const bad of [
      null,
      {},
      { n: 0, lo: 0, hi: 1, rest: 0 },
      { n: 5, lo: 2, hi: 1, rest: 0 },
      { n: 5, lo: 0, hi: 1, rest: EXTREME_REST + 1 },
      { n: 5, lo: 0, hi: null, rest: 0 },
    ]) {
      expect(() => NewExtremes.fromJSON(bad)).toThrow(/lo ≤ hi/);
    }
  });
});
