import { describe, expect, it } from 'vitest';
import { Rng } from './random.ts';
import { RollingRing, fitPowerTail, powerTailSurprise } from './rolling.ts';

describe('fitPowerTail', () => {
  it('recovers the exponent of a Pareto tail', () => {
    const rng = new Rng(3);
    const xs = Array.from({ length: 20_000 }, () => Math.pow(1 - rng.next(), -1 / 3));
    const t = fitPowerTail(xs);
    expect(t?.alpha).toBeGreaterThan(2.6);
    expect(t?.alpha).toBeLessThan(3.4);
    // P(X > 10) = 10^-3 for alpha 3.
    expect(powerTailSurprise(10, t!)).toBeGreaterThan(2.6);
    expect(powerTailSurprise(10, t!)).toBeLessThan(3.4);
    expect(powerTailSurprise(t!.u / 2, t!)).toBe(0);
  });

  it('gives up on too few or constant values', () => {
    expect(fitPowerTail([1, 2, 3])).toBeUndefined();
    expect(fitPowerTail(new Array<number>(1000).fill(2))).toBeUndefined();
  });
});

describe('RollingRing', () => {
  it('reads back from the newest value, before and after it wraps', () => {
    const r = new RollingRing(3);
    r.push(1);
    r.push(2);
    expect([r.newest(0), r.newest(1)]).toEqual([2, 1]);
    r.push(3);
    r.push(4);
    expect([r.newest(0), r.newest(1), r.newest(2)]).toEqual([4, 3, 2]);
    expect(r.values()).toEqual([2, 3, 4]);
  });
});
