/**
 * Backtests: score stored readings with a fitted detector and measure the alarms against labelled
 * segments (event metrics, as in evaluation.ts), plus a downsampled scored series for charts.
 * Pure: used by the training worker.
 * @module
 */
import type { Detector, Reading } from '../../detectors/index.ts';
import { evaluateScored, type EvaluationMetrics, type Segment } from './evaluation.ts';

/** One bucket of the scored series: `[first ms, min value, max value, max score, anomalous readings]`. */
export type SeriesPoint = [number, number, number, number, number];

export interface BacktestOutcome {
  metrics: EvaluationMetrics;
  /** At most `points` buckets of equal reading count, in time order. */
  series: SeriesPoint[];
  /** Times (epoch ms) of the first anomalous reading of each alarm run, at most 1,000. */
  alarms: number[];
}

/**
 * Scores `readings` in order (the detector must be fitted; its threshold decides `is_anomaly`) and
 * measures them against `segments` (anomalous ranges; everything else counts as normal).
 */
export function backtest(
  detector: Detector,
  readings: readonly Reading[],
  segments: readonly Segment[],
  opts: { points: number; onProgress?: (fraction: number) => void },
): BacktestOutcome {
  const n = readings.length;
  const flags = new Uint8Array(n);
  const per = Math.max(1, Math.ceil(n / Math.max(1, opts.points)));
  const series: SeriesPoint[] = [];
  const alarms: number[] = [];
  let bucket: SeriesPoint | undefined;
  const step = Math.max(1, Math.floor(n / 50));
  for (let i = 0; i < n; i++) {
    const r = readings[i] as Reading;
    const s = detector.score(r);
    const anomalous = s.is_anomaly ? 1 : 0;
    flags[i] = anomalous;
    if (anomalous && (i === 0 || flags[i - 1] === 0) && alarms.length < 1000) alarms.push(r.ts);
    if (opts.points > 0 && i % per === 0) {
      bucket = [r.ts, r.value, r.value, s.anomaly_score, anomalous];
      series.push(bucket);
    } else if (opts.points > 0 && bucket) {
      if (r.value < bucket[1]) bucket[1] = r.value;
      if (r.value > bucket[2]) bucket[2] = r.value;
      if (s.anomaly_score > bucket[3]) bucket[3] = s.anomaly_score;
      bucket[4] += anomalous;
    }
    if (opts.onProgress && i % step === 0) opts.onProgress(i / n);
  }
  return { metrics: evaluateScored(readings, flags, segments), series, alarms };
}
