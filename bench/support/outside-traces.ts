/**
 * An outside check for the default detector: Arduino-like sensor traces with labelled fault
 * events, written from a short spec without reading the project's own synthetic generator, so
 * that its assumptions are not the ones the detector was tuned on.
 *
 * A trace is 15 minutes of one sensor: 5 minutes of normal data to train on, then 10 minutes to
 * score with 3–6 labelled events (none in the first 20 s, at least 10 s of normal data between
 * two). The sample rate is drawn log-uniform in 1–100 Hz; the clock runs off by up to ±3 % with
 * per-sample jitter and a rare long loop iteration, and timestamps are whole milliseconds.
 *
 * Families (one per trace): `wander` (level + minutes-scale drift + pink-ish noise), `periodic`
 * (one sine / sawtooth / triangle / soft pulse train, period 0.5–60 s), `multi_periodic` (machine
 * duty cycle + mains hum aliased by the real sample times + a slow thermal cycle), `random_walk`
 * (integrated noise with weak mean reversion), `adc` (10-bit ADC over 0–5 V behind an optional
 * divider up to 24 V, noise 0.25–1 code), `heavy_tail` (Student-t or Laplace noise with short
 * bursts of interference) and `loose_wire` (a wandering level with normal one-sample glitches to
 * about 0 V, in training too, never labelled).
 *
 * Magnitudes are judged against the normal trace (events not yet added, glitches left out) near
 * the event: `rough` is the spread of sample-to-sample changes within ±30 s (RMS of the first
 * differences without their largest 2 %, / √2; about the noise std for white noise; at least one
 * quantisation step), what a reading has to beat to stand out from its neighbours; `band` is the 5–95 % range of the values within ±30 s (or ± the event's length
 * when longer), what the eye sees as the signal's swing. Each size is drawn uniformly between the
 * subtle and the obvious end of its range:
 * - `spike`: 1–3 samples, height max(5–12 rough, 0.15–0.45 band), up or down (up only on a loose wire).
 * - `dip`: 0.5–4 s (≥ 2 samples) soft sag, depth max(4–10 rough, 0.3–0.8 band); never below 0 V.
 * - `level_shift`: step held 5–120 s (≥ 15 samples), then back; size max(3–8 rough, 0.35–1.2 band).
 * - `ramp`: trapezoid away and back over 30–150 s; height max(5–12 rough, 0.6–2 band).
 * - `variance_burst`: 2–10 s (≥ 10 samples) of added Gaussian noise, std max(3–8 rough, 0.1–0.3 band).
 * - `oscillation`: added sine for 5–30 s (≥ 4 cycles, ≥ 6 samples a cycle), ≥ 30 % away from every
 *   frequency of the normal signal (folded by the sample rate), amplitude max(3–6 rough, 0.15–0.4 band).
 * - `stuck`: the last reading repeated for 3–30 s (≥ 6 samples), only where the normal readings
 *   change at least every other sample and span ≥ 2 rough and ≥ 3 steps.
 * - `dropout`: 2–10 s (≥ 4 samples) at exactly 0 V where the local 1 % quantile is ≥ max(0.5 V,
 *   0.3 band, 6 rough); otherwise (or half the time) the readings are missing for 2–10 s and ≥ 5 periods.
 * - `frequency_change`: the main cycle runs 1.3–2× faster or slower for a whole number of extra
 *   (or fewer) cycles, 10–150 s, so it is back in phase afterwards; the cycle has ≥ 8 samples at
 *   both rates and a swing ≥ 5 rough.
 * - `distorted_cycle`: one cycle of the main component flattened (× 0.1–0.35), inverted, missing
 *   (held at its low level) or doubled (two cycles in one period); same cycle conditions.
 * Additive events that would leave 0 V–full scale flip their sign, and are dropped when both fail.
 * @module
 */
import type { Reading } from '../../src/detectors/index.ts';
import { Rng, deriveSeed } from '../../src/detectors/random.ts';

export const OUTSIDE_FAMILIES = ['wander', 'periodic', 'multi_periodic', 'random_walk', 'adc', 'heavy_tail', 'loose_wire'] as const;
export type OutsideFamily = (typeof OUTSIDE_FAMILIES)[number];

export const OUTSIDE_EVENT_KINDS = [
  'spike',
  'dip',
  'level_shift',
  'ramp',
  'variance_burst',
  'oscillation',
  'stuck',
  'dropout',
  'frequency_change',
  'distorted_cycle',
] as const;
export type OutsideEventKind = (typeof OUTSIDE_EVENT_KINDS)[number];

/** Kinds that need a main periodic component. */
const CYCLE_KINDS: readonly OutsideEventKind[] = ['frequency_change', 'distorted_cycle'];
const PERIODIC_FAMILIES: readonly OutsideFamily[] = ['periodic', 'multi_periodic'];

