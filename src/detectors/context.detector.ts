/**
 * `context`: an online, training-free detector of unfamiliar sequences (a TypeScript
 * implementation of the Contextual Anomaly Detector idea, see `context-memory.ts`).
 *
 * Readings are quantised into 2^valueBits levels of a value range. The range is either known
 * (`rangeMin`/`rangeMax`, e.g. an Arduino ADC's 0–5 V) or learned from the first `rangeWarmup`
 * readings, padded, and widened whenever a reading falls outside it. The raw score is
 * (1 − confirmed share + novel share) / 2 when a reading's level was not predicted; after a
 * score ≥ `baseThreshold`, later scores are held at 0 for `restPeriod` readings so one event
 * raises one alarm. With a known range the first `restPeriod` readings are held at 0 too, while the
 * memory is still empty (a learned range replays its warm-up readings into the memory instead).
 */
import { checkContextMemoryState, ContextMemory, type ContextMemoryState } from './context-memory.ts';
import { confidenceOf } from './calibration.ts';
import { readParams } from './ml-shared.ts';
import type { DetectorFactory } from './registry.ts';
import { Ewm, normalTailSurprise } from './rolling.ts';
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
  type WarmupState,
} from './types.ts';

const KIND = 'context' as const;
/** HTM's lower bound on the spread of averaged scores (variance 0.0003). */
const LIKELIHOOD_MIN_STD = Math.sqrt(0.0003);
const ARTIFACT_VERSION = 1;

const PARAM_SPECS = [
  { name: 'rangeMin', type: 'number', default: 0, min: -1e15, max: 1e15, description: 'Lower end of the known measurement range; the range is learned online when rangeMax ≤ rangeMin.' },
  { name: 'rangeMax', type: 'number', default: 0, min: -1e15, max: 1e15, description: 'Upper end of the known measurement range (e.g. 5 for an Arduino ADC in volts).' },
  { name: 'rangeWarmup', type: 'integer', default: 300, min: 2, max: 1_000_000, description: 'Readings used to learn the range when it is not known (scores are 0 meanwhile).' },
  { name: 'rangePad', type: 'number', default: 1, min: 0, max: 10, description: 'Share of the learned span added beyond each end when the range is learned or widened.' },
  { name: 'rangeBreakScore', type: 'number', default: 1, min: 0, max: 1, description: 'Raw score at least given to a reading that widens a learned range (0 = only its context score).' },
  { name: 'likelihoodShort', type: 'integer', default: 3, min: 0, max: 10_000, description: 'When > 0, raw scores are averaged over this many readings and re-scored by their tail probability against the long-run distribution of that average (HTM anomaly likelihood).' },
  { name: 'likelihoodLong', type: 'integer', default: 2000, min: 10, max: 1_000_000, description: 'Memory (readings) of the long-run distribution of averaged raw scores.' },
  { name: 'likelihoodMax', type: 'boolean', default: true, description: 'Keep the larger of the raw score and the likelihood score instead of the likelihood score alone.' },
  { name: 'valueBits', type: 'integer', default: 3, min: 1, max: 10, description: 'Bits of the quantised value (2^valueBits levels across the range).' },
  { name: 'restPeriod', type: 'integer', default: 30, min: 0, max: 1_000_000, description: 'Readings after a score ≥ baseThreshold during which scores are held at 0.' },
  { name: 'baseThreshold', type: 'number', default: 0.75, min: 0, max: 1, description: 'Raw score that starts a rest period.' },
  { name: 'maxLeftSemiContextLength', type: 'integer', default: 7, min: 1, max: 64, description: 'Largest left fact set a derived context may have.' },
  { name: 'maxActiveNeurons', type: 'integer', default: 15, min: 1, max: 256, description: 'Fired contexts carried into the next step as facts.' },
  { name: 'maxContexts', type: 'integer', default: 20_000, min: 100, max: 1_000_000, description: 'Memory bound: contexts beyond this are not memorised.' },
] as const satisfies readonly DetectorParamSpec[];

type ParamName = (typeof PARAM_SPECS)[number]['name'];
export type ContextParams = { [K in ParamName]: Extract<(typeof PARAM_SPECS)[number], { name: K }>['type'] extends 'boolean' ? boolean : number };

const descriptor: DetectorDescriptor = {
  kind: KIND,
  description:
    'Online contextual anomaly detector (CAD idea): learns which quantised-value sequences follow which and scores readings that break learned contexts. No training needed; bounded memory.',
  trainable: false,
  online: true,
  params: [...PARAM_SPECS],
};

/** Validates and completes user params against the descriptor. */
export function readContextParams(raw: Record<string, unknown> = {}): ContextParams {
  return readParams(KIND, PARAM_SPECS, raw) as ContextParams;
}

/** Serialized state; every number is finite. */
export interface ContextState {
  n: number;
  /** Current range [min, max, learned span]; empty while it is still being learned. */
  range: number[];
  /** Readings kept while the range is learned. */
  pending: number[];
  /** Readings left in the current rest period. */
  rest: number;
  /** Likelihood: recent raw scores (oldest first, at most likelihoodShort) and the long-run [mean, variance, count] of their average. */
  recent: number[];
  averages: number[];
  memory: ContextMemoryState;
}

