/**
 * The level's trend over several lags: how far a smoothed level has moved in the last 20, 40 and
 * 80 seconds, each against the spread of that move in the training part. A slow ramp on a
 * wandering signal (a random walk, a drifting sensor) is invisible to the range channel (the walk
 * already went everywhere) and to the drift channel's single 20 s lag (a ramp rising over a minute
 * moves the level by a third of its height in 20 s, within the walk's own moves); at the lag that
 * matches its rise it stands out. The spread at a lag is the training moves' robust deviation,
 * and never less than the shortest lag's spread grown as a random walk's (× √(lag / shortest)):
 * 300 s of training hold few independent 80 s moves, and a mean-reverting wander only grows
 * slower than that. The level is an average of the readings weighted by exp(−age / TAU_MS),
 * compared once it has settled; a level is kept every STEP_MS as the reference for later moves.
 *
 * `push` returns the largest move in spreads over the lags once it reaches the caller's alarm
 * distance and only then (0 otherwise); after that the channel is quiet until the move has fallen
 * below half of it, and a move of the other sign within WAY_BACK_MS of the last alarm-level one
 * (a ramp's descent, a level shift's return) is the same event. Fitted with `lags: 2`, a move
 * must reach the alarm distance at two lags (a cycle's level, which a disturbance of the cycle
 * moves for a while, is compared that way); `hold` keeps the channel quiet after a point fault
 * the level holds. Fitted with `rearm`, a restart of the level (after a gap) arms the channel:
 * it has forgotten the move that disarmed it. Decision 0014 has the measurements.
 * @module
 */
import { MAD_TO_SIGMA, SQRT12 } from '../ml-shared.ts';
import { TimeLevel, quantumOf } from './level.ts';
import { finiteOrNull, isFiniteNumber as num, isFiniteOrNull, stateRecord } from './state.ts';

/** Time constant of the smoothed level (ms). */
const TAU_MS = 2000;
/** On a slow stream the level averages at least this many readings' worth of time. */
const MIN_READINGS = 8;
/** The level is compared once it has averaged this many time constants of readings. */
const SETTLE = 3;
/** A gap longer than this many time constants restarts the level and forgets the kept levels. */
const GAP = 5;
/** A level is kept as a reference this often (ms). */
const STEP_MS = 2500;
/** The lags (ms) at which the level's move is judged, shortest first. */
export const TREND_LAGS_MS = [20_000, 40_000, 80_000] as const;
/** Levels kept: enough to reach the longest lag. */
const KEPT = Math.ceil((TREND_LAGS_MS[TREND_LAGS_MS.length - 1] as number) / STEP_MS) + 2;
/** Moves of the other sign within this long after the last alarm-level move are its way back. */
const WAY_BACK_MS = 2 * (TREND_LAGS_MS[TREND_LAGS_MS.length - 1] as number);
/** Moves a fit needs at the shortest lag before its spread means anything. */
const MIN_MOVES = 20;
/** Training time (ms) a fit needs: a few of the longest lag, or its spreads rest on a handful of independent moves. */
export const TREND_MIN_SPAN_MS = 3 * (TREND_LAGS_MS[TREND_LAGS_MS.length - 1] as number);

export interface TrendState {
  spread: number[];
  alarm: number;
  tau: number;
  level: number;
  weight: number;
  lastTs: number | null;
  since: number | null;
  keptTs: number[];
  /** null: a level kept while an alarm was under way (no reference). */
  keptLevel: (number | null)[];
  markTs: number | null;
  armed: boolean;
  lastSign: number;
  lastAlarmTs: number | null;
  /** No alarm until this time (absent: none; and in states written before it). */
  holdUntil?: number;
  /** Lags that must each reach the alarm (absent: 1; and in states written before it). */
  lags?: 1 | 2;
  /** Whether a restart of the level arms the channel (absent: no; and in states written before it). */
  rearm?: true;
}

export class LevelTrend {
  private readonly lvl: TimeLevel;
  private keptTs: number[] = [];
  private keptLevel: number[] = [];
  /** Per lag: the kept level it compares with (NaN: none yet). */
  private readonly ref: Float64Array;
  private armed = true;
  /** The last alarm's time (see `mark`). */
  private markTs = Number.NEGATIVE_INFINITY;
  private lastSign = 0;
  private lastAlarmTs = Number.NEGATIVE_INFINITY;
  /** No alarm until this time (see `hold`). */
  private holdUntil = Number.NEGATIVE_INFINITY;
  /** Scratch for `push`. */
  private readonly first = new Float64Array(2);
  private readonly second = new Float64Array(2);

