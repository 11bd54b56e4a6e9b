/**
 * Known glitches: lone one-reading excursions that recur at a consistent depth on one side of the
 * signal, such as a loose connector that reads near 0 V for one sample now and then. A reading is
 * an excursion when it lies FAR local noise scales from the median of the last LOCAL readings, and
 * a lone one when the readings before and after it lie within NEAR. Once a side holds MIN_KNOWN
 * lone excursions whose depths agree (within CLUSTER of the deepest), a reading that leaves the
 * signal on that side, right after a normal reading, by a depth within that band (widened by
 * MARGIN), is a known glitch: the detector scores the last normal value in its place, so it
 * neither alarms on it nor lets it into any channel's statistics. Two such readings in a row are
 * no glitch (the second follows no normal reading), so a sustained fault still alarms, one reading
 * later. A known side keeps learning its depths (the most recent KEPT), but takes none that would
 * leave it unknown.
 *
 * On a cycle sampled a few times per period the readings stray from the local median by the cycle
 * itself, which inflates its noise scale: a glitch to 0 V was then fewer than FAR scales deep and
 * never learned. So a reading is also an excursion when it leaves the straight line through the
 * two readings before it by FAR scales of that line's own misses (a cycle bends little between
 * readings), provided the next reading bends back by BEND_BACK times as much, as one lone reading
 * does (a step up or down, such as a duty cycle's edge, bends back by only as much). Decision 0014
 * has the measurements.
 * @module
 */
import { MEAN_ABS_TO_SIGMA, SQRT12 } from '../ml-shared.ts';
import { Ewm, RollingWindow } from '../rolling.ts';

/** Readings in the local median the gate measures excursions from. */
const LOCAL = 9;
/** An excursion lies at least this many local noise scales from the local median. */
const FAR = 12;
/** A normal reading lies within this many local noise scales of it. */
const NEAR = 4;
/** Agreeing lone excursions on one side before the next one there is a known glitch. */
const MIN_KNOWN = 2;
/** Depths remembered per side (the most recent). */
const KEPT = 8;
/** Depths agree with the deepest when it is at most this many times theirs. */
const CLUSTER = 1.5;
/** A known glitch's depth lies within the agreeing depths' range widened by this factor. */
const MARGIN = 1.25;
/** Memory (readings) of the local noise scale. */
const SCALE_HORIZON = 200;
/**
 * A lone reading x above a straight line bends it by x, and the next reading bends back by −2x; a
 * step bends back by −x. The next reading's bend over the excursion's lies in this range.
 */
const BEND_BACK: readonly [number, number] = [-2.5, -1.5];
/** The second difference of white noise has √6 times its standard deviation (quantisation included). */
const SQRT6 = Math.sqrt(6);
/**
 * With `byValue`, a neighbour of an excursion counts as normal also when it lies within this share
 * of the excursion's distance (a cycle's own small dips beside a glitch to 0 V).
 */
const LONE_SHARE = 0.1;
/**
 * With `byValue`, the agreeing excursions' values agree when they span at most this share of the
 * shallowest one's depth; a reading within that span, widened by VALUE_PAD of that depth on each
 * side, and at least VALUE_DEPTH of that depth away, is a known glitch whatever its depth.
 */
const VALUE_AGREE = 0.5;
const VALUE_PAD = 0.25;
const VALUE_DEPTH = 0.5;

export interface GlitchGateState {
  /** The last LOCAL readings, oldest first. */
  local: number[];
  /** Mean absolute deviation of normal readings from the local median, and how many it has seen. */
  scale: [number, number];
  /** Smallest step seen between readings (null: none yet). */
  quantum: number | null;
  /** Depths of the lone excursions above and below, oldest first. */
  up: number[];
  down: number[];
  /** The last two readings' distances in noise scales, most recent first (null: not judged, or a glitch). */
  prev: [number | null, number | null];
  /** The last reading's depth, and the last normal reading (null: none yet). */
  prevDepth: number;
  lastNormal: number | null;
  /** Whether lone excursions may open a side not yet known (see `learning`). */
  learning: boolean;
  /**
   * The straight-line check (absent in states written before it: it starts afresh): the mean
   * absolute bend of normal readings and how many it has seen, the reading before the newest
   * (null: none), readings to come before a line crosses a skipped reading again (0–2), and the
   * last reading's bend and whether it was FAR scales off the line (null: not measured).
   */
  bend?: { scale: [number, number]; beforeLast: number | null; gap: number; prev: number | null; far: boolean };
  /**
   * With `byValue` (absent in states written before it, and when off): the values the lone
   * excursions above and below read, in step with `up` and `down`.
   */
  values?: { up: number[]; down: number[] };
}

