/**
 * Seeded periodic series with exactly one shape anomaly each, for the periodic benchmark.
 *
 * A series is built cycle by cycle from one of six families (harmonic sine mixtures, duty cycles,
 * sawtooth ramps, ECG-like beats, machine cycles, daily cycles), each with random parameters: period,
 * level, amplitude, cycle-length and amplitude jitter, noise and slow wander. The first part is
 * anomaly-free (training); the test part holds one anomalous cycle or run of cycles of one kind.
 */
import { Rng } from '../../detectors/random.ts';

export const PERIODIC_FAMILIES = ['sine_mix', 'duty_cycle', 'sawtooth', 'ecg', 'machine', 'daily'] as const;
export type PeriodicFamily = (typeof PERIODIC_FAMILIES)[number];

export const SHAPE_ANOMALIES = [
  'distorted_cycle',
  'missing_beat',
  'extra_beat',
  'different_cycle',
  'frequency_change',
  'amplitude_change',
  'noise_burst',
] as const;
export type ShapeAnomaly = (typeof SHAPE_ANOMALIES)[number];

/** Seeds of the development split: parameters are chosen on these only. */
export const PERIODIC_DEV_SEEDS: readonly number[] = Array.from({ length: 84 }, (_, i) => 1001 + i);
/** Seeds of the held-out split: never looked at while choosing parameters. */
export const PERIODIC_HELDOUT_SEEDS: readonly number[] = Array.from({ length: 84 }, (_, i) => 2001 + i);

export interface PeriodicSeries {
  name: string;
  seed: number;
  family: PeriodicFamily;
  anomaly: ShapeAnomaly;
  /** Nominal cycle length in samples. */
  period: number;
  values: Float64Array;
  /** Readings before this index are anomaly-free training data. */
  trainLength: number;
  /** Labelled anomaly, inclusive sample indices (both in the test part). */
  anomalyStart: number;
  anomalyEnd: number;
}

type Shape = (phase: number) => number;

interface FamilyModel {
  shape: Shape;
  /** The value of the family's resting state (what a missing beat leaves). */
  rest: number;
  /** A different but plausible cycle of the family (what "runs differently" means for it). */
  variant: Shape;
}

function gaussian(x: number, mu: number, sigma: number): number {
  const z = (x - mu) / sigma;
  return Math.exp(-0.5 * z * z);
}

function smoothStep(x: number, edge: number): number {
  return 1 / (1 + Math.exp(-x / edge));
}

