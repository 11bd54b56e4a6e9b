/**
 * Seeded generator of sensor-fault traces for `vigil bench synthetic`.
 *
 * Every parameter of a trace is drawn from its seed: the family of normal behaviour, the sample
 * rate (1–100 Hz, nominal rate off by up to ±3 % as a free-running microcontroller loop is), the
 * sensor's range and ADC resolution, the level (0–24 V), the noise, the periodic components, and
 * the events (kind, place, size, duration). A trace is a training part (normal only) followed by a
 * scored part holding 4–6 labelled events.
 *
 * Families of normal behaviour (`FAULT_FAMILIES`):
 * - `flat_wander`: a level with a slow Ornstein–Uhlenbeck wander and Gaussian noise;
 * - `periodic`: one periodic component (sine, sine with harmonics, or a duty cycle with soft edges);
 * - `multi_periodic`: two or three components: a duty cycle or a cycle with harmonics, mains hum
 *   aliased to the sampling rate, and a slow (thermal, daily-like) cycle of minutes;
 * - `random_walk`: a weakly mean-reverting random walk (the level wanders freely over minutes);
 * - `quantised`: a coarse ADC (8–10 bits over the sensor's range) with noise below one step, so the
 *   trace sits on two or three codes;
 * - `heavy_tailed`: Student-t noise with 3 or 4 degrees of freedom;
 * - `loose_wire`: a flat or periodic signal with isolated one-sample glitches to near 0 V (a loose
 *   connector), 0.2–1 per minute, in the training part as much as in the scored part. **These
 *   glitches are normal behaviour, not events**: a user with a flaky connector wants to hear about
 *   sustained failures, and a detector that alarms on every glitch costs 12–60 false alarms an
 *   hour. To keep the labels unambiguous, spike events in this family go up (away from 0 V) and a
 *   0 V dropout lasts at least 3 readings and 1 s.
 *
 * Minimum magnitude rule (what makes an event detectable by a reasonable person looking at the
 * trace; `noise` is the noise standard deviation, `u` that plus the random walk's one-sample step,
 * `envelope` the largest |noise| over the whole trace, `lsb` one ADC step):
 * - `spike` (1–3 readings): peak 1.6–4 × max(envelope, 3 lsb), i.e. clearly beyond every normal
 *   excursion in the trace;
 * - `dip` (0.5–5 s, soft-edged sag): depth 1.6–4 × max(envelope, 3 lsb);
 * - `level_shift` (a step held 20–90 s, then back): 6–15 × max(u, lsb);
 * - `ramp` (a slow drift away and back over 40–150 s): peak 8–20 × max(u, lsb) and at least 4 ×
 *   the natural drift expected over the ramp's length;
 * - `variance_burst` (3–20 s): noise multiplied by 4–8 (at least 3 lsb standard deviation);
 * - `oscillation` (5–30 s): a sine of amplitude 4–8 × max(u, lsb) at a frequency at least 30 % away
 *   from every normal component;
 * - `stuck` (the reading frozen on one code): at least 5 s and 10 × the longest run of one code in
 *   the training part (a trace that sits on one code for long stretches gets no stuck event);
 * - `dropout`: readings at 0 V for 1–10 s (at least 3 readings; only when the normal signal stays
 *   well above 0 V) or missing readings for 2–30 s (at least 5 sample periods);
 * - `frequency_change` (periodic families): the main component runs 1.35–2 × faster or 0.5–0.75 ×
 *   slower for 20–90 s (at least 4 of its cycles, at most 150 s); its amplitude is at least 3 × the envelope;
 * - `distorted_cycle` (periodic families): one cycle of the main component (8 readings or more)
 *   is flattened, inverted, missing, or replaced by two compressed cycles.
 * Event windows are `[first affected reading, last affected reading]`; for missing readings the
 * window ends at the first reading after the gap (the first moment a detector can know).
 * @module
 */
import type { Reading } from '../../detectors/index.ts';
import { Rng } from '../../detectors/random.ts';

export const FAULT_FAMILIES = ['flat_wander', 'periodic', 'multi_periodic', 'random_walk', 'quantised', 'heavy_tailed', 'loose_wire'] as const;
export type FaultFamily = (typeof FAULT_FAMILIES)[number];

export const FAULT_KINDS = [
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
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Kinds that need a periodic component to exist. */
export const PERIODIC_KINDS: readonly FaultKind[] = ['frequency_change', 'distorted_cycle'];

/** Nominal sample rates and their draw weights. */
const RATES: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [2, 1],
  [5, 1],
  [10, 2],
  [20, 1],
  [50, 1],
  [100, 1],
];

