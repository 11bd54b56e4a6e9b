/**
 * Exceedances: how many of the last readings lie beyond a few noise scales of their own median,
 * above and below, against how often they do. An outlier of heavy-tailed noise is one exceedance
 * however large it is, so a statistic of amplitudes (energy, variance) that one 27σ outlier
 * dominates cannot tell it from an oscillation of 4–8σ; a count can: an oscillation or a noise
 * burst puts most readings of the window beyond, on both sides. Counting both sides (the smaller
 * of the two counts) leaves a wandering level, whose excursions are one-sided runs, to the level
 * and drift channels.
 *
 * A reading is beyond when it lies further from the median of the last `window` readings than
 * BAND_Z times a slow average of the caller's robust scale (and further than the caller's floor,
 * e.g. 1.5 ADC steps). The median of the counted readings themselves is an oscillation's centre,
 * while a level that stepped (and stepped back) puts its readings beyond on one side of it only;
 * around a longer rolling median, the readings before and after a level shift's return lay beyond
 * on either side. The band's scale is slow because a quantised signal's IQR flips between one
 * step and the next, and a band that followed it would change the rate of readings beyond with it.
 *
 * `push` returns the surprise (−log10 tail probability) of the window's two-sided count
 * m = min(above, below): the sum of the binomial upper tails P(X ≥ m) for X ~ Binomial(n, rate) on
 * each side, the two sides treated as independent. It answers only for a reading that is itself
 * beyond (a window that still holds an event that has ended does not alarm on a reading within the
 * band). The rates and the scale learn only while the count is not surprising (and while the
 * caller lets them), so an oscillation that goes on does not become normal. Decision 0014 has the
 * measurements.
 * @module
 */
import { RollingRing, RollingWindow } from '../rolling.ts';
import { isFiniteNumber as num, stateRecord } from './state.ts';

/** A reading is beyond when it lies more than this many robust σ (of the slow scale) from the window's median. */
const BAND_Z = 2.5;
/** Memory (readings) of the slow scale the band is measured in. */
const SCALE_HORIZON = 300;
/** An exceedance rate is never taken as rarer than this (a clean training part has almost none). */
const MIN_RATE = 0.005;
/** Readings learned before the channel scores, in windows. */
const WARMUP_WINDOWS = 10;

export interface ExceedanceState {
  /** The last readings' values, oldest first (at most `window`): their median is the band's centre. */
  values: number[];
  /** The last readings' sides (+1 beyond above, −1 below, 0 within), oldest first (at most `window`). */
  sides: number[];
  /** Learned rates of readings beyond above and below, and the readings they were learned from. */
  rates: [number, number];
  seen: number;
  /** The slow scale of the band (null before the first reading). */
  scale: number | null;
}

export class Exceedance {
  /** The last readings' sides, and their values (whose median is the band's centre). */
  private sides: RollingRing;
  private values: RollingWindow;
  private rateUp = 0;
  private rateDown = 0;
  private seen = 0;
  private scale = Number.NaN;
  /** ln k! for k ≤ window. */
  private readonly logFact: Float64Array;

  /** `window`: the most readings counted; `horizon`: the memory (readings) of the learned rates. */
  constructor(
    readonly window: number,
    private readonly horizon: number,
  ) {
    this.sides = new RollingRing(window);
    this.values = new RollingWindow(window);
    this.logFact = new Float64Array(window + 1);
    for (let i = 1; i <= window; i++) this.logFact[i] = (this.logFact[i - 1] as number) + Math.log(i);
  }