export interface GlitchGateOptions {
  /**
   * Glitches are also known by the value they read (a loose connector reads near 0 V whatever the
   * level, so its depth follows the level), and a lone excursion's neighbours may lie off by a
   * tenth of its distance (default false: depths only, neighbours within NEAR scales).
   */
  byValue?: boolean;
}

export class GlitchGate {
  private local = new RollingWindow(LOCAL);
  private readonly scale = new Ewm(SCALE_HORIZON);
  private quantum = Infinity;
  private up: number[] = [];
  private down: number[] = [];
  /** With `byValue`: the values the lone excursions read, in step with `up` and `down`. */
  private upValues: number[] = [];
  private downValues: number[] = [];
  private readonly byValue: boolean;
  /** The previous two readings' signed distances in noise scales (NaN: not judged, or a known glitch). */
  private prev1 = Number.NaN;
  private prev2 = Number.NaN;
  private prevDepth = 0;
  private lastNormal = Number.NaN;
  /** Mean absolute bend (second difference) of normal readings. */
  private readonly bendScale = new Ewm(SCALE_HORIZON);
  /** The reading before `lastValue` (NaN: none). */
  private beforeLast = Number.NaN;
  /** Readings still to come before a line is drawn again across a skipped one (see `breakLine`). */
  private lineGap = 0;
  /** The last reading's bend, and whether it lay FAR bend scales off the line. */
  private prevBend = Number.NaN;
  private prevFar = false;
  /** The newest reading in `local` (NaN: none). */
  private lastValue = Number.NaN;

  /**
   * Whether lone excursions may open a side not yet known. On in a fit (training data is normal);
   * the detector turns it off for live data, where a fault that repeats (the same spike twice)
   * would otherwise teach the gate to drop it. A known side keeps learning its depths.
   */
  learning = true;

  constructor(options: GlitchGateOptions = {}) {
    this.byValue = options.byValue === true;
  }

  /** Whether a side has enough agreeing lone excursions to call the next one a known glitch. */
  get known(): boolean {
    return bandOf(this.up) !== undefined || bandOf(this.down) !== undefined;
  }

  /**
   * Judges `x` (in arrival order): the last normal value when `x` is a known glitch, otherwise `x`.
   * Learns from `x` unless it is a known glitch (which stays out of the local median and scale too).
   */
  filter(x: number): number {
    if (!Number.isFinite(x)) {
      this.shift(Number.NaN);
      this.breakLine();
      return x;
    }
    const med = this.local.quantile(0.5);
    // A reading quantised to steps of q is only known to within q (see SQRT12), as in the fault channels.
    const quantumSd = Number.isFinite(this.quantum) ? this.quantum / SQRT12 : 0;
    const sd = Math.max(this.scale.mean * MEAN_ABS_TO_SIGMA, quantumSd);
    const ready = this.local.length >= LOCAL && sd > 0;
    const depth = x - med;
    const r = ready ? depth / sd : Number.NaN;
    if (ready && this.near(this.prev1, r)) {
      const side = depth > 0 ? this.up : this.down;
      const band = bandOf(side);
      // The value band is asked only when the depth band does not hold.
      const known = (band !== undefined && Math.abs(depth) >= band.lo && Math.abs(depth) <= band.hi) || (this.byValue && valueBandHolds(side, depth > 0 ? this.upValues : this.downValues, x, depth));
      if (known) {
        this.shift(Number.NaN);
        this.breakLine();
        return this.lastNormal;
      }
    }
    // How far x leaves the straight line through the two readings before it (NaN: no line).
    const bend = this.lineGap > 0 ? Number.NaN : x - 2 * this.lastValue + this.beforeLast;
    const bendSd = Math.max(this.bendScale.mean * MEAN_ABS_TO_SIGMA, SQRT6 * quantumSd);
    const bentBack = this.prevFar && bend / this.prevBend >= (BEND_BACK[0] as number) && bend / this.prevBend <= (BEND_BACK[1] as number);
    // The previous reading was a lone excursion: normal readings before and after it.
    if (ready && this.near(r, this.prev1) && (Math.abs(this.prev1) >= FAR || bentBack) && this.near(this.prev2, this.prev1)) {
      const side = this.prevDepth > 0 ? this.up : this.down;
      const values = this.prevDepth > 0 ? this.upValues : this.downValues;
      const known = bandOf(side) !== undefined;
      if (this.learning || known) {
        const dropped = side.length >= KEPT ? side.shift() : undefined;
        const droppedValue = this.byValue && values.length >= KEPT ? values.shift() : undefined;
        side.push(this.prevDepth);
        // The excursion is the newest reading before x.
        if (this.byValue) values.push(this.lastValue);
        // A known side keeps learning, but no depth may make it unknown: after a stuck sensor the
        // noise scale has collapsed, and readings a few ADC steps off count as deep lone excursions;
        // eight of them pushed the known glitches out of memory, and the next glitch alarmed.
        if (known && bandOf(side) === undefined) {
          side.pop();
          if (dropped !== undefined) side.unshift(dropped);
          if (this.byValue) {
            values.pop();
            if (droppedValue !== undefined) values.unshift(droppedValue);
          }
        }
      }
    }
    // Before the first reading there is no median (and the depth matters only once `ready`).
    this.prevDepth = Number.isFinite(depth) ? depth : 0;
    this.prevBend = bend;
    this.prevFar = ready && this.bendScale.count >= LOCAL && bendSd > 0 && Math.abs(bend) >= FAR * bendSd;
    this.shift(r);
    if (!ready || Math.abs(r) <= NEAR) {
      if (this.local.length > 0) this.scale.update(Math.abs(depth));
      if (Number.isFinite(bend)) this.bendScale.update(Math.abs(bend));
      this.lastNormal = x;
    }
    const step = Math.abs(x - this.lastValue);
    if (step > 0 && step < this.quantum) this.quantum = step;
    this.beforeLast = this.lastValue;
    this.lastValue = x;
    if (this.lineGap > 0) this.lineGap--;
    this.local.push(x);
    return x;
  }

