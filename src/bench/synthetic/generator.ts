/**
 * Seeded generator of Arduino-like voltage traces with labelled anomaly events.
 *
 * The normal signal: a per-trace baseline, slow wander (an Ornstein–Uhlenbeck process plus a
 * slow thermal-like cycle), heavy-tailed Student-t noise, small sampling jitter, and 10-bit ADC
 * quantisation against a 5 V reference. Event magnitudes are chosen to be realistic for that
 * noise: the smallest events sit near the tail of normal behaviour, the largest are obvious.
 *
 * Dropouts come in two forms, both seen on real serial links: missing samples (a time gap
 * between consecutive readings; the event window ends at the first reading after the gap) and
 * a disconnected pin reading 0 V.
 * @module
 */
import type { Reading } from '../../detectors/index.ts';
import { Rng } from '../../detectors/random.ts';

export const ANOMALY_KINDS = [
  'spike',
  'dip',
  'level_shift',
  'noise_burst',
  'stuck',
  'dropout',
  'oscillation',
  'ramp',
] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One labelled anomaly. `start` and `end` are reading timestamps (epoch ms), both inclusive. */
export interface AnomalyEvent {
  kind: AnomalyKind;
  start: number;
  end: number;
  /** Size in volts (peak deviation, or noise standard deviation for bursts, gap seconds for gaps). */
  magnitude: number;
  /** Sub-form, e.g. `gap` or `zero` for dropouts. */
  variant?: string;
}

export interface SyntheticTrace {
  readings: Reading[];
  events: AnomalyEvent[];
  /** Readings before this timestamp are normal (no event starts before it). */
  normalUntil: number;
  sampleRateHz: number;
}

export interface GenerateTraceOptions {
  seed: number;
  /** Total length in seconds (default 900: 5 minutes normal, then 10 minutes with events). */
  durationS?: number;
  /** Leading event-free seconds (default 300). */
  normalS?: number;
  /** Kinds to draw events from, cycled in a seeded order (default: all kinds). */
  kinds?: readonly AnomalyKind[];
  /** Number of events after the normal part (default 4). */
  events?: number;
  /** First timestamp, epoch ms (default 2024-01-01T00:00:00Z). */
  startTs?: number;
  /** Sampling rate in Hz (default 10). */
  sampleRateHz?: number;
}

export const ADC_REFERENCE_V = 5;
export const ADC_LEVELS = 1024;
/** One ADC step: 5 V / 1024 ≈ 4.883 mV. */
export const ADC_LSB_V = ADC_REFERENCE_V / ADC_LEVELS;

/** Seconds kept free of events at the start of the scored part and between event windows. */
const LEAD_IN_S = 20;
const MIN_SEPARATION_S = 25;
const TAIL_S = 10;