  /**
   * Counts one reading of value `x`, judged with the caller's robust `scale` and band `floor`;
   * returns the surprise of the last `n` readings' two-sided count (0 for a reading within the
   * band, or while the rates are learned). The rates and the slow scale learn from it while the
   * count's surprise stays below `learnBelow` (0: they learn nothing).
   */
  push(x: number, scale: number, floor: number, learnBelow: number, n = this.window): number {
    if (Number.isNaN(this.scale)) this.scale = scale;
    const band = Math.max(BAND_Z * this.scale, floor);
    // Until half the window is known its median is no centre: the reading is counted as within.
    const center = this.values.length >= this.window / 2 ? this.values.quantile(0.5) : x;
    this.values.push(x);
    const side = x - center > band ? 1 : center - x > band ? -1 : 0;
    this.sides.push(side);
    let s = 0;
    if (this.seen >= WARMUP_WINDOWS * this.window) {
      const len = Math.min(n, this.sides.length);
      let up = 0;
      let down = 0;
      for (let i = 0; i < len; i++) {
        const v = this.sides.newest(i);
        if (v > 0) up++;
        else if (v < 0) down++;
      }
      const m = Math.min(up, down);
      s = this.tail(m, len, this.rateUp) + this.tail(m, len, this.rateDown);
    }
    if (s < learnBelow) {
      this.seen++;
      const a = 1 / Math.min(this.seen, this.horizon);
      this.rateUp += a * ((side > 0 ? 1 : 0) - this.rateUp);
      this.rateDown += a * ((side < 0 ? 1 : 0) - this.rateDown);
      this.scale += (scale - this.scale) / SCALE_HORIZON;
    }
    return side === 0 ? 0 : s;
  }

  /** −log10 P(X ≥ c) for X ~ Binomial(n, rate); 0 unless c is above the mean (and at least 2). */
  private tail(c: number, n: number, rate: number): number {
    const p = Math.max(rate, MIN_RATE);
    if (c < 2 || c <= n * p) return 0;
    const lp = Math.log(p);
    const lq = Math.log1p(-p);
    // Above the mean the terms fall with j: the first is the largest.
    const first = this.logTerm(n, c, lp, lq);
    let sum = 1;
    for (let j = c + 1; j <= n; j++) sum += Math.exp(this.logTerm(n, j, lp, lq) - first);
    return -(first + Math.log(sum)) / Math.LN10;
  }

  /** ln of the binomial term C(n, j) p^j q^(n−j), given ln p and ln q. */
  private logTerm(n: number, j: number, lp: number, lq: number): number {
    const lf = this.logFact;
    return (lf[n] as number) - (lf[j] as number) - (lf[n - j] as number) + j * lp + (n - j) * lq;
  }

  toJSON(): ExceedanceState {
    return {
      values: this.values.values(),
      sides: this.sides.values(),
      rates: [this.rateUp, this.rateDown],
      seen: this.seen,
      scale: Number.isNaN(this.scale) ? null : this.scale,
    };
  }

  /** An exceedance count of `window` readings restored from `toJSON`; throws on a malformed state. */
  static fromJSON(x: unknown, window: number, horizon: number): Exceedance {
    const s = stateRecord(x);
    const values = s.values as unknown[];
    if (!Array.isArray(values) || values.length > window || !values.every(num))
      throw new Error(`values must hold at most ${window} finite numbers`);
    const sides = s.sides as unknown[];
    if (!Array.isArray(sides) || sides.length > window || !sides.every((v) => v === -1 || v === 0 || v === 1))
      throw new Error(`sides must hold at most ${window} of -1, 0 and 1`);
    const r = s.rates as unknown[];
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => num(v) && v >= 0 && v <= 1))
      throw new Error('rates must be two rates in [0, 1]');
    if (!Number.isInteger(s.seen) || (s.seen as number) < 0)
      throw new Error('seen must be a non-negative integer');
    if (!(s.scale === null || (num(s.scale) && s.scale >= 0)))
      throw new Error('scale must be a non-negative number or null');
    const e = new Exceedance(window, horizon);
    e.values = RollingWindow.from(window, values as number[]);
    e.sides = RollingRing.from(window, sides as number[]);
    [e.rateUp, e.rateDown] = r as [number, number];
    e.seen = s.seen as number;
    e.scale = s.scale === null ? Number.NaN : (s.scale as number);
    return e;
  }
}