  /** Whether a neighbour `r` (noise scales) of a reading `of` scales away lies close enough to call that one lone. */
  private near(r: number, of: number): boolean {
    const a = Math.abs(r);
    return a <= NEAR || (this.byValue && a <= LONE_SHARE * Math.abs(of));
  }

  private shift(r: number): void {
    this.prev2 = this.prev1;
    this.prev1 = r;
  }

  /** A skipped reading (a known glitch, a non-finite one): the next two readings draw no line across it. */
  private breakLine(): void {
    this.lineGap = 2;
    this.prevBend = Number.NaN;
    this.prevFar = false;
  }

  toJSON(): GlitchGateState {
    const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
    return {
      local: this.local.values(),
      scale: [this.scale.mean, this.scale.count],
      quantum: orNull(this.quantum),
      up: [...this.up],
      down: [...this.down],
      prev: [orNull(this.prev1), orNull(this.prev2)],
      prevDepth: this.prevDepth,
      lastNormal: orNull(this.lastNormal),
      learning: this.learning,
      bend: { scale: [this.bendScale.mean, this.bendScale.count], beforeLast: orNull(this.beforeLast), gap: this.lineGap, prev: orNull(this.prevBend), far: this.prevFar },
      ...(this.byValue && { values: { up: [...this.upValues], down: [...this.downValues] } }),
    };
  }