  private constructor(
    private readonly spread: readonly number[],
    private readonly alarm: number,
    tau: number,
    /** Lags whose moves (of one sign) must each reach the alarm distance: 1, or 2 (see `fit`). */
    private readonly lags: 1 | 2 = 1,
    /** Whether a restart of the level arms the channel (see `fit`). */
    private readonly rearm = false,
  ) {
    this.lvl = new TimeLevel(tau, SETTLE, GAP);
    this.ref = new Float64Array(TREND_LAGS_MS.length).fill(Number.NaN);
  }

  /**
   * The spread of the readings' level moves at each lag; undefined when they span less than
   * TREND_MIN_SPAN_MS, hold too few settled moves or no spread. `alarm` is the distance in spreads at which `push` speaks.
   * Options: `quantum`, the readings' resolution (default: their smallest step), whose rounding
   * error floors the spreads (a caller that passes levels computed from readings, such as a cycle's
   * mean, whose steps are a fraction of the sensor's, passes the sensor's); `lags`, how many lags
   * must each see a move of one sign reach the alarm distance (default 1; 2: a reference taken
   * during a passing disturbance, such as a cycle running at another tempo, moves one lag, while a
   * ramp or a shift moves several); `rearm`, whether a restart of the level (after a gap) arms the
   * channel (default false); `minSpanMs`, the span the readings must cover (default TREND_MIN_SPAN_MS). A channel that alarmed stays quiet until a small move at every lag
   * re-arms it, and after a restart the lags are blind until they have references again, so a
   * move that started within a lag of the restart went unheard; a restart forgets every reference,
   * so the move that disarmed the channel is no longer measured and none can hide behind it.
   */
  static fit(readings: readonly { ts: number; value: number }[], alarm: number, options: { quantum?: number; lags?: 1 | 2; rearm?: boolean; minSpanMs?: number } = {}): LevelTrend | undefined {
    const quantum = options.quantum ?? quantumOf(readings);
    const probe = new LevelTrend([1, 1, 1], Infinity, tauOf(readings));
    const moves: number[][] = TREND_LAGS_MS.map(() => []);
    for (const r of readings) {
      if (!probe.advance(r.ts, r.value) || !probe.due(r.ts)) continue;
      probe.keep(r.ts, false);
      for (let i = 0; i < TREND_LAGS_MS.length; i++) {
        const ref = probe.ref[i] as number;
        if (Number.isFinite(ref)) (moves[i] as number[]).push(probe.lvl.level - ref);
      }
    }
    if ((moves[0] as number[]).length < MIN_MOVES) return undefined;
    const span = (readings[readings.length - 1]?.ts ?? 0) - (readings[0]?.ts ?? 0);
    if (span < (options.minSpanMs ?? TREND_MIN_SPAN_MS)) return undefined;
    const floor = Number.isFinite(quantum) ? quantum / SQRT12 : 0;
    const base = Math.max(robustSd(moves[0] as number[]), floor);
    if (!(base > 0)) return undefined;
    const spread = TREND_LAGS_MS.map((lag, i) => {
      const own = (moves[i] as number[]).length >= MIN_MOVES ? robustSd(moves[i] as number[]) : 0;
      return Math.max(own, base * Math.sqrt(lag / (TREND_LAGS_MS[0] as number)));
    });
    const trend = new LevelTrend(spread, alarm, probe.lvl.tau, options.lags ?? 1, options.rearm === true);
    trend.lvl.copy(probe.lvl);
    trend.keptTs = probe.keptTs;
    trend.keptLevel = probe.keptLevel;
    trend.ref.set(probe.ref);
    return trend;
  }

  /**
   * Takes a reading; returns the largest move over the lags in spreads when it is an alarm (see
   * the module doc), else 0. Readings that are not finite, or step back in time, are skipped.
   */
  push(ts: number, value: number): number {
    if (!Number.isFinite(value) || !this.advance(ts, value)) return 0;
    if (this.due(ts)) this.keep(ts, ts - this.markTs <= SETTLE * this.lvl.tau);
    let z = 0;
    let sign = 0;
    let blind = false;
    // The largest and second-largest moves of each sign, in spreads (index 0: down, 1: up).
    const first = this.first.fill(0);
    const second = this.second.fill(0);
    for (let i = 0; i < TREND_LAGS_MS.length; i++) {
      const ref = this.ref[i] as number;
      if (!Number.isFinite(ref)) {
        blind = true;
        continue;
      }
      const d = this.lvl.level - ref;
      const zi = Math.abs(d) / (this.spread[i] as number);
      if (zi > z) {
        z = zi;
        sign = Math.sign(d);
      }
      const k = d > 0 ? 1 : 0;
      if (zi > (first[k] as number)) {
        second[k] = first[k] as number;
        first[k] = zi;
      } else if (zi > (second[k] as number)) second[k] = zi;
    }
    // With `lags` 2 the move must reach the alarm at two lags: the second largest of its sign decides.
    if (this.lags === 2) z = Math.min(z, second[sign > 0 ? 1 : 0] as number);
    if (z < this.alarm) {
      // Re-armed only by a small move at every lag: a lag without a reference may hide the move still under way.
      if (z < this.alarm / 2 && !blind) this.armed = true;
      return 0;
    }
    const wayBack = sign === -this.lastSign && ts - this.lastAlarmTs <= WAY_BACK_MS;
    if (!wayBack) this.lastSign = sign;
    this.lastAlarmTs = ts;
    if (wayBack || !this.armed || ts <= this.holdUntil) return 0;
    this.armed = false;
    return z;
  }

