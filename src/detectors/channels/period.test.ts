import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { autocorrelation, blockAverage, fenceOutliers, inferPeriod } from './period.ts';

function series(n: number, seed: number, f: (i: number, rng: Rng) => number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => f(i, rng));
}

const gauss = (x: number, mu: number, s: number) => Math.exp(-0.5 * ((x - mu) / s) ** 2);

describe('inferPeriod', () => {
  const families: Array<[string, number, number, (i: number, rng: Rng) => number]> = [
    ['sine with harmonics', 50, 2000, (i, r) => Math.sin((2 * Math.PI * i) / 50) + 0.5 * Math.sin((4 * Math.PI * i) / 50 + 1) + 0.1 * r.normal()],
    ['duty cycle (square wave, 30 % on)', 37, 2000, (i, r) => ((i % 37) / 37 < 0.3 ? 5 : 0) + 0.05 * r.normal()],
    ['sawtooth with a trend', 120, 3000, (i, r) => (i % 120) / 120 + 0.0005 * i + 0.02 * r.normal()],
    ['ECG-like beats', 200, 4000, (i, r) => gauss(i % 200, 80, 3) - 0.2 * gauss(i % 200, 86, 3) + 0.3 * gauss(i % 200, 140, 10) + 0.02 * r.normal()],
    ['daily cycle at 5-minute samples', 288, 288 * 14, (i, r) => 20 + 5 * Math.cos((2 * Math.PI * i) / 288) + 1.5 * Math.cos((4 * Math.PI * i) / 288) + 0.5 * r.normal()],
  ];
  for (const [name, period, n, f] of families) {
    it(`finds the period of a ${name}`, () => {
      const est = inferPeriod(series(n, 7, f));
      expect(est).toBeDefined();
      expect(Math.abs(est!.period - period)).toBeLessThan(0.02 * period + 0.5);
      expect(est!.strength).toBeGreaterThan(0.3);
    });
  }

  it('finds the period of narrow beats whose spacing jitters (via block averages)', () => {
    const rng = new Rng(4);
    const values: number[] = [];
    for (let c = 0; c < 30; c++) {
      const len = Math.round(238 * (1 + 0.06 * Math.sin(c / 4)) * (1 + 0.04 * rng.normal()));
      const w = 0.03 * rng.normal();
      for (let k = 0; k < len; k++) {
        const f = k / len + w * Math.sin((2 * Math.PI * k) / len);
        values.push(gauss(f, 0.4, 0.012) + 0.15 * gauss(f, 0.65, 0.045) + 0.03 * rng.normal());
      }
    }
    const est = inferPeriod(values);
    expect(est).toBeDefined();
    expect(Math.abs(est!.period - 238)).toBeLessThan(20);
  });

  it('finds a long period in a long series after block-averaging it', () => {
    const n = 100_000;
    const est = inferPeriod(series(n, 3, (i, r) => Math.sin((2 * Math.PI * i) / 5000) + 0.3 * r.normal()));
    expect(est).toBeDefined();
    expect(Math.abs(est!.period - 5000)).toBeLessThan(100);
  });

  it('finds nothing in white noise, a random walk or a constant', () => {
    expect(inferPeriod(series(3000, 1, (_, r) => r.normal()))).toBeUndefined();
    let w = 0;
    expect(inferPeriod(series(3000, 2, (_, r) => (w += r.normal())))).toBeUndefined();
    expect(inferPeriod(new Array(1000).fill(3.3))).toBeUndefined();
    for (let seed = 10; seed < 30; seed++) expect(inferPeriod(series(530, seed, (_, r) => r.normal()))).toBeUndefined();
  });

  it('needs at least three cycles', () => {
    expect(inferPeriod(series(250, 1, (i) => Math.sin((2 * Math.PI * i) / 100)))).toBeUndefined();
    expect(Math.abs(inferPeriod(series(400, 1, (i) => Math.sin((2 * Math.PI * i) / 100)))!.period - 100)).toBeLessThan(2);
  });
});

describe('autocorrelation and blockAverage', () => {
  it('autocorrelation is 1 at lag 0 and -1 at half the period of a sine', () => {
    const r = autocorrelation(series(1000, 1, (i) => Math.sin((2 * Math.PI * i) / 20)), 40);
    expect(r[0]).toBeCloseTo(1, 6);
    expect(r[10]).toBeCloseTo(-1, 1);
    expect(r[20]).toBeCloseTo(1, 1);
  });

  it('block-averages to at most maxPoints, ending at the newest value', () => {
    const { values, factor } = blockAverage([1, 2, 3, 4, 5, 6, 7], 3);
    expect(factor).toBe(3);
    expect([...values]).toEqual([3, 6]);
  });
});

describe('fenceOutliers', () => {
  // A loose wire: 1.7 V with a cycle of ±8 mV over 8 readings and 0.7 mV noise; two readings near 0 V.
  const wire = series(1500, 11, (i, r) => 1.7 + 0.008 * Math.sin((2 * Math.PI * i) / 8) + 0.0007 * r.normal());
  wire[655] = 0.084;
  wire[1201] = 0.114;

  it('lets the period be found through a few readings far outside the signal, which hid it', () => {
    expect(inferPeriod(wire)).toBeUndefined();
    const est = inferPeriod(fenceOutliers(wire));
    expect(est).toBeDefined();
    expect(Math.abs((est as { period: number }).period - 8)).toBeLessThan(0.2);
  });

  it('pulls the outliers in to the widened 1st–99th percentile range and leaves a series without them as it is', () => {
    const fenced = fenceOutliers(wire);
    const sorted = [...wire].sort((a, b) => a - b);
    const lo = sorted[Math.floor(0.01 * 1499)] as number;
    const hi = sorted[Math.ceil(0.99 * 1499)] as number;
    expect(fenced[655]).toBeCloseTo(lo - (hi - lo), 12);
    expect(fenced[1201]).toBeCloseTo(lo - (hi - lo), 12);
    const clean = series(1500, 12, (i, r) => 1.7 + 0.008 * Math.sin((2 * Math.PI * i) / 8) + 0.0007 * r.normal());
    expect(fenceOutliers(clean)).toEqual(clean);
    expect(fenceOutliers([3, 1])).toEqual([3, 1]);
  });
});
