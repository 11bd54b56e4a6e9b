/**
 * `context`: an online detector that judges each reading by whether what came before it has been
 * followed by something like it before.
 *
 * Each reading becomes three discrete facts: its level (the value in one of `levels` equal bins
 * of the measurement range), its change from the previous reading (a signed, log-spaced class in
 * units of one level bin) and its position against the last `positionWindow` readings (below
 * them, lower third, middle, upper third, above them). A bounded transition memory
 * (`context-transitions.ts`) remembers which facts followed each context — the levels of the last
 * 1 … `order` readings — and predicts each fact by blending the longest remembered context with
 * shorter ones and with overall frequency. A level or change never seen at all is the less likely
 * the further it lies from every seen one (`ordinalDecay`). The raw score of a reading is the
 * weighted information (bits, −log2 of the predicted probability) of its facts.
 *
 * The raw score is then judged against its own history, in the spirit of HTM's anomaly
 * likelihood: the mean of the last `shortWindow` raw scores against the long-run mean and spread
 * of that mean (exponentially weighted over `longHorizon` readings; the spread is at least
 * `minSpread` bits), as the −log10 tail probability of a normal (the "surprise"). The surprise
 * is mapped to [0, 1] on a log scale so that `alarmSurprise` scores 0.5 (after `fit`: the
 * held-out (1 − target false-alarm rate) quantile, kept between `alarmSurprise` and 3 × that).
 * After an alarm, the next `restPeriod`
 * readings stay quiet unless their surprise exceeds the alarm's by the factor `restMargin`, so one
 * event raises one alarm.
 *
 * The measurement range is `rangeMin`…`rangeMax` when given (a device's known range, e.g. 0–5 V),
 * otherwise learned: from the training data in `fit`, or from the first `warmup` readings online
 * (then replayed into the memory). Readings outside the range get levels of their own. When the
 * middle 80 % of recent readings spans more than `widen` × `levels` learned bins, the bins double
 * in width and the memory is rewritten to them.
 * @module
 */
import { calibrate, confidenceOf, fitCalibration, isCalibration, type Calibration } from './calibration.ts';
import { checkTransitionMemoryState, FAMILIES, FAMILY_COUNT, TransitionMemory, type TransitionMemoryState } from './context-transitions.ts';
import { readParams, runStepsAsync, type FitSteps } from './ml-shared.ts';
import type { DetectorFactory } from './registry.ts';
import { Ewm, RollingWindow, normalTailSurprise } from './rolling.ts';
import {
  DetectorError,
  type CreateDetectorOptions,
  type Detector,
  type DetectorArtifact,
  type DetectorDescriptor,
  type DetectorParamSpec,
  type FitOptions,
  type FitReport,
  type Reading,
  type Score,
  type Signal,
  type WarmupState,
} from './types.ts';

const KIND = 'context' as const;
/**
 * Version 2: the clean-room transition-memory design. Version 1 artifacts came from the replaced
 * implementation and are rejected.
 */
export const CONTEXT_ARTIFACT_VERSION = 2;
const DEFAULT_TARGET_FAR = 0.001;
/** Bits credited to one fact at most (keeps the raw score finite). */
const MAX_BITS = 60;
const SURPRISE_FLOOR = 1e-3;
/** `fit` places the alarm point at most this many times `alarmSurprise`. */
const FIT_CEILING = 3;
const MAX_SURPRISE = 300;
/** Level indices are clamped to ± this (values absurdly far from the range share one level). */
const MAX_LEVEL = 1e9;
const logSurprise = (s: number): number => Math.log(Math.max(s, SURPRISE_FLOOR));

