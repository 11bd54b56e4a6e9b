/**
 * The subsequence channel: a streaming left-discord score for periodic signals.
 *
 * For every new window of the series (its length tied to the inferred cycle), the channel finds
 * the nearest neighbour among the windows of a bounded normal history that ended before it
 * (never overlapping it) and reports how far that neighbour is, relative to how far neighbours are
 * on normal data. A distorted, missing or extra cycle, a cycle that runs differently, a local
 * change of frequency or amplitude and a noise burst have no close neighbour, so they score high;
 * clean repetitions score about 1 or less. It follows the left-discord idea of DAMP (Lu et al.,
 * KDD 2022) with the exact streaming matrix-profile update instead of DAMP's search order: the
 * dot products of the newest window with every window of the history are carried from one step
 * to the next in O(1) each (the STOMP/SCRIMP diagonal recurrence), so a step costs O(history)
 * whatever the window length, and the distance to every candidate follows from those products and
 * the windows' means and variances. Clean-room: written from the papers.
 *
 * To stay cheap the channel works on a decimated series: readings are block-averaged by a
 * power of two `decimation` chosen so a cycle spans `pointsPerCycle` to twice that many points;
 * a new window is scored once per block. Two distances are kept per window length: z-normalised
 * (shape, blind to scale) and mean-removed Euclidean (shape and amplitude, blind to level), so a
 * cycle that only grows or shrinks is seen as well as one that changes shape.
 *
 * The period is inferred when fitting (autocorrelation of the training data) and re-checked
 * online on the history; without a period the channel still scores fixed-length windows
 * (`periodic` is false) so the caller can weigh it down. Pure and deterministic: no I/O, no
 * clock, no randomness; memory is fixed by `history` (about 55 KiB with the defaults).
 *
 * Usage:
 * ```ts
 * const ch = new SubsequenceChannel();
 * ch.fit(trainingValues);            // optional: infers the period and the normal distance scale
 * for (const v of stream) {
 *   const s = ch.update(v);          // >= 0, about 1 at the top of normal, 0 while warming up
 *   if (ch.ready && s > 3) alarm(ch.expected);
 * }
 * const saved = ch.toJSON();         // plain JSON; SubsequenceChannel.fromJSON(saved) restores it
 * ```
 */
import { quantile } from '../calibration.ts';
import { fenceOutliers, inferPeriod } from './period.ts';

export interface SubsequenceOptions {
  /** Candidate windows kept, in decimated points (default 512). Cost per scored window is O(history × lengths). */
  history?: number;
  /** Window lengths as fractions of the cycle (default [0.5, 1]). */
  lengths?: readonly number[];
  /** Decimate so that one cycle spans at least this many points (default 16; a cycle then spans 16–31 points). */
  pointsPerCycle?: number;
  /** Window length in decimated points while no period is known (default 16). */
  fallbackLength?: number;
  /** Largest decimation factor (default 4096). */
  maxDecimation?: number;
  /** Quantile of normal nearest-neighbour distances that scores 1 (default 0.99). */
  refQuantile?: number;
  /** Scored windows collected online before the distance scale is set, when not fitted (default 256). */
  refSamples?: number;
  /** Scored windows between online period checks (default: `history`). */
  recheckEvery?: number;
  /**
   * Decimated training points kept by `fit` as a reference that never leaves the history
   * (default 128; 0: none): its windows are neighbours for every later window, so normal cycles
   * stay available during and after a long event. Cost per scored window is O(reference × lengths).
   */
  reference?: number;
  /**
   * Anomalous windows that fill this many cycles of the history are a lasting change, the new
   * normal, as are windows filling half the history (default 0: only half the history). A signal
   * whose cycle spans a whole number of readings, after a change that moved its phase by part of a
   * reading, never again matches a normal window (each is sampled at other points of the cycle):
   * on a cycle of 8 readings half the history is 32 cycles of echoes.
   */
  newNormalCycles?: number;
}

const DEFAULTS: Required<SubsequenceOptions> = {
  history: 512,
  lengths: [0.5, 1],
  pointsPerCycle: 16,
  fallbackLength: 16,
  maxDecimation: 4096,
  refQuantile: 0.99,
  refSamples: 256,
  recheckEvery: 512,
  reference: 128,
  newNormalCycles: 0,
};

const MIN_LENGTH = 4;
const EMPTY = new Float64Array(0);
/** Sub-scores per window length: z-normalised distance, mean-removed distance, extra roughness. */
const SUBSCORES = 3;
const STATE_VERSION = 1;

/** The channel's serialized state: plain JSON, a few KiB (the decimated history dominates). */
export interface SubsequenceState {
  v: number;
  options: Required<SubsequenceOptions>;
  decimation: number;
  period: number | null;
  strength: number;
  offset: number;
  floor: number;
  /** Decimated history, oldest first, in offset units. */
  points: number[];
  /** Mean squared second difference of the raw readings in each decimated point, aligned with `points`. */
  roughness: number[];
  acc: number;
  accN: number;
  /** Roughness accumulated in the current block and the last two raw readings (null before any). */
  racc: number;
  prev: [number, number] | null;
  refs: number[] | null;
  refBuf: number[][];
  fitted: boolean;
  score: number;
  expected: number | null;
  sinceCheck: number;
  /** 1 where the window ending at that point was kept out of the neighbours (aligned with `points`); absent in older states. */
  excluded?: number[];
  saturated?: boolean;
  /** The reference training points (see `reference`) and their roughness; absent in older states (no reference). */
  reference?: number[];
  referenceRoughness?: number[];
}