export interface OutsideEvent {
  kind: OutsideEventKind;
  /** First affected reading (for missing readings: when the first missing one was due), epoch ms. */
  start: number;
  /** Last affected reading (for missing readings: the first reading after the gap), epoch ms. */
  end: number;
  /** What was done, for eyeballing: sizes in volts and in units of the local `rough` and `band`. */
  detail: Record<string, number | string>;
}

export interface OutsideTraceInfo {
  family: OutsideFamily;
  /** The nominal rate the sketch was written for. */
  sampleRateHz: number;
  /** The rate the free-running loop really achieved. */
  actualRateHz: number;
  /** Full scale in volts (24, or 5 × the divider ratio for the ADC family). */
  fullScaleV: number;
  /** Smallest step of the readings in volts. */
  quantumV: number;
  /** Loose-wire glitches in the training and scored parts (0 for other families). */
  glitches: { train: number; test: number };
  model: Record<string, number | string>;
}

export interface OutsideTrace {
  train: Reading[];
  test: Reading[];
  events: OutsideEvent[];
  info: OutsideTraceInfo;
}

const EPOCH_MS = Date.UTC(2025, 0, 6, 9, 0, 0);
const TRAIN_S = 300;
const TOTAL_S = 900;
const QUIET_START_S = 20;
const MIN_GAP_S = 10;

type Wave = (u: number) => number;

interface MainCycle {
  f0: number;
  amp: number;
  phase0: number;
  wave: Wave;
}

interface Normal {
  /** The normal signal without the main cycle, volts, before clipping and quantising. */
  rest: Float64Array;
  main?: MainCycle;
  /** Frequencies present in the normal signal (Hz, before folding). */
  freqs: number[];
  fullScale: number;
  quantum: number;
  glitchRatePerMin: number;
  model: Record<string, number | string>;
}

/** A deterministic trace for `seed`; see the module comment for what it contains. */
export function generateOutsideTrace(seed: number): OutsideTrace {
  const rng = new Rng(deriveSeed(seed, 0x07));
  const family = pick(rng, OUTSIDE_FAMILIES);
  const sampleRateHz = Math.exp(rng.uniform(0, Math.log(100)));
  const clockError = rng.uniform(-0.03, 0.03);
  const actualRateHz = sampleRateHz * (1 + clockError);
  const times = sampleTimes(rng, actualRateHz);
  const n = times.length;
  const trainCount = times.findIndex((t) => t >= TRAIN_S);

  const normal = buildNormal(family, rng, times, actualRateHz);
  const comp = new Float64Array(n);
  if (normal.main) for (let i = 0; i < n; i++) comp[i] = cycleValue(normal.main, normal.main.phase0 + normal.main.f0 * (times[i] as number));

  const glitch = new Uint8Array(n);
  if (family === 'loose_wire') {
    for (let i = 1; i < n; i++) {
      const dt = (times[i] as number) - (times[i - 1] as number);
      if (rng.next() < (normal.glitchRatePerMin / 60) * dt) glitch[i] = 1;
    }
    if (!glitch.subarray(0, trainCount).includes(1)) glitch[Math.floor(trainCount / 2)] = 1;
  }

  const finish = (v: number): number => quantise(Math.min(normal.fullScale, Math.max(0, v)), normal.quantum);
  const seen = new Float64Array(n);
  for (let i = 0; i < n; i++) seen[i] = finish((normal.rest[i] as number) + (comp[i] as number));

  const ctx: PlanContext = { rng, times, seen, glitch, normal, family, actualRateHz, trainCount };
  const planned: Planned[] = [];
  const target = 3 + rng.int(4);
  // Cycle kinds are drawn twice as often where they apply, since they are the hardest to place.
  const kinds = PERIODIC_FAMILIES.includes(family) ? [...OUTSIDE_EVENT_KINDS, ...CYCLE_KINDS] : OUTSIDE_EVENT_KINDS.filter((k) => !CYCLE_KINDS.includes(k));
  for (let attempt = 0; attempt < 400 && planned.length < target; attempt++) {
    const p = planEvent(pick(rng, kinds), ctx, planned);
    if (p) planned.push(p);
  }
  planned.sort((a, b) => a.i0 - b.i0);

  const values = Float64Array.from(normal.rest);
  const keep = new Uint8Array(n).fill(1);
  const newComp = Float64Array.from(comp);
  for (const p of planned) p.applyCycle?.(newComp);
  for (let i = 0; i < n; i++) values[i] = (values[i] as number) + (newComp[i] as number);
  for (const p of planned) p.apply(values, keep);
  for (const p of planned) {
    const lo = p.t0 - 1;
    const hi = p.t1 + 1;
    for (let i = 0; i < n; i++) if ((times[i] as number) >= lo && (times[i] as number) <= hi) glitch[i] = 0;
  }
  const glitchLevels = new Float64Array(n);
  for (let i = 0; i < n; i++) glitchLevels[i] = rng.uniform(0, 0.03);
  for (let i = 0; i < n; i++) if (glitch[i]) values[i] = glitchLevels[i] as number;

  const ts = millis(times);
  const train: Reading[] = [];
  const test: Reading[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    const r = { ts: ts[i] as number, value: finish(values[i] as number) };
    (i < trainCount ? train : test).push(r);
  }
  const events = planned.map((p): OutsideEvent => ({ kind: p.kind, start: p.labelStart(ts), end: p.labelEnd(ts), detail: p.detail }));
  let glitchTrain = 0;
  let glitchTest = 0;
  for (let i = 0; i < n; i++) {
    if (glitch[i] && i < trainCount) glitchTrain++;
    else if (glitch[i]) glitchTest++;
  }
  return {
    train,
    test,
    events,
    info: {
      family,
      sampleRateHz,
      actualRateHz,
      fullScaleV: normal.fullScale,
      quantumV: normal.quantum,
      glitches: { train: glitchTrain, test: glitchTest },
      model: normal.model,
    },
  };
}