  /** Whether a restart of the level arms the channel (`fit`'s `rearm`). */
  get rearms(): boolean {
    return this.rearm;
  }

  /** A move of the level of `size`, in spreads of the shortest lag. */
  spreads(size: number): number {
    return size / (this.spread[0] as number);
  }

  /** After a pause: the next reading starts the level afresh, with no references. */
  restart(): void {
    this.lvl.restart();
    this.forget();
  }

  /** Drops the kept levels and the references (the level started afresh); with `rearm`, arms the channel. */
  private forget(): void {
    if (this.rearm) this.armed = true;
    this.keptTs = [];
    this.keptLevel = [];
    this.ref.fill(Number.NaN);
  }

  /** Whether a level is due to be kept at `ts` (STEP_MS after the last one). */
  private due(ts: number): boolean {
    const last =
      this.keptTs.length > 0 ? (this.keptTs[this.keptTs.length - 1] as number) : Number.NEGATIVE_INFINITY;
    return ts - last >= STEP_MS;
  }

  /**
   * A point fault at `ts` (a spike, a loose wire's glitch) that the level holds for `spanMs` (an
   * average over a cycle holds it one cycle): the channel does not alarm, and keeps no reference,
   * until the level has let it go (`spanMs` and SETTLE time constants). Its move still counts
   * for the way back, so a level shift that starts with a jump is not alarmed on when it returns.
   */
  hold(ts: number, spanMs: number): void {
    const until = ts + spanMs + SETTLE * this.lvl.tau;
    if (until > this.holdUntil) this.holdUntil = until;
    this.mark(ts + spanMs);
  }

  /**
   * Marks the reading at `ts` as an alarm (of any channel): levels kept until the level has
   * averaged it away (SETTLE time constants) are no reference, so a spike or a dip the level took
   * in does not show as a move a lag later.
   */
  mark(ts: number): void {
    if (ts > this.markTs) this.markTs = ts;
  }

  /** Keeps the current level (flagged: no reference) and moves each lag's reference. */
  private keep(ts: number, flagged: boolean): void {
    this.keptTs.push(ts);
    this.keptLevel.push(flagged ? Number.NaN : this.lvl.level);
    if (this.keptTs.length > KEPT) {
      this.keptTs.shift();
      this.keptLevel.shift();
    }
    this.refresh();
  }

  /** Each lag compares with the newest kept level at least that old (none while none is). */
  private refresh(): void {
    const newest = this.keptTs.length > 0 ? (this.keptTs[this.keptTs.length - 1] as number) : Number.NaN;
    for (let i = 0; i < TREND_LAGS_MS.length; i++) {
      const at = newest - (TREND_LAGS_MS[i] as number);
      let ref = Number.NaN;
      for (let k = this.keptTs.length - 1; k >= 0; k--) {
        if ((this.keptTs[k] as number) <= at) {
          ref = this.keptLevel[k] as number;
          break;
        }
      }
      this.ref[i] = ref;
    }
  }

  /** Adds a reading to the level; true when the level has settled. */
  private advance(ts: number, value: number): boolean {
    const settled = this.lvl.advance(ts, value);
    // A level started afresh (after a gap) has no references older than itself.
    if (this.lvl.started) this.forget();
    return settled;
  }

  toJSON(): TrendState {
    return {
      spread: [...this.spread],
      alarm: this.alarm,
      tau: this.lvl.tau,
      ...this.lvl.toJSON(),
      keptTs: [...this.keptTs],
      keptLevel: this.keptLevel.map((l) => (Number.isNaN(l) ? null : l)),
      markTs: finiteOrNull(this.markTs),
      armed: this.armed,
      lastSign: this.lastSign,
      lastAlarmTs: finiteOrNull(this.lastAlarmTs),
      ...(Number.isFinite(this.holdUntil) && { holdUntil: this.holdUntil }),
      ...(this.lags !== 1 && { lags: this.lags }),
      ...(this.rearm && { rearm: true as const }),
    };
  }