interface LengthState {
  m: number;
  sum: number;
  sumsq: number;
  rsum: number;
  /** Roughness summed over each stored window (indexed by its end). */
  rs: Float64Array;
  /** Dot product of each stored window (indexed by its end) with the newest window. */
  qt: Float64Array;
  mu: Float64Array;
  va: Float64Array;
  /** Standard deviation floored at the channel's `floor`, for z-normalisation. */
  sf: Float64Array;
  /** The same for the reference windows (indexed by their end in the reference), and the newest window whose products `rq` holds. */
  rq: Float64Array;
  rmu: Float64Array;
  rva: Float64Array;
  rsf: Float64Array;
  rrs: Float64Array;
  rqFor: number;
}

function isPlainNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** A streaming subsequence (left-discord) anomaly score; see the module comment. */
/** A window scoring above this (the top of normal is about 1) is kept out of the neighbours of later windows. */
const EXCLUDE_SCORE = 1.5;

export class SubsequenceChannel {
  private readonly opts: Required<SubsequenceOptions>;
  private decimationFactor = 1;
  private periodRaw: number | undefined;
  private periodStrength = 0;
  private offset = 0;
  private floor = 1e-9;
  private fitted = false;
  private cap = 0;
  private x = new Float64Array(0);
  private lens: LengthState[] = [];
  private t = -1;
  private first = 0;
  private acc = 0;
  private accN = 0;
  private racc = 0;
  private prev1 = Number.NaN;
  private prev2 = Number.NaN;
  private rx = new Float64Array(0);
  private refs: Float64Array | undefined;
  private refBuf: number[][] = [];
  private sinceRefresh = 0;
  private sinceCheck = 0;
  private lastScore = 0;
  private nextExpected = Number.NaN;
  private lastFresh = false;
  private offsetSet = false;
  /** 1 where the window ending at that point scored as anomalous: it is no neighbour for later windows. */
  private bad = new Uint8Array(0);
  private badCount = 0;
  /** Set when anomalous windows filled half the history, or `newNormalCycles` cycles of it (a lasting change): none is excluded until all have left the history and a window scores normal again. */
  private saturated = false;
  /** See {@link SubsequenceChannel.sleep}. */
  private dormant = false;
  /** `minHistory()` for the current configuration, and the sub-scores of the last window (see `step`). */
  private minHist = 0;
  private sub = new Float64Array(0);
  /** Reference training points (see the `reference` option) and their roughness; empty when none. */
  private refPts = EMPTY;
  private refRx = EMPTY;

  constructor(options: SubsequenceOptions = {}) {
    const o = { ...DEFAULTS, ...options };
    if (options.recheckEvery === undefined) o.recheckEvery = o.history;
    if (!Number.isInteger(o.history) || o.history < 32 || o.history > 65536) throw new RangeError('history must be an integer from 32 to 65536');
    if (o.lengths.length === 0 || o.lengths.some((f) => !(f > 0 && f <= 4))) throw new RangeError('lengths must be fractions of a cycle in (0, 4]');
    if (!Number.isInteger(o.pointsPerCycle) || o.pointsPerCycle < 4) throw new RangeError('pointsPerCycle must be an integer >= 4');
    if (!Number.isInteger(o.fallbackLength) || o.fallbackLength < MIN_LENGTH) throw new RangeError('fallbackLength must be an integer >= 4');
    if (!(o.refQuantile > 0 && o.refQuantile <= 1)) throw new RangeError('refQuantile must be in (0, 1]');
    if (!Number.isInteger(o.reference) || o.reference < 0 || o.reference > 65536) throw new RangeError('reference must be an integer from 0 to 65536');
    if (!Number.isInteger(o.newNormalCycles) || o.newNormalCycles < 0 || o.newNormalCycles > 4096) throw new RangeError('newNormalCycles must be an integer from 0 to 4096');
    o.lengths = [...o.lengths].sort((a, b) => a - b);
    this.opts = o;
    this.configure(undefined, 0, 1, [], []);
  }

  /** Inferred cycle length in readings, or `undefined` while none is known. */
  get period(): number | undefined {
    return this.periodRaw;
  }

  /** Autocorrelation at the period (0 when none). */
  get strength(): number {
    return this.periodStrength;
  }

  /** True when the series has a detected cycle; scores of an aperiodic series are fixed-window discords. */
  get periodic(): boolean {
    return this.periodRaw !== undefined;
  }

  /**
   * Takes `other`'s distance scale when both fitted the same cycle (decimation and window lengths
   * equal, periods within 5 %): scores then keep the scale a calibration measured on `other`.
   * Returns false, changing nothing, otherwise or when `other` has no scale yet.
   */
  adoptScaleOf(other: SubsequenceChannel): boolean {
    const mine = this.periodRaw;
    const theirs = other.periodRaw;
    if (mine === undefined || theirs === undefined || other.refs === undefined || this.refs === undefined) return false;
    if (this.decimationFactor !== other.decimationFactor || Math.abs(mine - theirs) > 0.05 * theirs) return false;
    if (this.lens.length !== other.lens.length || this.lens.some((l, i) => l.m !== other.lens[i]?.m)) return false;
    this.refs = Float64Array.from(other.refs);
    return true;
  }

  /** Readings averaged into one point of the decimated series; a new score comes once per block. */
  get decimation(): number {
    return this.decimationFactor;
  }