function familyModel(family: PeriodicFamily, rng: Rng): FamilyModel {
  switch (family) {
    case 'sine_mix': {
      const a2 = rng.uniform(0.2, 0.6);
      const a3 = rng.uniform(0, 0.4);
      const p2 = rng.uniform(0, 2 * Math.PI);
      const p3 = rng.uniform(0, 2 * Math.PI);
      const shape: Shape = (f) => Math.sin(2 * Math.PI * f) + a2 * Math.sin(4 * Math.PI * f + p2) + a3 * Math.sin(6 * Math.PI * f + p3);
      return { shape, rest: 0, variant: (f) => Math.sin(2 * Math.PI * f) + a2 * Math.sin(4 * Math.PI * f + p2 + Math.PI) + a3 * Math.sin(6 * Math.PI * f + p3) };
    }
    case 'duty_cycle': {
      const duty = rng.uniform(0.2, 0.7);
      const edge = rng.uniform(0.003, 0.02);
      const shape: Shape = (f) => smoothStep(f, edge) - smoothStep(f - duty, edge);
      const d2 = duty < 0.45 ? duty * 1.8 : duty * 0.5;
      return { shape, rest: 0, variant: (f) => smoothStep(f, edge) - smoothStep(f - d2, edge) };
    }
    case 'sawtooth': {
      const rise = rng.uniform(0.6, 0.95);
      const shape: Shape = (f) => (f < rise ? f / rise : 1 - (f - rise) / (1 - rise));
      return { shape, rest: 0, variant: (f) => (f < 1 - rise ? f / (1 - rise) : 1 - (f - (1 - rise)) / rise) };
    }
    case 'ecg': {
      const r = rng.uniform(0.3, 0.45);
      const tAmp = rng.uniform(0.15, 0.35);
      const shape: Shape = (f) =>
        0.12 * gaussian(f, r - 0.15, 0.025) -
        0.12 * gaussian(f, r - 0.025, 0.008) +
        gaussian(f, r, 0.012) -
        0.2 * gaussian(f, r + 0.025, 0.01) +
        tAmp * gaussian(f, r + 0.25, 0.045);
      // A ventricular-like beat: wide, no P wave, inverted T.
      const variant: Shape = (f) => 0.8 * gaussian(f, r + 0.02, 0.04) - 0.3 * gaussian(f, r + 0.09, 0.03) - tAmp * gaussian(f, r + 0.3, 0.05);
      return { shape, rest: 0, variant };
    }
    case 'machine': {
      const up = rng.uniform(0.05, 0.15);
      const hold = rng.uniform(0.3, 0.5);
      const down = rng.uniform(0.05, 0.15);
      const wiggle = rng.uniform(0.02, 0.08);
      const wf = 3 + rng.int(6);
      const stage = (f: number, h: number): number => {
        if (f < up) return f / up;
        if (f < up + h) return 1 + wiggle * Math.sin((2 * Math.PI * wf * (f - up)) / h);
        if (f < up + h + down) return 1 - (f - up - h) / down;
        return 0;
      };
      return { shape: (f) => stage(f, hold), rest: 0, variant: (f) => (f < up + hold * 0.4 ? stage(f, hold * 0.4) : f < up + hold * 0.4 + down ? stage(f, hold * 0.4) : 0.3 * gaussian(f, 0.8, 0.05)) };
    }
    case 'daily': {
      const a2 = rng.uniform(0.1, 0.35);
      const peak = rng.uniform(0.45, 0.65);
      const shape: Shape = (f) => Math.cos(2 * Math.PI * (f - peak)) + a2 * Math.cos(4 * Math.PI * (f - peak));
      return { shape, rest: 0, variant: (f) => 0.4 * Math.cos(2 * Math.PI * (f - peak)) + 0.6 * Math.cos(4 * Math.PI * (f - peak)) };
    }
  }
}

function periodFor(family: PeriodicFamily, rng: Rng): number {
  if (family === 'daily') return [96, 144, 288][rng.int(3)] as number;
  if (family === 'ecg') return Math.round(rng.uniform(60, 260));
  return Math.round(Math.exp(rng.uniform(Math.log(16), Math.log(300))));
}

/** Generates series number `index` of a split from `seed`: family and anomaly cycle through all pairs. */
export function generatePeriodicSeries(seed: number, index: number): PeriodicSeries {
  const family = PERIODIC_FAMILIES[index % PERIODIC_FAMILIES.length] as PeriodicFamily;
  const anomaly = SHAPE_ANOMALIES[index % SHAPE_ANOMALIES.length] as ShapeAnomaly;
  return buildSeries(seed, family, anomaly);
}