const PARAM_SPECS = [
  { name: 'rangeMin', type: 'number', default: 0, description: 'Lower end of the measurement range (e.g. 0 V); used when rangeMax > rangeMin, otherwise the range is learned.' },
  { name: 'rangeMax', type: 'number', default: 0, description: 'Upper end of the measurement range (e.g. 5 V); equal to rangeMin (default) learns the range.' },
  { name: 'levels', type: 'integer', default: 16, min: 2, max: 1024, description: 'Level bins across the measurement range.' },
  { name: 'rangePad', type: 'number', default: 0.1, min: 0, max: 10, description: 'A learned range is widened by this fraction of its span on each side.' },
  { name: 'widen', type: 'number', default: 4, min: 0, max: 1000, description: 'Learned level bins double in width when the middle 80% of the last positionWindow readings spans more than this many times `levels` bins; 0 never widens.' },
  { name: 'changeClasses', type: 'integer', default: 8, min: 1, max: 30, description: 'Classes of change magnitude (log-spaced from a quarter bin) on each side of zero.' },
  { name: 'positionWindow', type: 'integer', default: 16, min: 0, max: 4096, description: 'Readings a value is ranked against for its position fact; 0 drops the fact.' },
  { name: 'order', type: 'integer', default: 3, min: 1, max: 8, description: 'Longest context, in previous readings.' },
  { name: 'capacity', type: 'integer', default: 4000, min: 16, max: 200_000, description: 'Most contexts remembered; the least used are evicted.' },
  { name: 'factsPerContext', type: 'integer', default: 12, min: 2, max: 64, description: 'Distinct facts remembered per family after one context.' },
  { name: 'blend', type: 'number', default: 1, min: 0.001, max: 1000, description: 'Weight (pseudo-count) of the shorter context when predicting from a longer one.' },
  { name: 'memoryHorizon', type: 'integer', default: 20_000, min: 0, max: 100_000_000, description: 'Readings over which remembered counts fade by 1/e; 0 never forgets.' },
  { name: 'levelWeight', type: 'number', default: 2, min: 0, max: 10, description: 'Weight of the level fact in the raw score.' },
  { name: 'changeWeight', type: 'number', default: 0.5, min: 0, max: 10, description: 'Weight of the change fact in the raw score.' },
  { name: 'positionWeight', type: 'number', default: 1, min: 0, max: 10, description: 'Weight of the position fact in the raw score.' },
  { name: 'ordinalDecay', type: 'number', default: 1, min: 0, max: 10, description: 'Extra bits of surprise per level (or change class) an unseen fact lies beyond the nearest seen one.' },
  { name: 'shortWindow', type: 'integer', default: 6, min: 1, max: 1000, description: 'Raw scores averaged before they are compared with their history.' },
  { name: 'longHorizon', type: 'integer', default: 10_000, min: 10, max: 10_000_000, description: 'Memory (readings) of the long-run mean and spread of the averaged raw score.' },
  { name: 'minSpread', type: 'number', default: 0.6, min: 0.001, max: 100, description: 'Least spread (bits) assumed for the averaged raw score, so a very regular signal does not alarm on one rare but harmless transition.' },
  { name: 'warmup', type: 'integer', default: 300, min: 10, max: 100_000, description: 'Readings before scoring starts (they also set a learned range).' },
  { name: 'restMargin', type: 'number', default: 2, min: 0, max: 100, description: 'During the rest period a reading may still alarm when its surprise exceeds the alarm that started the rest by this factor (relative; 0 rests unconditionally).' },
  { name: 'restPeriod', type: 'integer', default: 100, min: 0, max: 1_000_000, description: 'Readings after an alarm that cannot alarm again.' },
  { name: 'alarmSurprise', type: 'number', default: 10, min: 0.5, max: 100, description: 'Surprise (−log10 tail probability) that scores 0.5 before any fit.' },
] as const satisfies readonly DetectorParamSpec[];

type ParamName = (typeof PARAM_SPECS)[number]['name'];
export type ContextParams = { [K in ParamName]: number };

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description:
    'Online contextual memory: level, change and position facts, a bounded memory of which facts followed each recent context, and a likelihood of the resulting surprise against its own history. Optional fixed measurement range (rangeMin/rangeMax).',
  trainable: false,
  online: true,
  params: [...PARAM_SPECS],
};

/** Validates and completes user params against the descriptor. */
export function readContextParams(raw: Record<string, unknown> = {}): ContextParams {
  const p = readParams(KIND, PARAM_SPECS, raw) as ContextParams;
  if (p.rangeMax < p.rangeMin) {
    throw new DetectorError('invalid-params', `Invalid ${KIND} parameters: "rangeMax" must be greater than "rangeMin" (got ${p.rangeMin}..${p.rangeMax}); leave both unset to learn the range.`, {
      problems: ['rangeMax < rangeMin'],
    });
  }
  return p;
}