/** Sample times in seconds from the start: a free-running loop with jitter and rare long iterations. */
function sampleTimes(rng: Rng, rateHz: number): number[] {
  const period = 1 / rateHz;
  const jitter = rng.uniform(0.001, 0.01);
  const times: number[] = [];
  let t = rng.uniform(0, period);
  while (t < TOTAL_S) {
    times.push(t);
    let dt = period * (1 + jitter * rng.normal());
    if (rng.next() < 0.0005) dt += period * rng.uniform(0.3, 1.5);
    t += Math.max(dt, period * 0.5);
  }
  return times;
}

function millis(times: readonly number[]): number[] {
  const out: number[] = [];
  let prev = -Infinity;
  for (const t of times) {
    const ms = Math.max(prev + 1, EPOCH_MS + Math.round(t * 1000));
    out.push(ms);
    prev = ms;
  }
  return out;
}

function buildNormal(family: OutsideFamily, rng: Rng, times: readonly number[], rateHz: number): Normal {
  const n = times.length;
  const rest = new Float64Array(n);
  const freqs: number[] = [];
  const model: Record<string, number | string> = {};
  let fullScale = 24;
  let quantum = 0.001;
  let main: MainCycle | undefined;
  let glitchRatePerMin = 0;

  const addPinkish = (sigma: number, into: Float64Array = rest): void => {
    const add = colouredNoise(rng, times, sigma);
    for (let i = 0; i < n; i++) into[i] = (into[i] as number) + (add[i] as number);
  };
  const addOu = (tauS: number, std: number): void => {
    const add = ou(rng, times, tauS, std);
    for (let i = 0; i < n; i++) rest[i] = (rest[i] as number) + (add[i] as number);
  };

  switch (family) {
    case 'wander':
    case 'loose_wire': {
      const sigma = Math.exp(rng.uniform(Math.log(0.003), Math.log(0.08)));
      const wanderStd = sigma * rng.uniform(2, 12);
      const margin = 5 * (sigma + wanderStd) + 0.3;
      const level = family === 'loose_wire' ? rng.uniform(Math.max(2, margin), 24 - margin) : rng.uniform(margin, 24 - margin);
      const tau = rng.uniform(60, 600);
      rest.fill(level);
      addOu(tau, wanderStd);
      addPinkish(sigma);
      if (family === 'loose_wire') glitchRatePerMin = rng.uniform(0.3, 3);
      Object.assign(model, { level, sigma, wanderStd, wanderTauS: tau, glitchRatePerMin });
      break;
    }
    case 'periodic':
    case 'multi_periodic': {
      const periodS = family === 'periodic' ? Math.exp(rng.uniform(Math.log(0.5), Math.log(60))) : Math.exp(rng.uniform(Math.log(4), Math.log(60)));
      const shape = family === 'periodic' ? pick(rng, ['sine', 'sawtooth', 'triangle', 'pulse'] as const) : pick(rng, ['pulse', 'sawtooth'] as const);
      const amp = Math.exp(rng.uniform(Math.log(0.05), Math.log(4)));
      const sigma = (2 * amp) / rng.uniform(8, 60);
      let extra = 0;
      if (family === 'multi_periodic') {
        const humHz = rng.next() < 0.5 ? 50 : 60;
        const humAmp = amp * rng.uniform(0.05, 0.25);
        const thermalS = rng.uniform(120, 480);
        const thermalAmp = amp * rng.uniform(0.2, 0.8);
        const humPhase = rng.uniform(0, 2 * Math.PI);
        const thermalPhase = rng.uniform(0, 2 * Math.PI);
        for (let i = 0; i < n; i++) {
          const t = times[i] as number;
          rest[i] = humAmp * Math.sin(2 * Math.PI * humHz * t + humPhase) + thermalAmp * Math.sin((2 * Math.PI * t) / thermalS + thermalPhase);
        }
        freqs.push(humHz, 1 / thermalS);
        extra = humAmp + thermalAmp;
        Object.assign(model, { humHz, humAmp, thermalS, thermalAmp });
      }
      const margin = amp + extra + 5 * sigma + 0.2;
      const level = rng.uniform(margin, 24 - margin);
      for (let i = 0; i < n; i++) rest[i] = (rest[i] as number) + level;
      addPinkish(sigma);
      main = { f0: 1 / periodS, amp, phase0: rng.next(), wave: waveform(rng, shape) };
      freqs.push(main.f0, 2 * main.f0, 3 * main.f0);
      Object.assign(model, { level, shape, periodS, amp, sigma });
      break;
    }
    case 'random_walk': {
      const std = rng.uniform(0.3, 3);
      const tau = rng.uniform(60, 600);
      const level = rng.uniform(4 * std + 0.3, 24 - 4 * std - 0.3);
      const sigma = Math.exp(rng.uniform(Math.log(0.003), Math.log(0.05)));
      rest.fill(level);
      addOu(tau, std);
      addPinkish(sigma);
      Object.assign(model, { level, walkStd: std, walkTauS: tau, sigma });
      break;
    }
    case 'adc': {
      const ratio = pick(rng, [1, 1, 2, 3.2, 4.8] as const);
      fullScale = (5 * ratio * 1023) / 1024;
      quantum = (5 / 1024) * ratio;
      const level = rng.uniform(0.1, 0.9) * fullScale;
      const codesNoise = rng.uniform(0.25, 1);
      const wanderCodes = rng.uniform(0.5, 4);
      const tau = rng.uniform(30, 300);
      rest.fill(level);
      addOu(tau, wanderCodes * quantum);
      if (rng.next() < 0.5) {
        const periodS = rng.uniform(20, 200);
        const ampCodes = rng.uniform(2, 20);
        const ph = rng.uniform(0, 2 * Math.PI);
        for (let i = 0; i < n; i++) rest[i] = (rest[i] as number) + ampCodes * quantum * Math.sin((2 * Math.PI * (times[i] as number)) / periodS + ph);
        freqs.push(1 / periodS);
        Object.assign(model, { slowPeriodS: periodS, slowAmpCodes: ampCodes });
      }
      for (let i = 0; i < n; i++) rest[i] = (rest[i] as number) + codesNoise * quantum * rng.normal();
      Object.assign(model, { dividerRatio: ratio, level, noiseCodes: codesNoise, wanderCodes, wanderTauS: tau });
      break;
    }
    case 'heavy_tail': {
      const scale = Math.exp(rng.uniform(Math.log(0.005), Math.log(0.1)));
      const wanderStd = scale * rng.uniform(1, 8);
      const margin = 12 * scale + 5 * wanderStd + 0.3;
      const level = rng.uniform(margin, 24 - margin);
      const tau = rng.uniform(60, 600);
      rest.fill(level);
      addOu(tau, wanderStd);
      const laplace = rng.next() < 0.5;
      const nu = 3 + rng.int(3);
      for (let i = 0; i < n; i++) rest[i] = (rest[i] as number) + scale * (laplace ? laplaceDraw(rng) : studentT(rng, nu));
      const burstsPerMin = rng.uniform(0.3, 2);
      const burstStd = scale * rng.uniform(2, 5);
      let burstUntil = -1;
      for (let i = 1; i < n; i++) {
        const t = times[i] as number;
        if (t > burstUntil && rng.next() < (burstsPerMin / 60) * (t - (times[i - 1] as number))) burstUntil = t + rng.uniform(0.1, 1.5);
        if (t <= burstUntil) rest[i] = (rest[i] as number) + burstStd * rng.normal();
      }
      Object.assign(model, { level, noise: laplace ? 'laplace' : `student-t(${nu})`, scale, wanderStd, burstsPerMin, burstStd });
      break;
    }
  }
  model.actualRateHz = rateHz;
  return { rest, ...(main ? { main } : {}), freqs, fullScale, quantum, glitchRatePerMin, model };
}

