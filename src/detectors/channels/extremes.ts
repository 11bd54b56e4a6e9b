/**
 * New extremes: a value beyond every value a stream has shown, by a share of the range it has
 * shown. For a never-fitted detector on a slow stream (readings minutes apart: a business metric,
 * a server's CPU, a machine's temperature), there is no sample of normal to calibrate on and the
 * novelty channel judges patterns, not magnitudes; a reading that takes the series somewhere it
 * has never been is what such a user wants to hear about first. Causal: the range is the
 * readings' own so far (no knowledge of a file's minimum or maximum). After an alarm the channel
 * rests a number of readings, so a series climbing to a new level, or trending, raises one alarm
 * per move, not one per reading. The idea is general practice (a value outside the range seen so
 * far); decision 0014 has the measurements and the choice of the constants.
 * @module
 */
import { isFiniteNumber as num } from './state.ts';


/** A value this share of the range seen beyond its edge is a new extreme. */
export const EXTREME_MARGIN = 0.03;
/** Readings before the channel speaks (their range is its first). */
export const EXTREME_WARMUP = 300;
/** Readings after an alarm in which new extremes widen the range without alarming. */
export const EXTREME_REST = 100;

export interface NewExtremesState {
  /** Readings seen, the lowest and highest value, readings since the last alarm. */
  n: number;
  lo: number;
  hi: number;
  rest: number;
}

export class NewExtremes {
  private constructor(
    private n: number,
    private lo: number,
    private hi: number,
    private rest: number,
  ) {}

  /** A channel that has seen `values` (non-finite ones are skipped), with no alarm yet. */
  static of(values: readonly number[]): NewExtremes {
    const e = new NewExtremes(0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, EXTREME_REST);
    for (const v of values) e.learn(v);
    return e;
  }

  /** Whether `value` is a new extreme that alarms; it widens the range either way. */
  push(value: number): boolean {
    if (!Number.isFinite(value)) return false;
    const margin = EXTREME_MARGIN * (this.hi - this.lo);
    const beyond = this.n >= EXTREME_WARMUP && (value > this.hi + margin || value < this.lo - margin);
    const alarm = beyond && this.rest >= EXTREME_REST;
    this.rest = alarm ? 0 : Math.min(this.rest + 1, EXTREME_REST);
    this.learn(value);
    return alarm;
  }

  private learn(value: number): void {
    if (!Number.isFinite(value)) return;
    this.n = Math.min(this.n + 1, Number.MAX_SAFE_INTEGER);
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
  }

  toJSON(): NewExtremesState {
    return { n: this.n, lo: this.lo, hi: this.hi, rest: this.rest };
  }

  /** Restores a saved channel; throws on a malformed state. */
  static fromJSON(state: unknown): NewExtremes {
    const s = state as Record<string, unknown> | null;
    if (
      typeof s !== 'object' ||
      s === null ||
      !num(s.n) ||
      !Number.isInteger(s.n) ||
      s.n < 1 ||
      !num(s.lo) ||
      !num(s.hi) ||
      s.lo > s.hi ||
      !num(s.rest) ||
      s.rest < 0 ||
      s.rest > EXTREME_REST
    ) {
      throw new Error(`must be {n ≥ 1, lo ≤ hi, 0 ≤ rest ≤ ${EXTREME_REST}} with finite numbers`);
    }
    return new NewExtremes(s.n, s.lo, s.hi, s.rest);
  }
}
