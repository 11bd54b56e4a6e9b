/**
 * The level's range: how far a smoothed level lies beyond every level the training part showed.
 * A slow ramp that the rolling median follows, and whose change over the drift channel's
 * seconds stays within the noise of that change, still takes the level where training never
 * went. The level is an average of the readings weighted by exp(−age / TAU_MS) and is compared
 * only once it has settled (SETTLE × TAU_MS after a start, a pause or a gap). The range is the
 * settled levels' minimum and maximum over the fit's readings, the spread their robust
 * deviation (at least the readings' quantisation step / √12: a quantised trace's level can sit
 * on one code all through training). `push` returns the distance beyond the range in spreads;
 * once it reaches the caller's alarm distance (`extend`) the level becomes the range's new edge,
 * so a level that moved and stays raises one alarm, and only a further move of as many spreads
 * raises another. An edge moved out relaxes back towards the fitted one (time constant RELAX_MS)
 * as far as the level lets it: a level that came back leaves the range as it was, one that stays
 * keeps the edge where it is. Decision 0014 has the measurements.
 * @module
 */
import { MAD_TO_SIGMA, SQRT12 } from '../ml-shared.ts';
import { TimeLevel, quantumOf } from './level.ts';
import { isFiniteNumber as num, isFiniteOrNull, stateRecord } from './state.ts';

/** Time constant of the smoothed level (ms). */
const TAU_MS = 2000;
/** The level is compared once it has averaged this many time constants of readings. */
const SETTLE = 3;
/** A gap longer than this many time constants restarts the level. */
const GAP = 5;
/** Time constant (ms) with which an edge moved out by `extend` relaxes back towards the fitted one. */
const RELAX_MS = 60_000;
/** Settled levels a fit needs before the range means anything. */
const MIN_LEVELS = 50;

export interface LevelRangeState {
  /** The range's edges (moved out by alarms), the fitted edges, and its spread. */
  lo: number;
  hi: number;
  fitted: [number, number];
  spread: number;
  /** The smoothed level, its weight, the time of the last reading and of the first since a restart (null: restarted). */
  level: number;
  weight: number;
  lastTs: number | null;
  since: number | null;
}

export class LevelRange {
  private readonly lvl = new TimeLevel(TAU_MS, SETTLE, GAP);

  private lo: number;
  private hi: number;

  private constructor(
    private readonly lo0: number,
    private readonly hi0: number,
    private readonly spread: number,
  ) {
    this.lo = lo0;
    this.hi = hi0;
  }

  /** The range of the readings' settled levels; undefined when they hold too few settled levels or no spread. */
  static fit(readings: readonly { ts: number; value: number }[]): LevelRange | undefined {
    const probe = new LevelRange(0, 0, 1);
    const levels: number[] = [];
    for (const r of readings) if (probe.advance(r.ts, r.value)) levels.push(probe.lvl.level);
    const quantum = quantumOf(readings);
    if (levels.length < MIN_LEVELS) return undefined;
    const sorted = Float64Array.from(levels).sort();
    const median = sorted[sorted.length >> 1] as number;
    const deviations = Float64Array.from(levels, (x) => Math.abs(x - median)).sort();
    const spread = Math.max(MAD_TO_SIGMA * (deviations[deviations.length >> 1] as number), Number.isFinite(quantum) ? quantum / SQRT12 : 0);
    if (!(spread > 0)) return undefined;
    const range = new LevelRange(sorted[0] as number, sorted[sorted.length - 1] as number, spread);
    range.lvl.copy(probe.lvl);
    return range;
  }

  /**
   * Takes a reading; returns how many spreads its smoothed level lies beyond the range (0 within
   * it, or while the level settles). Readings that are not finite, or step back in time, are skipped.
   */
  push(ts: number, value: number): number {
    if (!this.advance(ts, value)) return 0;
    const level = this.lvl.level;
    if (level > this.hi) return (level - this.hi) / this.spread;
    if (level < this.lo) return (this.lo - level) / this.spread;
    return 0;
  }

  /** Makes the current level the range's edge on its side (after an alarm on it). */
  extend(): void {
    const level = this.lvl.level;
    if (level > this.hi) this.hi = level;
    else if (level < this.lo) this.lo = level;
  }

  /** After a pause: the next reading starts the level afresh. */
  restart(): void {
    this.lvl.restart();
  }

  /** Adds a reading to the level and relaxes moved edges; true when the level has settled. */
  private advance(ts: number, value: number): boolean {
    const settled = this.lvl.advance(ts, value);
    if (this.lvl.decay > 0 && (this.hi > this.hi0 || this.lo < this.lo0)) {
      const k = 1 - Math.exp(-this.lvl.dt / RELAX_MS);
      const hiFloor = Math.max(this.hi0, this.lvl.level);
      if (this.hi > hiFloor) this.hi -= (this.hi - hiFloor) * k;
      const loCeiling = Math.min(this.lo0, this.lvl.level);
      if (this.lo < loCeiling) this.lo += (loCeiling - this.lo) * k;
    }
    return settled;
  }

  toJSON(): LevelRangeState {
    return {
      lo: this.lo,
      hi: this.hi,
      fitted: [this.lo0, this.hi0],
      spread: this.spread,
      ...this.lvl.toJSON(),
    };
  }

  /** Rebuilds a range from {@link toJSON}'s output; throws a message naming the first malformed field. */
  static fromJSON(x: unknown): LevelRange {
    const s = stateRecord(x);
    const fitted = s.fitted as unknown[];
    if (!Array.isArray(fitted) || fitted.length !== 2 || !num(fitted[0]) || !num(fitted[1]) || !(fitted[0] <= fitted[1])) throw new Error('fitted must be two finite numbers [lo, hi], lo ≤ hi');
    if (!num(s.lo) || !num(s.hi) || !(s.lo <= fitted[0]) || !(s.hi >= fitted[1])) throw new Error('lo and hi must be finite numbers, lo ≤ fitted lo and hi ≥ fitted hi');
    if (!num(s.spread) || !(s.spread > 0)) throw new Error('spread must be a positive number');
    if (!num(s.level) || !num(s.weight) || s.weight < 0) throw new Error('level must be a number and weight a number ≥ 0');
    if (!isFiniteOrNull(s.lastTs) || !isFiniteOrNull(s.since)) throw new Error('lastTs and since must be numbers or null');
    const range = new LevelRange(fitted[0], fitted[1], s.spread);
    range.lo = s.lo;
    range.hi = s.hi;
    range.lvl.load({ level: s.level, weight: s.weight, lastTs: s.lastTs as number | null, since: s.since as number | null });
    return range;
  }
}