  /** The `newNormalCycles` option (0: none). */
  get newNormalCycles(): number {
    return this.opts.newNormalCycles;
  }

  /** Window lengths in decimated points. */
  get windowLengths(): number[] {
    return this.lens.map((l) => l.m);
  }

  /** True once the normal distance scale is known and scores are meaningful. */
  get ready(): boolean {
    return this.refs !== undefined;
  }

  /** Warm-up progress in [0, 1]. */
  get progress(): number {
    if (this.refs !== undefined) return 1;
    const need = this.opts.refSamples + this.minHistory() + this.maxLength();
    const have = (this.refBuf[0]?.length ?? 0) + Math.min(this.t - this.first + 1, this.minHistory() + this.maxLength());
    return Math.max(0, Math.min(1, have / need));
  }

  /**
   * What the nearest normal neighbour says the current reading should be (the value that followed
   * the best-matching window, moved to the current window's level); NaN while unknown. With
   * decimation it is the expected block mean.
   */
  get expected(): number {
    return this.lastFresh ? this.nextExpectedForReading : this.nextExpected;
  }

  /** True when the last `update` scored a new window (once per `decimation` readings). */
  get fresh(): boolean {
    return this.lastFresh;
  }

  /** The last score returned by `update`. */
  get score(): number {
    return this.lastScore;
  }

  /** True after {@link SubsequenceChannel.sleep} until the next `fit`. */
  get asleep(): boolean {
    return this.dormant;
  }

  /**
   * For a caller that will not use the scores until it fits the channel again: from now on
   * `update` only keeps the history, the period checks and the running block (everything `fit`
   * carries over), skips the nearest-neighbour search and returns 0, and the search's buffers are
   * released. The last score, `expected`, the distance scale's collection and the excluded windows
   * (and whether they had saturated, which `fit` keeps) stay as they were. `fit` wakes the channel.
   */
  sleep(): void {
    if (this.dormant) return;
    this.dormant = true;
    for (const L of this.lens) L.rs = L.qt = L.mu = L.va = L.sf = L.rq = L.rmu = L.rva = L.rsf = L.rrs = EMPTY;
  }

  private nextExpectedForReading = Number.NaN;

