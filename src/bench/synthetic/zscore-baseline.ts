import type { Reading } from '../../detectors/index.ts';

export interface ZScoreBaselineOptions {
  /** Trailing window in readings (default 100: 10 s at 10 Hz). */
  window?: number;
  /**
   * Alarm when |z| exceeds this. Default: calibrated in `fit` to the (1 - 0.001) quantile of
   * |z| on the normal data, the same false-alarm budget the real detectors calibrate to.
   */
  threshold?: number;
  /** Per-reading false-alarm rate used to calibrate the threshold (default 0.001). */
  targetFalseAlarmRate?: number;
}

/** A threshold that needs no training: used before `fit`, or when the normal data is too short. */
const FALLBACK_THRESHOLD = 3;

/**
 * The naive reference: a rolling z-score of each reading against the previous `window`
 * readings. It is what people write first, and the number the real detectors must beat.
 */
export function createZScoreBaseline(options: ZScoreBaselineOptions = {}) {
  const window = options.window ?? 100;
  const target = options.targetFalseAlarmRate ?? 0.001;
  let threshold = options.threshold ?? FALLBACK_THRESHOLD;
  const buf = new Float64Array(window);
  let count = 0;
  let head = 0;
  let sum = 0;
  let sumSq = 0;

  const zOf = (v: number): number => {
    if (count < 2) return 0;
    const mean = sum / count;
    const sd = Math.sqrt(Math.max(0, sumSq / count - mean * mean));
    if (sd > 1e-12) return Math.abs(v - mean) / sd;
    return Math.abs(v - mean) > 1e-12 ? Infinity : 0;
  };
  const push = (v: number): void => {
    if (count === window) {
      const old = buf[head] as number;
      sum -= old;
      sumSq -= old * old;
    } else count++;
    buf[head] = v;
    head = (head + 1) % window;
    sum += v;
    sumSq += v * v;
  };

  return {
    kind: 'zscore' as const,
    get threshold(): number {
      return threshold;
    },
    fit(normal: readonly Reading[]): Promise<void> {
      const zs: number[] = [];
      for (const r of normal) {
        if (count === window) zs.push(zOf(r.value));
        push(r.value);
      }
      if (options.threshold === undefined && zs.length >= 1 / target) {
        zs.sort((a, b) => a - b);
        threshold = Math.max(FALLBACK_THRESHOLD, zs[Math.min(zs.length - 1, Math.floor((1 - target) * zs.length))] as number);
      }
      return Promise.resolve();
    },
    score(reading: Reading): { anomaly_score: number; is_anomaly: boolean } {
      const z = zOf(reading.value);
      push(reading.value);
      return { anomaly_score: Math.min(1, z / (2 * threshold)), is_anomaly: z > threshold };
    },
  };
}