/** The library's mulberry32 with a hashed seed, plus the draws the generator needs. */
class Prng {
  private readonly rng: Rng;
  constructor(seed: number) {
    // Hash the seed first: mulberry32 streams from nearby seeds start out correlated.
    let z = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    this.rng = new Rng((z ^ (z >>> 16)) >>> 0);
  }
  next(): number {
    return this.rng.next();
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  sign(): number {
    return this.next() < 0.5 ? -1 : 1;
  }
  normal(): number {
    return this.rng.normal();
  }
  /** Student-t with integer `df` degrees of freedom. */
  studentT(df: number): number {
    let chi2 = 0;
    for (let i = 0; i < df; i++) chi2 += this.normal() ** 2;
    return this.normal() / Math.sqrt(chi2 / df);
  }
}

/** A planned event in sample indices, before it is applied to the signal. */
interface PlannedEvent {
  kind: AnomalyKind;
  /** First affected sample. */
  from: number;
  /** Number of affected samples. */
  length: number;
  magnitude: number;
  variant?: string;
  /** Kind-specific extra: sign, frequency, or ramp split. */
  sign: number;
  freqHz: number;
}

function planEvent(kind: AnomalyKind, rng: Prng, hz: number): Omit<PlannedEvent, 'from'> {
  const sec = (lo: number, hi: number): number => Math.max(1, Math.round(rng.uniform(lo, hi) * hz));
  const base = { kind, sign: rng.sign(), freqHz: 0 };
  switch (kind) {
    case 'spike':
      return { ...base, length: rng.int(1, 3), magnitude: rng.uniform(0.08, 0.4) };
    case 'dip':
      return { ...base, sign: -1, length: sec(0.5, 3), magnitude: rng.uniform(0.06, 0.25) };
    case 'level_shift':
      return { ...base, length: sec(30, 90), magnitude: rng.uniform(0.04, 0.15) };
    case 'noise_burst':
      return { ...base, length: sec(3, 15), magnitude: rng.uniform(0.02, 0.06) };
    case 'stuck':
      return { ...base, length: sec(5, 30), magnitude: 0 };
    case 'dropout':
      return rng.next() < 0.5
        ? { ...base, variant: 'gap', length: sec(2, 20), magnitude: 0 }
        : { ...base, variant: 'zero', length: sec(1, 5), magnitude: 0 };
    case 'oscillation':
      return { ...base, length: sec(5, 20), magnitude: rng.uniform(0.02, 0.1), freqHz: rng.uniform(0.5, 3) };
    case 'ramp':
      // A triangular excursion: drifts away over half the window, then drifts back.
      return { ...base, length: sec(30, 120), magnitude: rng.uniform(0.08, 0.25) };
  }
}

/** Generates one trace; the same options always give the same trace. */
export function generateTrace(options: GenerateTraceOptions): SyntheticTrace {
  const hz = options.sampleRateHz ?? 10;
  const durationS = options.durationS ?? 900;
  const normalS = options.normalS ?? 300;
  const kinds = options.kinds ?? ANOMALY_KINDS;
  const eventCount = options.events ?? 4;
  const startTs = options.startTs ?? Date.UTC(2024, 0, 1);
  const rng = new Prng(options.seed);
  const n = Math.round(durationS * hz);
  const dtS = 1 / hz;
  const periodMs = 1000 / hz;

  const baseline = rng.uniform(1.2, 3.8);
  const noiseScale = rng.uniform(0.8, 1.6) * ADC_LSB_V;
  const noiseDf = rng.int(4, 7);
  const wanderStd = rng.uniform(0.01, 0.03);
  const wanderTauS = rng.uniform(60, 240);
  const cycleAmp = rng.uniform(0.005, 0.03);
  const cyclePeriodS = rng.uniform(180, 900);
  const cyclePhase = rng.uniform(0, 2 * Math.PI);

  const planned = placeEvents(rng, kinds, eventCount, { hz, n, normalS });

  const clean = new Float64Array(n);
  let wander = rng.normal() * wanderStd;
  const wanderStep = wanderStd * Math.sqrt(2 * dtS / wanderTauS);
  for (let i = 0; i < n; i++) {
    wander += (-wander / wanderTauS) * dtS + wanderStep * rng.normal();
    clean[i] = baseline + wander + cycleAmp * Math.sin(cyclePhase + (2 * Math.PI * i * dtS) / cyclePeriodS);
  }
  const noiseGain = new Float64Array(n).fill(1);
  for (const e of planned) applyShape(e, clean, noiseGain, noiseScale, hz);

  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (clean[i] as number) + noiseScale * (noiseGain[i] as number) * rng.studentT(noiseDf);
    codes[i] = Math.min(ADC_LEVELS - 1, Math.max(0, Math.round(v / ADC_LSB_V)));
  }
  const missing = new Uint8Array(n);
  for (const e of planned) {
    if (e.kind === 'stuck') codes.fill(codes[e.from - 1] ?? codes[e.from] ?? 0, e.from, e.from + e.length);
    if (e.kind === 'dropout' && e.variant === 'zero') codes.fill(0, e.from, e.from + e.length);
    if (e.kind === 'dropout' && e.variant === 'gap') missing.fill(1, e.from, e.from + e.length);
  }