class ContextDetector implements Detector {
  readonly kind = KIND;
  readonly trainable = false;
  readonly minFitSamples: number;
  threshold: number;
  private readonly p: ContextParams;
  private readonly seed: number;
  private readonly levels: number;
  private n = 0;
  private lo = 0;
  private hi = 0;
  /** Span of the readings the range was learned from. */
  private span = 0;
  private ranged: boolean;
  private pending: number[] = [];
  private rest = 0;
  private memory: ContextMemory;
  private recent: number[] = [];
  private recentSum = 0;
  private readonly averages: Ewm;

  constructor(params: ContextParams, seed: number, threshold: number) {
    this.p = params;
    this.seed = seed;
    this.threshold = threshold;
    this.levels = 2 ** params.valueBits;
    this.ranged = params.rangeMax > params.rangeMin;
    if (this.ranged) {
      this.lo = params.rangeMin;
      this.hi = params.rangeMax;
      this.rest = params.restPeriod;
    }
    this.minFitSamples = this.ranged ? 2 : params.rangeWarmup;
    this.memory = new ContextMemory(this.memoryOptions());
    this.averages = new Ewm(params.likelihoodLong);
  }

  private memoryOptions(): ConstructorParameters<typeof ContextMemory>[0] {
    return { maxLeftSemiContextLength: this.p.maxLeftSemiContextLength, maxActiveNeurons: this.p.maxActiveNeurons, maxContexts: this.p.maxContexts };
  }

  async fit(normal: readonly Reading[], options: FitOptions = {}): Promise<FitReport> {
    if (normal.length < this.minFitSamples) {
      throw new DetectorError('insufficient-data', `The context detector needs at least ${this.minFitSamples} normal readings to fit (got ${normal.length}).`);
    }
    let alarms = 0;
    for (const [i, r] of normal.entries()) {
      if (options.signal?.aborted) {
        const e = new DetectorError('aborted', 'Fit aborted.');
        e.name = 'AbortError';
        throw e;
      }
      if (this.score(r).is_anomaly) alarms += 1;
      if (i % 10_000 === 0) options.onProgress?.(i / normal.length, 'warm-start');
    }
    options.onProgress?.(1, 'warm-started');
    return { kind: KIND, samples: normal.length, threshold: this.threshold, metrics: { contexts: this.memory.size, warm_start_alarm_rate: alarms / normal.length } };
  }

