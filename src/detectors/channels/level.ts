/**
 * A level smoothed by time, as the range and trend channels measure it: the readings' average
 * weighted by exp(−age / tau) and normalised by its weight, so it is right from the first reading
 * rather than pulled towards it for several tau. It has settled once it has averaged `settle` time
 * constants of readings since it started; a gap longer than `gap` time constants starts it afresh.
 * @module
 */
import { finiteOrNull } from './state.ts';

export interface TimeLevelState {
  level: number;
  weight: number;
  lastTs: number | null;
  since: number | null;
}

export class TimeLevel {
  level = 0;
  weight = 0;
  /** The last reading's time and the first since a start (NaN: none yet, or restarted). */
  lastTs = Number.NaN;
  since = Number.NaN;
  /** Of the last `advance`: the decay applied to the old level (0 when it started afresh or skipped the reading) and the time since the reading before (ms). */
  decay = 0;
  dt = 0;
  /** Whether the last `advance` started the level afresh (its first reading, after `restart` or a gap). */
  started = false;

  constructor(
    readonly tau: number,
    private readonly settle: number,
    private readonly gap: number,
  ) {}

  /** Adds a reading at `ts` (not finite, or earlier than the last, it is skipped); true when the level has settled. */
  advance(ts: number, value: number): boolean {
    if (!Number.isFinite(value) || !Number.isFinite(ts) || ts < this.lastTs) {
      this.decay = 0;
      this.started = false;
      return false;
    }
    const dt = ts - this.lastTs;
    if (!(dt <= this.gap * this.tau)) this.start(ts);
    this.started = !(this.weight > 0);
    this.decay = this.started ? 0 : Math.exp(-dt / this.tau);
    this.dt = this.decay > 0 ? dt : 0;
    this.weight = this.weight * this.decay + 1;
    this.level += (value - this.level) / this.weight;
    this.lastTs = ts;
    return ts - this.since >= this.settle * this.tau;
  }

  /** After a pause: the next reading starts the level afresh. */
  restart(): void {
    this.weight = 0;
    this.lastTs = Number.NaN;
    this.since = Number.NaN;
  }

  toJSON(): TimeLevelState {
    return {
      level: this.level,
      weight: this.weight,
      lastTs: finiteOrNull(this.lastTs),
      since: finiteOrNull(this.since),
    };
  }

  /** Takes a saved state's fields (checked by the caller). */
  load(s: { level: number; weight: number; lastTs: number | null; since: number | null }): void {
    this.level = s.level;
    this.weight = s.weight;
    this.lastTs = s.lastTs ?? Number.NaN;
    this.since = s.since ?? Number.NaN;
  }

  /** Copies another level's state (a fit's probe into the fitted channel). */
  copy(other: TimeLevel): void {
    this.load(other.toJSON());
  }

  private start(ts: number): void {
    this.weight = 0;
    this.since = ts;
  }
}

/** The smallest step between consecutive finite readings (their quantisation step); Infinity when none moved. */
export function quantumOf(readings: readonly { value: number }[]): number {
  let quantum = Infinity;
  let prev = Number.NaN;
  for (const r of readings) {
    if (!Number.isFinite(r.value)) continue;
    const step = Math.abs(r.value - prev);
    if (step > 0 && step < quantum) quantum = step;
    prev = r.value;
  }
  return quantum;
}