/** One labelled event. `start` and `end` are reading timestamps (epoch ms), both inclusive. */
export interface FaultEvent {
  kind: FaultKind;
  start: number;
  end: number;
  /** Size in volts (peak deviation; noise gain for bursts; seconds for gaps; frequency factor for a frequency change). */
  magnitude: number;
  /** Sub-form, e.g. `zero`/`gap` for dropouts, `flattened`/`inverted`/`missing`/`double` for a distorted cycle. */
  variant?: string;
}

/** The drawn parameters of a trace, for reports and tests. */
export interface FaultTraceInfo {
  seed: number;
  family: FaultFamily;
  /** Nominal and actual rate (the actual one drives timestamps). */
  nominalHz: number;
  sampleRateHz: number;
  rangeV: number;
  adcBits: number;
  lsb: number;
  level: number;
  noiseSd: number;
  /** Largest |noise| over the trace. */
  envelope: number;
  /** Period of the main periodic component in seconds, when the family has one. */
  mainPeriodS?: number;
  /** Isolated glitches in the loose-wire family (normal, unlabelled). */
  glitches: number;
}

export interface FaultTrace {
  info: FaultTraceInfo;
  /** Training part: normal only. */
  train: Reading[];
  /** Scored part, continuing the training part's clock. */
  test: Reading[];
  events: FaultEvent[];
}

export interface GenerateFaultTraceOptions {
  /** Force a family (default: drawn from the seed). */
  family?: FaultFamily;
  /** Force a nominal sample rate in Hz (default: drawn). */
  sampleRateHz?: number;
  /** Training seconds (default 300, at least 1,200 readings). */
  trainS?: number;
  /** Scored seconds (default 600, at least 1,200 readings). */
  testS?: number;
  /** Only these kinds (default: all that apply to the family). */
  kinds?: readonly FaultKind[];
  /** First timestamp, epoch ms (default 2025-01-01T00:00:00Z). */
  startTs?: number;
}

/** The library's mulberry32 with a hashed seed, plus the draws the generator needs. */
class Draw {
  private readonly rng: Rng;
  constructor(seed: number) {
    let z = Math.imul((seed >>> 0) ^ 0x27d4eb2f, 0x9e3779b1) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.rng = new Rng((z ^ (z >>> 16)) >>> 0);
  }
  next(): number {
    return this.rng.next();
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.rng.next();
  }
  logUniform(lo: number, hi: number): number {
    return Math.exp(this.uniform(Math.log(lo), Math.log(hi)));
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng.next() * xs.length)] as T;
  }
  weighted<T>(xs: ReadonlyArray<readonly [T, number]>): T {
    const total = xs.reduce((s, [, w]) => s + w, 0);
    let r = this.rng.next() * total;
    for (const [x, w] of xs) {
      r -= w;
      if (r < 0) return x;
    }
    return (xs.at(-1) as readonly [T, number])[0];
  }
  sign(): number {
    return this.rng.next() < 0.5 ? -1 : 1;
  }
  normal(): number {
    return this.rng.normal();
  }
  studentT(df: number): number {
    let chi2 = 0;
    for (let i = 0; i < df; i++) chi2 += this.rng.normal() ** 2;
    return this.rng.normal() / Math.sqrt(chi2 / df);
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.rng.next() * (i + 1));
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }
}

type Wave = 'sine' | 'harmonic' | 'duty';

interface Component {
  wave: Wave;
  freqHz: number;
  amp: number;
  phase: number;
  duty: number;
  h2: number;
  h3: number;
  /** The component events act on. */
  main: boolean;
}

/** Value of a wave at phase `p` (in cycles, any real), in [-1, 1]. */
function waveAt(c: Component, p: number): number {
  const x = p - Math.floor(p);
  switch (c.wave) {
    case 'sine':
      return Math.sin(2 * Math.PI * x);
    case 'harmonic':
      return (Math.sin(2 * Math.PI * x) + c.h2 * Math.sin(4 * Math.PI * x + 0.7) + c.h3 * Math.sin(6 * Math.PI * x + 1.9)) / (1 + c.h2 + c.h3);
    case 'duty': {
      // A soft-edged square wave: edges take 4 % of the cycle.
      const edge = 0.04;
      const rise = Math.min(1, x / edge);
      const fall = x < c.duty ? 1 : Math.max(0, 1 - (x - c.duty) / edge);
      return 2 * Math.min(rise, fall) - 1;
    }
  }
}