  /** Rebuilds a gate from {@link toJSON}'s output; throws a message naming the first malformed field. */
  static fromJSON(x: unknown): GlitchGate {
    const s = x as Partial<GlitchGateState> | null;
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    const nums = (v: unknown, max: number): v is number[] => Array.isArray(v) && v.length <= max && v.every(num);
    const numOrNull = (v: unknown): boolean => v === null || num(v);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error('must be an object');
    if (!nums(s.local, LOCAL)) throw new Error(`local must hold at most ${LOCAL} finite numbers`);
    if (!meanCount(s.scale)) {
      throw new Error('scale must be [mean deviation ≥ 0, count]');
    }
    if (!(s.quantum === null || (num(s.quantum) && s.quantum > 0))) throw new Error('quantum must be null or a positive number');
    if (!nums(s.up, KEPT) || !s.up.every((d) => d > 0) || !nums(s.down, KEPT) || !s.down.every((d) => d < 0)) {
      throw new Error(`up and down must hold at most ${KEPT} depths each, positive above and negative below`);
    }
    if (!Array.isArray(s.prev) || s.prev.length !== 2 || !s.prev.every(numOrNull)) throw new Error('prev must be two numbers or nulls');
    if (!num(s.prevDepth) || !numOrNull(s.lastNormal)) throw new Error('prevDepth must be a number and lastNormal a number or null');
    if (typeof s.learning !== 'boolean') throw new Error('learning must be a boolean');
    const b = s.bend;
    if (b !== undefined) {
      if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new Error('bend must be an object');
      if (!meanCount(b.scale)) {
        throw new Error('bend.scale must be [mean bend ≥ 0, count]');
      }
      if (!numOrNull(b.beforeLast) || !numOrNull(b.prev) || typeof b.far !== 'boolean') throw new Error('bend.beforeLast and bend.prev must be numbers or nulls, bend.far a boolean');
      if (!(b.gap === 0 || b.gap === 1 || b.gap === 2)) throw new Error('bend.gap must be 0, 1 or 2');
    }
    const v = s.values;
    if (v !== undefined) {
      if (typeof v !== 'object' || v === null || !nums(v.up, KEPT) || !nums(v.down, KEPT) || v.up.length !== s.up.length || v.down.length !== s.down.length) {
        throw new Error('values must hold as many finite numbers as up and down');
      }
    }
    const g = new GlitchGate({ byValue: v !== undefined });
    if (v !== undefined) {
      g.upValues = [...v.up];
      g.downValues = [...v.down];
    }
    g.local = RollingWindow.from(LOCAL, s.local);
    g.lastValue = s.local.at(-1) ?? Number.NaN;
    g.scale.load([s.scale[0], 0, s.scale[1]]);
    g.quantum = s.quantum ?? Infinity;
    g.up = [...s.up];
    g.down = [...s.down];
    g.prev1 = s.prev[0] ?? Number.NaN;
    g.prev2 = s.prev[1] ?? Number.NaN;
    g.prevDepth = s.prevDepth;
    g.lastNormal = s.lastNormal ?? Number.NaN;
    g.learning = s.learning;
    if (b !== undefined) {
      g.bendScale.load([b.scale[0], 0, b.scale[1]]);
      g.beforeLast = b.beforeLast ?? Number.NaN;
      g.lineGap = b.gap;
      g.prevBend = b.prev ?? Number.NaN;
      g.prevFar = b.far;
    }
    return g;
  }
}

/** A saved running mean: [mean ≥ 0, how many it has seen]. */
function meanCount(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && Number.isFinite(v[0]) && v[0] >= 0 && Number.isSafeInteger(v[1]) && (v[1] as number) >= 0;
}

/**
 * `byValue`: whether `x`, `depth` from the local median, reads what the side's agreeing excursions
 * (those {@link bandOf} takes) read, when their values agree.
 */
function valueBandHolds(depths: readonly number[], values: readonly number[], x: number, depth: number): boolean {
  if (depths.length < MIN_KNOWN || values.length !== depths.length) return false;
  let hi = 0;
  for (const d of depths) hi = Math.max(hi, Math.abs(d));
  let shallowest = hi;
  let lo = Infinity;
  let top = -Infinity;
  let agree = 0;
  for (const [i, d] of depths.entries()) {
    if (Math.abs(d) * CLUSTER < hi) continue;
    agree++;
    shallowest = Math.min(shallowest, Math.abs(d));
    lo = Math.min(lo, values[i] as number);
    top = Math.max(top, values[i] as number);
  }
  if (agree < MIN_KNOWN || top - lo > VALUE_AGREE * shallowest) return false;
  const pad = VALUE_PAD * shallowest;
  return x >= lo - pad && x <= top + pad && Math.abs(depth) >= VALUE_DEPTH * shallowest;
}

/** The depth band of a side's known glitches: the depths within CLUSTER of the deepest, widened by MARGIN, when there are MIN_KNOWN of them. */
function bandOf(depths: readonly number[]): { lo: number; hi: number } | undefined {
  if (depths.length < MIN_KNOWN) return undefined;
  let hi = 0;
  for (const d of depths) hi = Math.max(hi, Math.abs(d));
  let lo = hi;
  let agree = 0;
  for (const d of depths) {
    if (Math.abs(d) * CLUSTER >= hi) {
      agree++;
      lo = Math.min(lo, Math.abs(d));
    }
  }
  return agree >= MIN_KNOWN ? { lo: lo / MARGIN, hi: hi * MARGIN } : undefined;
}
