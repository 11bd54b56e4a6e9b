/**
 * Window features over the most recent readings of a stream, shared by the feature-based kinds.
 *
 * The window's sorted order, the repeat run and the sampling interval are kept incrementally;
 * moments and shape statistics take one O(window) pass per reading, which is cheaper than
 * maintaining power sums and avoids their cancellation errors.
 */
import type { Reading, Signal } from './types.ts';

export const FEATURE_NAMES = [
  'mean',
  'std',
  'min',
  'max',
  'range',
  'median',
  'q25',
  'q75',
  'iqr',
  'skewness',
  'kurtosis',
  'cv',
  'zero_crossings',
  'peak_count',
  'slope',
  'diff_std',
  'last_z',
  'autocorr_lag1',
  'last_diff_z',
  'repeat_run',
  'gap_ratio',
  'last_value',
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** Index of each feature in a feature vector. */
export const F = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i])) as Record<FeatureName, number>;

/** Features that describe shape rather than absolute level; robust to slow wander of the baseline. */
export const SHAPE_FEATURES: readonly FeatureName[] = [
  'iqr',
  'zero_crossings',
  'peak_count',
  'slope',
  'diff_std',
  'last_z',
  'autocorr_lag1',
  'last_diff_z',
  'repeat_run',
  'gap_ratio',
];

export const DEFAULT_FEATURE_WINDOW = 50;

/** Robust z-scores are clipped here so one stuck window cannot produce infinities. */
const Z_CLIP = 50;

const SIGNAL_OF_FEATURE: Record<FeatureName, Signal> = {
  mean: 'level_shift',
  median: 'level_shift',
  min: 'level_shift',
  max: 'level_shift',
  q25: 'level_shift',
  q75: 'level_shift',
  last_value: 'level_shift',
  std: 'variance',
  range: 'variance',
  iqr: 'variance',
  cv: 'variance',
  diff_std: 'burst',
  kurtosis: 'spike',
  skewness: 'spike',
  last_z: 'spike',
  last_diff_z: 'spike',
  slope: 'drift',
  zero_crossings: 'pattern',
  peak_count: 'pattern',
  autocorr_lag1: 'pattern',
  repeat_run: 'stuck',
  gap_ratio: 'dropout',
};

/** The human-readable signal behind a feature. */
export function signalOfFeature(name: string): Signal {
  return (SIGNAL_OF_FEATURE as Record<string, Signal | undefined>)[name] ?? 'pattern';
}

function quantileSorted(sorted: Float64Array, n: number, q: number): number {
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}

export interface WindowSnapshot {
  values: number[];
  ts: number[];
  run: number;
}

/** A sliding window of the last `size` readings with its features. */
export class WindowFeatures {
  private readonly vals: Float64Array;
  private readonly times: Float64Array;
  private readonly sorted: Float64Array;
  private head = 0;
  private n = 0;
  private run = 0;

  constructor(readonly size: number = DEFAULT_FEATURE_WINDOW) {
    if (!Number.isInteger(size) || size < 4) throw new RangeError('window size must be an integer >= 4');
    this.vals = new Float64Array(size);
    this.times = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }

  /** Number of readings currently in the window. */
  get count(): number {
    return this.n;
  }

  /** True once the window is full and features are meaningful. */
  get ready(): boolean {
    return this.n === this.size;
  }

  push(r: Reading): void {
    const v = r.value;
    const size = this.size;
    if (this.n > 0) {
      const last = this.vals[(this.head + size - 1) % size] as number;
      this.run = v === last ? this.run + 1 : 1;
    } else {
      this.run = 1;
    }
    if (this.n === size) {
      this.removeSorted(this.vals[this.head] as number);
    } else {
      this.n++;
    }
    this.vals[this.head] = v;
    this.times[this.head] = r.ts;
    this.head = (this.head + 1) % size;
    this.insertSorted(v);
  }