const defaultCalibration = (alarmSurprise: number): Calibration => ({
  center: Math.log(alarmSurprise),
  scale: Math.log(2.5) / Math.log(99),
  targetFalseAlarmRate: 10 ** -alarmSurprise,
});

/** Level bins: level = floor((value − lo) / width); `unit` is the change unit (the first bin width). */
interface Bins {
  lo: number;
  width: number;
  unit: number;
}

/** Serialized state; every number is finite. */
export interface ContextState {
  /** Readings seen. */
  n: number;
  /** Level bins, or null while a learned range is still buffering. */
  bins: [lo: number, width: number, unit: number] | null;
  /** Warm-up readings buffered to learn the range (only while `bins` is null). */
  pending: number[];
  /** Levels of the previous readings, most recent first. */
  history: number[];
  lastValue: number | null;
  window: number[];
  memory: TransitionMemoryState;
  short: number[];
  long: number[];
  /** Readings left in the rest period, and the surprise of the alarm that started it. */
  rest: number;
  restPeak: number;
  calibration: Calibration;
}

/** {@link ContextDetector.scoreBrief}'s answer: the score and signal only. */
export interface BriefScore {
  readonly anomaly_score: number;
  readonly signal: Signal;
}

/** What `judge` finds; `step` is undefined when the reading was not judged (not finite, warming up). */
interface Judgement {
  anomaly_score: number;
  signal: Signal;
  step: Step | undefined;
  surprise: number;
}

interface Step {
  raw: number;
  surprise: number;
  bits: number[];
  facts: number[];
  novel: boolean[];
}

