import { Rng } from '../../../detectors/random.ts';
import type { Source, SourceSink } from './source.ts';
import { createTickScheduler, type TickScheduler } from './tick-scheduler.ts';

export const ANOMALY_KINDS = ['spike', 'dip', 'level_shift', 'drift', 'noise', 'stuck', 'dropout'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface SimulatorOptions {
  /** Readings per second (10 like the Arduino firmware; tests use more). */
  rateHz: number;
  /** Baseline voltage. */
  level: number;
  /** Standard deviation of the Gaussian noise, in volts. */
  noise: number;
  /** Makes the value sequence reproducible. */
  seed: number;
  now?: () => number;
  /** The scheduler shared by every simulated device of the process (default: one of its own). */
  ticks?: TickScheduler;
}

export interface InjectOptions {
  /** Size of the disturbance in volts (default: 1 V, or 20 × noise for `noise`). */
  magnitude?: number;
  /** Readings affected (spike and dip: 1). */
  readings?: number;
}

/** The simulator's value sequence without timing: deterministic for a seed, anomalies injected on demand. */
export function createSimulatorSignal(opts: Pick<SimulatorOptions, 'rateHz' | 'level' | 'noise' | 'seed'>) {
  const rng = new Rng(opts.seed);
  let n = 0;
  let active: { kind: AnomalyKind; magnitude: number; left: number; total: number; stuckAt?: number } | undefined;
  let last = opts.level;

  function next(): number {
    const wander = opts.level * 0.01 * Math.sin((2 * Math.PI * n) / (opts.rateHz * 60));
    let v = opts.level + wander + rng.normal() * opts.noise;
    if (active) {
      const a = active;
      const done = a.total - a.left;
      switch (a.kind) {
        case 'spike':
          v += a.magnitude;
          break;
        case 'dip':
          v -= a.magnitude;
          break;
        case 'level_shift':
          v += a.magnitude;
          break;
        case 'drift':
          v += (a.magnitude * (done + 1)) / a.total;
          break;
        case 'noise':
          v += rng.normal() * a.magnitude;
          break;
        case 'stuck':
          a.stuckAt ??= last;
          v = a.stuckAt;
          break;
        case 'dropout':
          v = 0;
          break;
      }
      if (--a.left <= 0) active = undefined;
    }
    n++;
    last = v;
    return Math.round(v * 10000) / 10000;
  }

  function inject(kind: AnomalyKind, o: InjectOptions = {}): void {
    const single = kind === 'spike' || kind === 'dip';
    const readings = single ? (o.readings ?? 1) : (o.readings ?? Math.max(1, Math.round(opts.rateHz * 3)));
    const magnitude = o.magnitude ?? (kind === 'noise' ? Math.max(0.2, opts.noise * 20) : 1);
    active = { kind, magnitude, left: readings, total: readings };
  }

  return { next, inject };
}

/**
 * An Arduino-like voltage stream: a steady level with a slow wander and Gaussian noise, plus
 * anomalies injected on demand. Values are deterministic for a seed; timestamps are real time.
 */
export function createSimulatorSource(sink: SourceSink, opts: SimulatorOptions) {
  const values = createSimulatorSignal(opts);
  const now = opts.now ?? Date.now;
  const periodMs = 1000 / opts.rateHz;
  const ticks = opts.ticks ?? createTickScheduler();
  let remove: (() => void) | undefined;
  let next = 0;

  /** Emits what is due at `t` (catching up on missed ticks so the average rate holds); returns the next due time. */
  function tick(t: number): number {
    let emitted = 0;
    const wall = now();
    while (next <= t && emitted < 100) {
      // Each reading is dated when it was due, so catch-up readings keep distinct, increasing times.
      sink.reading({ ts: Math.round(wall - (t - next)), value: values.next() });
      next += periodMs;
      emitted++;
    }
    if (next <= t) next = t + periodMs;
    return next;
  }

  const source: Source & { inject(kind: AnomalyKind, o?: InjectOptions): void } = {
    port: 'simulator',
    async start(signal) {
      if (remove) return;
      signal.addEventListener('abort', () => void source.stop(), { once: true });
      sink.status({ connected: true, message: `Simulator streaming at ${opts.rateHz} Hz` });
      next = performance.now() + periodMs;
      remove = ticks.add({ run: tick }, next);
    },
    async stop() {
      remove?.();
      remove = undefined;
    },
    inject(kind, o = {}) {
      values.inject(kind, o);
    },
  };
  return source;
}

export type SimulatorSource = ReturnType<typeof createSimulatorSource>;