  private insertSorted(v: number): void {
    const s = this.sorted;
    const len = this.n - 1;
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((s[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    s.copyWithin(lo + 1, lo, len);
    s[lo] = v;
  }

  private removeSorted(v: number): void {
    const s = this.sorted;
    const len = this.n;
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((s[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    s.copyWithin(lo, lo + 1, len);
  }

  /** The window's values, oldest first. */
  values(): number[] {
    const out: number[] = [];
    const start = (this.head - this.n + this.size) % this.size;
    for (let i = 0; i < this.n; i++) out.push(this.vals[(start + i) % this.size] as number);
    return out;
  }

  /** Fills `out` (length FEATURE_COUNT) with the current features; call only when `ready`. */
  compute(out: Float64Array = new Float64Array(FEATURE_COUNT)): Float64Array {
    const n = this.n;
    const size = this.size;
    const vals = this.vals;
    const start = (this.head - n + size) % size;
    const sorted = this.sorted;

    let sum = 0;
    for (let k = 0; k < n; k++) {
      const idx = start + k;
      sum += vals[idx >= size ? idx - size : idx] as number;
    }
    const mean = sum / n;

    let m2 = 0;
    let m3 = 0;
    let m4 = 0;
    let crossings = 0;
    let peaks = 0;
    let sxy = 0;
    let dsum = 0;
    let dsum2 = 0;
    let acNum = 0;
    let prevDev = 0;
    let prev = 0;
    let prev2 = 0;
    const xMean = (n - 1) / 2;
    for (let k = 0; k < n; k++) {
      let idx = start + k;
      if (idx >= size) idx -= size;
      const x = vals[idx] as number;
      const d = x - mean;
      const d2 = d * d;
      m2 += d2;
      m3 += d2 * d;
      m4 += d2 * d2;
      sxy += (k - xMean) * d;
      if (k > 0) {
        if (d >= 0 !== prevDev >= 0) crossings++;
        const diff = x - prev;
        dsum += diff;
        dsum2 += diff * diff;
        acNum += d * prevDev;
        if (k > 1 && prev > prev2 && prev >= x && prev > mean) peaks++;
      }
      prevDev = d;
      prev2 = prev;
      prev = x;
    }
    const last = prev;
    const beforeLast = prev2;
    const variance = m2 / n;
    const std = Math.sqrt(variance);
    const skew = variance > 0 ? m3 / n / (variance * std) : 0;
    const kurt = variance > 0 ? m4 / n / (variance * variance) - 3 : 0;
    const sxx = (n * (n * n - 1)) / 12;
    const slope = sxy / sxx;
    const nd = n - 1;
    const dmean = dsum / nd;
    const diffStd = Math.sqrt(Math.max(dsum2 / nd - dmean * dmean, 0));
    const autocorr = m2 > 0 ? acNum / m2 : 0;

    const min = sorted[0] as number;
    const max = sorted[n - 1] as number;
    const median = quantileSorted(sorted, n, 0.5);
    const q25 = quantileSorted(sorted, n, 0.25);
    const q75 = quantileSorted(sorted, n, 0.75);
    const iqr = q75 - q25;

    const scale = iqr > 0 ? iqr / 1.349 : std;
    const lastZ = robustZ(last - median, scale);
    const lastDiffZ = robustZ(last - beforeLast - dmean, diffStd);

    const lastTs = this.times[(this.head + size - 1) % size] as number;
    const prevTs = this.times[(this.head + size - 2) % size] as number;
    const firstTs = this.times[start] as number;
    const meanDt = (lastTs - firstTs) / (n - 1);
    const gapRatio = meanDt > 0 ? (lastTs - prevTs) / meanDt : 1;

    out[0] = mean;
    out[1] = std;
    out[2] = min;
    out[3] = max;
    out[4] = max - min;
    out[5] = median;
    out[6] = q25;
    out[7] = q75;
    out[8] = iqr;
    out[9] = skew;
    out[10] = kurt;
    out[11] = mean !== 0 ? std / Math.abs(mean) : 0;
    out[12] = crossings;
    out[13] = peaks;
    out[14] = slope;
    out[15] = diffStd;
    out[16] = lastZ;
    out[17] = autocorr;
    out[18] = lastDiffZ;
    out[19] = Math.min(this.run, size);
    out[20] = gapRatio;
    out[21] = last;
    return out;
  }

  /**
   * Shifts the window's timestamps so that a reading at `nextTs` follows the newest one after the
   * window's mean sampling interval: a new stream resuming after a pause (live data after `fit`)
   * then shows no gap. No-op with fewer than two readings.
   */
  rebaseTo(nextTs: number): void {
    const n = this.n;
    if (n < 2) return;
    const size = this.size;
    const start = (this.head - n + size) % size;
    const lastTs = this.times[(this.head + size - 1) % size] as number;
    const meanDt = (lastTs - (this.times[start] as number)) / (n - 1);
    const delta = nextTs - (lastTs + meanDt);
    for (let k = 0; k < n; k++) {
      const idx = (start + k) % size;
      this.times[idx] = (this.times[idx] as number) + delta;
    }
  }

  snapshot(): WindowSnapshot {
    const start = (this.head - this.n + this.size) % this.size;
    const ts: number[] = [];
    for (let i = 0; i < this.n; i++) ts.push(this.times[(start + i) % this.size] as number);
    return { values: this.values(), ts, run: this.run };
  }

  restore(s: WindowSnapshot): void {
    this.head = 0;
    this.n = 0;
    const from = Math.max(0, s.values.length - this.size);
    for (let i = from; i < s.values.length; i++) this.push({ ts: s.ts[i] as number, value: s.values[i] as number });
    this.run = s.run;
  }
}

function robustZ(dev: number, scale: number): number {
  if (scale > 1e-12) return Math.max(-Z_CLIP, Math.min(Z_CLIP, dev / scale));
  if (dev === 0) return 0;
  return dev > 0 ? Z_CLIP : -Z_CLIP;
}

/** A feature vector as a named record (for `Score.features`). */
export function featureRecord(v: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < FEATURE_COUNT; i++) out[FEATURE_NAMES[i] as string] = v[i] as number;
  return out;
}

export function isWindowSnapshot(x: unknown): x is WindowSnapshot {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return (
    Array.isArray(s.values) &&
    Array.isArray(s.ts) &&
    s.values.length === s.ts.length &&
    s.values.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    s.ts.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    typeof s.run === 'number'
  );
}