export class ContextDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = false;
  readonly minFitSamples: number;
  threshold: number;
  /** `judge`'s answer, reused by its next call. */
  private readonly judged: Judgement = { anomaly_score: 0, signal: 'none', step: undefined, surprise: 0 };
  private readonly p: ContextParams;
  private readonly seed: number;
  private readonly fixed: boolean;
  private n = 0;
  private bins: Bins | undefined;
  private pending: number[] = [];
  private history: number[] = [];
  private lastValue: number | undefined;
  private window: RollingWindow | undefined;
  private readonly memory: TransitionMemory;
  private short: number[] = [];
  private readonly long: Ewm;
  private rest = 0;
  private restPeak = 0;
  private calibration: Calibration;
  private metrics: Record<string, number> = {};
  private readonly weights: number[];
  private readonly weightSum: number;

  constructor(params: ContextParams, seed: number, threshold: number) {
    this.p = params;
    this.seed = seed;
    this.threshold = threshold;
    this.minFitSamples = Math.max(2 * params.warmup, 200);
    this.fixed = params.rangeMax > params.rangeMin;
    if (this.fixed) this.bins = { lo: params.rangeMin, width: (params.rangeMax - params.rangeMin) / params.levels, unit: (params.rangeMax - params.rangeMin) / params.levels };
    if (params.positionWindow > 0) this.window = new RollingWindow(params.positionWindow);
    this.memory = new TransitionMemory({
      capacity: params.capacity,
      factsPerContext: params.factsPerContext,
      maxOrder: params.order,
      blend: params.blend,
      horizon: params.memoryHorizon,
      ordinalDecay: params.ordinalDecay,
    });
    this.long = new Ewm(params.longHorizon);
    this.calibration = defaultCalibration(params.alarmSurprise);
    this.weights = [params.levelWeight, params.changeWeight, params.positionWindow > 0 ? params.positionWeight : 0];
    this.weightSum = this.weights.reduce((a, b) => a + b, 0) || 1;
  }

  fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    return runStepsAsync(this.fitSteps(normal, options));
  }

  /** The fit as steps (see `FitSteps`): yields every 20,000 readings. */
  *fitSteps(normal: readonly Reading[], options: FitOptions = {}): FitSteps<FitReport> {
    if (normal.length < this.minFitSamples) {
      throw new DetectorError('insufficient-data', `The context detector needs at least ${this.minFitSamples} normal readings to fit (got ${normal.length}).`, {
        minimum: this.minFitSamples,
        got: normal.length,
      });
    }
    const far = options.targetFalseAlarmRate ?? DEFAULT_TARGET_FAR;
    const fraction = options.holdoutFraction ?? 0.25;
    if (!(fraction > 0 && fraction < 1)) throw new DetectorError('invalid-params', 'holdoutFraction must be in (0, 1).');
    const split = normal.length - Math.max(1, Math.floor(normal.length * fraction));
    // The whole training set is known up front: it sets a learned range better than a warm-up prefix.
    if (!this.bins) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of normal) {
        if (!Number.isFinite(r.value)) continue;
        lo = Math.min(lo, r.value);
        hi = Math.max(hi, r.value);
      }
      if (hi >= lo) {
        this.setBins(lo, hi);
        this.pending = [];
      }
    }
    const held: number[] = [];
    for (const [i, r] of normal.entries()) {
      if (i % 20_000 === 0) {
        this.throwIfAborted(options.signal);
        options.onProgress?.(i / normal.length, 'learning contexts');
        if (i > 0) yield;
        this.throwIfAborted(options.signal);
      }
      if (!Number.isFinite(r.value)) continue;
      const s = this.step(r.value);
      if (i >= split && s && this.n > this.p.warmup) held.push(logSurprise(s.surprise));
    }
    // The (1 − far) quantile of a few hundred held-out surprises is little more than their maximum,
    // and one novel fact in the hold-out can put it anywhere: keep it between `alarmSurprise` and
    // FIT_CEILING times that (fit can make the detector more conservative, within reason).
    const cal = fitCalibration(held, far);
    const center = Math.min(Math.log(FIT_CEILING * this.p.alarmSurprise), Math.max(cal.center, Math.log(this.p.alarmSurprise)));
    this.calibration = held.length > 0 ? { ...cal, center, scale: Math.max(cal.scale, 0.05) } : { ...defaultCalibration(this.p.alarmSurprise), targetFalseAlarmRate: far };
    const alarms = held.filter((s) => calibrate(s, this.calibration) >= this.threshold).length;
    this.metrics = {
      heldout_false_alarm_rate: held.length ? alarms / held.length : 0,
      heldout_samples: held.length,
      surprise_center: Math.exp(this.calibration.center),
      contexts: this.memory.size,
    };
    // Live readings follow after an arbitrary pause: the first one has no previous reading to change from.
    this.history = [];
    this.lastValue = undefined;
    this.rest = 0;
    options.onProgress?.(1, 'calibrated');
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { ...this.metrics } };
  }

  private throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted) {
      const e = new DetectorError('aborted', 'Fit aborted.');
      e.name = 'AbortError';
      throw e;
    }
  }

  /**
   * Scores a reading and returns only its score and signal, in an object reused by the next call:
   * what `auto` reads of its novelty member, without the explanation `score` builds per reading.
   */
  scoreBrief(reading: Reading): BriefScore {
    return this.judge(reading);
  }

  /** Scores a reading (learning from it) into the reused {@link Judgement}: what `scoreBrief` and `score` share. */
  private judge(reading: Reading): Judgement {
    const b = this.judged;
    b.step = undefined;
    b.surprise = 0;
    const x = reading.value;
    if (!Number.isFinite(x)) {
      b.anomaly_score = 1;
      b.signal = 'dropout';
      return b;
    }
    const s = this.step(x);
    if (!s || this.n <= this.p.warmup) {
      b.anomaly_score = 0;
      b.signal = 'none';
      return b;
    }
    let surprise = s.surprise;
    if (this.rest > 0) {
      this.rest -= 1;
      if (this.p.restMargin > 0 && surprise > this.restPeak * (1 + this.p.restMargin)) this.rest = 0;
      else surprise = 0;
    }
    const anomaly = calibrate(logSurprise(surprise), this.calibration);
    const isAnomaly = anomaly >= this.threshold;
    if (isAnomaly) {
      this.rest = this.p.restPeriod;
      this.restPeak = surprise;
    }
    b.anomaly_score = anomaly;
    b.signal = isAnomaly ? this.signalOf(s) : 'none';
    b.step = s;
    b.surprise = surprise;
    return b;
  }

  score(reading: Reading): Score {
    const { anomaly_score: anomaly, signal, step: s, surprise } = this.judge(reading);
    if (!s) return { anomaly_score: anomaly, is_anomaly: anomaly >= this.threshold && anomaly > 0, confidence: anomaly > 0 ? confidenceOf(anomaly, this.threshold) : 0, method: KIND, signal };
    const isAnomaly = anomaly >= this.threshold;
    const contributions = FAMILIES.map((name, f) => ({ name, weight: Math.round((s.bits[f] as number) * (this.weights[f] as number) * 1000) / 1000 }))
      .filter((c) => c.weight > 0)
      .sort((a, b) => b.weight - a.weight);
    return {
      anomaly_score: anomaly,
      is_anomaly: isAnomaly,
      confidence: confidenceOf(anomaly, this.threshold),
      method: KIND,
      // `judge` named it (its own isAnomaly is this one).
      signal,
      features: {
        level: s.facts[0] as number,
        change: s.facts[1] as number,
        position: s.facts[2] as number,
        raw_bits: Math.round(s.raw * 1000) / 1000,
        surprise: Math.round(surprise * 1000) / 1000,
      },
      contributions,
    };
  }

  private signalOf(s: Step): Signal {
    let best = 0;
    for (let f = 1; f < FAMILY_COUNT; f++) if ((s.bits[f] as number) * (this.weights[f] as number) > (s.bits[best] as number) * (this.weights[best] as number)) best = f;
    if (best === 0 && s.novel[0]) return 'level_shift';
    if (best === 1 && Math.abs(s.facts[1] as number) >= Math.max(1, this.p.changeClasses - 1)) return 'spike';
    return 'pattern';
  }

  /** Learns from one finite value; undefined while a learned range is still buffering. */
  private step(x: number): Step | undefined {
    this.n += 1;
    if (!this.bins) {
      this.pending.push(x);
      if (this.pending.length < this.p.warmup) return undefined;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of this.pending) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      this.setBins(lo, hi);
      const replay = this.pending;
      this.pending = [];
      let last: Step | undefined;
      for (const v of replay) last = this.observe(v);
      return last;
    }
    return this.observe(x);
  }

  private setBins(lo: number, hi: number): void {
    let span = hi - lo;
    if (!(span > 0)) span = Math.max(Math.abs(lo) * 1e-3, 1e-6);
    const pad = this.p.rangePad * span;
    const width = (span + 2 * pad) / this.p.levels;
    this.bins = { lo: lo - pad, width, unit: width };
  }

  private levelOf(x: number, b: Bins): number {
    let l = Math.floor((x - b.lo) / b.width);
    // A fixed range's upper end belongs to the top bin.
    if (this.fixed && x <= this.p.rangeMax && l >= this.p.levels) l = this.p.levels - 1;
    return Math.max(-MAX_LEVEL, Math.min(MAX_LEVEL, l));
  }

  private changeOf(dx: number, unit: number): number {
    const d = Math.abs(dx) / unit;
    if (!(d >= 0.25)) return 0;
    const c = Math.min(this.p.changeClasses, 1 + Math.floor(Math.log2(d / 0.25)));
    return dx > 0 ? c : -c;
  }

  private positionOf(x: number): number {
    const w = this.window;
    if (!w || w.length < 4) return 2;
    if (x < w.quantile(0)) return 0;
    if (x > w.quantile(1)) return 4;
    if (x < w.quantile(1 / 3)) return 1;
    if (x > w.quantile(2 / 3)) return 3;
    return 2;
  }

  /** Predicts, scores and learns one value against the current bins. */
  private observe(x: number): Step {
    if (!this.fixed && this.p.widen > 0) this.maybeWiden();
    const b = this.bins as Bins;
    const level = this.levelOf(x, b);
    const change = this.lastValue === undefined ? 0 : this.changeOf(x - this.lastValue, b.unit);
    const facts = [level, change, this.positionOf(x)];
    const bits = [0, 0, 0];
    let raw = 0;
    const hasPrevious = this.lastValue !== undefined;
    const pred = this.memory.predict(this.history, facts);
    for (let f = 0; f < FAMILY_COUNT; f++) {
      // Without a previous reading there is no change to judge.
      if (f === 1 && !hasPrevious) continue;
      const pf = pred.probabilities[f] as number;
      const bit = Math.min(MAX_BITS, -Math.log2(pf));
      bits[f] = bit;
      raw += (this.weights[f] as number) * bit;
    }
    raw /= this.weightSum;
    this.memory.learn(this.history, facts);
    this.history.unshift(level);
    if (this.history.length > this.p.order) this.history.length = this.p.order;
    this.lastValue = x;
    this.window?.push(x);
    return { raw, surprise: this.likelihood(raw), bits, facts, novel: pred.novel };
  }

  /** Surprise of the short mean of raw scores against its long-run distribution; then learns it. */
  private likelihood(raw: number): number {
    this.short.push(raw);
    if (this.short.length > this.p.shortWindow) this.short.shift();
    // Summed afresh each time (a few values): a running sum would drift from a restored one.
    let sum = 0;
    for (const v of this.short) sum += v;
    const m = sum / this.short.length;
    let s = 0;
    const st = this.long;
    if (st.count >= 10) {
      const sd = Math.max(st.std, 0.02 * Math.abs(st.mean) + this.p.minSpread);
      s = Math.min(MAX_SURPRISE, normalTailSurprise((m - st.mean) / sd));
    }
    st.update(m);
    return s;
  }

  /**
   * Doubles learned bin widths while the middle 80 % of the last `positionWindow` readings spans
   * more than `widen` × `levels` bins (a lone outlier does not widen anything), and rewrites the
   * memory to the wider bins.
   */
  private maybeWiden(): void {
    const w = this.window;
    const b = this.bins as Bins;
    if (!w || w.length < w.capacity) return;
    const spread = (w.quantile(0.9) - w.quantile(0.1)) / b.width;
    const limit = this.p.widen * this.p.levels;
    let factor = 1;
    while (spread / factor > limit && factor < 2 ** 40) factor *= 2;
    if (factor === 1) return;
    b.width *= factor;
    const map = (l: number): number => Math.floor(l / factor);
    this.memory.remapLevels(map);
    this.history = this.history.map(map);
  }

  warmup(): WarmupState {
    const size = this.p.warmup;
    const current = Math.min(this.n, size);
    return { window_progress: size ? current / size : 1, window_size: size, current_window: current, status: this.n > size ? 'ml_ready' : 'warming_up' };
  }

  serialize(): DetectorArtifact {
    const b = this.bins;
    const state: ContextState = {
      n: this.n,
      bins: b ? [b.lo, b.width, b.unit] : null,
      pending: this.pending.slice(),
      history: this.history.slice(),
      lastValue: this.lastValue ?? null,
      window: this.window?.values() ?? [],
      memory: this.memory.toJSON(),
      short: this.short.slice(),
      long: this.long.toJSON(),
      rest: this.rest,
      restPeak: this.restPeak,
      calibration: { ...this.calibration },
    };
    return { format: 'vigil-detector', version: CONTEXT_ARTIFACT_VERSION, kind: KIND, seed: this.seed, threshold: this.threshold, params: { ...this.p }, state, metrics: { ...this.metrics } };
  }

  /** Loads a state already checked by {@link validateContextState}. */
  load(s: ContextState, metrics: Record<string, number>): void {
    this.n = s.n;
    this.bins = s.bins ? { lo: s.bins[0], width: s.bins[1], unit: s.bins[2] } : undefined;
    this.pending = s.pending.slice();
    this.history = s.history.slice();
    this.lastValue = s.lastValue ?? undefined;
    if (this.window) this.window = RollingWindow.from(this.p.positionWindow, s.window);
    this.memory.load(s.memory);
    this.short = s.short.slice();
    this.long.load(s.long);
    this.rest = s.rest;
    this.restPeak = s.restPeak;
    this.calibration = { ...s.calibration };
    this.metrics = { ...metrics };
  }
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);

