/**
 * Known states: a signal that sits at a few separate levels and switches between them (a relay, a
 * thermostat, a pump, a valve: 0.4 V or 3.2 V, for seconds to minutes at a time). Each switch is a
 * level shift, a trend, a swing of the energy and, for its first reading, a spike to channels that
 * learned one level's noise; a fit that saw the switches can say instead "this is one of the
 * levels it knows".
 *
 * `fit` sorts the training readings and splits them where consecutive values lie more than
 * GAP_NOISE noise spreads apart (the spread from consecutive readings' differences, at least the
 * quantisation step / √12, so a switch does not widen it). The groups holding at least MIN_SHARE of
 * the readings are the states; the signal has known states when there are 2 to MAX_STATES of them,
 * they hold at least IN_STATES of the readings, lie at least SEPARATION spreads apart, the signal
 * switched between them at least MIN_SWITCHES times and stayed in one for MIN_DWELL readings on
 * average (a square wave of a few readings per level, or two ADC codes in turn, is no relay). A
 * state's band is its group's range widened by BAND_NOISE spreads. The readings between two states
 * on a switch (an RC-filtered edge) are a transition: the longest run of them in training, `push`
 * allows a run that long lying between the lowest and the highest state. Such a run that comes back
 * to the state it left was no switch but a dip (or a spike towards another state): when training
 * showed none, `push` says so (`bounced`) at the reading that comes back. A level training never
 * showed is news: its readings are left to every channel, but once the signal has sat there for
 * ADOPT readings in a row, as tightly as in the widest known state, without a slope (a slow ramp
 * is no level) and far from every other state, it is a known state too (up to MAX_STATES): a
 * relay's third level alarms on its first visit, not on every visit.
 *
 * `push` takes a reading and says whether it lies in a known state (or such a transition): the
 * caller then leaves its alarm to the channels that judge something other than the level (a stuck
 * value, a dropout, a cycle's shape). A reading outside every band, or a run between states longer
 * than training's, is left to every channel. `push` also leaves the reading's `residual`: its
 * distance from the level of its state (the median of the state's training readings) or, outside
 * every band, of the state it was last in. On a transition it is one of the last RECENT residuals
 * in a state, replayed backwards: the fault channels judge the residual, so their noise is one
 * state's, not the switches', and a transition is neither a spike nor noise that died. Decision
 * 0014 has the measurements.
 * @module
 */
import { isFiniteNumber as num, stateRecord } from './state.ts';

/** Consecutive sorted values further apart than this many noise spreads start another group. */
const GAP_NOISE = 4;
/** A group is a state when it holds at least this share of the readings. */
const MIN_SHARE = 0.03;
/** The states hold at least this share of the readings (the rest: transitions, glitches). */
const IN_STATES = 0.97;
/** At most this many states. */
const MAX_STATES = 6;
/** Neighbouring states lie at least this many noise spreads apart. */
const SEPARATION = 20;
/** Switches between states the training part must show. */
const MIN_SWITCHES = 2;
/** Mean readings per stay in a state. */
const MIN_DWELL = 20;
/** A state's band: its training range widened by this many noise spreads on each side. */
const BAND_NOISE = 3;
/** The longest transition allowed live, whatever training showed. */
const MAX_TRANSITION = 50;
/** In-state residuals kept to stand in for a transition's readings. */
const RECENT = 8;
/** Readings in a row at a new level that make it a known state. */
const ADOPT = 100;
/** A run whose least-squares slope lies more than this many of its standard errors from flat (the noise's, at least the run's range / 6) is a ramp, not a level. */
const ADOPT_SLOPE = 4;
/** Readings a fit needs. */
const MIN_READINGS = 200;

