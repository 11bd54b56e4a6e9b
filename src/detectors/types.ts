/**
 * The detector contract shared by every anomaly-detection kind.
 *
 * The detectors library is pure TypeScript: no I/O, no database, no framework, no global
 * mutable state. Every kind is deterministic given its `seed`.
 */

/** One sensor reading. `ts` is epoch milliseconds (UTC). `value` is the measured quantity (volts for an Arduino). */
export interface Reading {
  readonly ts: number;
  readonly value: number;
}

export const DETECTOR_KINDS = ['auto', 'robust', 'context', 'iforest', 'rcf', 'autoencoder'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/** The default kind when none is named: one detector built from channels, right without tuning. */
export const DEFAULT_DETECTOR_KIND: DetectorKind = 'auto';

/**
 * Kinds that were removed because the default supersedes them, with the kind to retrain as. An
 * artifact of a retired kind is refused with a message that says how to retrain.
 */
export const RETIRED_DETECTOR_KINDS: Readonly<Record<string, DetectorKind>> = { ensemble: 'auto' };

/**
 * Kinds the default supersedes (worse than it on every benchmark, decision 0014) whose stored models
 * still load and score, with the kind to train instead. No new model of them is trained (`vigil
 * train`, `vigil detect --type`, `POST /models/train`, retraining); benches may still run them.
 */
export const LEGACY_DETECTOR_KINDS: Readonly<Record<string, DetectorKind>> = { iforest: 'auto', rcf: 'auto' };

/** The kind to train instead of a legacy `kind`; undefined when `kind` is not legacy. */
export function legacySuccessor(kind: string): DetectorKind | undefined {
  return Object.hasOwn(LEGACY_DETECTOR_KINDS, kind) ? LEGACY_DETECTOR_KINDS[kind] : undefined;
}

/** The kinds a user can train or score online: every kind but the legacy ones. */
export const TRAINABLE_DETECTOR_KINDS: readonly DetectorKind[] = DETECTOR_KINDS.filter((k) => !legacySuccessor(k));

/** The message for a request to train (or score online) a legacy kind; undefined when `kind` is not legacy. */
export function legacyKindMessage(kind: string): string | undefined {
  const successor = legacySuccessor(kind);
  if (!successor) return undefined;
  return (
    `Detector kind "${kind}" is retired for new models: the default kind "${successor}" scores better on every benchmark. ` +
    `Models of this kind you already have keep working; to replace one, train a "${successor}" model on the same recordings (POST /models/train without "kind", or vigil train --input normal.csv --out model.json).`
  );
}

/** The message for an artifact or request naming a retired kind (undefined when `kind` is not retired). */
export function retiredKindMessage(kind: string): string | undefined {
  const successor = Object.hasOwn(RETIRED_DETECTOR_KINDS, kind) ? RETIRED_DETECTOR_KINDS[kind] : undefined;
  if (!successor) return undefined;
  return (
    `Detector kind "${kind}" was retired: the default kind "${successor}" supersedes it. ` +
    `Retrain the model on its normal data to get a model of kind "${successor}" (vigil train --input normal.csv --out model.json, or POST /models/train without "kind").`
  );
}

/** What drove an alarm, so a person can read it. */
export const SIGNALS = [
  'spike',
  'level_shift',
  'drift',
  'variance',
  'stuck',
  'dropout',
  'burst',
  'pattern',
  'none',
] as const;
export type Signal = (typeof SIGNALS)[number];

/** The per-reading verdict. Field names match the mobile app's `prediction` object. */
export interface Score {
  /** In [0, 1]; calibrated so that `threshold` (default 0.5) gives the target false-alarm rate. */
  anomaly_score: number;
  is_anomaly: boolean;
  /** In [0, 1]: how far the score is from the threshold (0 = on the threshold, 1 = as far as it can be). */
  confidence: number;
  /** The kind (and sub-method) that produced the score, e.g. `robust`, `auto:spike`. */
  method: string;
  /** The dominant signal behind the score. */
  signal: Signal;
  /** Window features, when the kind computes them. */
  features?: Record<string, number>;
  /** Top contributing features or sub-detectors, largest first. */
  contributions?: Array<{ name: string; weight: number }>;
  /** The value the kind expected for this reading (its level or seasonal prediction), when it has one. */
  expected?: number;
  /** Lower edge of the normal band around `expected`: a reading below it is far enough out to alarm as a spike or dip. */
  lower?: number;
  /** Upper edge of the normal band around `expected`. */
  upper?: number;
  /** The channel that drove the score (e.g. `point`, `level`, `variance`, `novelty`, `stuck`, `dropout`), when the kind has channels. */
  channel?: string;
}

/** Warm-up state as the mobile app displays it (`ml_status`). */
export interface WarmupState {
  window_progress: number;
  window_size: number;
  current_window: number;
  status: 'warming_up' | 'ml_ready';
}

export interface FitOptions {
  /** Progress in [0, 1] with a short stage message; called from the training loop. */
  onProgress?: (progress: number, stage: string) => void;
  /** Aborts a long fit; `fit` rejects with an AbortError-named error. */
  signal?: AbortSignal;
  /** Fraction of the normal data held out for calibration (default 0.25). */
  holdoutFraction?: number;
  /** Target false-alarm rate per reading on held-out normal data at threshold 0.5 (default 0.001). */
  targetFalseAlarmRate?: number;
}

export interface FitReport {
  kind: DetectorKind;
  samples: number;
  threshold: number;
  /** Training metrics, e.g. held-out false-alarm rate, raw score quantiles, loss. */
  metrics: Record<string, number>;
  /** What the user should know about this fit (e.g. that its data was short), one sentence each. */
  notes?: string[];
}

/** A serialized detector: plain JSON, versioned. */
export interface DetectorArtifact {
  format: 'vigil-detector';
  version: number;
  kind: DetectorKind;
  seed: number;
  threshold: number;
  params: Record<string, unknown>;
  /** Kind-specific learned state (plain JSON: numbers, arrays, objects). */
  state: unknown;
  metrics?: Record<string, number>;
  created_at?: string;
}

export interface Detector {
  readonly kind: DetectorKind;
  /** True when `fit` learns something (kinds that only learn online still accept `fit` as a warm start). */
  readonly trainable: boolean;
  /** Alarm threshold in [0, 1]; may be changed at any time. */
  threshold: number;
  /** Minimum number of normal readings `fit` accepts. */
  readonly minFitSamples: number;
  /** Learns from normal readings and calibrates; throws `DetectorError('insufficient-data')` below the minimum. */
  fit(normal: readonly Reading[], options?: FitOptions): Promise<FitReport>;
  /** Scores one reading causally (uses only readings up to and including this one) and learns from it where the kind learns online. */
  score(reading: Reading): Score;
  warmup(): WarmupState;
  serialize(): DetectorArtifact;
  /**
   * Marks the next reading as the first of a new stream that follows an unknown pause (what `fit`
   * does on its own): the time since the last reading is no dropout, and kinds that adapt to a
   * device's level start re-baselining. Kinds that keep no timestamps need not implement it.
   */
  resume?(): void;
}

export interface DetectorParamSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean';
  default: number | boolean;
  min?: number;
  max?: number;
  description: string;
}

export interface DetectorDescriptor {
  kind: DetectorKind;
  description: string;
  trainable: boolean;
  online: boolean;
  params: DetectorParamSpec[];
}

export interface CreateDetectorOptions {
  params?: Record<string, unknown>;
  seed?: number;
  threshold?: number;
}

export const DETECTOR_ERROR_CODES = ['insufficient-data', 'invalid-params', 'invalid-artifact', 'aborted'] as const;
export type DetectorErrorCode = (typeof DETECTOR_ERROR_CODES)[number];

/** The library's only error type; the app maps `code` to its own error family. */
export class DetectorError extends Error {
  constructor(
    readonly code: DetectorErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DetectorError';
  }
}