/** Kind-specific shape check used by `validateArtifact`; throws on the first problem. */
export function validateContextState(state: unknown, p: ContextParams): asserts state is ContextState {
  const fail = (what: string): never => {
    throw new DetectorError('invalid-artifact', `Invalid context detector state: ${what}.`);
  };
  if (typeof state !== 'object' || state === null || Array.isArray(state)) fail('state must be an object');
  const s = state as Record<string, unknown>;
  if (!isInt(s.n) || s.n < 0) fail('"n" must be a non-negative integer');
  if (s.bins !== null) {
    const b = s.bins;
    if (!Array.isArray(b) || b.length !== 3 || !b.every(isNum) || !((b[1] as number) > 0) || !((b[2] as number) > 0)) fail('"bins" must be null or [lo, width > 0, unit > 0]');
  } else if (p.rangeMax > p.rangeMin) fail('"bins" must be set when the range is fixed');
  if (!Array.isArray(s.pending) || s.pending.length >= p.warmup || !s.pending.every(isNum)) fail(`"pending" must hold fewer than ${p.warmup} finite numbers`);
  if (s.bins !== null && (s.pending as unknown[]).length > 0) fail('"pending" must be empty once "bins" are set');
  if (!Array.isArray(s.history) || s.history.length > p.order) fail(`"history" must hold at most ${p.order} readings`);
  if (!(s.history as unknown[]).every((h) => isInt(h) && Math.abs(h) <= MAX_LEVEL)) fail(`"history" must hold integer levels within ±${MAX_LEVEL}`);
  if (s.lastValue !== null && !isNum(s.lastValue)) fail('"lastValue" must be null or a finite number');
  if (!Array.isArray(s.window) || s.window.length > p.positionWindow || !s.window.every(isNum)) fail(`"window" must hold at most ${p.positionWindow} finite numbers`);
  const memoryProblem = checkTransitionMemoryState(s.memory, { capacity: p.capacity, factsPerContext: p.factsPerContext, maxOrder: p.order, blend: p.blend, horizon: p.memoryHorizon, ordinalDecay: p.ordinalDecay });
  if (memoryProblem) fail(memoryProblem);
  if (!Array.isArray(s.short) || s.short.length > p.shortWindow || !s.short.every((v) => isNum(v) && v >= 0)) fail(`"short" must hold at most ${p.shortWindow} non-negative numbers`);
  const long = s.long;
  if (!Array.isArray(long) || long.length !== 3 || !long.every(isNum) || (long[1] as number) < 0 || (long[2] as number) < 0) fail('"long" must be [mean, variance ≥ 0, count ≥ 0]');
  if (!isInt(s.rest) || s.rest < 0 || s.rest > p.restPeriod) fail(`"rest" must be an integer in [0, ${p.restPeriod}]`);
  if (!isNum(s.restPeak) || s.restPeak < 0) fail('"restPeak" must be a non-negative number');
  if (!isCalibration(s.calibration)) fail('"calibration" is not a valid calibration');
}