  /** Rebuilds a trend from {@link toJSON}'s output; throws a message naming the first malformed field. */
  static fromJSON(x: unknown): LevelTrend {
    const s = stateRecord(x);
    const spread = s.spread as unknown[];
    if (
      !Array.isArray(spread) ||
      spread.length !== TREND_LAGS_MS.length ||
      !spread.every((v) => num(v) && v > 0)
    ) {
      throw new Error(`spread must be ${TREND_LAGS_MS.length} positive numbers`);
    }
    if (!num(s.alarm) || !(s.alarm > 0)) throw new Error('alarm must be a positive number');
    if (!num(s.tau) || !(s.tau >= TAU_MS)) throw new Error(`tau must be a number ≥ ${TAU_MS}`);
    if (!num(s.level) || !num(s.weight) || s.weight < 0)
      throw new Error('level must be a number and weight a number ≥ 0');
    if (!isFiniteOrNull(s.lastTs) || !isFiniteOrNull(s.since) || !isFiniteOrNull(s.lastAlarmTs)) {
      throw new Error('lastTs, since and lastAlarmTs must be numbers or null');
    }
    const keptTs = s.keptTs as unknown[];
    const keptLevel = s.keptLevel as unknown[];
    if (
      !Array.isArray(keptTs) ||
      !Array.isArray(keptLevel) ||
      keptTs.length !== keptLevel.length ||
      keptTs.length > KEPT
    ) {
      throw new Error(`keptTs and keptLevel must be arrays of the same length, at most ${KEPT}`);
    }
    if (
      !keptTs.every(num) ||
      !keptLevel.every(isFiniteOrNull) ||
      keptTs.some((t, i) => i > 0 && t < (keptTs[i - 1] as number))
    ) {
      throw new Error('keptTs must be ascending finite numbers and keptLevel finite numbers or null');
    }
    if (!isFiniteOrNull(s.markTs)) throw new Error('markTs must be a number or null');
    if (s.holdUntil !== undefined && !num(s.holdUntil)) throw new Error('holdUntil must be a number when present');
    if (s.lags !== undefined && s.lags !== 1 && s.lags !== 2) throw new Error('lags must be 1 or 2 when present');
    if (s.rearm !== undefined && s.rearm !== true) throw new Error('rearm must be true when present');
    if (typeof s.armed !== 'boolean' || !(s.lastSign === -1 || s.lastSign === 0 || s.lastSign === 1))
      throw new Error('armed must be a boolean and lastSign -1, 0 or 1');
    const trend = new LevelTrend(spread as number[], s.alarm, s.tau, (s.lags as 1 | 2 | undefined) ?? 1, s.rearm === true);
    trend.lvl.load({
      level: s.level,
      weight: s.weight,
      lastTs: s.lastTs as number | null,
      since: s.since as number | null,
    });
    trend.keptTs = keptTs as number[];
    trend.keptLevel = keptLevel.map((l) => (l === null ? Number.NaN : (l as number)));
    trend.markTs = s.markTs ?? Number.NEGATIVE_INFINITY;
    trend.armed = s.armed;
    trend.lastSign = s.lastSign;
    trend.lastAlarmTs = s.lastAlarmTs ?? Number.NEGATIVE_INFINITY;
    trend.holdUntil = (s.holdUntil as number | undefined) ?? Number.NEGATIVE_INFINITY;
    // The references follow from the kept levels.
    trend.refresh();
    return trend;
  }
}

/** The level's time constant: TAU_MS, or MIN_READINGS median intervals on a slow stream. */
function tauOf(readings: readonly { ts: number }[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < readings.length; i++) {
    const dt = (readings[i] as { ts: number }).ts - (readings[i - 1] as { ts: number }).ts;
    if (dt > 0) gaps.push(dt);
  }
  if (gaps.length === 0) return TAU_MS;
  gaps.sort((a, b) => a - b);
  return Math.max(TAU_MS, MIN_READINGS * (gaps[gaps.length >> 1] as number));
}

/** Median-centred robust deviation of `xs` (MAD × 1.4826). */
function robustSd(xs: readonly number[]): number {
  const sorted = Float64Array.from(xs).sort();
  const median = sorted[sorted.length >> 1] as number;
  const dev = Float64Array.from(xs, (x) => Math.abs(x - median)).sort();
  return MAD_TO_SIGMA * (dev[dev.length >> 1] as number);
}
