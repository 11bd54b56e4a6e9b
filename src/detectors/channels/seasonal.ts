/**
 * Seasonal removal for a signal with a known cycle: each reading minus the cycle's shape at its
 * phase, keeping the level, so the fault channels (spikes, dips, level shifts, ramps, bursts)
 * judge a periodic signal by how it departs from its own cycle rather than by the cycle itself.
 *
 * The cycle's shape at a reading is the median of the readings one, two, … `cycles` periods
 * earlier (linear interpolation between samples, so a fractional period does not drift out of
 * phase), minus the mean of the last whole cycles (its level). So a steady periodic signal becomes
 * its level plus noise, a level shift or ramp stays as it is, and a spike stays a spike. The
 * median keeps an event from echoing one to `cycles` periods later (a mean would repeat 1/k of it
 * each cycle): an event shorter than half the cycles remembered never enters the shape. This is
 * the "seasonal naive" forecast over several seasons (Hyndman & Athanasopoulos, *Forecasting:
 * Principles and Practice*, ch. 5) made robust with a median, applied causally.
 *
 * Two kinds of reading pass through unchanged in meaning so the channels that look at raw values
 * still work: a reading that repeats the previous one exactly gives the previous output again (a
 * stuck sensor stays stuck), and a reading of exactly 0 stays 0 (a 0 V dropout). Non-finite
 * readings pass through and are not remembered.
 *
 * With `levelFree`, each remembered reading enters the median minus its own cycle's level (the
 * mean of the whole period of readings from it on), and the level of the last `cycles` cycles is
 * added back: a level shift or ramp longer than half the cycles remembered then moves the level,
 * not the shape, so the cycle remembered after it ends carries no half-shifted phases (which the
 * fault channels saw as spikes and swings for a few cycles).
 *
 * Pure and deterministic; memory is `cycles × period` numbers (capped by `MAX_SEASONAL_SPAN`).
 * @module
 */

/** Most readings the history may span (64 KiB of float64); a longer cycle is not deseasonalised. */
export const MAX_SEASONAL_SPAN = 8192;

export interface SeasonalState {
  period: number;
  cycles: number;
  /** See `levelFree` in the module notes (absent: off, as in models written before it). */
  levelFree?: boolean;
  /** Remembered readings, oldest first. */
  values: number[];
  lastIn: number | null;
  lastOut: number | null;
}

export class SeasonalRemover {
  private readonly ring: Float64Array;
  private head = 0;
  private size = 0;
  /** Running total of every reading remembered, and its value after each reading (parallel to `ring`). */
  private total = 0;
  private readonly cum: Float64Array;
  private lastIn = Number.NaN;
  private lastOut = Number.NaN;
  private offset = 0;
  /** The same-phase median behind the last output (NaN when the last push was not ready). */
  private lastShape = Number.NaN;
  /** Scratch: the readings at the same phase one to `cycles` periods back. */
  private readonly same: Float64Array;

  /**
   * @param period cycle length in readings (fractional, ≥ 2)
   * @param cycles cycles averaged into the shape (≥ 1)
   * @param levelFree each remembered reading enters the median minus its own cycle's level (see the module notes)
   */
  constructor(
    readonly period: number,
    readonly cycles = 4,
    readonly levelFree = false,
  ) {
    if (!(period >= 2) || !Number.isFinite(period)) throw new RangeError('period must be a finite number >= 2');
    if (!Number.isInteger(cycles) || cycles < 1) throw new RangeError('cycles must be an integer >= 1');
    const span = SeasonalRemover.span(period, cycles);
    if (span > MAX_SEASONAL_SPAN) throw new RangeError(`period × cycles must stay within ${MAX_SEASONAL_SPAN} readings`);
    this.ring = new Float64Array(span);
    this.cum = new Float64Array(span);
    this.same = new Float64Array(cycles);
  }

  /** Readings remembered for a period and cycle count. */
  static span(period: number, cycles: number): number {
    return Math.ceil(period * cycles) + 2;
  }