export interface KnownStatesState {
  /** The states' bands, [lo, hi] each, ascending and apart. */
  bands: Array<[number, number]>;
  /** Each state's level, inside its band. */
  levels: number[];
  /** The state the signal was last in (an index into `bands`). */
  last: number;
  /** The last finite reading (null before one). */
  lastValue: number | null;
  /** The last residuals in a state, oldest first (at most RECENT). */
  recent: number[];
  /** The longest run of readings between states that training showed. */
  transition: number;
  /** Readings outside every band since the last one in a band. */
  outside: number;
  /** Whether all those readings lay between the lowest and the highest state. */
  between: boolean;
  /** Runs between states that came back to the state they left, in training. */
  bounces: number;
  /** The noise spread the states were found with. */
  noise: number;
  /** The readings in a row at a level no state holds: [count, lowest, highest, Σ value, Σ index × value] (null: none). */
  run: [number, number, number, number, number] | null;
}

export class KnownStates {
  private outside = 0;
  private between = true;
  private last = 0;
  private lastValue = Number.NaN;
  private recent: number[] = [];
  /** The last reading's distance from its state's level (see the module); NaN for a reading that is not finite. */
  residual = Number.NaN;
  /** Whether the last reading differs from the one before (a residual that repeats while the signal moves is no stuck sensor). */
  moved = true;
  /** Whether the last reading came back to the state it left after a run between states no longer than a transition, which training never did (see the module). */
  bounced = false;
  private runCount = 0;
  private runLo = 0;
  private runHi = 0;
  private runSum = 0;
  private runSumIx = 0;

  private constructor(
    private readonly bands: Array<[number, number]>,
    private readonly levels: number[],
    private readonly transition: number,
    private readonly bounces: number,
    private readonly noise: number,
  ) {}

  /** How many states. */
  get count(): number {
    return this.bands.length;
  }

  /** The level of the state the last reading was in, or was last in: what the residual is measured from. */
  get reference(): number {
    return this.levels[this.last] as number;
  }

  /** The known states of the readings; undefined when they do not sit at separate levels (see the module). */
  static fit(values: readonly number[], quantum: number): KnownStates | undefined {
    const finite = values.filter(Number.isFinite);
    const n = finite.length;
    if (n < MIN_READINGS) return undefined;
    const steps: number[] = [];
    for (let i = 1; i < n; i++) steps.push(Math.abs((finite[i] as number) - (finite[i - 1] as number)));
    steps.sort((a, b) => a - b);
    // The median absolute difference of consecutive readings of Gaussian noise σ is 0.954 σ.
    const noise = Math.max((steps[steps.length >> 1] as number) / 0.954, Number.isFinite(quantum) ? quantum / Math.sqrt(12) : 0);
    if (!(noise > 0)) return undefined;
    const sorted = Float64Array.from(finite).sort();
    const groups: Array<{ lo: number; hi: number; count: number }> = [];
    let start = 0;
    for (let i = 1; i <= n; i++) {
      if (i === n || (sorted[i] as number) - (sorted[i - 1] as number) > GAP_NOISE * noise) {
        groups.push({ lo: sorted[start] as number, hi: sorted[i - 1] as number, count: i - start });
        start = i;
      }
    }
    const states = groups.filter((g) => g.count >= MIN_SHARE * n);
    if (states.length < 2 || states.length > MAX_STATES) return undefined;
    if (states.reduce((s, g) => s + g.count, 0) < IN_STATES * n) return undefined;
    for (let k = 1; k < states.length; k++) if ((states[k] as { lo: number }).lo - (states[k - 1] as { hi: number }).hi < SEPARATION * noise) return undefined;
    const bands = states.map((g): [number, number] => [g.lo - BAND_NOISE * noise, g.hi + BAND_NOISE * noise]);
    // Each state's level: the median of its group (the sorted readings between its lo and hi).
    let from = 0;
    const levels = states.map((g) => {
      while ((sorted[from] as number) < g.lo) from++;
      return sorted[from + (g.count >> 1)] as number;
    });
    const probe = new KnownStates(bands, levels, 0, 0, noise);
    const lowest = (bands[0] as [number, number])[1];
    const highest = (bands[bands.length - 1] as [number, number])[0];
    let switches = 0;
    let stays = 0;
    let last = -1;
    let run = 0;
    let between = true;
    let longest = 0;
    let bounces = 0;
    for (const v of finite) {
      const k = probe.bandOf(v);
      if (k < 0) {
        run++;
        between &&= v > lowest && v < highest;
        continue;
      }
      if (k === last && run > 0 && between) bounces++;
      between = true;
      if (k !== last) {
        stays++;
        if (last >= 0) {
          switches++;
          longest = Math.max(longest, run);
        }
      }
      last = k;
      run = 0;
    }
    if (switches < MIN_SWITCHES || n / stays < MIN_DWELL) return undefined;
    return new KnownStates(bands, levels, Math.min(longest, MAX_TRANSITION), bounces, noise);
  }