/** Sensor noise: white plus two Ornstein–Uhlenbeck parts (0.05–0.3 s and 1–5 s), total std `sigma`. */
function colouredNoise(rng: Rng, times: readonly number[], sigma: number): Float64Array {
  const wWhite = rng.uniform(0.3, 0.8);
  const wFast = rng.uniform(0.2, 0.7);
  const wSlow = rng.uniform(0.1, 0.5);
  const norm = sigma / Math.sqrt(wWhite ** 2 + wFast ** 2 + wSlow ** 2);
  const fast = ou(rng, times, rng.uniform(0.05, 0.3), wFast * norm);
  const slow = ou(rng, times, rng.uniform(1, 5), wSlow * norm);
  const out = new Float64Array(times.length);
  for (let i = 0; i < times.length; i++) out[i] = (fast[i] as number) + (slow[i] as number) + wWhite * norm * rng.normal();
  return out;
}

/** A stationary Ornstein–Uhlenbeck process sampled at `times`. */
function ou(rng: Rng, times: readonly number[], tauS: number, std: number): Float64Array {
  const out = new Float64Array(times.length);
  let x = std * rng.normal();
  for (let i = 0; i < times.length; i++) {
    if (i > 0) {
      const a = Math.exp(-((times[i] as number) - (times[i - 1] as number)) / tauS);
      x = a * x + std * Math.sqrt(1 - a * a) * rng.normal();
    }
    out[i] = x;
  }
  return out;
}

