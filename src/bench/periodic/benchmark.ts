/**
 * The periodic shape-anomaly benchmark, scored like the UCR anomaly archive / KDD Cup 2021: each
 * series has an anomaly-free training part and exactly one anomaly in its test part; a scorer
 * is right on a series when the position of its highest score in the test part lies within
 * ±`slack` (100) samples of the labelled range.
 */
import type { Detector } from '../../detectors/index.ts';
import { inferPeriod } from '../../detectors/channels/period.ts';
import { SubsequenceChannel, type SubsequenceOptions } from '../../detectors/channels/subsequence.ts';
import {
  generatePeriodicSeries,
  PERIODIC_DEV_SEEDS,
  PERIODIC_FAMILIES,
  PERIODIC_HELDOUT_SEEDS,
  SHAPE_ANOMALIES,
  type PeriodicFamily,
  type PeriodicSeries,
  type ShapeAnomaly,
} from './generator.ts';

/** Samples of slack either side of the labelled range (the UCR archive's rule). */
export const UCR_SLACK = 100;
/** Spacing of the readings handed to detectors: one reading per second. */
export const PERIODIC_SAMPLE_MS = 1000;
const T0 = Date.UTC(2026, 0, 1);

export type PeriodicSplit = 'dev' | 'heldout';

/** Scores the test part of a series (one score per test reading; higher is more anomalous). */
export interface SeriesScorer {
  name: string;
  score(series: PeriodicSeries): Promise<Float64Array>;
}

export interface SeriesOutcome {
  name: string;
  split: PeriodicSplit;
  family: PeriodicFamily;
  anomaly: ShapeAnomaly;
  correct: boolean;
  /** Index of the highest test score in the whole series. */
  predicted: number;
  anomalyStart: number;
  anomalyEnd: number;
}

export interface Accuracy {
  correct: number;
  total: number;
  accuracy: number;
}

export interface PeriodicBenchmarkResult {
  scorer: string;
  dev: Accuracy;
  heldout: Accuracy;
  whole: Accuracy;
  perAnomaly: Partial<Record<ShapeAnomaly, Accuracy>>;
  perFamily: Partial<Record<PeriodicFamily, Accuracy>>;
  outcomes: SeriesOutcome[];
  /** Readings scored (test parts) and the wall-clock milliseconds spent, including fitting. */
  readings: number;
  ms: number;
}

/** The series of a split, in order. */
export function periodicSeries(split: PeriodicSplit, limit?: number): PeriodicSeries[] {
  const seeds = split === 'dev' ? PERIODIC_DEV_SEEDS : PERIODIC_HELDOUT_SEEDS;
  return seeds.slice(0, limit ?? seeds.length).map((seed, i) => generatePeriodicSeries(seed, i));
}

/** UCR rule: the first position of the maximum test score, correct within ±slack of the label. */
export function judge(series: PeriodicSeries, testScores: ArrayLike<number>, slack = UCR_SLACK): { correct: boolean; predicted: number } {
  let best = Number.NEGATIVE_INFINITY;
  let at = 0;
  for (let i = 0; i < testScores.length; i++) {
    const s = testScores[i] as number;
    if (s > best) {
      best = s;
      at = i;
    }
  }
  const predicted = series.trainLength + at;
  return { correct: predicted >= series.anomalyStart - slack && predicted <= series.anomalyEnd + slack, predicted };
}

function accuracyOf(outcomes: readonly SeriesOutcome[]): Accuracy {
  const correct = outcomes.filter((o) => o.correct).length;
  return { correct, total: outcomes.length, accuracy: outcomes.length > 0 ? correct / outcomes.length : Number.NaN };
}

