import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { SeasonalRemover } from './seasonal.ts';

const PERIOD = 37.4;
/** A sine of amplitude 5 around 10 with noise 0.05 and a fractional period. */
const signal = (n: number, seed = 1): number[] => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => 10 + 5 * Math.sin((2 * Math.PI * i) / PERIOD) + 0.05 * rng.normal());
};
const sd = (xs: readonly number[]): number => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

describe('SeasonalRemover', () => {
  it('turns a cycle with a fractional period into its level plus noise', () => {
    const r = new SeasonalRemover(PERIOD, 5);
    const out = signal(2000).map((x) => r.push(x, 3));
    const ready = out.filter((o) => o.ready).map((o) => o.value);
    expect(ready.length).toBeGreaterThan(1800);
    const tail = ready.slice(-1000);
    expect(sd(tail)).toBeLessThan(0.15); // the raw signal's sd is about 3.5
    expect(Math.abs(tail.reduce((a, b) => a + b, 0) / tail.length - 10)).toBeLessThan(0.05);
  });

  it("tells the cycle's own value at the next reading's phase, and nothing before a cycle is remembered", () => {
    const r = new SeasonalRemover(PERIOD, 5);
    expect(r.next()).toBeNaN();
    const x = signal(2000);
    for (const v of x.slice(0, 1500)) r.push(v, 3);
    const misses = x.slice(1500).map((v) => {
      const miss = r.next() - v;
      r.push(v, 3);
      return miss;
    });
    // Within the noise (0.05) of the next reading, on a cycle of amplitude 5.
    expect(Math.max(...misses.map(Math.abs))).toBeLessThan(0.3);
    expect(sd(misses)).toBeLessThan(0.1);
  });

  it("tells the level over the last whole cycle, which the cycle does not move and a ramp does", () => {
    const r = new SeasonalRemover(PERIOD, 5);
    const x = signal(3000);
    for (let i = 0; i < 37; i++) {
      expect(r.cycleMean()).toBeNaN();
      r.push(x[i] as number, 3);
    }
    const means: number[] = [];
    for (let i = 37; i < 2000; i++) {
      r.push(x[i] as number, 3);
      means.push(r.cycleMean());
    }
    // The raw signal swings ±5; over 37 of its 37.4 readings per cycle the mean stays within 0.2 of 10.
    expect(Math.max(...means.map((m) => Math.abs(m - 10)))).toBeLessThan(0.2);
    // A ramp up by 2 over 500 readings: the mean follows it, half a cycle behind.
    for (let i = 2000; i < 3000; i++) r.push((x[i] as number) + 2 * Math.min(1, (i - 2000) / 500), 3);
    expect(r.cycleMean()).toBeGreaterThan(11.8);
    expect(r.cycleMean()).toBeLessThan(12.2);
  });

  it('keeps a level shift and a spike, and a spike does not echo a period later', () => {
    const x = signal(3000);
    for (let i = 2000; i < 3000; i++) x[i] = (x[i] as number) + 1;
    x[1500] = (x[1500] as number) + 2;
    const r = new SeasonalRemover(PERIOD, 5);
    const out = x.map((v) => r.push(v, 3).value);
    expect(out[1500]).toBeGreaterThan(11.7);
    for (let k = 1; k <= 5; k++) expect(Math.abs((out[Math.round(1500 + k * PERIOD)] as number) - 10)).toBeLessThan(0.4);
    const after = out.slice(2050, 2150);
    expect(after.reduce((a, b) => a + b, 0) / after.length).toBeGreaterThan(10.8);
  });

  it('keeps its phase across missing readings with skip', () => {
    const x = signal(3000);
    const r = new SeasonalRemover(PERIOD, 5);
    const out: number[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i >= 1200 && i < 1290) continue; // 90 readings lost
      if (i === 1290) r.skip(90);
      out.push(r.push(x[i] as number, 3).value);
    }
    expect(sd(out.slice(1200, 1400))).toBeLessThan(0.2);
  });

  it('passes repeats on as repeats and an exact 0 as 0', () => {
    const r = new SeasonalRemover(PERIOD, 5);
    for (const v of signal(500)) r.push(v, 3);
    const a = r.push(3.3, 3).value;
    expect(r.push(3.3, 3).value).toBe(a);
    expect(r.push(0, 3).value).toBe(0);
  });

  it('remembers the cycle\'s own value for readings amended out of it (a stuck run does not enter the shape)', () => {
    const xs = signal(1000);
    const stuckAt = xs[599] as number;
    const amended = new SeasonalRemover(PERIOD, 5);
    const learned = new SeasonalRemover(PERIOD, 5);
    const outA: number[] = [];
    const outL: number[] = [];
    for (const [i, x0] of xs.entries()) {
      // Stuck for four cycles: most of the cycles the shape remembers.
      const x = i >= 600 && i < 600 + 4 * PERIOD ? stuckAt : x0;
      outA.push(amended.push(x, 3).value);
      outL.push(learned.push(x, 3).value);
      if (x !== x0) amended.amendNewest();
    }
    // After the run the amended remover removes the cycle as before it; the other answers with its echo.
    const after = (out: number[]): number[] => out.slice(600 + Math.ceil(4 * PERIOD), 600 + Math.ceil(8 * PERIOD));
    expect(sd(after(outA))).toBeLessThan(0.15);
    expect(sd(after(outL))).toBeGreaterThan(1);
    // Amending twice, or with nothing to amend, changes nothing.
    const r = new SeasonalRemover(PERIOD, 5);
    r.amendNewest();
    expect(r.toJSON().values).toEqual([]);
  });

  it('round-trips through JSON', () => {
    const x = signal(1500);
    const a = new SeasonalRemover(PERIOD, 5);
    for (const v of x.slice(0, 1000)) a.push(v, 3);
    const b = SeasonalRemover.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    for (const v of x.slice(1000)) expect(b.push(v, 3).value).toBeCloseTo(a.push(v, 3).value, 9);
    expect(() => SeasonalRemover.fromJSON({ period: PERIOD, cycles: 5, values: ['x'] })).toThrow(TypeError);
  });

  it('with levelFree, a level shift longer than half the cycles remembered leaves no half-shifted phases after it ends', () => {
    // A shift of +2 for four cycles, then back: after it, the median of five same-phase readings
    // as read mixes shifted and unshifted cycles, and the cycle remembered steps by the shift at
    // the phase where it ended.
    const x = signal(3000, 4);
    const from = 2000;
    const to = from + Math.round(4 * PERIOD);
    for (let i = from; i < to; i++) x[i] = (x[i] as number) + 2;
    const after = (levelFree: boolean): number[] => {
      const r = new SeasonalRemover(PERIOD, 5, levelFree);
      const out = x.map((v) => r.push(v, 3).value);
      // The three cycles after the shift (the first 2 readings are its own edge).
      return out.slice(to + 2, to + Math.round(3 * PERIOD)).map((v) => Math.abs(v - 10));
    };
    expect(Math.max(...after(false))).toBeGreaterThan(0.8);
    expect(Math.max(...after(true))).toBeLessThan(0.4);
    // A steady cycle is removed as well as before, and the setting survives a round trip.
    const r = new SeasonalRemover(PERIOD, 5, true);
    const steady = signal(2000).map((v) => r.push(v, 3)).filter((o) => o.ready).map((o) => o.value);
    expect(sd(steady.slice(-1000))).toBeLessThan(0.15);
    const state = JSON.parse(JSON.stringify(r.toJSON())) as Record<string, unknown>;
    expect(state.levelFree).toBe(true);
    expect(SeasonalRemover.fromJSON(state).levelFree).toBe(true);
    expect(new SeasonalRemover(PERIOD, 5).toJSON()).not.toHaveProperty('levelFree');
    expect(() => SeasonalRemover.fromJSON({ ...state, levelFree: 'yes' })).toThrow(TypeError);
  });

  it('refuses cycles beyond its memory', () => {
    expect(SeasonalRemover.fits(1000, 5)).toBe(true);
    expect(SeasonalRemover.fits(5000, 5)).toBe(false);
    expect(() => new SeasonalRemover(5000, 5)).toThrow(RangeError);
  });
});