function studentT(rng: Rng, nu: number): number {
  let chi = 0;
  for (let k = 0; k < nu; k++) chi += rng.normal() ** 2;
  return rng.normal() / Math.sqrt(chi / nu);
}

function laplaceDraw(rng: Rng): number {
  return Math.log(1 - rng.next()) - Math.log(1 - rng.next());
}

/** A waveform over one cycle `u` in [0, 1), ranging over [-1, 1]. */
function waveform(rng: Rng, shape: 'sine' | 'sawtooth' | 'triangle' | 'pulse'): Wave {
  switch (shape) {
    case 'sine':
      return (u) => Math.sin(2 * Math.PI * u);
    case 'triangle':
      return (u) => 1 - 4 * Math.abs(u - 0.5);
    case 'sawtooth': {
      const fall = rng.uniform(0.04, 0.15);
      return (u) => (u < 1 - fall ? -1 + (2 * u) / (1 - fall) : 1 - (2 * (u - (1 - fall))) / fall);
    }
    case 'pulse': {
      const duty = rng.uniform(0.2, 0.7);
      const edge = rng.uniform(0.02, 0.08);
      return (u) => -1 + 2 * (u < duty ? smooth(u / edge) : smooth(1 - (u - duty) / edge));
    }
  }
}

function smooth(x: number): number {
  return 0.5 - 0.5 * Math.cos(Math.PI * Math.max(0, Math.min(1, x)));
}

function cycleValue(main: MainCycle, phaseCycles: number): number {
  return main.amp * main.wave(phaseCycles - Math.floor(phaseCycles));
}

function quantise(v: number, q: number): number {
  return Math.round(v / q) * q;
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)] as T;
}

interface PlanContext {
  rng: Rng;
  times: readonly number[];
  /** The normal trace as it would be read (clipped, quantised, glitches still in). */
  seen: Float64Array;
  glitch: Uint8Array;
  normal: Normal;
  family: OutsideFamily;
  actualRateHz: number;
  trainCount: number;
}

interface Planned {
  kind: OutsideEventKind;
  i0: number;
  i1: number;
  /** The event's span in seconds from the start. */
  t0: number;
  t1: number;
  detail: Record<string, number | string>;
  applyCycle?: (comp: Float64Array) => void;
  apply: (values: Float64Array, keep: Uint8Array) => void;
  labelStart: (ts: readonly number[]) => number;
  labelEnd: (ts: readonly number[]) => number;
}

interface Local {
  rough: number;
  band: number;
  q01: number;
  min: number;
  max: number;
}

/** Scales of the normal trace near samples [i0, i1] (glitches left out). */
function localScales(ctx: PlanContext, i0: number, i1: number, halfWindowS: number): Local {
  const { times, seen, glitch } = ctx;
  const lo = (times[i0] as number) - halfWindowS;
  const hi = (times[i1] as number) + halfWindowS;
  const vals: number[] = [];
  const diffs: number[] = [];
  let prev: number | undefined;
  for (let i = Math.max(0, i0 - 1); i >= 0 && (times[i] as number) >= lo; i--) {
    if (!glitch[i]) vals.push(seen[i] as number);
  }
  vals.reverse();
  for (let i = i0; i < times.length && (times[i] as number) <= hi; i++) if (!glitch[i]) vals.push(seen[i] as number);
  for (const v of vals) {
    if (prev !== undefined) diffs.push(Math.abs(v - prev));
    prev = v;
  }
  diffs.sort((a, b) => a - b);
  const kept = diffs.slice(0, Math.max(1, Math.floor(diffs.length * 0.98)));
  const rms = Math.sqrt(kept.reduce((sum, d) => sum + d * d, 0) / kept.length);
  const rough = Math.max(ctx.normal.quantum, rms / Math.SQRT2);
  const band = Math.max(rough, quantile(vals, 0.95) - quantile(vals, 0.05));
  let min = Infinity;
  let max = -Infinity;
  for (let i = i0; i <= i1; i++) {
    if (glitch[i]) continue;
    min = Math.min(min, seen[i] as number);
    max = Math.max(max, seen[i] as number);
  }
  return { rough, band, q01: quantile(vals, 0.01), min, max };
}

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] as number;
}