/** One series of `family` with one `anomaly`, deterministic in `seed`. */
export function buildSeries(seed: number, family: PeriodicFamily, anomaly: ShapeAnomaly): PeriodicSeries {
  const rng = new Rng(seed);
  const model = familyModel(family, rng);
  const period = periodFor(family, rng);
  const level = rng.uniform(0, 20);
  const amp = rng.uniform(0.2, 4);
  const lengthJitter = family === 'ecg' ? rng.uniform(0.01, 0.04) : rng.uniform(0, 0.02);
  const ampJitter = rng.uniform(0, 0.04);
  const noise = rng.uniform(0.01, 0.08) * amp;
  const wanderSd = rng.uniform(0, 0.1) * amp;
  const warpJitter = rng.uniform(0, 0.03);
  // Slow, normal changes of tempo (a machine's speed, a heart rate): up to ±8 % over 15-40 cycles.
  const tempoDepth = rng.uniform(0, 0.08);
  const tempoCycles = rng.uniform(15, 40);
  const step = rng.next() < 1 / 3 ? amp / rng.uniform(20, 100) : 0;
  const trainCycles = Math.max(20 + rng.int(15), Math.ceil(1200 / period));
  const testCycles = Math.max(20 + rng.int(15), Math.ceil(1200 / period));
  const anomalyCycle = trainCycles + Math.floor(testCycles * rng.uniform(0.2, 0.8));
  const values: number[] = [];
  let wander = 0;
  let trainLength = 0;
  let anomalyStart = -1;
  let anomalyEnd = -1;
  const emit = (f: number, shape: Shape, a: number, extraNoise = 0): void => {
    wander = 0.995 * wander + wanderSd * 0.1 * rng.normal();
    const v = level + a * shape(f) + wander + (noise + extraNoise) * rng.normal();
    values.push(step > 0 ? Math.round(v / step) * step : v);
  };
  const cycle = (shape: Shape, len: number, a: number, extraNoise = 0, noiseFrom = 0, noiseTo = 1): void => {
    // Each cycle runs a little differently: a small random warp of its phase.
    const w = warpJitter * rng.normal();
    for (let k = 0; k < len; k++) {
      const f = k / len;
      emit(f + w * Math.sin(2 * Math.PI * f), shape, a, f >= noiseFrom && f < noiseTo ? extraNoise : 0);
    }
  };
  let c = 0;
  const tempo = () => 1 + tempoDepth * Math.sin((2 * Math.PI * c) / tempoCycles);
  const normalLength = () => Math.max(6, Math.round(period * tempo() * (1 + lengthJitter * rng.normal())));
  const normalAmp = () => amp * (1 + ampJitter * rng.normal());
  for (; c < trainCycles + testCycles; c++) {
    if (c === trainCycles) trainLength = values.length;
    if (c !== anomalyCycle) {
      cycle(model.shape, normalLength(), normalAmp());
      continue;
    }
    anomalyStart = values.length;
    switch (anomaly) {
      case 'distorted_cycle': {
        const warp = rng.uniform(0.04, 0.1) * (rng.next() < 0.5 ? -1 : 1);
        const bumpAt = rng.uniform(0.1, 0.9);
        const bump = rng.uniform(0.08, 0.2) * (rng.next() < 0.5 ? -1 : 1);
        cycle((f) => model.shape(f + warp * Math.sin(2 * Math.PI * f)) + bump * gaussian(f, bumpAt, 0.06), normalLength(), normalAmp());
        break;
      }
      case 'missing_beat':
        cycle(() => model.rest, normalLength(), normalAmp());
        break;
      case 'extra_beat':
        cycle(model.shape, Math.max(6, Math.round(period * tempo() * rng.uniform(0.45, 0.65))), normalAmp());
        break;
      case 'different_cycle':
        cycle(model.variant, normalLength(), normalAmp());
        break;
      case 'frequency_change': {
        const factor = rng.next() < 0.5 ? rng.uniform(0.75, 0.85) : rng.uniform(1.2, 1.35);
        const cycles = 1 + rng.int(3);
        for (let k = 0; k < cycles; k++) cycle(model.shape, Math.max(6, Math.round(period * tempo() * factor)), normalAmp());
        break;
      }
      case 'amplitude_change':
        cycle(model.shape, normalLength(), amp * (rng.next() < 0.5 ? rng.uniform(0.6, 0.8) : rng.uniform(1.25, 1.5)));
        break;
      case 'noise_burst': {
        const from = rng.uniform(0, 0.6);
        cycle(model.shape, normalLength(), normalAmp(), noise * rng.uniform(2, 4) + 0.03 * amp, from, from + rng.uniform(0.2, 0.4));
        break;
      }
    }
    anomalyEnd = values.length - 1;
  }
  return {
    name: `${family}/${anomaly}/${seed}`,
    seed,
    family,
    anomaly,
    period,
    values: Float64Array.from(values),
    trainLength,
    anomalyStart,
    anomalyEnd,
  };
}
