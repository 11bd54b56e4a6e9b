/**
 * Maps a kind's raw anomaly score onto [0, 1] so that the default threshold (0.5) gives a
 * target false-alarm rate on held-out normal data.
 *
 * The mapping is a logistic curve: the raw score at the (1 - targetFalseAlarmRate) quantile of
 * held-out normal scores maps to 0.5, and the median normal score maps to about 0.01.
 */
export interface Calibration {
  /** Raw score that maps to 0.5. */
  center: number;
  /** Logistic scale (> 0). */
  scale: number;
  targetFalseAlarmRate: number;
}

const MEDIAN_MAPS_TO = 0.01;

export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function fitCalibration(rawNormalScores: readonly number[], targetFalseAlarmRate: number): Calibration {
  const finite = rawNormalScores.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return { center: 1, scale: 1, targetFalseAlarmRate };
  const center = quantile(finite, 1 - targetFalseAlarmRate);
  const median = quantile(finite, 0.5);
  const spread = center - median;
  const scale = spread > 1e-12 ? spread / Math.log((1 - MEDIAN_MAPS_TO) / MEDIAN_MAPS_TO) : Math.max(Math.abs(center) * 0.05, 1e-6);
  return { center, scale, targetFalseAlarmRate };
}

export function calibrate(raw: number, cal: Calibration): number {
  if (!Number.isFinite(raw)) return raw > 0 ? 1 : 0;
  const z = (raw - cal.center) / cal.scale;
  return 1 / (1 + Math.exp(-z));
}

/** How far a score is from the threshold, in [0, 1]. */
export function confidenceOf(score: number, threshold: number): number {
  const room = score >= threshold ? 1 - threshold : threshold;
  if (room <= 0) return 1;
  return Math.min(1, Math.abs(score - threshold) / room);
}

export function isCalibration(x: unknown): x is Calibration {
  if (typeof x !== 'object' || x === null) return false;
  const c = x as Record<string, unknown>;
  return (
    typeof c.center === 'number' &&
    Number.isFinite(c.center) &&
    typeof c.scale === 'number' &&
    Number.isFinite(c.scale) &&
    c.scale > 0 &&
    typeof c.targetFalseAlarmRate === 'number'
  );
}
