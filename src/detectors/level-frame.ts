/**
 * Where a stream sits: its typical level and noise scale. Used by `robust`'s `adaptLevel` to map
 * a device's live readings onto the level and scale of the data a model was fitted on.
 */
import { quantile } from './calibration.ts';

export interface LevelFrame {
  /** Median of the readings. */
  center: number;
  /** Mean absolute step between consecutive readings, each step capped at the 95th percentile of steps (one spike or gap cannot inflate it); 0 when the readings never change. */
  scale: number;
}

/** Ratios of noise scales beyond these bounds are clamped (a frame from a stuck or wild stream must not blow the mapping up). */
export const MIN_GAIN = 1e-3;
export const MAX_GAIN = 1e3;

/** The frame of `values` (finite numbers, in arrival order; at least one). */
export function levelFrame(values: readonly number[]): LevelFrame {
  const finite = values.filter(Number.isFinite);
  const sorted = [...finite].sort((a, b) => a - b);
  const center = sorted.length > 0 ? quantile(sorted, 0.5) : 0;
  const steps: number[] = [];
  for (let i = 1; i < finite.length; i++) steps.push(Math.abs((finite[i] as number) - (finite[i - 1] as number)));
  if (steps.length === 0) return { center, scale: 0 };
  const cap = quantile([...steps].sort((a, b) => a - b), 0.95);
  let sum = 0;
  for (const s of steps) sum += Math.min(s, cap);
  return { center, scale: sum / steps.length };
}

/**
 * The gain that maps `live` onto `ref` (live deviations × gain = reference deviations): the ratio
 * of noise scales, clamped to [{@link MIN_GAIN}, {@link MAX_GAIN}], or 1 when either scale is 0.
 */
export function frameGain(ref: LevelFrame, live: LevelFrame): number {
  if (!(ref.scale > 0) || !(live.scale > 0)) return 1;
  return Math.min(MAX_GAIN, Math.max(MIN_GAIN, ref.scale / live.scale));
}

/** Fraction of repeated consecutive values, with a uniform prior (never exactly 0 or 1). */
/** Of the readings that repeat the one before, the fraction whose successor repeats too (Laplace-smoothed). */
export function persistFraction(values: readonly number[]): number {
  let goOn = 0;
  let after = 0;
  for (let i = 2; i < values.length; i++) {
    if (values[i - 1] !== values[i - 2]) continue;
    after++;
    if (values[i] === values[i - 1]) goOn++;
  }
  return (goOn + 1) / (after + 2);
}

export function repeatFraction(values: readonly number[]): number {
  let repeats = 0;
  let steps = 0;
  for (let i = 1; i < values.length; i++) {
    steps++;
    if (values[i] === values[i - 1]) repeats++;
  }
  return (repeats + 1) / (steps + 2);
}