function checkVersion(artifact: DetectorArtifact): void {
  if (artifact.version !== CONTEXT_ARTIFACT_VERSION) {
    throw new DetectorError(
      'invalid-artifact',
      `Context detector artifacts of version ${artifact.version} are no longer supported (they came from the replaced context implementation); retrain to get version ${CONTEXT_ARTIFACT_VERSION}.`,
    );
  }
}

function paramsOf(artifact: DetectorArtifact): ContextParams {
  try {
    return readContextParams(artifact.params);
  } catch (e) {
    throw new DetectorError('invalid-artifact', `Invalid context artifact params: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const contextFactory: DetectorFactory = {
  descriptor,
  artifactVersions: [CONTEXT_ARTIFACT_VERSION],
  create(options: CreateDetectorOptions): ContextDetector {
    return new ContextDetector(readContextParams(options.params), options.seed ?? 0, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): ContextDetector {
    checkVersion(artifact);
    const params = paramsOf(artifact);
    validateContextState(artifact.state, params);
    const d = new ContextDetector(params, artifact.seed, artifact.threshold);
    d.load(artifact.state, artifact.metrics ?? {});
    return d;
  },
  validateState(state: unknown, artifact: DetectorArtifact): void {
    checkVersion(artifact);
    validateContextState(state, paramsOf(artifact));
  },
};