interface Plan {
  kind: FaultKind;
  from: number;
  length: number;
  magnitude: number;
  sign: number;
  variant?: string;
  freqHz: number;
}

const ZERO_DROPOUT_MARGIN = 0.3;

/** Generates one trace; the same seed and options always give the same trace. */
export function generateFaultTrace(seed: number, options: GenerateFaultTraceOptions = {}): FaultTrace {
  const d = new Draw(seed);
  const family = options.family ?? d.pick(FAULT_FAMILIES);
  const nominalHz = options.sampleRateHz ?? d.weighted(RATES);
  const hz = nominalHz * (1 + d.uniform(-0.03, 0.03));
  const nTrain = Math.max(1200, Math.round((options.trainS ?? 300) * hz));
  const nTest = Math.max(1200, Math.round((options.testS ?? 600) * hz));
  const n = nTrain + nTest;
  const dtS = 1 / hz;

  // Sensor: an Arduino-style 0–5 V input, a 3.3 V board, or an industrial 0–24 V channel.
  const rangeV = d.pick([5, 5, 3.3, 24]);
  const adcBits = family === 'quantised' ? d.int(8, 10) : d.pick([10, 10, 12]);
  const lsb = rangeV / 2 ** adcBits;
  const noiseSd = family === 'quantised' ? d.uniform(0.15, 0.45) * lsb : d.uniform(0.6, 3) * lsb * (rangeV === 24 && adcBits === 12 ? 2 : 1);
  const tDf = family === 'heavy_tailed' ? d.int(3, 4) : 0;
  const noiseScale = tDf > 0 ? noiseSd / Math.sqrt(tDf / (tDf - 2)) : noiseSd;

  // Periodic components.
  const components: Component[] = [];
  const envelopeGuess = (tDf > 0 ? 8 : 4.2) * noiseSd;
  const mainComponent = (): Component => {
    const wave = d.pick<Wave>(['sine', 'harmonic', 'duty']);
    const periodS = Math.min(60, Math.max(8 / hz, d.logUniform(0.5, 30)));
    return {
      wave,
      freqHz: 1 / Math.max(periodS, 8 / hz),
      amp: d.uniform(3, 12) * Math.max(envelopeGuess, 3 * lsb),
      phase: d.next(),
      duty: d.uniform(0.2, 0.8),
      h2: d.uniform(0.2, 0.6),
      h3: d.uniform(0, 0.3),
      main: true,
    };
  };
  const humAlias = (): Component => {
    const mains = d.pick([50, 60]) * (1 + d.uniform(-0.002, 0.002));
    const alias = Math.abs(mains - hz * Math.round(mains / hz));
    return { wave: 'sine', freqHz: Math.max(alias, 0.01), amp: d.uniform(1, 4) * noiseSd, phase: d.next(), duty: 0.5, h2: 0, h3: 0, main: false };
  };
  const slowCycle = (): Component => ({
    wave: 'sine',
    freqHz: 1 / d.uniform(60, 600),
    amp: d.uniform(2, 10) * Math.max(noiseSd, lsb),
    phase: d.next(),
    duty: 0.5,
    h2: 0,
    h3: 0,
    main: false,
  });
  let periodic = family === 'periodic' || family === 'multi_periodic' || (family === 'loose_wire' && d.next() < 0.5);
  if (periodic) components.push(mainComponent());
  if (family === 'multi_periodic') {
    const extra = d.shuffle([humAlias, slowCycle]).slice(0, d.int(1, 2));
    for (const make of extra) components.push(make());
  }
  const main = components.find((c) => c.main);
  if (main && 1 / main.freqHz > 60) periodic = false;
  const amplitudeSum = components.reduce((s, c) => s + c.amp, 0);

  // Wander: OU for most families, a weakly reverting walk for random_walk.
  const rwStepSd = family === 'random_walk' ? d.uniform(0.3, 1.5) * noiseSd * Math.sqrt(dtS) * 2 : 0;
  const rwTauS = d.uniform(600, 3000);
  const wanderSd = family === 'random_walk' ? (rwStepSd * Math.sqrt(rwTauS / dtS / 2)) : d.uniform(0.5, 3) * Math.max(noiseSd, lsb / 2);
  const wanderTauS = family === 'random_walk' ? rwTauS : d.uniform(30, 300);
  const wanderStep = family === 'random_walk' ? rwStepSd : wanderSd * Math.sqrt((2 * dtS) / wanderTauS);
  const u = Math.sqrt(noiseSd ** 2 + rwStepSd ** 2);

  // Level: room for components, wander, events and (for 0 V dropouts) a margin above 0 V.
  const headroom = amplitudeSum + 4 * wanderSd + 30 * Math.max(u, lsb) + 0.05 * rangeV;
  const lo = Math.min(rangeV / 2, Math.max(ZERO_DROPOUT_MARGIN + headroom, 0.1 * rangeV));
  const hi = Math.max(lo, rangeV - headroom);
  const level = d.uniform(lo, hi);

  // Clean normal signal with per-sample phase accumulators (so frequency events stay continuous).
  const wander = new Float64Array(n);
  let w = d.normal() * wanderSd;
  for (let i = 0; i < n; i++) {
    w += (-w / wanderTauS) * dtS + wanderStep * d.normal();
    wander[i] = w;
  }
  const noise = new Float64Array(n);
  let envelope = 0;
  for (let i = 0; i < n; i++) {
    const e = tDf > 0 ? noiseScale * d.studentT(tDf) : noiseSd * d.normal();
    noise[i] = e;
    envelope = Math.max(envelope, Math.abs(e));
  }

  // Glitches (normal, loose_wire only), placed before events so events can avoid them.
  const glitch = new Uint8Array(n);
  let glitches = 0;
  if (family === 'loose_wire') {
    const perMin = d.uniform(0.2, 1);
    const p = perMin / 60 / hz;
    for (let i = 1; i < n; i++) {
      if (d.next() < p && !glitch[i - 1]) {
        glitch[i] = 1;
        glitches++;
      }
    }
  }

  // Plan events in the scored part.
  const applicable = FAULT_KINDS.filter((k) => (options.kinds ?? FAULT_KINDS).includes(k) && (periodic || !PERIODIC_KINDS.includes(k)));
  const count = Math.min(applicable.length, d.int(4, 6));
  let kinds = d.shuffle(applicable).slice(0, count);
  if (periodic) {
    // Periodic traces always carry one periodic-only event, so those kinds get enough samples.
    const hasPeriodic = kinds.some((k) => PERIODIC_KINDS.includes(k));
    const periodicKinds = applicable.filter((k) => PERIODIC_KINDS.includes(k));
    if (!hasPeriodic && periodicKinds.length > 0) kinds = [d.pick(periodicKinds), ...kinds.slice(1)];
  }
  const codeOf = (v: number): number => Math.min(2 ** adcBits - 1, Math.max(0, Math.round(v / lsb)));
  // Longest run of one code in the training part (for the stuck rule), on the normal signal.
  const normalAt = (i: number): number => {
    let v = level + wander[i]! + noise[i]!;
    for (const c of components) v += c.amp * waveAt(c, c.phase + c.freqHz * i * dtS);
    return v;
  };
  let longestRun = 1;
  for (let i = 1, run = 1, prev = codeOf(normalAt(0)); i < nTrain; i++) {
    const code = codeOf(normalAt(i));
    run = code === prev ? run + 1 : 1;
    prev = code;
    longestRun = Math.max(longestRun, run);
  }
  const driftOver = (samples: number): number =>
    family === 'random_walk'
      ? rwStepSd * Math.sqrt(samples)
      : wanderSd * Math.sqrt(2 * (1 - Math.exp(-(samples * dtS) / wanderTauS))) + components.filter((c) => !c.main && c.freqHz < 0.05).reduce((s, c) => s + c.amp, 0);
  const unit = Math.max(u, lsb);
  const peakUnit = Math.max(envelope, 3 * lsb);
  const sec = (lo2: number, hi2: number): number => Math.max(1, Math.round(d.uniform(lo2, hi2) * hz));
  const mainPeriodSamples = main ? hz / main.freqHz : 0;

  const shapes: Array<Omit<Plan, 'from'>> = [];
  for (const kind of kinds) {
    const base = { kind, sign: d.sign(), freqHz: 0 };
    switch (kind) {
      case 'spike':
        shapes.push({ ...base, sign: family === 'loose_wire' ? 1 : base.sign, length: d.int(1, 3), magnitude: d.uniform(1.6, 4) * peakUnit });
        break;
      case 'dip':
        shapes.push({ ...base, sign: -1, length: Math.max(3, sec(0.5, 5)), magnitude: d.uniform(1.6, 4) * peakUnit });
        break;
      case 'level_shift':
        shapes.push({ ...base, length: sec(20, 90), magnitude: d.uniform(6, 15) * unit });
        break;
      case 'ramp': {
        const length = sec(40, 150);
        shapes.push({ ...base, length, magnitude: Math.max(d.uniform(8, 20) * unit, 4 * driftOver(length / 2)) });
        break;
      }
      case 'variance_burst':
        shapes.push({ ...base, length: Math.max(10, sec(3, 20)), magnitude: Math.max(d.uniform(4, 8), (3 * lsb) / noiseSd) });
        break;
      case 'oscillation': {
        const normalFreqs = components.map((c) => c.freqHz);
        let f = 0;
        for (let tries = 0; tries < 20; tries++) {
          f = Math.min(5, d.uniform(0.05, 0.3) * hz);
          if (normalFreqs.every((g) => Math.abs(f - g) / g > 0.3)) break;
        }
        shapes.push({ ...base, length: Math.max(sec(5, 30), Math.ceil((3 * hz) / f)), magnitude: d.uniform(4, 8) * unit, freqHz: f });
        break;
      }
      case 'stuck': {
        const length = Math.max(Math.round(5 * hz), 10 * longestRun, sec(5, 60));
        if (length <= 120 * hz) shapes.push({ ...base, length, magnitude: 0 });
        break;
      }
      case 'dropout': {
        const zeroOk = level - amplitudeSum - 4 * wanderSd > ZERO_DROPOUT_MARGIN;
        if (zeroOk && d.next() < 0.5) shapes.push({ ...base, variant: 'zero', length: Math.max(3, sec(1, 10)), magnitude: 0 });
        else shapes.push({ ...base, variant: 'gap', length: Math.max(5, sec(2, 30)), magnitude: 0 });
        break;
      }
      case 'frequency_change': {
        if (!main) break;
        const factor = d.next() < 0.5 ? d.uniform(1.35, 2) : d.uniform(0.5, 0.75);
        const newPeriod = mainPeriodSamples / factor;
        const length = Math.min(Math.max(sec(20, 90), Math.ceil(4 * newPeriod)), Math.round(150 * hz));
        shapes.push({ ...base, length, magnitude: factor });
        break;
      }
      case 'distorted_cycle': {
        if (!main) break;
        const variant = d.pick(['flattened', 'inverted', 'missing', 'double']);
        shapes.push({ ...base, variant, length: Math.round(mainPeriodSamples), magnitude: main.amp });
        break;
      }
    }
  }

  // Place events: lead-in after the training part, separations, tail; random slack between them.
  const lead = Math.round(30 * hz);
  const tail = Math.round(20 * hz);
  const sepS = 30;
  const sep = Math.round(sepS * hz);
  // A distorted cycle may move up to one cycle later to start on a cycle boundary: reserve two.
  const slot = (e: { kind: FaultKind; length: number }): number => (e.kind === 'distorted_cycle' ? 2 * e.length : e.length);
  const needed = (): number => shapes.reduce((s, e) => s + slot(e), 0) + sep * Math.max(0, shapes.length - 1);
  while (shapes.length > 0 && nTest - lead - tail - needed() < 0) shapes.pop();
  const slack = Math.max(0, nTest - lead - tail - needed());
  const cuts = shapes.map(() => d.uniform(0, slack)).sort((a, b) => a - b);
  let cursor = nTrain + lead;
  let used = 0;
  const plans: Plan[] = shapes.map((shape, k) => {
    const cut = Math.round(cuts[k] as number);
    cursor += cut - used;
    used = cut;
    const from = cursor;
    cursor += slot(shape) + sep;
    return { ...shape, from };
  });
  const freqFactor = new Float64Array(n).fill(1);
  for (const p of plans) if (p.kind === 'frequency_change') freqFactor.fill(p.magnitude, p.from, p.from + p.length);
  if (main) {
    // A distorted cycle starts where the main component starts a cycle (its phase crosses a whole number).
    let ph = main.phase;
    const cycleStart = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const next = ph + (main.freqHz * (freqFactor[i] as number)) / hz;
      if (Math.floor(next) > Math.floor(ph)) cycleStart[i + 1] = 1;
      ph = next;
    }
    for (const p of plans) {
      if (p.kind !== 'distorted_cycle') continue;
      while (p.from < n && !cycleStart[p.from]) p.from++;
    }
  }
  // Keep glitches off event windows (and a second around them) so labels stay unambiguous.
  for (const p of plans) glitch.fill(0, Math.max(0, p.from - Math.round(hz)), Math.min(n, p.from + p.length + Math.round(hz)));
  glitches = 0;
  for (let i = 0; i < n; i++) glitches += glitch[i]!;

  // Render: phase accumulators, events applied to the clean value, then noise and the ADC.
  const values = new Float64Array(n);
  const noiseGain = new Float64Array(n).fill(1);
  for (const p of plans) if (p.kind === 'variance_burst') noiseGain.fill(p.magnitude, p.from, p.from + p.length);
  const phases = components.map((c) => c.phase);
  const distortion = new Int32Array(n).fill(-1);
  for (const [k, p] of plans.entries()) if (p.kind === 'distorted_cycle') distortion.fill(k, p.from, p.from + p.length);
  for (let i = 0; i < n; i++) {
    let v = level + (wander[i] as number);
    for (const [j, c] of components.entries()) {
      const ph = phases[j] as number;
      const dist = c.main && (distortion[i] as number) >= 0 ? plans[distortion[i] as number] : undefined;
      let y = waveAt(c, ph);
      if (dist) {
        const k = i - dist.from;
        if (dist.variant === 'flattened') y = Math.max(-0.3, Math.min(0.3, y));
        else if (dist.variant === 'inverted') y = -y;
        else if (dist.variant === 'missing') y = 0;
        else if (dist.variant === 'double') y = waveAt(c, Math.floor(ph) + (2 * k) / dist.length);
      }
      v += c.amp * y;
      phases[j] = ph + (c.freqHz * (c.main ? (freqFactor[i] as number) : 1)) / hz;
    }
    values[i] = v;
  }
  for (const p of plans) {
    for (let k = 0; k < p.length; k++) {
      const i = p.from + k;
      switch (p.kind) {
        case 'spike':
          values[i] = (values[i] as number) + p.sign * p.magnitude;
          break;
        case 'dip':
          values[i] = (values[i] as number) - p.magnitude * Math.min(1, 1.5 * Math.sin((Math.PI * (k + 0.5)) / p.length));
          break;
        case 'level_shift':
          values[i] = (values[i] as number) + p.sign * p.magnitude;
          break;
        case 'ramp': {
          const half = p.length / 2;
          values[i] = (values[i] as number) + p.sign * p.magnitude * (1 - Math.abs(k - half) / half);
          break;
        }
        case 'oscillation':
          values[i] = (values[i] as number) + p.magnitude * Math.sin((2 * Math.PI * p.freqHz * k) / hz);
          break;
        default:
          break;
      }
    }
  }
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v = (values[i] as number) + (noise[i] as number) * (noiseGain[i] as number);
    if (glitch[i]) v = level * d.uniform(0, 0.08);
    codes[i] = codeOf(v);
  }
  const missing = new Uint8Array(n);
  for (const p of plans) {
    if (p.kind === 'stuck') codes.fill(codes[p.from - 1] as number, p.from, p.from + p.length);
    if (p.kind === 'dropout' && p.variant === 'zero') codes.fill(0, p.from, p.from + p.length);
    if (p.kind === 'dropout' && p.variant === 'gap') missing.fill(1, p.from, p.from + p.length);
  }

  const startTs = options.startTs ?? Date.UTC(2025, 0, 1);
  const periodMs = 1000 / hz;
  const tsOf = new Float64Array(n);
  for (let i = 0; i < n; i++) tsOf[i] = startTs + Math.round(i * periodMs + d.uniform(-0.02, 0.02) * periodMs);
  const train: Reading[] = [];
  const test: Reading[] = [];
  for (let i = 0; i < n; i++) {
    if (missing[i]) continue;
    (i < nTrain ? train : test).push({ ts: tsOf[i] as number, value: (codes[i] as number) * lsb });
  }
  const events: FaultEvent[] = plans.map((p) => {
    const last = p.from + p.length - 1;
    const endIdx = p.kind === 'dropout' && p.variant === 'gap' ? Math.min(n - 1, last + 1) : last;
    const e: FaultEvent = {
      kind: p.kind,
      start: tsOf[p.from] as number,
      end: tsOf[endIdx] as number,
      magnitude: p.kind === 'dropout' && p.variant === 'gap' ? p.length / hz : p.magnitude,
    };
    if (p.variant) e.variant = p.variant;
    return e;
  });

  const info: FaultTraceInfo = { seed, family, nominalHz, sampleRateHz: hz, rangeV, adcBits, lsb, level, noiseSd, envelope, glitches };
  if (main && periodic) info.mainPeriodS = 1 / main.freqHz;
  return { info, train, test, events };
}