  /** True when a period can be deseasonalised within the memory cap. */
  static fits(period: number, cycles = 4): boolean {
    return period >= 2 && Number.isFinite(period) && SeasonalRemover.span(period, cycles) <= MAX_SEASONAL_SPAN;
  }

  /** Full cycles currently available to estimate the shape. */
  get available(): number {
    return Math.min(this.cycles, Math.floor((this.size - 1) / this.period));
  }

  /** The cycle's shape (its departure from its level) at the last reading pushed; 0 when unknown. */
  get seasonal(): number {
    return this.offset;
  }

  /** The last reading pushed (NaN before one, and after `reset` or `skip`). */
  get lastInput(): number {
    return this.lastIn;
  }

  /** Forgets the history (after a pause the phase of new readings is unknown). */
  reset(): void {
    this.head = 0;
    this.size = 0;
    this.total = 0;
    this.lastIn = Number.NaN;
    this.lastOut = Number.NaN;
    this.offset = 0;
  }

  /** The reading `back` readings before the newest remembered one (0 = newest), interpolated. */
  private at(back: number): number {
    const cap = this.ring.length;
    const lo = Math.floor(back);
    const frac = back - lo;
    const a = this.ring[(this.head - 1 - lo + 2 * cap) % cap] as number;
    if (frac === 0) return a;
    const b = this.ring[(this.head - 2 - lo + 2 * cap) % cap] as number;
    return a + frac * (b - a);
  }

  /**
   * Pushes a reading; returns it with the cycle's shape removed (level kept), or the reading
   * itself while fewer than `minCycles` cycles are remembered (`ready` says which).
   */
  push(x: number, minCycles = 1): { value: number; ready: boolean } {
    if (!Number.isFinite(x)) return { value: x, ready: this.available >= minCycles };
    const k = this.available;
    let out = x;
    let ready = false;
    if (k >= minCycles && k >= 1) {
      const s = this.next();
      this.lastShape = s;
      // The level: the mean of the last k whole cycles (running totals, O(1)).
      this.offset = s - this.levelOfLast(k);
      out = x - this.offset;
      ready = true;
    }
    if (!ready) this.lastShape = Number.NaN;
    if (x === this.lastIn && Number.isFinite(this.lastOut)) out = this.lastOut;
    else if (x === 0) out = 0;
    this.remember(x);
    this.lastIn = x;
    this.lastOut = ready ? out : Number.NaN;
    return { value: out, ready };
  }

  /**
   * The mean of the last whole cycle of readings remembered (NaN while fewer are): the signal's
   * level with the cycle averaged out, whatever its shape, which a slow ramp moves and the cycle does not.
   */
  cycleMean(): number {
    const w = Math.round(this.period);
    return w <= this.size - 1 ? this.meanOfLast(w) : Number.NaN;
  }

  /**
   * The running total through the reading `back` readings before the newest (0 ≤ back ≤ size − 1),
   * linearly interpolated at a fractional position as `at` interpolates readings: the sum of the
   * readings from back position a to b is cumAt(a) − cumAt(b + 1), for a window of a whole
   * fractional period.
   */
  private cumAt(back: number): number {
    const cap = this.ring.length;
    const lo = Math.floor(back);
    const frac = back - lo;
    const a = this.cum[(this.head - 1 - lo + 2 * cap) % cap] as number;
    if (frac === 0 || lo + 1 > this.size - 1) return a;
    const b = this.cum[(this.head - 2 - lo + 2 * cap) % cap] as number;
    return a + frac * (b - a);
  }

  /** The level: the mean of the last `k` whole cycles remembered (as many readings as there are, at least one). */
  private levelOfLast(k: number): number {
    return this.meanOfLast(Math.max(1, Math.min(this.size - 1, Math.round(k * this.period))));
  }

  /** The mean of the newest `w` remembered readings (1 ≤ w < size), from the running totals in O(1). */
  private meanOfLast(w: number): number {
    const cap = this.ring.length;
    const before = this.cum[(this.head - 1 - w + 2 * cap) % cap] as number;
    return (this.total - before) / w;
  }

