/**
 * The autoregressive point channel: a reading against a linear prediction of its step from the
 * steps just before it (an AR model of the first differences, ARIMA(p, 1, 0)), learned by least
 * squares on the training part. A smooth signal, a fast cycle or a hum that aliases to a few readings
 * per cycle is predicted to within its noise, where a rolling median is not; a spike stands out of
 * the prediction's error by many of its spreads. Predicting steps, not values, leaves it free of
 * the level: after a level shift its predictions follow the new level at once.
 * @module
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

/** Training readings a fit needs per coefficient (the intercept and one per step weight). */
export const AR_READINGS_PER_COEFFICIENT = 20;
/** Consecutive readings at most that enter the history as their prediction (a spike's length). */
const MAX_IMPUTED = 3;
/** The largest order a saved channel may have. */
const MAX_ORDER = 64;
/** |z| is clipped here in the average that tracks how well the prediction still fits. */
const ERROR_CLIP = 3;
/** Readings in that slow average (an exponential average's time constant). */
const LEVEL_READINGS = 1000;

export interface ArPointState {
  coef: number[];
  mean: number;
  scale: number;
  bar: number;
  interval: number;
  history: number[];
  lastTs: number | null;
  imputed: number;
  /** Readings since the last imputed one, at most the history's length (then it is clean). */
  sinceImputed: number;
  base: number;
  level: number;
}

/** Solves the normal equations A x = b (A symmetric) by Cholesky; undefined unless A is positive definite. */
function solve(a: number[][], b: number[]): number[] | undefined {
  const chol = new CholeskyDecomposition(new Matrix(a));
  if (!chol.isPositiveDefinite()) return undefined;
  return chol.solve(Matrix.columnVector(b)).getColumn(0);
}

/** The prediction from `coef` ([intercept, step weights…]) of `xs[t]` from the readings before it. */
function predict(coef: readonly number[], xs: readonly number[], t: number): number {
  let step = coef[0] as number;
  for (let k = 1; k < coef.length; k++) step += (coef[k] as number) * ((xs[t - k] as number) - (xs[t - k - 1] as number));
  return (xs[t - 1] as number) + step;
}

export class ArPoint {
  /** Readings a prediction needs: the AR order plus one. */
  private readonly span: number;
  /** The last `span` readings (minus the mean), newest last. */
  private history: number[];
  private lastTs: number | undefined;
  private imputed = 0;
  /** Readings since the last one imputed (the history holds only readings once it reaches `span`). */
  private sinceImputed: number;
  /** Mean clipped |z| of the training part, and its slow live average (see `push`). */
  private level: number;

  private constructor(
    private readonly coef: readonly number[],
    private readonly mean: number,
    private readonly scale: number,
    /** The |z| from which a reading is an outlier (see `fit`). */
    readonly bar: number,
    private readonly interval: number,
    private readonly base: number,
  ) {
    this.level = base;
    this.span = coef.length;
    this.history = [];
    this.sinceImputed = this.span;
  }

  /**
   * Fits an AR(`order`) with intercept to the steps of `train` (regularly sampled, `interval` ms
   * apart) and sets the bar: at least `minZ` and `factor` times the largest |z| over `normal` (the
   * training part and its hold-out). Undefined when there are too few readings.
   */
  static fit(trainPart: readonly number[], normalPart: readonly number[], interval: number, quantum: number, order: number, minZ: number, factor: number): ArPoint | undefined {
    // Missing values (NaN) are left out, as `push` leaves them out of the history live.
    const train = trainPart.filter(Number.isFinite);
    const normal = normalPart.filter(Number.isFinite);
    const n = train.length;
    // Readings a prediction needs, and the number of coefficients (the intercept and `order` step weights).
    const p1 = order + 1;
    if (n < AR_READINGS_PER_COEFFICIENT * p1 || !(interval > 0)) return undefined;
    let mean = 0;
    for (const v of train) mean += v;
    mean /= n;
    const a = Array.from({ length: p1 }, () => new Array<number>(p1).fill(0));
    const b = new Array<number>(p1).fill(0);
    const f = new Array<number>(p1).fill(0);
    for (let t = p1; t < n; t++) {
      f[0] = 1;
      for (let k = 1; k <= order; k++) f[k] = (train[t - k] as number) - (train[t - k - 1] as number);
      const y = (train[t] as number) - (train[t - 1] as number);
      for (let i = 0; i < p1; i++) {
        const fi = f[i] as number;
        b[i] = (b[i] as number) + fi * y;
        const row = a[i] as number[];
        for (let j = i; j < p1; j++) row[j] = (row[j] as number) + fi * (f[j] as number);
      }
    }
    let trace = 0;
    for (let i = 0; i < p1; i++) {
      for (let j = 0; j < i; j++) (a[i] as number[])[j] = (a[j] as number[])[i] as number;
      trace += (a[i] as number[])[i] as number;
    }
    // A little ridge keeps the lags of a smooth signal (nearly collinear) solvable.
    for (let i = 1; i < p1; i++) (a[i] as number[])[i] = ((a[i] as number[])[i] as number) + 1e-9 * trace;
    const coef = solve(a, b);
    if (!coef || coef.some((c) => !Number.isFinite(c))) return undefined;
    const centredTrain = train.map((v) => v - mean);
    const centredNormal = normal.map((v) => v - mean);
    const residual = (xs: readonly number[], t: number): number => (xs[t] as number) - predict(coef, xs, t);
    const abs: number[] = [];
    for (let t = p1; t < n; t++) abs.push(Math.abs(residual(centredTrain, t)));
    abs.sort((x, y) => x - y);
    const mad = (abs[Math.floor(abs.length / 2)] as number) / 0.6745;
    const scale = Math.max(mad, Number.isFinite(quantum) && quantum > 0 ? quantum / Math.sqrt(12) : 0, 1e-9 * (Math.abs(mean) + 1), 1e-12);
    let maxZ = 0;
    for (let t = p1; t < normal.length; t++) maxZ = Math.max(maxZ, Math.abs(residual(centredNormal, t)) / scale);
    let base = 0;
    for (let t = p1; t < n; t++) base += Math.min(ERROR_CLIP, Math.abs(residual(centredTrain, t)) / scale);
    base = Math.max(base / (n - p1), 1e-6);
    const channel = new ArPoint(coef, mean, scale, Math.max(minZ, factor * maxZ), interval, base);
    return channel;
  }

