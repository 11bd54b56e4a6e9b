/**
 * Small fixed-memory rolling statistics for the online detectors.
 */

/**
 * The last `capacity` values kept both in arrival order (a {@link RollingRing}) and sorted, so any
 * quantile of the window is O(1) and an update is O(capacity) memmove (fast for a few hundred values).
 */
export class RollingWindow {
  readonly capacity: number;
  private readonly ring: RollingRing;
  private readonly sorted: Float64Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.ring = new RollingRing(capacity);
    this.sorted = new Float64Array(capacity);
  }

  get length(): number {
    return this.ring.length;
  }

  push(x: number): void {
    let size = this.ring.length;
    if (this.ring.full) {
      const at = this.lowerBound(this.ring.oldest, size);
      this.sorted.copyWithin(at, at + 1, size);
      size -= 1;
    }
    const pos = this.lowerBound(x, size);
    this.sorted.copyWithin(pos + 1, pos, size);
    this.sorted[pos] = x;
    this.ring.push(x);
  }

  /** Linear-interpolated quantile of the window; NaN when empty. */
  quantile(q: number): number {
    const n = this.ring.length;
    if (n === 0) return Number.NaN;
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const a = this.sorted[lo] as number;
    return a + ((this.sorted[hi] as number) - a) * (pos - lo);
  }

  /** Values in arrival order, oldest first. */
  values(): number[] {
    return this.ring.values();
  }

  /** Rebuilds a window holding `values` (oldest first; only the last `capacity` are kept). */
  static from(capacity: number, values: readonly number[]): RollingWindow {
    const w = new RollingWindow(capacity);
    for (const v of values.slice(-capacity)) w.push(v);
    return w;
  }

  /** First index among the `size` sorted values whose value is not below `x`. */
  private lowerBound(x: number, size: number): number {
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The last `capacity` values in arrival order. */
export class RollingRing {
  private readonly ring: Float64Array;
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.ring = new Float64Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  /** The oldest value (the one the next push replaces once full). */
  get oldest(): number {
    return this.ring[this.size === this.capacity ? this.head : 0] as number;
  }

  /** The value `i` pushes back (0: the newest); `i` must be below `length`. */
  newest(i = 0): number {
    return this.ring[(this.head - 1 - i + 2 * this.capacity) % this.capacity] as number;
  }

  /** Overwrites the most recent value. */
  setNewest(x: number): void {
    this.ring[(this.head + this.capacity - 1) % this.capacity] = x;
  }

  push(x: number): void {
    this.ring[this.head] = x;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  values(): number[] {
    const out: number[] = [];
    const start = this.size === this.capacity ? this.head : 0;
    for (let k = 0; k < this.size; k++) out.push(this.ring[(start + k) % this.capacity] as number);
    return out;
  }

  static from(capacity: number, values: readonly number[]): RollingRing {
    const r = new RollingRing(capacity);
    for (const v of values.slice(-capacity)) r.push(v);
    return r;
  }
}

/**
 * Exponentially weighted mean and variance with a running-average start: the weight is
 * max(1/horizon, 1/count), so early estimates are plain averages rather than biased to zero.
 */
export class Ewm {
  mean = 0;
  variance = 0;
  count = 0;

  constructor(readonly horizon: number) {}

  update(x: number): void {
    this.count += 1;
    const a = Math.max(1 / this.horizon, 1 / this.count);
    const d = x - this.mean;
    this.mean += a * d;
    this.variance = (1 - a) * (this.variance + a * d * d);
  }

  get std(): number {
    return Math.sqrt(this.variance);
  }

  toJSON(): [number, number, number] {
    return [this.mean, this.variance, this.count];
  }

  load(s: readonly number[]): void {
    this.mean = s[0] as number;
    this.variance = s[1] as number;
    this.count = s[2] as number;
  }
}

/** −log10 of the upper tail probability of a standard normal at z (accurate far into the tail). */
export function normalTailSurprise(z: number): number {
  if (z < 0) return -Math.log10(1 - 0.5 * erfc(-z / Math.SQRT2));
  if (z < 5) return -Math.log10(0.5 * erfc(z / Math.SQRT2));
  // Asymptotic: Q(z) ≈ φ(z)/z · (1 − 1/z²).
  return (z * z) / 2 / Math.LN10 + Math.log10(z * Math.sqrt(2 * Math.PI)) - Math.log10(1 - 1 / (z * z));
}

/** Complementary error function (Numerical Recipes erfcc, |relative error| < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export const RARITY_BINS = 64;
const RARITY_RES = 8;

/**
 * How rare a non-negative value is among the values seen so far (exponentially forgotten over
 * `horizon`), as −log10 of its upper-tail frequency. Beyond the largest value seen, the tail is
 * extrapolated as a power law so larger values still rank higher.
 */
export class Rarity {
  counts = new Float64Array(RARITY_BINS);
  total = 0;
  weight = 1;
  maxBin = -1;

  constructor(readonly horizon: number) {}

  private bin(x: number): number {
    return Math.min(RARITY_BINS - 1, Math.floor(Math.log1p(Math.max(0, x)) * RARITY_RES));
  }

  /** Surprise of `x` against history, then records it. */
  surprise(x: number): number {
    const b = this.bin(x);
    let tail = 0;
    for (let k = b; k <= this.maxBin; k++) tail += this.counts[k] as number;
    let s = -Math.log10((tail + this.weight) / (this.total + this.weight));
    if (b > this.maxBin && this.maxBin >= 0) s += 2 * Math.log10(Math.log1p(Math.max(0, x)) / ((this.maxBin + 1) / RARITY_RES));
    this.counts[b] = (this.counts[b] as number) + this.weight;
    this.total += this.weight;
    if (b > this.maxBin) this.maxBin = b;
    this.weight /= 1 - 1 / this.horizon;
    if (this.weight > 1e100) {
      for (let k = 0; k < RARITY_BINS; k++) this.counts[k] = (this.counts[k] as number) / this.weight;
      this.total /= this.weight;
      this.weight = 1;
    }
    return s;
  }

  toJSON(): number[] {
    return [this.total, this.weight, this.maxBin, ...this.counts];
  }

  load(s: readonly number[]): void {
    this.total = s[0] as number;
    this.weight = s[1] as number;
    this.maxBin = s[2] as number;
    this.counts = Float64Array.from(s.slice(3, 3 + RARITY_BINS));
  }
}

/** A power-law upper tail, P(X > x) = p · (x / u)^(−alpha) for x > u, fitted by the Hill estimator. */
export interface PowerTail {
  u: number;
  p: number;
  alpha: number;
}

/**
 * Fits a power-law tail to the largest `fraction` of the positive `values`; undefined when there
 * are too few values or no spread above the threshold.
 */
export function fitPowerTail(values: readonly number[], fraction = 0.05, minValues = 200): PowerTail | undefined {
  const s = values.filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b);
  if (s.length < minValues) return undefined;
  const k = Math.max(10, Math.floor(s.length * fraction));
  const u = s[s.length - k - 1] as number;
  let sum = 0;
  for (let i = s.length - k; i < s.length; i++) sum += Math.log((s[i] as number) / u);
  if (!(u > 0) || !(sum > 0)) return undefined;
  return { u, p: k / s.length, alpha: k / sum };
}

/** −log10 P(X > x) under the tail, for x above its threshold (0 below it). */
export function powerTailSurprise(x: number, t: PowerTail): number {
  return x > t.u ? -Math.log10(t.p) + t.alpha * Math.log10(x / t.u) : 0;
}