  /**
   * Takes a reading: whether it lies in a known state, or between two on a transition no longer
   * than training's; sets `residual` and `moved`.
   */
  push(value: number): boolean {
    this.bounced = false;
    if (!Number.isFinite(value)) {
      this.residual = Number.NaN;
      this.moved = true;
      return false;
    }
    this.moved = value !== this.lastValue;
    this.lastValue = value;
    const k = this.bandOf(value);
    if (k >= 0) {
      this.bounced = this.bounces === 0 && k === this.last && this.outside > 0 && this.outside <= this.transition && this.between;
      this.runCount = 0;
      this.outside = 0;
      this.between = true;
      this.last = k;
      this.residual = value - (this.levels[k] as number);
      if (this.recent.length === RECENT) this.recent.shift();
      this.recent.push(this.residual);
      return true;
    }
    this.outside++;
    const lowest = (this.bands[0] as [number, number])[1];
    const highest = (this.bands[this.bands.length - 1] as [number, number])[0];
    this.between &&= value > lowest && value < highest;
    const transition = this.outside <= this.transition && this.between;
    const n = this.recent.length;
    this.residual = !transition ? value - (this.levels[this.last] as number) : n > 0 ? (this.recent[(((n - this.outside) % n) + n) % n] as number) : 0;
    if (!transition && this.settle(value)) {
      // The reading that made its level a state lies in it.
      this.last = this.bandOf(value);
      this.outside = 0;
      this.between = true;
      this.residual = value - (this.levels[this.last] as number);
      return true;
    }
    return transition;
  }

  /**
   * Counts a reading towards a run at a level no state holds; true when the run has made that
   * level a known state (see the module), which then holds the reading.
   */
  private settle(value: number): boolean {
    if (this.runCount === 0) {
      this.restartRun(value);
      return false;
    }
    const lo = Math.min(this.runLo, value);
    const hi = Math.max(this.runHi, value);
    if (hi - lo > this.widestGroup() + 2 * this.noise) {
      this.restartRun(value);
      return false;
    }
    this.runSumIx += this.runCount * value;
    this.runSum += value;
    this.runCount++;
    this.runLo = lo;
    this.runHi = hi;
    if (this.runCount < ADOPT || this.bands.length >= MAX_STATES) return false;
    // Σ(i − ī)·x / √Σ(i − ī)²: the least-squares slope over its standard error, times the noise's
    // spread (about one spread when the level is flat).
    const n = this.runCount;
    const spread = Math.sqrt((n * (n * n - 1)) / 12);
    const moves = Math.abs(this.runSumIx - ((n - 1) / 2) * this.runSum) / spread;
    if (moves > ADOPT_SLOPE * Math.max(this.noise, (hi - lo) / 6)) {
      this.restartRun(value);
      return false;
    }
    const apart = (SEPARATION - BAND_NOISE) * this.noise;
    if (this.bands.some((b) => lo - b[1] < apart && b[0] - hi < apart)) return false;
    const at = this.bands.findIndex((b) => b[0] > hi);
    const k = at < 0 ? this.bands.length : at;
    this.bands.splice(k, 0, [lo - BAND_NOISE * this.noise, hi + BAND_NOISE * this.noise]);
    this.levels.splice(k, 0, (lo + hi) / 2);
    if (this.last >= k) this.last++;
    this.runCount = 0;
    return true;
  }

  /** The widest state's training range (its band less the noise added on each side). */
  private widestGroup(): number {
    let widest = 0;
    for (const b of this.bands) widest = Math.max(widest, b[1] - b[0]);
    return widest - 2 * BAND_NOISE * this.noise;
  }