/** Sample index range for a span of `durS` seconds starting at a random time in the scored part, or undefined when it does not fit. */
function placeSpan(ctx: PlanContext, planned: readonly Planned[], durS: number, minSamples: number): { i0: number; i1: number } | undefined {
  const { rng, times, trainCount } = ctx;
  const first = (times[trainCount] as number) + QUIET_START_S;
  const last = (times[times.length - 1] as number) - durS - 1;
  if (last <= first) return undefined;
  const s = rng.uniform(first, last);
  let i0 = trainCount;
  while ((times[i0] as number) < s) i0++;
  let i1 = i0;
  while (i1 + 1 < times.length && (times[i1 + 1] as number) <= s + durS) i1++;
  if (i1 - i0 + 1 < minSamples) i1 = i0 + minSamples - 1;
  if (i1 >= times.length - 2) return undefined;
  const t0 = times[i0] as number;
  const t1 = times[i1] as number;
  for (const p of planned) if (!(t0 >= p.t1 + MIN_GAP_S || t1 + MIN_GAP_S <= p.t0)) return undefined;
  return { i0, i1 };
}

function fits(local: Local, fullScale: number, delta: number): boolean {
  return delta >= 0 ? local.max + delta <= fullScale : local.min + delta >= 0;
}

/** A signed size that stays within 0 V–full scale, trying `sign` first; undefined when neither fits. */
function signed(local: Local, fullScale: number, size: number, sign: number): number | undefined {
  if (fits(local, fullScale, sign * size)) return sign * size;
  if (fits(local, fullScale, -sign * size)) return -sign * size;
  return undefined;
}

function additive(
  kind: OutsideEventKind,
  i0: number,
  i1: number,
  ctx: PlanContext,
  detail: Record<string, number | string>,
  delta: (i: number) => number,
): Planned {
  return {
    kind,
    i0,
    i1,
    t0: ctx.times[i0] as number,
    t1: ctx.times[i1] as number,
    detail,
    apply: (values) => {
      for (let i = i0; i <= i1; i++) values[i] = (values[i] as number) + delta(i);
    },
    labelStart: (ts) => ts[i0] as number,
    labelEnd: (ts) => ts[i1] as number,
  };
}

/**
 * Draws an event's size between the subtle and the obvious end of its range: max(`rough` × the
 * local rough, `band` × the local band), each multiple drawn uniformly; `detail` records both.
 */
function drawSize(ctx: PlanContext, local: Local, rough: readonly [number, number], band: readonly [number, number]): { size: number; detail: Record<string, number> } {
  const roughMul = ctx.rng.uniform(rough[0], rough[1]);
  const bandMul = ctx.rng.uniform(band[0], band[1]);
  return { size: Math.max(roughMul * local.rough, bandMul * local.band), detail: { rough: local.rough, band: local.band, roughMul, bandMul } };
}

/** Places an event of `durS` seconds (at least `minSamples` readings) and measures the normal trace within ±`halfWindowS` of it. */
function placeLocal(ctx: PlanContext, planned: readonly Planned[], durS: number, minSamples: number, halfWindowS = 30): { i0: number; i1: number; local: Local } | undefined {
  const span = placeSpan(ctx, planned, durS, minSamples);
  return span && { ...span, local: localScales(ctx, span.i0, span.i1, halfWindowS) };
}

