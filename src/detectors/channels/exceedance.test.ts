import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { Exceedance } from './exceedance.ts';

/** Sides of independent readings beyond above and below, each with chance `rate`. */
function noiseSides(n: number, seed: number, rate = 0.05): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const u = rng.next();
    return u < rate ? 1 : u < 2 * rate ? -1 : 0;
  });
}

/** One reading on `side` (+1 beyond above, −1 below, 0 within: a value of 3, −3 or 0 robust σ around a centre of 0; scale 1, no floor). */
const push = (e: Exceedance, side: number, learnBelow = 8, n?: number): number =>
  e.push(3 * side, 1, 0, learnBelow, n);
/** Surprises `push` answers for each side, in order. */
const run = (e: Exceedance, sides: readonly number[]): number[] => sides.map((s) => push(e, s));

/** An exceedance count of 32 readings warmed up on `n` readings of independent 5 % + 5 % noise. */
function warmed(n = 1000, seed = 1): Exceedance {
  const e = new Exceedance(32, 1000);
  run(e, noiseSides(n, seed));
  return e;
}

describe('Exceedance', () => {
  it('scores nothing while it learns its rates', () => {
    const e = new Exceedance(32, 1000);
    // 10 windows of readings, all beyond on alternating sides: no rate to judge them by yet.
    const out = run(
      e,
      Array.from({ length: 319 }, (_, i) => (i % 2 ? 1 : -1)),
    );
    expect(out.every((s) => s === 0)).toBe(true);
  });

  it('is the binomial tail of the smaller side, summed over both sides', () => {
    // Rates of exactly 0.25 each side: learn from a repeating pattern of 4 (+1, -1, 0, 0).
    const e = new Exceedance(4, 4);
    run(
      e,
      Array.from({ length: 400 }, (_, i) => [1, -1, 0, 0][i % 4] as number),
    );
    // The window now holds +1 -1 0 0 shifted; push +1: window [-1, 0, 0, +1]: one each side.
    // P(X ≥ 1 | 4, 0.25) = 1 − 0.75⁴ but a count of 1 is at the mean (n·p = 1): no surprise.
    expect(push(e, 1, 100)).toBe(0);
    // Push -1: window [0, 0, +1, -1] then +1, -1 again: [+1, -1, +1, -1]: two each side.
    push(e, -1, 100);
    push(e, 1, 100);
    // The rates it judges by (they learn from each reading after judging it), near 0.25.
    const [up, down] = e.toJSON().rates;
    expect(up).toBeGreaterThan(0.2);
    expect(down).toBeGreaterThan(0.2);
    const s = push(e, -1, 100);
    // P(X ≥ 2 | 4, p) = 6p²q² + 4p³q + p⁴.
    const exact = (p: number): number =>
      -Math.log10(6 * p * p * (1 - p) ** 2 + 4 * p ** 3 * (1 - p) + p ** 4);
    expect(s).toBeCloseTo(exact(up) + exact(down), 9);
  });

  it('finds an oscillation: most readings beyond, on both sides', () => {
    const e = warmed();
    // A sine of period 8 readings whose crests and troughs (3 of every 8 readings each side) are beyond.
    const osc = Array.from({ length: 32 }, (_, i) => [0, 1, 1, 1, 0, -1, -1, -1][i % 8] as number);
    const out = run(e, osc);
    expect(Math.max(...out)).toBeGreaterThan(8);
  });

  it('counts an outlier once however often it is beyond: isolated outliers and one-sided runs score low', () => {
    const e = warmed();
    // Outliers 1 in 10 readings (twice the learned rate), alternating sides: never near 8.
    const sparse = run(
      e,
      Array.from({ length: 2000 }, (_, i) => (i % 10 === 0 ? (i % 20 === 0 ? 1 : -1) : 0)),
    );
    expect(Math.max(...sparse)).toBeLessThan(4);
    // A wandering level: 32 readings all beyond above. The smaller side is 0.
    const f = warmed();
    expect(run(f, new Array<number>(32).fill(1)).every((s) => s === 0)).toBe(true);
  });

  it('measures from the median of its own readings: a level that steps puts its readings beyond on one side only', () => {
    const e = warmed();
    // The level steps up by 10 σ and stays: its first readings lie beyond above the old median,
    // and once the median has followed, none lie beyond; nothing is beyond below.
    const out = Array.from({ length: 200 }, () => e.push(10, 1, 0, 8));
    expect(out.every((x) => x === 0)).toBe(true);
    const sides = e.toJSON().sides;
    expect(sides.every((v) => v === 0)).toBe(true);
  });

  it('independent noise at its learned rate stays far below an alarm over 100,000 readings', () => {
    const e = warmed();
    const out = run(e, noiseSides(100_000, 7));
    expect(Math.max(...out)).toBeLessThan(6);
  });

  it('answers 0 for a reading within the band, even while the window still holds an event', () => {
    const e = warmed();
    run(
      e,
      Array.from({ length: 32 }, (_, i) => (i % 2 ? 1 : -1)),
    );
    expect(push(e, 0)).toBe(0);
    expect(push(e, -1)).toBeGreaterThan(8);
  });

  it('counts only the last n readings when asked', () => {
    const e = warmed();
    // 16 readings alternating beyond, then 16 within: the last 16 hold none beyond but the newest.
    run(
      e,
      Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1)),
    );
    run(e, new Array<number>(15).fill(0));
    const f = Exceedance.fromJSON(e.toJSON(), 32, 1000);
    expect(push(e, 1, 8, 16)).toBe(0);
    expect(push(f, 1, 8, 32)).toBeGreaterThan(0);
  });

  it('does not learn from surprising readings: a long oscillation stays surprising', () => {
    const e = warmed();
    const out = run(
      e,
      Array.from({ length: 5000 }, (_, i) => (i % 2 ? 1 : -1)),
    );
    expect(Math.min(...out.slice(100))).toBeGreaterThan(8);
    // A learner that took them in would have rates near 0.5 each side, and no surprise left.
    expect(e.toJSON().rates[0]).toBeLessThan(0.1);
  });

  it('learns nothing when the caller says so (learnBelow 0: another channel is at its alarm)', () => {
    const e = warmed();
    const before = e.toJSON();
    // A level shift: readings beyond above for a while, with a wider scale; the caller's other channels alarm.
    for (let i = 0; i < 500; i++) e.push(3, 4, 0, 0);
    const after = e.toJSON();
    expect(after.rates).toEqual(before.rates);
    expect(after.scale).toBe(before.scale);
    expect(after.seen).toBe(before.seen);
  });

  it('measures its band in a slow average of the scale, and never narrower than the floor', () => {
    const e = warmed();
    // The caller's scale doubles at once (a quantised IQR flipping up a step): a residual of 3 is
    // still beyond the band of 2.5 × the slow scale (about 1), then less so as the scale follows.
    const sides = (residual: number, scale: number, floor = 0): number => {
      e.push(residual, scale, floor, 8);
      return e.toJSON().sides.at(-1) as number;
    };
    expect(sides(3, 2)).toBe(1);
    expect(sides(-3, 2)).toBe(-1);
    for (let i = 0; i < 2000; i++) e.push(0, 2, 0, 8);
    expect(sides(3, 2)).toBe(0);
    expect(sides(5.5, 2)).toBe(1);
    // A floor wider than the band (1.5 ADC steps) keeps a residual within it.
    expect(sides(5.5, 2, 6)).toBe(0);
  });

  it('round-trips through JSON, mid-window, answering as the original does', () => {
    const e = warmed();
    const later = noiseSides(500, 3).concat(Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : -1)));
    run(e, noiseSides(20, 2));
    const f = Exceedance.fromJSON(JSON.parse(JSON.stringify(e.toJSON())), 32, 1000);
    expect(run(f, later)).toEqual(run(e, later));
  });

  it('refuses malformed states', () => {
    const good = warmed().toJSON();
    expect(() => Exceedance.fromJSON({ ...good, values: [1, null] }, 32, 1000)).toThrow(/values/);
    expect(() => Exceedance.fromJSON({ ...good, values: new Array<number>(33).fill(0) }, 32, 1000)).toThrow(
      /values/,
    );
    expect(() => Exceedance.fromJSON({ ...good, sides: [2] }, 32, 1000)).toThrow(/sides/);
    expect(() => Exceedance.fromJSON({ ...good, sides: new Array<number>(33).fill(0) }, 32, 1000)).toThrow(
      /sides/,
    );
    expect(() => Exceedance.fromJSON({ ...good, rates: [0.1, 1.5] }, 32, 1000)).toThrow(/rates/);
    expect(() => Exceedance.fromJSON({ ...good, rates: [0.1] }, 32, 1000)).toThrow(/rates/);
    expect(() => Exceedance.fromJSON({ ...good, seen: -1 }, 32, 1000)).toThrow(/seen/);
    expect(() => Exceedance.fromJSON({ ...good, scale: -1 }, 32, 1000)).toThrow(/scale/);
    expect(() => Exceedance.fromJSON({ ...good, scale: 'x' }, 32, 1000)).toThrow(/scale/);
    expect(() => Exceedance.fromJSON([], 32, 1000)).toThrow(/object/);
  });
});