  score(reading: Reading): Score {
    const x = reading.value;
    const quiet: Score = { anomaly_score: 0, is_anomaly: false, confidence: 0, method: KIND, signal: 'none' };
    if (!Number.isFinite(x)) return { anomaly_score: 1, is_anomaly: true, confidence: 1, method: KIND, signal: 'dropout' };
    this.n += 1;
    if (!this.ranged) {
      this.pending.push(x);
      if (this.pending.length < this.p.rangeWarmup) return quiet;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of this.pending) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      this.span = Math.max(hi - lo, 1e-9 * (Math.abs(hi) + 1));
      const pad = this.p.rangePad * this.span;
      this.lo = lo - pad;
      this.hi = hi + pad;
      this.ranged = true;
      for (const v of this.pending) this.learn(v);
      this.pending = [];
      return quiet;
    }
    let widened = false;
    if (this.p.rangeMax <= this.p.rangeMin && (x < this.lo || x > this.hi)) {
      // Widening by the learned span (not the current one) keeps repeated outliers from inflating the range geometrically.
      const pad = this.p.rangePad * this.span;
      if (x < this.lo) this.lo = x - pad;
      else this.hi = x + pad;
      widened = true;
    }
    const cad = Math.max(this.learn(x), widened ? this.p.rangeBreakScore : 0);
    const raw = this.p.likelihoodShort > 0 ? this.likelihood(cad) : cad;
    let s = raw;
    if (this.rest > 0) {
      this.rest -= 1;
      s = 0;
    }
    if (raw >= this.p.baseThreshold) this.rest = Math.max(this.rest, this.p.restPeriod);
    // Monotone rescale so the default threshold 0.5 sits at baseThreshold.
    const k = this.p.baseThreshold;
    const anomaly = s < k ? (0.5 * s) / k : 0.5 + (0.5 * (s - k)) / Math.max(1 - k, 1e-9);
    const isAnomaly = anomaly >= this.threshold;
    return {
      anomaly_score: anomaly,
      is_anomaly: isAnomaly,
      confidence: confidenceOf(anomaly, this.threshold),
      method: KIND,
      signal: s > 0 ? (widened ? 'spike' : 'pattern') : 'none',
      features: { raw_score: cad, contexts: this.memory.size },
    };
  }

  /**
   * HTM-style anomaly likelihood: the short average of raw scores against the long-run normal
   * distribution of that average, as −log10(tail probability)/10 (so 0.5 ≈ p = 1e-5).
   */
  private likelihood(raw: number): number {
    this.recent.push(raw);
    this.recentSum += raw;
    if (this.recent.length > this.p.likelihoodShort) this.recentSum -= this.recent.shift() as number;
    const avg = this.recentSum / this.recent.length;
    let score = 0;
    if (this.averages.count >= Math.min(100, this.p.likelihoodLong)) {
      const sd = Math.max(this.averages.std, LIKELIHOOD_MIN_STD);
      score = Math.min(1, normalTailSurprise((avg - this.averages.mean) / sd) / 10);
    }
    this.averages.update(avg);
    return this.p.likelihoodMax ? Math.max(raw, score) : score;
  }

  /** Feeds one value to the memory; returns the raw score. */
  private learn(x: number): number {
    const step = (this.hi - this.lo) / (this.levels - 1);
    const level = Math.min(this.levels - 1, Math.max(0, Math.trunc((x - this.lo) / step)));
    const r = this.memory.step(ContextMemory.sensorFacts(level, this.p.valueBits));
    return r.surprised ? (1 - r.confirmed + r.novelty) / 2 : 0;
  }

  warmup(): WarmupState {
    const size = this.p.rangeMax > this.p.rangeMin ? 0 : this.p.rangeWarmup;
    const current = Math.min(this.n, size);
    return { window_progress: size ? current / size : 1, window_size: size, current_window: current, status: this.ranged ? 'ml_ready' : 'warming_up' };
  }

  serialize(): DetectorArtifact {
    const state: ContextState = {
      n: this.n,
      range: this.ranged ? [this.lo, this.hi, this.span] : [],
      pending: [...this.pending],
      rest: this.rest,
      recent: [...this.recent],
      averages: this.averages.toJSON(),
      memory: this.memory.toJSON(),
    };
    return { format: 'vigil-detector', version: ARTIFACT_VERSION, kind: KIND, seed: this.seed, threshold: this.threshold, params: { ...this.p }, state };
  }

  /** Loads a state already checked by {@link validateContextState}. */
  load(s: ContextState): void {
    this.n = s.n;
    this.ranged = s.range.length === 3;
    if (this.ranged) [this.lo, this.hi, this.span] = s.range as [number, number, number];
    this.pending = [...s.pending];
    this.rest = s.rest;
    this.recent = [...s.recent];
    this.recentSum = this.recent.reduce((a, b) => a + b, 0);
    this.averages.load(s.averages);
    this.memory = ContextMemory.from(this.memoryOptions(), s.memory);
  }
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Kind-specific shape check used by `validateArtifact`; throws on the first problem. */
export function validateContextState(state: unknown, params: ContextParams): asserts state is ContextState {
  const fail = (what: string): never => {
    throw new DetectorError('invalid-artifact', `Invalid context detector state: ${what}.`);
  };
  if (typeof state !== 'object' || state === null || Array.isArray(state)) fail('state must be an object');
  const s = state as Record<string, unknown>;
  if (!Number.isInteger(s.n) || (s.n as number) < 0) fail('"n" must be a non-negative integer');
  if (!Number.isInteger(s.rest) || (s.rest as number) < 0 || (s.rest as number) > params.restPeriod) fail('"rest" out of range');
  const range = s.range;
  if (!Array.isArray(range) || !((range.length === 0 && params.rangeMax <= params.rangeMin) || (range.length === 3 && range.every(isNum) && (range[0] as number) < (range[1] as number) && (range[2] as number) >= 0))) {
    fail('"range" must be [min, max, span] with min < max (or empty while learning)');
  }
  if (!Array.isArray(s.pending) || s.pending.length >= params.rangeWarmup || !s.pending.every(isNum)) fail(`"pending" must hold fewer than ${params.rangeWarmup} finite numbers`);
  if (!Array.isArray(s.recent) || s.recent.length > params.likelihoodShort || !s.recent.every((v) => isNum(v) && v >= 0 && v <= 1)) fail('"recent" must hold at most likelihoodShort scores in [0, 1]');
  const av = s.averages;
  if (!Array.isArray(av) || av.length !== 3 || !av.every(isNum) || (av[1] as number) < 0 || (av[2] as number) < 0) fail('"averages" must be [mean, variance, count]');
  const problem = checkContextMemoryState(s.memory, params.maxContexts);
  if (problem) fail(problem);
}

export const contextFactory: DetectorFactory = {
  descriptor,
  create(options: CreateDetectorOptions): Detector {
    return new ContextDetector(readContextParams(options.params), options.seed ?? 0, options.threshold ?? 0.5);
  },
  restore(artifact: DetectorArtifact): Detector {
    const params = readContextParams(artifact.params);
    validateContextState(artifact.state, params);
    const d = new ContextDetector(params, artifact.seed, artifact.threshold);
    d.load(artifact.state);
    return d;
  },
  validateState(state: unknown, artifact: DetectorArtifact): void {
    validateContextState(state, readContextParams(artifact.params));
  },
};