function planEvent(kind: OutsideEventKind, ctx: PlanContext, planned: readonly Planned[]): Planned | undefined {
  const { rng, times, normal, actualRateHz } = ctx;
  const period = 1 / actualRateHz;
  const fullScale = normal.fullScale;
  const sign = rng.next() < 0.5 ? 1 : -1;
  switch (kind) {
    case 'spike': {
      const count = 1 + rng.int(3);
      const span = placeSpan(ctx, planned, 0, count);
      if (!span) return undefined;
      const { i0 } = span;
      const i1 = i0 + count - 1;
      const local = localScales(ctx, i0, i1, 30);
      const { size: h, detail } = drawSize(ctx, local, [5, 12], [0.15, 0.45]);
      const d = ctx.family === 'loose_wire' ? (fits(local, fullScale, h) ? h : undefined) : signed(local, fullScale, h, sign);
      if (d === undefined) return undefined;
      const shape = Array.from({ length: count }, (_, k) => (k === Math.floor(count / 2) ? 1 : rng.uniform(0.5, 1)));
      return additive(kind, i0, i1, ctx, { size: d, samples: count, ...detail }, (i) => d * (shape[i - i0] as number));
    }
    case 'dip': {
      const dur = Math.max(rng.uniform(0.5, 4), 2 * period);
      const placed = placeLocal(ctx, planned, dur, 2);
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const { size: depth, detail } = drawSize(ctx, local, [4, 10], [0.3, 0.8]);
      if (!fits(local, fullScale, -depth)) return undefined;
      const m = i1 - i0 + 1;
      return additive(kind, i0, i1, ctx, { size: -depth, ...detail }, (i) => -depth * Math.sqrt(Math.sin((Math.PI * (i - i0 + 0.5)) / m)));
    }
    case 'level_shift': {
      const dur = Math.max(rng.uniform(5, 120), 15 * period);
      const placed = placeLocal(ctx, planned, dur, 15, Math.max(30, dur));
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const { size, detail } = drawSize(ctx, local, [3, 8], [0.35, 1.2]);
      const d = signed(local, fullScale, size, sign);
      if (d === undefined) return undefined;
      return additive(kind, i0, i1, ctx, { size: d, durationS: dur, ...detail }, () => d);
    }
    case 'ramp': {
      const dur = rng.uniform(30, 150);
      const placed = placeLocal(ctx, planned, dur, 20, Math.max(30, dur));
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const { size, detail } = drawSize(ctx, local, [5, 12], [0.6, 2]);
      const d = signed(local, fullScale, size, sign);
      if (d === undefined) return undefined;
      const riseFrac = rng.uniform(0.3, 0.5);
      const t0 = times[i0] as number;
      const len = (times[i1] as number) - t0;
      return additive(kind, i0, i1, ctx, { size: d, durationS: len, riseFrac, ...detail }, (i) => {
        const u = ((times[i] as number) - t0) / len;
        return d * Math.min(1, u / riseFrac, (1 - u) / riseFrac);
      });
    }
    case 'variance_burst': {
      const dur = Math.max(rng.uniform(2, 10), 10 * period);
      const placed = placeLocal(ctx, planned, dur, 10);
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const { size: std, detail } = drawSize(ctx, local, [3, 8], [0.1, 0.3]);
      if (local.min - 2 * std < 0 || local.max + 2 * std > fullScale) return undefined;
      const noise = Array.from({ length: i1 - i0 + 1 }, () => std * rng.normal());
      return additive(kind, i0, i1, ctx, { std, durationS: dur, ...detail }, (i) => noise[i - i0] as number);
    }
    case 'oscillation': {
      const fHi = Math.min(actualRateHz / 6, 5);
      const fLo = Math.max(4 / 30, fHi / 20);
      if (fHi <= fLo) return undefined;
      const f = Math.exp(rng.uniform(Math.log(fLo), Math.log(fHi)));
      const present = normal.freqs.map((g) => folded(g, actualRateHz));
      if (present.some((g) => g > 0 && Math.abs(Math.log(f / g)) < Math.log(1.3))) return undefined;
      const dur = Math.min(30, Math.max(rng.uniform(5, 30), 4 / f));
      const placed = placeLocal(ctx, planned, dur, 8);
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const { size: a, detail } = drawSize(ctx, local, [3, 6], [0.15, 0.4]);
      if (local.min - a < 0 || local.max + a > fullScale) return undefined;
      const t0 = times[i0] as number;
      const ph = rng.uniform(0, 2 * Math.PI);
      return additive(kind, i0, i1, ctx, { amplitude: a, freqHz: f, durationS: dur, ...detail }, (i) =>
        a * Math.sin(2 * Math.PI * f * ((times[i] as number) - t0) + ph),
      );
    }
    case 'stuck': {
      const dur = Math.max(rng.uniform(3, 30), 6 * period);
      const placed = placeLocal(ctx, planned, dur, 6);
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      let changes = 0;
      for (let i = i0; i <= i1; i++) if (ctx.seen[i] !== ctx.seen[i - 1]) changes++;
      const range = local.max - local.min;
      if (changes < 0.5 * (i1 - i0 + 1) || range < 2 * local.rough || range < 3 * normal.quantum - 1e-12) return undefined;
      return {
        kind,
        i0,
        i1,
        t0: times[i0] as number,
        t1: times[i1] as number,
        detail: { durationS: dur, normalRange: range, rough: local.rough },
        apply: (values) => {
          for (let i = i0; i <= i1; i++) values[i] = values[i0 - 1] as number;
        },
        labelStart: (ts) => ts[i0] as number,
        labelEnd: (ts) => ts[i1] as number,
      };
    }
    case 'dropout': {
      const dur = Math.max(rng.uniform(2, 10), 4 * period);
      const placed = placeLocal(ctx, planned, dur, 4);
      if (!placed) return undefined;
      const { i0, i1, local } = placed;
      const zeroOk = local.q01 >= Math.max(0.5, 0.3 * local.band, 6 * local.rough) && local.min >= 0.5;
      if (zeroOk && rng.next() < 0.5) {
        return {
          kind,
          i0,
          i1,
          t0: times[i0] as number,
          t1: times[i1] as number,
          detail: { variant: 'zero', durationS: dur, q01: local.q01 },
          apply: (values) => values.fill(0, i0, i1 + 1),
          labelStart: (ts) => ts[i0] as number,
          labelEnd: (ts) => ts[i1] as number,
        };
      }
      const gapS = Math.max(dur, 5 * period);
      let j = i0;
      while (j < times.length - 1 && (times[j] as number) < (times[i0] as number) + gapS) j++;
      if (j >= times.length - 1) return undefined;
      const t1 = times[j] as number;
      for (const p of planned) if (!((times[i0] as number) >= p.t1 + MIN_GAP_S || t1 + MIN_GAP_S <= p.t0)) return undefined;
      return {
        kind,
        i0,
        i1: j,
        t0: times[i0] as number,
        t1,
        detail: { variant: 'missing', gapS: t1 - (times[i0 - 1] as number), missing: j - i0 },
        apply: (_values, keep) => keep.fill(0, i0, j),
        labelStart: (ts) => ts[i0] as number,
        labelEnd: (ts) => ts[j] as number,
      };
    }
    case 'frequency_change':
      return planFrequencyChange(ctx, planned);
    case 'distorted_cycle':
      return planDistortedCycle(ctx, planned);
  }
}