  /** The cycle's own value at the next reading's phase (the median of the readings whole periods before it), or NaN while no cycle is remembered. */
  next(): number {
    const k = this.available;
    if (k < 1) return Number.NaN;
    // The newest remembered reading is one step back from the next: its phase j periods ago is j·P − 1 back.
    const same = this.same;
    if (!this.levelFree) {
      for (let j = 1; j <= k; j++) same[j - 1] = this.at(j * this.period - 1);
      return medianOf(same, k);
    }
    // Each same-phase reading minus the mean of the whole period of readings from it on (always
    // remembered: j ≥ 1), and the level of the last k cycles added back.
    const p = this.period;
    for (let j = 1; j <= k; j++) {
      const back = j * p - 1;
      same[j - 1] = this.at(back) - (this.cumAt(back - p + 1) - this.cumAt(back + 1)) / p;
    }
    return medianOf(same, k) + this.levelOfLast(k);
  }

  /**
   * Keeps the phase across `count` missing readings (a gap in the timestamps): each is remembered
   * as the cycle's own value at its phase. A gap longer than the memory forgets the history.
   */
  skip(count: number): void {
    if (!(count > 0)) return;
    if (count >= this.ring.length || this.available < 1) {
      this.reset();
      return;
    }
    for (let i = 0; i < count; i++) this.remember(this.next());
    this.lastIn = Number.NaN;
    this.lastOut = Number.NaN;
  }

  /**
   * Remembers the cycle's own value at the newest reading's phase instead of the reading (a reading
   * known not to be the signal, such as a stuck sensor's, would otherwise enter the cycle's shape).
   */
  amendNewest(): void {
    const s = this.lastShape;
    if (!Number.isFinite(s) || this.size === 0) return;
    const cap = this.ring.length;
    const i = (this.head - 1 + cap) % cap;
    this.total += s - (this.ring[i] as number);
    this.ring[i] = s;
    this.cum[i] = this.total;
    this.lastShape = Number.NaN;
  }

  private remember(x: number): void {
    const cap = this.ring.length;
    if (this.size < cap) this.size++;
    this.total += x;
    this.ring[this.head] = x;
    this.cum[this.head] = this.total;
    this.head = (this.head + 1) % cap;
  }

  toJSON(): SeasonalState {
    const values: number[] = [];
    const cap = this.ring.length;
    for (let i = this.size; i >= 1; i--) values.push(this.ring[(this.head - i + cap) % cap] as number);
    return { period: this.period, cycles: this.cycles, ...(this.levelFree && { levelFree: true }), values, lastIn: Number.isFinite(this.lastIn) ? this.lastIn : null, lastOut: Number.isFinite(this.lastOut) ? this.lastOut : null };
  }

  static fromJSON(state: unknown): SeasonalRemover {
    if (typeof state !== 'object' || state === null) throw new TypeError('seasonal state must be an object');
    const s = state as Record<string, unknown>;
    if (typeof s.period !== 'number' || typeof s.cycles !== 'number') throw new TypeError('seasonal state needs period and cycles');
    if (s.levelFree !== undefined && typeof s.levelFree !== 'boolean') throw new TypeError('seasonal state levelFree must be a boolean');
    const r = new SeasonalRemover(s.period, s.cycles, s.levelFree === true);
    const values = s.values;
    if (!Array.isArray(values) || values.length > r.ring.length || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new TypeError('seasonal state values must be finite numbers within the span');
    }
    for (const v of values as number[]) r.remember(v);
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
    r.lastIn = num(s.lastIn);
    r.lastOut = num(s.lastOut);
    return r;
  }
}

/** Median of the first `n` values of `a` (sorts them in place; n is small). */
function medianOf(a: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = a[i] as number;
    let j = i - 1;
    while (j >= 0 && (a[j] as number) > v) {
      a[j + 1] = a[j] as number;
      j--;
    }
    a[j + 1] = v;
  }
  const h = n >> 1;
  return n % 2 === 1 ? (a[h] as number) : ((a[h - 1] as number) + (a[h] as number)) / 2;
}