  /** Starts the history from the last readings of a fit's data (continuing its stream). */
  prime(values: readonly number[], lastTs: number): void {
    this.history = values
      .filter(Number.isFinite)
      .slice(-this.span)
      .map((v) => v - this.mean);
    this.lastTs = lastTs;
    this.imputed = 0;
    this.sinceImputed = this.span;
  }

  /** Forgets the history (a pause: the next readings do not continue the last ones). */
  restart(): void {
    this.history = [];
    this.lastTs = undefined;
    this.imputed = 0;
    this.sinceImputed = this.span;
  }

  /**
   * |z| of `value` against the prediction (0 until `span` readings continue each other). A reading
   * at or beyond the bar, or one the caller calls a fault (`fault`), enters the history as its
   * prediction, up to MAX_IMPUTED in a row.
   */
  push(ts: number, value: number, fault = false): number {
    if (this.lastTs !== undefined && ts - this.lastTs > 3 * this.interval) this.restart();
    this.lastTs = ts;
    const x = value - this.mean;
    const h = this.history;
    if (h.length < this.span || !Number.isFinite(x)) {
      if (Number.isFinite(x)) h.push(x);
      return 0;
    }
    const p = predict(this.coef, h, h.length);
    const raw = Math.abs(x - p) / this.scale;
    // A prediction that fits the stream less well than it fitted the training part (a cycle whose
    // sampling phase stayed locked in training and moved since) is judged on its grown error.
    const z = raw / Math.max(1, this.level / this.base);
    // Outliers are imputed from a clean history only, up to MAX_IMPUTED in a row; then the history
    // fills with readings again before the channel speaks (an event longer than a spike, or a
    // signal that changed, is not predicted from predictions).
    const clean = this.sinceImputed >= this.span;
    const speaks = clean || this.imputed > 0;
    const impute = speaks && (z >= this.bar || fault) && this.imputed < MAX_IMPUTED;
    if (speaks) this.level += (Math.min(ERROR_CLIP, raw) - this.level) / LEVEL_READINGS;
    this.imputed = impute ? this.imputed + 1 : 0;
    this.sinceImputed = impute ? 0 : Math.min(this.sinceImputed + 1, this.span);
    if (impute) {
      // A prediction from predictions can run away: kept within the history's own range.
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of h) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      h.push(Math.min(hi, Math.max(lo, p)));
    } else h.push(x);
    h.shift();
    return speaks ? z : 0;
  }

  toJSON(): ArPointState {
    return {
      coef: [...this.coef],
      mean: this.mean,
      scale: this.scale,
      bar: this.bar,
      interval: this.interval,
      history: [...this.history],
      lastTs: this.lastTs ?? null,
      imputed: this.imputed,
      sinceImputed: this.sinceImputed,
      base: this.base,
      level: this.level,
    };
  }

  /** Rebuilds a saved channel; throws naming the first malformed field. */
  static fromJSON(x: unknown): ArPoint {
    const s = x as Partial<ArPointState> | null;
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error('must be an object');
    if (!Array.isArray(s.coef) || s.coef.length < 2 || s.coef.length > MAX_ORDER + 1 || !s.coef.every(num)) throw new Error(`coef must hold 2 to ${MAX_ORDER + 1} finite numbers`);
    const span = s.coef.length;
    if (!num(s.mean)) throw new Error('mean must be a finite number');
    if (!(num(s.scale) && s.scale > 0) || !(num(s.bar) && s.bar > 0) || !(num(s.interval) && s.interval > 0)) throw new Error('scale, bar and interval must be positive numbers');
    if (!Array.isArray(s.history) || s.history.length > span || !s.history.every(num)) throw new Error(`history must hold at most ${span} finite numbers`);
    if (!(s.lastTs === null || num(s.lastTs))) throw new Error('lastTs must be a number or null');
    if (!(Number.isInteger(s.imputed) && (s.imputed as number) >= 0 && (s.imputed as number) <= MAX_IMPUTED)) throw new Error(`imputed must be an integer from 0 to ${MAX_IMPUTED}`);
    if (!(Number.isInteger(s.sinceImputed) && (s.sinceImputed as number) >= 0 && (s.sinceImputed as number) <= span)) throw new Error(`sinceImputed must be an integer from 0 to ${span}`);
    if (!(num(s.base) && s.base > 0) || !(num(s.level) && s.level >= 0)) throw new Error('base must be a positive number and level a non-negative one');
    const c = new ArPoint(s.coef, s.mean, s.scale, s.bar, s.interval, s.base);
    c.level = s.level;
    c.history = [...s.history];
    c.lastTs = s.lastTs ?? undefined;
    c.imputed = s.imputed as number;
    c.sinceImputed = s.sinceImputed as number;
    return c;
  }
}