  const readings: Reading[] = [];
  const tsOf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Serial timing jitter of a few milliseconds, never reordering samples.
    tsOf[i] = startTs + Math.round(i * periodMs + rng.uniform(-0.04, 0.04) * periodMs);
    if (!missing[i]) readings.push({ ts: tsOf[i] as number, value: (codes[i] as number) * ADC_LSB_V });
  }

  const events: AnomalyEvent[] = planned.map((e) => {
    const last = e.from + e.length - 1;
    // A gap is only visible at the first reading after it.
    const endIdx = e.kind === 'dropout' && e.variant === 'gap' ? Math.min(n - 1, last + 1) : last;
    const event: AnomalyEvent = {
      kind: e.kind,
      start: tsOf[e.from] as number,
      end: tsOf[endIdx] as number,
      magnitude: e.kind === 'dropout' && e.variant === 'gap' ? e.length / hz : e.magnitude,
    };
    if (e.variant) event.variant = e.variant;
    return event;
  });

  return { readings, events, normalUntil: tsOf[Math.min(n - 1, Math.round(normalS * hz))] as number, sampleRateHz: hz };
}

function placeEvents(
  rng: Prng,
  kinds: readonly AnomalyKind[],
  count: number,
  { hz, n, normalS }: { hz: number; n: number; normalS: number },
): PlannedEvent[] {
  if (count === 0 || kinds.length === 0) return [];
  const offset = rng.int(0, kinds.length - 1);
  const shapes = Array.from({ length: count }, (_, i) => planEvent(kinds[(offset + i) % kinds.length] as AnomalyKind, rng, hz));
  const first = Math.round((normalS + LEAD_IN_S) * hz);
  const last = n - Math.round(TAIL_S * hz);
  const sep = Math.round(MIN_SEPARATION_S * hz);
  const needed = shapes.reduce((s, e) => s + e.length, 0) + sep * (count - 1);
  const slack = last - first - needed;
  if (slack < 0) throw new RangeError(`trace too short for ${count} events`);
  // Spread the slack randomly between events: sorted uniform cut points.
  const cuts = Array.from({ length: count }, () => rng.uniform(0, slack)).sort((a, b) => a - b);
  let cursor = first;
  let used = 0;
  return shapes.map((shape, i) => {
    const cut = Math.round(cuts[i] as number);
    cursor += cut - used;
    used = cut;
    const from = cursor;
    cursor += shape.length + sep;
    return { ...shape, from };
  });
}

function applyShape(e: PlannedEvent, clean: Float64Array, noiseGain: Float64Array, noiseScale: number, hz: number): void {
  const { from, length, magnitude, sign } = e;
  for (let k = 0; k < length; k++) {
    const i = from + k;
    if (i >= clean.length) break;
    const cur = clean[i] as number;
    switch (e.kind) {
      case 'spike':
        clean[i] = cur + sign * magnitude;
        break;
      case 'dip': {
        // A sag with soft edges (half-sine envelope).
        const env = Math.sin((Math.PI * (k + 0.5)) / length);
        clean[i] = cur - magnitude * Math.min(1, 1.5 * env);
        break;
      }
      case 'level_shift':
        clean[i] = cur + sign * magnitude;
        break;
      case 'noise_burst':
        noiseGain[i] = Math.max(1, magnitude / noiseScale);
        break;
      case 'oscillation':
        clean[i] = cur + magnitude * Math.sin((2 * Math.PI * e.freqHz * k) / hz);
        break;
      case 'ramp': {
        const half = length / 2;
        clean[i] = cur + sign * magnitude * (1 - Math.abs(k - half) / half);
        break;
      }
      case 'stuck':
      case 'dropout':
        break;
    }
  }
}