function folded(f: number, fs: number): number {
  const r = f - Math.round(f / fs) * fs;
  return Math.abs(r);
}

/** A cycle that is well sampled and visible against the local roughness. */
function cycleUsable(main: MainCycle, fHz: number, rateHz: number, local: Local): boolean {
  return rateHz / fHz >= 8 && 2 * main.amp >= 5 * local.rough;
}

function planFrequencyChange(ctx: PlanContext, planned: readonly Planned[]): Planned | undefined {
  const { rng, times, normal, actualRateHz } = ctx;
  const main = normal.main;
  if (!main) return undefined;
  const faster = rng.next() < 0.5;
  const ratio = faster ? rng.uniform(1.3, 2) : 1 / rng.uniform(1.3, 2);
  const perCycle = Math.abs(ratio - 1) * main.f0;
  const minDur = Math.max(10, 2 / (main.f0 * Math.min(1, ratio)));
  const k = Math.max(1, Math.ceil(minDur * perCycle));
  const dur = k / perCycle;
  if (dur > 150) return undefined;
  const span = placeSpan(ctx, planned, dur, 8);
  if (!span) return undefined;
  const ts0 = times[span.i0] as number;
  const ts1 = ts0 + dur;
  let i1 = span.i0;
  while ((times[i1 + 1] as number) <= ts1) i1++;
  const local = localScales(ctx, span.i0, i1, 30);
  if (!cycleUsable(main, main.f0 * Math.max(1, ratio), actualRateHz, local)) return undefined;
  const i0 = span.i0;
  return {
    kind: 'frequency_change',
    i0,
    i1,
    t0: ts0,
    t1: times[i1] as number,
    detail: { ratio, periodS: 1 / main.f0, durationS: dur, extraCycles: faster ? k : -k, amp: main.amp, rough: local.rough },
    applyCycle: (comp) => {
      for (let i = i0; i <= i1; i++) {
        const t = times[i] as number;
        comp[i] = cycleValue(main, main.phase0 + main.f0 * (ts0 + ratio * (t - ts0)));
      }
    },
    apply: () => undefined,
    labelStart: (ts) => ts[i0] as number,
    labelEnd: (ts) => ts[i1] as number,
  };
}

function planDistortedCycle(ctx: PlanContext, planned: readonly Planned[]): Planned | undefined {
  const { rng, times, normal, actualRateHz } = ctx;
  const main = normal.main;
  if (!main) return undefined;
  const periodS = 1 / main.f0;
  const rough = placeSpan(ctx, planned, periodS * 2, 8);
  if (!rough) return undefined;
  const m = Math.ceil(main.phase0 + main.f0 * (times[rough.i0] as number));
  const c0 = (m - main.phase0) / main.f0;
  const c1 = c0 + periodS;
  let i0 = rough.i0;
  while ((times[i0] as number) < c0) i0++;
  let i1 = i0;
  while ((times[i1 + 1] as number) < c1) i1++;
  if (i1 > rough.i1) return undefined;
  const local = localScales(ctx, i0, i1, 30);
  if (!cycleUsable(main, main.f0 * 2, actualRateHz, local)) return undefined;
  const variant = pick(rng, ['flattened', 'inverted', 'missing', 'doubled'] as const);
  const squash = rng.uniform(0.1, 0.35);
  const low = Math.min(...Array.from({ length: 64 }, (_, k) => main.wave(k / 64)));
  return {
    kind: 'distorted_cycle',
    i0,
    i1,
    t0: times[i0] as number,
    t1: times[i1] as number,
    detail: { variant, periodS, amp: main.amp, rough: local.rough, ...(variant === 'flattened' ? { squash } : {}) },
    applyCycle: (comp) => {
      for (let i = i0; i <= i1; i++) {
        const u = main.f0 * ((times[i] as number) - c0);
        if (variant === 'flattened') comp[i] = (comp[i] as number) * squash;
        else if (variant === 'inverted') comp[i] = -(comp[i] as number);
        else if (variant === 'missing') comp[i] = main.amp * low;
        else comp[i] = main.amp * main.wave(2 * u - Math.floor(2 * u));
      }
    },
    apply: () => undefined,
    labelStart: (ts) => ts[i0] as number,
    labelEnd: (ts) => ts[i1] as number,
  };
}