  private restartRun(value: number): void {
    this.runCount = 1;
    this.runLo = this.runHi = this.runSum = value;
    this.runSumIx = 0;
  }

  /** The index of the band holding `value`, −1 when none does. */
  private bandOf(value: number): number {
    for (let k = 0; k < this.bands.length; k++) {
      const b = this.bands[k] as readonly [number, number];
      if (value < b[0]) return -1;
      if (value <= b[1]) return k;
    }
    return -1;
  }

  toJSON(): KnownStatesState {
    return {
      bands: this.bands.map((b) => [b[0], b[1]]),
      levels: [...this.levels],
      last: this.last,
      lastValue: Number.isFinite(this.lastValue) ? this.lastValue : null,
      recent: [...this.recent],
      transition: this.transition,
      outside: this.outside,
      between: this.between,
      bounces: this.bounces,
      noise: this.noise,
      run: this.runCount > 0 ? [this.runCount, this.runLo, this.runHi, this.runSum, this.runSumIx] : null,
    };
  }

  /** Rebuilds the states from {@link toJSON}'s output; throws a message naming the first malformed field. */
  static fromJSON(x: unknown): KnownStates {
    const s = stateRecord(x);
    const bands = s.bands as unknown[];
    if (!Array.isArray(bands) || bands.length < 2 || bands.length > MAX_STATES) throw new Error(`bands must be 2 to ${MAX_STATES} bands`);
    let prev = Number.NEGATIVE_INFINITY;
    for (const b of bands) {
      if (!Array.isArray(b) || b.length !== 2 || !num(b[0]) || !num(b[1]) || !(b[0] > prev) || !(b[1] >= b[0])) throw new Error('bands must be [lo, hi] pairs of finite numbers, ascending and apart');
      prev = b[1];
    }
    const levels = s.levels as unknown[];
    if (!Array.isArray(levels) || levels.length !== bands.length || !levels.every((v, k) => num(v) && v >= (bands[k] as number[])[0]! && v <= (bands[k] as number[])[1]!)) throw new Error('levels must hold one finite number per band, inside it');
    if (!Number.isInteger(s.last) || (s.last as number) < 0 || (s.last as number) >= bands.length) throw new Error('last must be the index of a band');
    if (s.lastValue !== null && !num(s.lastValue)) throw new Error('lastValue must be a finite number or null');
    const recent = s.recent as unknown[];
    if (!Array.isArray(recent) || recent.length > RECENT || !recent.every(num)) throw new Error(`recent must hold at most ${RECENT} finite numbers`);
    if (!Number.isInteger(s.transition) || (s.transition as number) < 0 || (s.transition as number) > MAX_TRANSITION) throw new Error(`transition must be an integer from 0 to ${MAX_TRANSITION}`);
    if (!Number.isInteger(s.outside) || (s.outside as number) < 0) throw new Error('outside must be an integer ≥ 0');
    if (typeof s.between !== 'boolean') throw new Error('between must be a boolean');
    if (!Number.isInteger(s.bounces) || (s.bounces as number) < 0) throw new Error('bounces must be an integer ≥ 0');
    if (!num(s.noise) || !(s.noise > 0)) throw new Error('noise must be a positive number');
    const run = s.run as unknown[] | null;
    if (run !== null && (!Array.isArray(run) || run.length !== 5 || !Number.isInteger(run[0]) || !((run[0] as number) > 0) || !run.every(num) || !((run[1] as number) <= (run[2] as number))))
      throw new Error('run must be null or [count > 0, lowest ≤ highest, Σ value, Σ index × value]');
    const states = new KnownStates(
      (bands as Array<[number, number]>).map((b): [number, number] => [b[0], b[1]]),
      [...(levels as number[])],
      s.transition as number,
      s.bounces as number,
      s.noise,
    );
    if (run !== null) [states.runCount, states.runLo, states.runHi, states.runSum, states.runSumIx] = run as [number, number, number, number, number];
    states.outside = s.outside as number;
    states.between = s.between;
    states.last = s.last as number;
    states.lastValue = s.lastValue === null ? Number.NaN : (s.lastValue as number);
    states.recent = [...(recent as number[])];
    return states;
  }
}