export interface RunPeriodicOptions {
  splits?: readonly PeriodicSplit[];
  /** Series per split (default: all 84). */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Runs one scorer over the chosen splits. */
export async function runPeriodicBenchmark(scorer: SeriesScorer, options: RunPeriodicOptions = {}): Promise<PeriodicBenchmarkResult> {
  const splits = options.splits ?? ['dev', 'heldout'];
  const work = splits.flatMap((split) => periodicSeries(split, options.limit).map((series) => ({ split, series })));
  const outcomes: SeriesOutcome[] = [];
  let readings = 0;
  let ms = 0;
  for (const [i, { split, series }] of work.entries()) {
    const t0 = performance.now();
    const scores = await scorer.score(series);
    ms += performance.now() - t0;
    readings += series.values.length - series.trainLength;
    const { correct, predicted } = judge(series, scores);
    outcomes.push({ name: series.name, split, family: series.family, anomaly: series.anomaly, correct, predicted, anomalyStart: series.anomalyStart, anomalyEnd: series.anomalyEnd });
    options.onProgress?.(i + 1, work.length);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const perAnomaly: Partial<Record<ShapeAnomaly, Accuracy>> = {};
  for (const a of SHAPE_ANOMALIES) perAnomaly[a] = accuracyOf(outcomes.filter((o) => o.anomaly === a));
  const perFamily: Partial<Record<PeriodicFamily, Accuracy>> = {};
  for (const f of PERIODIC_FAMILIES) perFamily[f] = accuracyOf(outcomes.filter((o) => o.family === f));
  return {
    scorer: scorer.name,
    dev: accuracyOf(outcomes.filter((o) => o.split === 'dev')),
    heldout: accuracyOf(outcomes.filter((o) => o.split === 'heldout')),
    whole: accuracyOf(outcomes),
    perAnomaly,
    perFamily,
    outcomes,
    readings,
    ms,
  };
}

/** The readings a detector sees: one per second from a fixed start. */
function readingAt(series: PeriodicSeries, i: number): { ts: number; value: number } {
  return { ts: T0 + i * PERIODIC_SAMPLE_MS, value: series.values[i] as number };
}

/** A detector kind as a user runs it: `fit` on the training part, then `score` each test reading; the score is `anomaly_score`. */
export function detectorScorer(name: string, make: (series: PeriodicSeries) => Detector): SeriesScorer {
  return {
    name,
    async score(series) {
      const detector = make(series);
      const train = Array.from({ length: series.trainLength }, (_, i) => readingAt(series, i));
      await detector.fit(train);
      const out = new Float64Array(series.values.length - series.trainLength);
      for (let i = series.trainLength; i < series.values.length; i++) out[i - series.trainLength] = detector.score(readingAt(series, i)).anomaly_score;
      return out;
    },
  };
}

/** The subsequence channel alone: fitted on the training part, its raw score per test reading. */
export function subsequenceScorer(options: SubsequenceOptions = {}, name = 'subsequence channel'): SeriesScorer {
  return {
    name,
    score(series) {
      const channel = new SubsequenceChannel(options);
      channel.fit(series.values.subarray(0, series.trainLength));
      const out = new Float64Array(series.values.length - series.trainLength);
      for (let i = series.trainLength; i < series.values.length; i++) out[i - series.trainLength] = channel.update(series.values[i] as number);
      return Promise.resolve(out);
    },
  };
}

/**
 * Anchor: the classic single-length matrix-profile discord. The window length is the period
 * inferred on the training part (100 samples when none is found); each test window's score is
 * the z-normalised distance to its nearest non-overlapping neighbour anywhere in the series
 * (training and test, before or after it), placed at the window's centre. Offline and O(n²).
 */
export function matrixProfileScorer(): SeriesScorer {
  return {
    name: 'matrix profile discord, one length (anchor)',
    score(series) {
      const est = inferPeriod(series.values.subarray(0, series.trainLength));
      const m = Math.max(4, Math.round(est?.period ?? 100));
      const x = series.values;
      const n = x.length;
      const windows = n - m + 1;
      const mu = new Float64Array(windows);
      const sd = new Float64Array(windows);
      for (let i = 0; i < windows; i++) {
        let s = 0;
        let q = 0;
        for (let k = 0; k < m; k++) {
          const v = x[i + k] as number;
          s += v;
          q += v * v;
        }
        mu[i] = s / m;
        sd[i] = Math.sqrt(Math.max(1e-12, q / m - (s / m) * (s / m)));
      }
      const firstQuery = Math.max(0, series.trainLength - Math.floor(m / 2));
      const nn = new Float64Array(windows).fill(Number.POSITIVE_INFINITY);
      // One diagonal at a time (STOMP-style running dot product), updating both ends of each pair.
      for (let lag = m; lag < windows; lag++) {
        let dot = 0;
        for (let k = 0; k < m; k++) dot += (x[k] as number) * (x[lag + k] as number);
        for (let i = 0; i + lag < windows; i++) {
          if (i > 0) dot += (x[i + m - 1] as number) * (x[i + lag + m - 1] as number) - (x[i - 1] as number) * (x[i + lag - 1] as number);
          const j = i + lag;
          if (j < firstQuery) continue;
          const corr = (dot / m - (mu[i] as number) * (mu[j] as number)) / ((sd[i] as number) * (sd[j] as number));
          const d = 2 * m * (1 - Math.min(1, corr));
          if (d < (nn[i] as number)) nn[i] = d;
          if (d < (nn[j] as number)) nn[j] = d;
        }
      }
      const out = new Float64Array(n - series.trainLength);
      const half = Math.floor(m / 2);
      for (let i = firstQuery; i < windows; i++) {
        const at = i + half - series.trainLength;
        if (at >= 0 && at < out.length && Number.isFinite(nn[i] as number)) out[at] = Math.sqrt(nn[i] as number);
      }
      return Promise.resolve(out);
    },
  };
}
