/**
 * Period inference: the dominant cycle length of a series from its autocorrelation.
 *
 * The series is block-averaged down to at most `maxPoints` values, its linear trend removed, and
 * its autocorrelation computed with an FFT (O(n log n)). The period is the shortest lag whose
 * autocorrelation peak is nearly as high as the highest peak (so a harmonic's peak at half the
 * period or a multiple of the period is not chosen), refined to a fraction of a sample.
 */

/** A detected cycle. */
export interface PeriodEstimate {
  /** Cycle length in samples of the input (fractional). */
  period: number;
  /** Autocorrelation at the period, in (0, 1]: how cleanly the series repeats. */
  strength: number;
}

export interface InferPeriodOptions {
  /** Shortest period accepted, in samples (default 4). */
  minPeriod?: number;
  /** Longest period accepted, in samples (default: a third of the series, so at least 3 cycles are seen). */
  maxPeriod?: number;
  /** Least autocorrelation at the period (default 0.3). */
  minStrength?: number;
  /** Longer series are block-averaged to at most this many points first (default 16384). */
  maxPoints?: number;
}

/**
 * `values` with outliers pulled in for period inference: each value is clipped to the range of
 * its 1st to 99th percentile widened by that range's own width on either side. A few readings far
 * outside the signal's range (a loose wire's reading of near 0 V on a signal of 1.7 V with a cycle
 * of 10 mV) hold most of the series' variance and hide the cycle's autocorrelation; clipped, they
 * hold almost none. A series without such readings is unchanged.
 */
export function fenceOutliers(values: ArrayLike<number>): number[] {
  const out = Array.from(values);
  if (out.length < 3) return out;
  const sorted = Float64Array.from(out).sort();
  const lo = sorted[Math.floor(0.01 * (sorted.length - 1))] as number;
  const hi = sorted[Math.ceil(0.99 * (sorted.length - 1))] as number;
  const w = hi - lo;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(hi + w, Math.max(lo - w, out[i] as number));
  return out;
}

/** In-place iterative radix-2 FFT of (re, im); length must be a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const br = re[b] as number;
        const bi = im[b] as number;
        const xr = br * cr - bi * ci;
        const xi = br * ci + bi * cr;
        re[b] = (re[a] as number) - xr;
        im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr;
        im[a] = (im[a] as number) + xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/**
 * Normalised autocorrelation r[0..maxLag] of a detrended series (r[0] = 1), each lag divided by
 * its number of overlapping pairs. Returns all zeros for a constant series.
 */
export function autocorrelation(values: ArrayLike<number>, maxLag: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(Math.max(0, Math.min(maxLag, n - 1)) + 1);
  if (n < 2) return out;
  // Remove the least-squares line so a trend does not look like a very long cycle.
  let sx = 0;
  let sy = 0;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const y = values[i] as number;
    sx += i;
    sy += y;
    sxy += i * y;
    sxx += i * i;
  }
  const denom = n * sxx - sx * sx;
  const slope = denom > 0 ? (n * sxy - sx * sy) / denom : 0;
  const intercept = (sy - slope * sx) / n;
  let size = 1;
  while (size < 2 * n) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < n; i++) re[i] = (values[i] as number) - intercept - slope * i;
  fft(re, im);
  for (let i = 0; i < size; i++) {
    const a = re[i] as number;
    const b = im[i] as number;
    re[i] = a * a + b * b;
    im[i] = 0;
  }
  // The inverse transform of a real, even spectrum is the forward transform divided by size.
  fft(re, im);
  const r0 = (re[0] as number) / n;
  if (!(r0 > 1e-300)) return out;
  for (let k = 0; k < out.length; k++) out[k] = (re[k] as number) / (n - k) / r0;
  return out;
}

/** Block means of `values` so at most `maxPoints` remain; `factor` is the block length. */
export function blockAverage(values: ArrayLike<number>, maxPoints: number): { values: Float64Array; factor: number } {
  const n = values.length;
  const factor = Math.max(1, Math.ceil(n / Math.max(1, maxPoints)));
  if (factor === 1) return { values: Float64Array.from(values as ArrayLike<number>), factor };
  const m = Math.floor(n / factor);
  const out = new Float64Array(m);
  const skip = n - m * factor; // drop the oldest remainder so the newest block ends at the last value
  for (let b = 0; b < m; b++) {
    let s = 0;
    for (let k = 0; k < factor; k++) s += values[skip + b * factor + k] as number;
    out[b] = s / factor;
  }
  return { values: out, factor };
}

/**
 * The dominant period of `values`, or `undefined` when the series does not repeat clearly
 * (white noise, a random walk, a constant, fewer than three cycles of data).
 */
export function inferPeriod(values: ArrayLike<number>, options: InferPeriodOptions = {}): PeriodEstimate | undefined {
  const maxPoints = Math.min(options.maxPoints ?? 16384, values.length);
  // Narrow features that jitter from cycle to cycle (an R peak) barely correlate sample by
  // sample; averaged over blocks of 4 or 16 samples they do.
  for (const blocks of [1, 4, 16]) {
    if (blocks > 1 && maxPoints / blocks < 96) break;
    const found = inferAt(values, Math.floor(maxPoints / blocks), options);
    if (found) return found;
  }
  return undefined;
}

function inferAt(values: ArrayLike<number>, maxPoints: number, options: InferPeriodOptions): PeriodEstimate | undefined {
  const { values: series, factor } = blockAverage(values, maxPoints);
  const n = series.length;
  const minPeriod = Math.max(2, (options.minPeriod ?? 4) / factor);
  const maxPeriod = Math.min(Math.floor(n / 3), (options.maxPeriod ?? Number.POSITIVE_INFINITY) / factor);
  // Noise alone gives autocorrelation peaks of about 2/sqrt(n): demand well above that.
  const minStrength = Math.max(options.minStrength ?? 0.3, 6 / Math.sqrt(n));
  if (!(maxPeriod >= minPeriod) || n < 12) return undefined;
  const r = autocorrelation(series, Math.min(n - 2, Math.ceil(2 * maxPeriod) + 2));
  const last = Math.min(Math.floor(maxPeriod) + 1, r.length - 2);
  // Skip the lags still falling from r[0]: a peak only counts after the first local minimum.
  let k = 1;
  while (k <= last && (r[k + 1] as number) <= (r[k] as number)) k++;
  const peaks: number[] = [];
  let valley = r[k] as number;
  for (; k <= last; k++) {
    const v = r[k] as number;
    valley = Math.min(valley, v);
    if (v >= (r[k - 1] as number) && v > (r[k + 1] as number) && k >= minPeriod && v >= minStrength && v - valley >= 0.1) {
      peaks.push(k);
      valley = v;
    }
  }
  if (peaks.length === 0) return undefined;
  let best = 0;
  for (const p of peaks) best = Math.max(best, r[p] as number);
  const chosen = peaks.find((p) => (r[p] as number) >= 0.85 * best) as number;
  // A true period also repeats at twice the lag.
  const twice = 2 * chosen;
  if (twice + 1 < r.length) {
    let around = Number.NEGATIVE_INFINITY;
    for (let j = twice - 2; j <= twice + 2; j++) if (j >= 0 && j < r.length) around = Math.max(around, r[j] as number);
    if (around < 0.5 * (r[chosen] as number)) return undefined;
  }
  const a = r[chosen - 1] as number;
  const b = r[chosen] as number;
  const c = r[chosen + 1] as number;
  const curvature = a - 2 * b + c;
  const shift = curvature < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / curvature)) : 0;
  const period = (chosen + shift) * factor;
  return { period, strength: Math.min(1, b) };
}