  /**
   * Learns from normal readings: infers the period, sets the decimation and window lengths, fills
   * the history with the most recent training data and sets the distance scale from the training
   * data's own left-discord scores. Readings must be in time order; non-finite values are skipped.
   * With `fence`, the period is inferred on the readings with outliers pulled in (see
   * fenceOutliers); the history and the distance scale still learn the readings as they are.
   */
  fit(values: ArrayLike<number>, options: { fence?: boolean } = {}): void {
    const clean: number[] = [];
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) clean.push(v);
    }
    const estimate = clean.length >= 24 ? inferPeriod(options.fence === true ? fenceOutliers(clean) : clean, { minPeriod: MIN_LENGTH }) : undefined;
    let mean = 0;
    for (const v of clean) mean += v;
    mean = clean.length > 0 ? mean / clean.length : 0;
    let sd = 0;
    for (const v of clean) sd += (v - mean) * (v - mean);
    sd = clean.length > 1 ? Math.sqrt(sd / (clean.length - 1)) : 0;
    this.offset = mean;
    this.offsetSet = true;
    this.floor = Math.max(1e-9, 0.02 * sd);
    this.dormant = false;
    this.refPts = this.refRx = EMPTY;
    this.configure(estimate?.period, estimate?.strength ?? 0, this.decimationFor(estimate?.period), [], []);
    this.fitted = true;
    this.refs = undefined;
    this.refBuf = this.emptyRefBuf();
    const d = this.decimationFactor;
    const steps = this.cap + this.opts.history;
    const start = Math.max(clean.length % d, clean.length - steps * d);
    for (let i = start; i < clean.length; i++) this.push(clean[i] as number, true);
    this.setRefs(true);
    this.takeReference();
    this.acc = 0;
    this.accN = 0;
    this.lastScore = 0;
  }

  /**
   * Scores one reading causally and adds it to the history. Returns the score: the largest ratio,
   * over window lengths and both distances, of the newest window's nearest-neighbour distance to
   * the normal scale (about 1 at the top of normal data); 0 while warming up. The score changes
   * once per `decimation` readings and is held in between. A non-finite value is ignored.
   */
  update(value: number): number {
    this.lastFresh = false;
    if (!Number.isFinite(value)) return this.dormant ? 0 : this.lastScore;
    if (!this.offsetSet) {
      this.offset = value;
      this.offsetSet = true;
    }
    this.push(value, false);
    return this.dormant ? 0 : this.lastScore;
  }

  private push(value: number, fitting: boolean): void {
    this.acc += value;
    this.accN++;
    if (Number.isFinite(this.prev2)) {
      const d2 = value - 2 * this.prev1 + this.prev2;
      this.racc += d2 * d2;
    }
    this.prev2 = this.prev1;
    this.prev1 = value;
    if (this.accN < this.decimationFactor) return;
    const point = this.acc / this.accN - this.offset;
    const rough = this.racc / this.accN;
    this.acc = 0;
    this.accN = 0;
    this.racc = 0;
    const sub = this.dormant ? this.track(point, rough) : this.step(point, rough);
    this.lastFresh = true;
    if (this.dormant) {
      // Asleep: no score (see `sleep`).
    } else if (sub === undefined) {
      this.lastScore = 0;
    } else if (this.refs === undefined) {
      for (let k = 0; k < sub.length; k++) this.refBuf[k]?.push(sub[k] as number);
      this.lastScore = 0;
      if (!fitting && (this.refBuf[0]?.length ?? 0) >= this.opts.refSamples) this.setRefs(false);
    } else {
      let s = 0;
      for (let k = 0; k < sub.length; k++) s = Math.max(s, (sub[k] as number) / (this.refs[k] as number));
      this.lastScore = s;
      // An anomalous window is no neighbour for later ones (so a long event does not become the
      // reference normal cycles are compared with), unless anomalies fill half the history: then
      // the change has lasted and becomes the new normal (or `newNormalCycles` cycles of them).
      const it = this.t % this.cap;
      if (this.badCount >= this.lastingCount()) this.saturated = true;
      else if (this.badCount === 0 && s <= EXCLUDE_SCORE) this.saturated = false;
      if (!fitting && !this.saturated && s > EXCLUDE_SCORE && this.bad[it] === 0) {
        this.bad[it] = 1;
        this.badCount++;
      }
    }
    if (!fitting && ++this.sinceCheck >= this.opts.recheckEvery) {
      this.sinceCheck = 0;
      this.recheckPeriod();
    }
  }

  /** Anomalous windows in the history that make a lasting change (see `newNormalCycles`). */
  private lastingCount(): number {
    const half = this.opts.history / 2;
    const cycles = this.opts.newNormalCycles;
    return cycles > 0 && this.periodRaw !== undefined ? Math.min(half, cycles * (this.periodRaw / this.decimationFactor)) : half;
  }

  private setRefs(fromFit: boolean): void {
    const n = this.refBuf[0]?.length ?? 0;
    if (n < (fromFit ? 8 : this.opts.refSamples)) {
      // Too little training to know the scale: learn it online instead.
      if (fromFit) this.refBuf = this.emptyRefBuf();
      return;
    }
    const refs = new Float64Array(this.refBuf.length);
    for (let k = 0; k < refs.length; k++) {
      const q = quantile([...(this.refBuf[k] as number[])].sort((a, b) => a - b), this.opts.refQuantile);
      // A perfectly clean signal has distances near 0; keep the scale away from it.
      const minimum = k % SUBSCORES === 0 ? 0.05 : Math.max(this.floor, 1e-9);
      refs[k] = Math.max(q, minimum);
    }
    this.refs = refs;
    this.refBuf = [];
  }

  private emptyRefBuf(): number[][] {
    return Array.from({ length: SUBSCORES * this.lens.length }, () => []);
  }

  /**
   * After `fit`: keeps the last `reference` training points that end a longest window before the
   * end of training (so no reference window overlaps a scored one) as the reference set.
   */
  private takeReference(): void {
    this.refPts = this.refRx = EMPTY;
    const mMax = this.maxLength();
    const end = this.t - mMax;
    const start = Math.max(this.first, this.t - this.cap + 1, end - this.opts.reference + 1);
    if (this.opts.reference === 0 || end - start + 1 < 2 * mMax) return;
    const pts = new Float64Array(end - start + 1);
    const rough = new Float64Array(end - start + 1);
    for (let e = start; e <= end; e++) {
      pts[e - start] = this.x[e % this.cap] as number;
      rough[e - start] = this.rx[e % this.cap] as number;
    }
    this.refPts = pts;
    this.refRx = rough;
    this.prepareReference();
  }

  /** Window statistics of the reference set for every length (nothing while asleep). */
  private prepareReference(): void {
    const K = this.refPts.length;
    for (const L of this.lens) {
      const size = this.dormant || K < L.m ? 0 : K;
      L.rq = new Float64Array(size);
      L.rmu = new Float64Array(size);
      L.rva = new Float64Array(size);
      L.rsf = new Float64Array(size);
      L.rrs = new Float64Array(size);
      L.rqFor = -2;
      if (size === 0) continue;
      for (let e = L.m - 1; e < K; e++) {
        let sum = 0;
        let sq = 0;
        let r = 0;
        for (let k = e - L.m + 1; k <= e; k++) {
          const v = this.refPts[k] as number;
          sum += v;
          sq += v * v;
          r += this.refRx[k] as number;
        }
        const mu = sum / L.m;
        const va = Math.max(0, sq / L.m - mu * mu);
        L.rmu[e] = mu;
        L.rva[e] = va;
        L.rsf[e] = Math.sqrt(Math.max(va, this.floor * this.floor));
        L.rrs[e] = r;
      }
    }
  }

  private decimationFor(period: number | undefined): number {
    if (period === undefined) return 1;
    let d = 1;
    while (d * 2 <= this.opts.maxDecimation && period / (d * 2) >= this.opts.pointsPerCycle) d *= 2;
    return d;
  }

  private maxLength(): number {
    return this.lens.reduce((a, l) => Math.max(a, l.m), 0);
  }

  /** Candidate windows needed before a score counts: two cycles (or windows) of history. */
  private minHistory(): number {
    const cycle = this.periodRaw !== undefined ? this.periodRaw / this.decimationFactor : this.opts.fallbackLength;
    return Math.max(2 * Math.round(cycle), 2 * this.maxLength());
  }

  /** Sets period, decimation and window lengths and refills the history with `points` (oldest first). */
  private configure(period: number | undefined, strength: number, decimation: number, points: readonly number[], roughness: readonly number[]): void {
    this.periodRaw = period;
    this.periodStrength = period === undefined ? 0 : strength;
    this.decimationFactor = decimation;
    const cycle = period === undefined ? undefined : period / decimation;
    const ms =
      cycle === undefined
        ? [this.opts.fallbackLength]
        : [...new Set(this.opts.lengths.map((f) => Math.max(MIN_LENGTH, Math.round(f * cycle))))];
    const mMax = Math.max(...ms);
    this.cap = this.opts.history + mMax + 2;
    this.x = new Float64Array(this.cap);
    this.rx = new Float64Array(this.cap);
    this.bad = new Uint8Array(this.cap);
    this.badCount = 0;
    const size = this.dormant ? 0 : this.cap;
    this.lens = ms.map((m) => ({
      m,
      sum: 0,
      sumsq: 0,
      rsum: 0,
      rs: new Float64Array(size),
      qt: new Float64Array(size),
      mu: new Float64Array(size),
      va: new Float64Array(size),
      sf: new Float64Array(size),
      rq: EMPTY,
      rmu: EMPTY,
      rva: EMPTY,
      rsf: EMPTY,
      rrs: EMPTY,
      rqFor: -2,
    }));
    this.minHist = this.minHistory();
    this.sub = new Float64Array(SUBSCORES * ms.length);
    this.t = -1;
    this.first = 0;
    this.sinceRefresh = 0;
    this.nextExpected = Number.NaN;
    this.nextExpectedForReading = Number.NaN;
    const kept = points.slice(-this.cap);
    const keptRough = roughness.slice(-this.cap);
    for (const [i, p] of kept.entries()) {
      this.t++;
      this.x[this.t % this.cap] = p;
      this.rx[this.t % this.cap] = keptRough[i] ?? 0;
    }
    if (!this.dormant) this.rebuild();
    this.prepareReference();
  }

  /** Recomputes running sums, window statistics and dot products exactly from the stored points. */
  private rebuild(): void {
    const C = this.cap;
    const t = this.t;
    const n = t - this.first + 1;
    for (const L of this.lens) {
      const m = L.m;
      L.sum = 0;
      L.sumsq = 0;
      L.rsum = 0;
      if (n < m) {
        for (let e = this.first; e <= t; e++) {
          const v = this.x[e % C] as number;
          L.sum += v;
          L.sumsq += v * v;
          L.rsum += this.rx[e % C] as number;
        }
        continue;
      }
      const lo = Math.max(this.first + m - 1, t - C + m);
      for (let e = lo; e <= t; e++) this.windowStats(L, e);
      for (let e = t - m + 1; e <= t; e++) {
        const v = this.x[e % C] as number;
        L.sum += v;
        L.sumsq += v * v;
        L.rsum += this.rx[e % C] as number;
      }
      const hlo = Math.max(lo, t - this.opts.history + 1);
      for (let e = hlo; e <= t; e++) L.qt[e % C] = this.dot(e, t, m);
      L.rqFor = -2;
    }
    this.sinceRefresh = 0;
  }

  private windowStats(L: LengthState, e: number): void {
    const C = this.cap;
    let s = 0;
    let q = 0;
    let r = 0;
    for (let k = e - L.m + 1; k <= e; k++) {
      const v = this.x[k % C] as number;
      s += v;
      q += v * v;
      r += this.rx[k % C] as number;
    }
    this.setStats(L, e % C, s, q);
    L.rs[e % C] = r;
  }

  private setStats(L: LengthState, i: number, s: number, q: number): void {
    const mu = s / L.m;
    const va = Math.max(0, q / L.m - mu * mu);
    L.mu[i] = mu;
    L.va[i] = va;
    L.sf[i] = Math.sqrt(Math.max(va, this.floor * this.floor));
  }

  private dot(a: number, b: number, m: number): number {
    const C = this.cap;
    let s = 0;
    for (let k = 0; k < m; k++) s += (this.x[(a - k) % C] as number) * (this.x[(b - k) % C] as number);
    return s;
  }

  /** Asleep: adds one decimated point to the history only (as `step` does, without the search). */
  private track(p: number, rough: number): undefined {
    const it = ++this.t % this.cap;
    if (this.bad[it] === 1) {
      this.bad[it] = 0;
      this.badCount--;
    }
    this.x[it] = p;
    this.rx[it] = rough;
    return undefined;
  }

  /**
   * Adds one decimated point and returns the sub-scores (per length: z-normalised distance per
   * point, mean-removed RMS distance), or `undefined` when there is not yet enough history.
   */
  private step(p: number, rough: number): Float64Array | undefined {
    const C = this.cap;
    const H = this.opts.history;
    const t = ++this.t;
    const it = t % C;
    if (this.bad[it] === 1) {
      this.bad[it] = 0;
      this.badCount--;
    }
    const x = this.x;
    x[it] = p;
    this.rx[it] = rough;
    const n = t - this.first + 1;
    const out = this.sub;
    let enough = true;
    let expected = Number.NaN;
    const primary = this.lens.length - 1;
    let refUsed = false;
    const minHistory = this.minHist;
    const bad = this.bad;
    const anyBad = this.badCount > 0;
    for (let li = 0; li < this.lens.length; li++) {
      const L = this.lens[li] as LengthState;
      const m = L.m;
      L.sum += p;
      L.sumsq += p * p;
      L.rsum += rough;
      if (n > m) {
        const old = x[(t - m) % C] as number;
        L.sum -= old;
        L.sumsq -= old * old;
        L.rsum -= this.rx[(t - m) % C] as number;
      }
      if (n < m) {
        enough = false;
        continue;
      }
      this.setStats(L, it, L.sum, L.sumsq);
      L.rs[it] = L.rsum;
      const firstEnd = this.first + m - 1;
      const lo = Math.max(firstEnd, t - H + 1);
      const hi = t - m;
      const qt = L.qt;
      const mu = L.mu;
      const va = L.va;
      const sf = L.sf;
      const xt = p;
      const xtm = n > m ? (x[(t - m) % C] as number) : 0;
      const muq = mu[it] as number;
      const vaq = va[it] as number;
      const sfq = sf[it] as number;
      // The nearest neighbour among windows that did not score as anomalous (and among all, as a
      // fallback when too few clean ones are left). Windows are visited newest first (ties keep
      // the newest), and the dot product of each with the newest window is carried over from the
      // previous step (the window one older), except for the oldest window of the series.
      let bestCorr = Number.NEGATIVE_INFINITY;
      let bestC2 = Number.POSITIVE_INFINITY;
      let bestE = -1;
      let allCorr = Number.NEGATIVE_INFINITY;
      let allC2 = Number.POSITIVE_INFINITY;
      let allE = -1;
      let clean = 0;
      let ie = it;
      let iem = (t - m) % C;
      if (iem < 0) iem += C;
      const carriedTo = Math.max(lo, firstEnd + 1);
      // Windows overlapping the newest: only their dot products.
      const overlapTo = Math.max(carriedTo, hi + 1);
      let e = t;
      for (; e >= overlapTo; e--) {
        const ie1 = ie === 0 ? C - 1 : ie - 1;
        qt[ie] = (qt[ie1] as number) - (x[iem] as number) * xtm + (x[ie] as number) * xt;
        ie = ie1;
        iem = iem === 0 ? C - 1 : iem - 1;
      }
      // The candidates with carried products (all but the series' oldest window), in runs over
      // which the older window's first point does not wrap round the ring.
      for (let k = e <= hi ? e - carriedTo + 1 : 0; k > 0; ) {
        const run = Math.min(k, iem + 1);
        k -= run;
        if (anyBad) {
          for (let r = 0; r < run; r++, e--) {
            const ie1 = ie === 0 ? C - 1 : ie - 1;
            const q = (qt[ie1] as number) - (x[iem] as number) * xtm + (x[ie] as number) * xt;
            qt[ie] = q;
            const cov = q / m - muq * (mu[ie] as number);
            const c2 = vaq + (va[ie] as number) - 2 * cov;
            const ok = bad[ie] === 0;
            const corr = cov / (sfq * (sf[ie] as number));
            if (corr > allCorr) allCorr = corr;
            if (ok && corr > bestCorr) bestCorr = corr;
            if (c2 < allC2) {
              allC2 = c2;
              allE = e;
            }
            if (ok) {
              clean++;
              if (c2 < bestC2) {
                bestC2 = c2;
                bestE = e;
              }
            }
            ie = ie1;
            iem--;
          }
        } else {
          for (let r = 0; r < run; r++, e--) {
            const ie1 = ie === 0 ? C - 1 : ie - 1;
            const q = (qt[ie1] as number) - (x[iem] as number) * xtm + (x[ie] as number) * xt;
            qt[ie] = q;
            const cov = q / m - muq * (mu[ie] as number);
            const c2 = vaq + (va[ie] as number) - 2 * cov;
            const corr = cov / (sfq * (sf[ie] as number));
            if (corr > bestCorr) bestCorr = corr;
            if (c2 < bestC2) {
              bestC2 = c2;
              bestE = e;
            }
            ie = ie1;
            iem--;
          }
        }
        if (iem < 0) iem = C - 1;
      }
      // The rest (the series' oldest window, and the start-up before a full history).
      for (; e >= lo; e--) {
        const ie1 = ie === 0 ? C - 1 : ie - 1;
        let q: number;
        if (e >= carriedTo) q = (qt[ie1] as number) - (x[iem] as number) * xtm + (x[ie] as number) * xt;
        else q = this.dot(e, t, m);
        qt[ie] = q;
        if (e <= hi) {
          const cov = q / m - muq * (mu[ie] as number);
          const c2 = vaq + (va[ie] as number) - 2 * cov;
          const corr = cov / (sfq * (sf[ie] as number));
          if (anyBad) {
            if (corr > allCorr) allCorr = corr;
            if (bad[ie] === 0 && corr > bestCorr) bestCorr = corr;
            if (c2 < allC2) {
              allC2 = c2;
              allE = e;
            }
            if (bad[ie] === 0) {
              clean++;
              if (c2 < bestC2) {
                bestC2 = c2;
                bestE = e;
              }
            }
          } else {
            if (corr > bestCorr) bestCorr = corr;
            if (c2 < bestC2) {
              bestC2 = c2;
              bestE = e;
            }
          }
        }
        ie = ie1;
        iem = iem === 0 ? C - 1 : iem - 1;
      }
      const candidates = hi - lo + 1;
      if (!anyBad) {
        clean = Math.max(0, candidates);
        allCorr = bestCorr;
        allC2 = bestC2;
        allE = bestE;
      }
      // The reference windows (training cycles that never leave): always clean neighbours.
      let refC2 = Number.POSITIVE_INFINITY;
      let refE = -1;
      const K = L.rq.length;
      if (K > 0 && n >= m) {
        const R = this.refPts;
        const rq = L.rq;
        const carry = L.rqFor === t - 1 && n > m;
        L.rqFor = t;
        const rmu = L.rmu;
        const rva = L.rva;
        const rsf = L.rsf;
        let refCorr = Number.NEGATIVE_INFINITY;
        // Newest reference window first, so each product is carried from the one before it (the
        // previous step's product with the window one older), which is not yet overwritten.
        for (let e = K - 1; e >= m - 1; e--) {
          let q: number;
          if (carry && e >= m) q = (rq[e - 1] as number) - (R[e - m] as number) * xtm + (R[e] as number) * xt;
          else {
            q = 0;
            for (let k = 0; k < m; k++) q += (R[e - k] as number) * (x[(t - k) % C] as number);
          }
          rq[e] = q;
          const cov = q / m - muq * (rmu[e] as number);
          const c2 = vaq + (rva[e] as number) - 2 * cov;
          const corr = cov / (sfq * (rsf[e] as number));
          if (corr > refCorr) refCorr = corr;
          if (c2 < refC2) {
            refC2 = c2;
            refE = e;
          }
        }
        // Merged into both the clean and the fallback search below (which of them is used still
        // depends on the clean live windows alone, as without a reference).
        if (refCorr > bestCorr) bestCorr = refCorr;
        if (refCorr > allCorr) allCorr = refCorr;
      }
      if (candidates < minHistory) enough = false;
      if (clean < minHistory) {
        bestCorr = allCorr;
        bestC2 = allC2;
        bestE = allE;
      }
      // Roughness beyond that of the best match (same phase of the cycle): a noise burst.
      let extraRough = bestE >= 0 ? (L.rsum - (L.rs[bestE % C] as number)) / m : 0;
      if (refE >= 0 && refC2 < bestC2) {
        // A closer reference window: the roughness excess is the smaller of the two matches', so
        // the reference only adds neighbours (no score rises because of it).
        bestC2 = refC2;
        extraRough = Math.min(bestE >= 0 ? extraRough : Number.POSITIVE_INFINITY, (L.rsum - (L.rrs[refE] as number)) / m);
        if (li === primary && refE + 1 < K) {
          expected = (this.refPts[refE + 1] as number) - (L.rmu[refE] as number) + muq + this.offset;
          refUsed = true;
        }
      }
      out[SUBSCORES * li] = Math.sqrt(Math.max(0, 2 * (1 - Math.min(1, bestCorr))));
      out[SUBSCORES * li + 1] = Math.sqrt(Math.max(0, bestC2));
      out[SUBSCORES * li + 2] = Math.sqrt(Math.max(0, extraRough));
      if (li === primary && bestE >= 0 && !refUsed) {
        expected = (x[(bestE + 1) % C] as number) - (mu[bestE % C] as number) + muq + this.offset;
      }
    }
    this.nextExpectedForReading = this.nextExpected;
    this.nextExpected = expected;
    if (++this.sinceRefresh >= C) this.rebuild();
    return enough ? out : undefined;
  }

  /** Re-infers the period on the history; reconfigures when a period appears or clearly changes. */
  private recheckPeriod(): void {
    const n = Math.min(this.t - this.first + 1, this.cap);
    if (n < 48) return;
    const d = this.decimationFactor;
    const points: number[] = [];
    const roughness: number[] = [];
    for (let e = this.t - n + 1; e <= this.t; e++) {
      points.push(this.x[e % this.cap] as number);
      roughness.push(this.rx[e % this.cap] as number);
    }
    const est = inferPeriod(points, { minPeriod: MIN_LENGTH });
    const found = est === undefined ? undefined : est.period * d;
    const current = this.periodRaw;
    if (found === undefined || est === undefined) return;
    if (current !== undefined && Math.abs(found - current) <= 0.2 * current) return;
    if (current !== undefined && est.strength < Math.max(0.5, this.periodStrength)) return;
    const newD = Math.max(d, this.decimationFor(found));
    const ratio = newD / d;
    const merged: number[] = [];
    const mergedRough: number[] = [];
    for (let end = points.length; end - ratio >= 0; end -= ratio) {
      let s = 0;
      let r = 0;
      for (let k = end - ratio; k < end; k++) {
        s += points[k] as number;
        r += roughness[k] as number;
      }
      merged.push(s / ratio);
      mergedRough.push(r / ratio);
    }
    merged.reverse();
    mergedRough.reverse();
    if (!this.fitted) {
      let mean = 0;
      let sd = 0;
      for (const v of points) mean += v;
      mean /= points.length;
      for (const v of points) sd += (v - mean) * (v - mean);
      this.floor = Math.max(1e-9, 0.02 * Math.sqrt(sd / points.length));
    }
    // The reference was decimated for the old cycle: drop it.
    this.refPts = this.refRx = EMPTY;
    this.configure(found, est.strength, newD, merged, mergedRough);
    this.refs = undefined;
    this.refBuf = this.emptyRefBuf();
  }

  /** Plain-JSON state; restore with {@link SubsequenceChannel.fromJSON}. */
  toJSON(): SubsequenceState {
    const n = Math.min(this.t - this.first + 1, this.cap);
    const points: number[] = [];
    const roughness: number[] = [];
    for (let e = this.t - n + 1; e <= this.t; e++) {
      points.push(this.x[e % this.cap] as number);
      roughness.push(this.rx[e % this.cap] as number);
    }
    return {
      v: STATE_VERSION,
      options: { ...this.opts, lengths: [...this.opts.lengths] },
      decimation: this.decimationFactor,
      period: this.periodRaw ?? null,
      strength: this.periodStrength,
      offset: this.offset,
      floor: this.floor,
      points,
      roughness,
      acc: this.acc,
      accN: this.accN,
      racc: this.racc,
      prev: Number.isFinite(this.prev2) ? [this.prev2, this.prev1] : null,
      refs: this.refs ? [...this.refs] : null,
      refBuf: this.refBuf.map((b) => [...b]),
      fitted: this.fitted,
      score: this.lastScore,
      expected: Number.isFinite(this.nextExpected) ? this.nextExpected : null,
      sinceCheck: this.sinceCheck,
      excluded: Array.from({ length: n }, (_, i) => this.bad[(this.t - n + 1 + i) % this.cap] as number),
      saturated: this.saturated,
      ...(this.refPts.length > 0 && { reference: [...this.refPts], referenceRoughness: [...this.refRx] }),
    };
  }

  /** Rebuilds a channel from {@link SubsequenceChannel.toJSON}'s output; throws `TypeError` on malformed state. */
  static fromJSON(state: unknown, options: { asleep?: boolean } = {}): SubsequenceChannel {
    const s = state as Partial<SubsequenceState> | null;
    const fail = (what: string): never => {
      throw new TypeError(`invalid subsequence channel state: ${what}`);
    };
    if (typeof s !== 'object' || s === null) return fail('not an object');
    if (s.v !== STATE_VERSION) fail(`unsupported version ${String(s.v)}`);
    if (typeof s.options !== 'object' || s.options === null) fail('options');
    let ch: SubsequenceChannel;
    try {
      ch = new SubsequenceChannel(s.options as SubsequenceOptions);
    } catch (err) {
      return fail((err as Error).message);
    }
    const d = s.decimation;
    if (!Number.isInteger(d) || (d as number) < 1 || (d as number) > ch.opts.maxDecimation) fail('decimation');
    if (s.period !== null && !(isPlainNumber(s.period) && s.period > 0)) fail('period');
    for (const k of ['strength', 'offset', 'floor', 'acc', 'racc', 'score'] as const) if (!isPlainNumber(s[k])) fail(k);
    if (s.prev !== null && !(Array.isArray(s.prev) && s.prev.length === 2 && s.prev.every(isPlainNumber))) fail('prev');
    if (!Number.isInteger(s.accN) || (s.accN as number) < 0 || (s.accN as number) >= (d as number)) fail('accN');
    if (!Array.isArray(s.points) || s.points.length > ch.opts.history + 4 * 65536 || !s.points.every(isPlainNumber)) fail('points');
    if (!Array.isArray(s.roughness) || s.roughness.length !== (s.points as number[]).length || !s.roughness.every((r) => isPlainNumber(r) && r >= 0)) fail('roughness');
    if (s.refs !== null && (!Array.isArray(s.refs) || !s.refs.every((r) => isPlainNumber(r) && r > 0))) fail('refs');
    if (!Array.isArray(s.refBuf) || !s.refBuf.every((b) => Array.isArray(b) && b.length <= 65536 && b.every(isPlainNumber))) fail('refBuf');
    if (s.expected !== null && !isPlainNumber(s.expected)) fail('expected');
    if (!Number.isInteger(s.sinceCheck) || (s.sinceCheck as number) < 0) fail('sinceCheck');
    ch.offset = s.offset as number;
    ch.offsetSet = true;
    ch.floor = s.floor as number;
    ch.fitted = s.fitted === true;
    if (options.asleep === true) ch.sleep();
    ch.configure(s.period === null ? undefined : (s.period as number), s.strength as number, d as number, s.points as number[], s.roughness as number[]);
    if (s.refs !== null && (s.refs as number[]).length !== SUBSCORES * ch.lens.length) fail('refs length');
    ch.refs = s.refs === null ? undefined : Float64Array.from(s.refs as number[]);
    ch.refBuf = (s.refBuf as number[][]).map((b) => [...b]);
    if (ch.refs === undefined && ch.refBuf.length !== SUBSCORES * ch.lens.length) ch.refBuf = ch.emptyRefBuf();
    ch.acc = s.acc as number;
    ch.accN = s.accN as number;
    ch.racc = s.racc as number;
    if (s.prev) [ch.prev2, ch.prev1] = s.prev as [number, number];
    ch.lastScore = s.score as number;
    ch.nextExpected = s.expected ?? Number.NaN;
    ch.sinceCheck = s.sinceCheck as number;
    if (s.excluded !== undefined) {
      if (!Array.isArray(s.excluded) || s.excluded.length !== (s.points as number[]).length || !s.excluded.every((f) => f === 0 || f === 1)) fail('excluded');
      const kept = Math.min((s.points as number[]).length, ch.cap);
      const skip = (s.points as number[]).length - kept;
      for (let i = 0; i < kept; i++) {
        if ((s.excluded as number[])[skip + i] === 1) {
          ch.bad[i % ch.cap] = 1;
          ch.badCount++;
        }
      }
    }
    ch.saturated = s.saturated === true;
    if (s.reference !== undefined) {
      if (!Array.isArray(s.reference) || s.reference.length > 65536 || !s.reference.every(isPlainNumber)) fail('reference');
      const rr = s.referenceRoughness;
      if (!Array.isArray(rr) || rr.length !== (s.reference as number[]).length || !rr.every((r) => isPlainNumber(r) && r >= 0)) fail('referenceRoughness');
      ch.refPts = Float64Array.from(s.reference as number[]);
      ch.refRx = Float64Array.from(rr as number[]);
      ch.prepareReference();
    }
    return ch;
  }
}
