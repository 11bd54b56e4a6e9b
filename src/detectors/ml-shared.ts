/**
 * Helpers shared by the learned kinds (iforest, rcf, autoencoder, auto): parameter
 * parsing, fit-input checks, abort handling and artifact-shape checks.
 */
import {
  DetectorError,
  type DetectorKind,
  type DetectorParamSpec,
  type Reading,
  type Score,
  type Signal,
} from './types.ts';
import { confidenceOf, fitCalibration, quantile, type Calibration } from './calibration.ts';

export type Params = Record<string, number | boolean>;

/** Mean absolute deviation (or mean absolute step) to standard deviation, for normal noise: √(π/2). */
export const MEAN_ABS_TO_SIGMA = 1.2533;
/** Median absolute deviation to standard deviation, for normal noise: 1/Φ⁻¹(3/4). */
export const MAD_TO_SIGMA = 1.4826;
/** A reading quantised to steps of q is only known to within q: its error's standard deviation is at least q/√12 (Sheppard). */
export const SQRT12 = Math.sqrt(12);

/** Validates `raw` against `specs`, filling defaults; throws `invalid-params` listing every problem. */
export function readParams(kind: DetectorKind, specs: readonly DetectorParamSpec[], raw: Record<string, unknown> = {}): Params {
  const out: Params = {};
  const problems: string[] = [];
  const known = new Set(specs.map((s) => s.name));
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) problems.push(`unknown parameter "${key}" (known: ${[...known].join(', ')})`);
  }
  for (const spec of specs) {
    const v = raw[spec.name];
    if (v === undefined) {
      out[spec.name] = spec.default;
      continue;
    }
    if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') problems.push(`"${spec.name}" must be a boolean`);
      else out[spec.name] = v;
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`"${spec.name}" must be a finite number`);
      continue;
    }
    if (spec.type === 'integer' && !Number.isInteger(v)) problems.push(`"${spec.name}" must be an integer`);
    else if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
      problems.push(`"${spec.name}" must be between ${spec.min ?? '-∞'} and ${spec.max ?? '∞'} (got ${v})`);
    } else out[spec.name] = v;
  }
  if (problems.length > 0) throw new DetectorError('invalid-params', `Invalid ${kind} parameters: ${problems.join('; ')}.`, { problems });
  return out;
}

export function num(p: Params, name: string): number {
  return p[name] as number;
}

export function assertEnoughData(kind: DetectorKind, normal: readonly Reading[], min: number): void {
  if (normal.length < min) {
    throw new DetectorError(
      'insufficient-data',
      `${kind} needs at least ${min} normal readings to fit; got ${normal.length}.`,
      { minimum: min, got: normal.length },
    );
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const e = new DetectorError('aborted', 'Training was aborted.');
    e.name = 'AbortError';
    throw e;
  }
}

/** Lets pending abort signals and progress listeners run during a long fit. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A fit written once as steps: each `yield` is a point where a long fit may give the event loop a
 * turn. `runStepsAsync` does (training jobs stay responsive); `runStepsNow` runs them straight
 * through (a detector fitting itself inside `score`).
 */
export type FitSteps<T> = Generator<void, T, void>;

export async function runStepsAsync<T>(steps: FitSteps<T>): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await yieldToLoop();
  }
}

export function runStepsNow<T>(steps: FitSteps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export function holdoutSize(n: number, fraction: number | undefined): number {
  const f = fraction ?? 0.25;
  if (!(f > 0 && f < 1)) throw new DetectorError('invalid-params', 'holdoutFraction must be in (0, 1).');
  return Math.max(1, Math.floor(n * f));
}

export function makeScore(anomalyScore: number, threshold: number, method: string, signal: Signal): Score {
  const s = Number.isFinite(anomalyScore) ? Math.min(1, Math.max(0, anomalyScore)) : 0;
  const isAnomaly = s >= threshold;
  return { anomaly_score: s, is_anomaly: isAnomaly, confidence: confidenceOf(s, threshold), method, signal: isAnomaly ? signal : 'none' };
}

/** The verdict while a kind is still warming up: never an alarm. */
export function warmingScore(method: string): Score {
  return { anomaly_score: 0, is_anomaly: false, confidence: 0, method, signal: 'none' };
}

export function invalidArtifact(kind: DetectorKind, what: string): DetectorError {
  return new DetectorError('invalid-artifact', `Invalid ${kind} artifact: ${what}.`);
}

export function asRecord(kind: DetectorKind, x: unknown, what: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw invalidArtifact(kind, `${what} must be an object`);
  return x as Record<string, unknown>;
}

export function numberArray(kind: DetectorKind, x: unknown, what: string, length?: number): number[] {
  if (!Array.isArray(x) || !x.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidArtifact(kind, `${what} must be an array of finite numbers`);
  }
  if (length !== undefined && x.length !== length) throw invalidArtifact(kind, `${what} must have ${length} entries`);
  return x as number[];
}

export function finiteNumber(kind: DetectorKind, x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw invalidArtifact(kind, `${what} must be a finite number`);
  return x;
}

export function logit(p: number): number {
  const c = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(c / (1 - c));
}

/**
 * Like `fitCalibration`, but the raw score that maps to 0.5 is at least a peaks-over-threshold
 * estimate of the (1 - targetFalseAlarmRate) quantile: an exponential tail fitted to the top 10%
 * of the normal scores. With a few hundred correlated held-out scores the empirical 0.999
 * quantile is little more than their maximum; the tail fit extrapolates it more honestly.
 */
export function fitTailCalibration(rawNormalScores: readonly number[], targetFalseAlarmRate: number): Calibration {
  const base = fitCalibration(rawNormalScores, targetFalseAlarmRate);
  const sorted = rawNormalScores.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length < 20) return base;
  const tailFraction = 0.1;
  if (targetFalseAlarmRate >= tailFraction) return base;
  const u = quantile(sorted, 1 - tailFraction);
  let sum = 0;
  let count = 0;
  for (const x of sorted) {
    if (x > u) {
      sum += x - u;
      count++;
    }
  }
  if (count === 0) return base;
  const tailCenter = u + (sum / count) * Math.log(tailFraction / targetFalseAlarmRate);
  if (!(tailCenter > base.center)) return base;
  const median = quantile(sorted, 0.5);
  const spread = tailCenter - median;
  return { center: tailCenter, scale: spread / Math.log(99), targetFalseAlarmRate };
}
