/**
 * Test helpers for the learned kinds: a small Arduino-like 10 Hz voltage generator with labelled
 * injected anomalies, and an event-level scorer. The full benchmark lives in `src/bench/`.
 */
import { Rng } from './random.ts';
import type { Detector, Reading } from './types.ts';

export const ANOMALY_TYPES = ['spike', 'dip', 'level_shift', 'noise_burst', 'stuck', 'dropout', 'oscillation', 'ramp'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

export interface LabelledEvent {
  type: AnomalyType;
  start: number;
  end: number;
}

const LSB = 5 / 1023;
const PERIOD_MS = 100;

/** Normal Arduino-like readings: 10-bit ADC, heavy-tailed noise, slow wander. */
export function normalSignal(n: number, seed: number, t0 = 1_700_000_000_000, phase = 0): Reading[] {
  const rng = new Rng(seed);
  const out: Reading[] = [];
  let walk = 0;
  for (let i = 0; i < n; i++) {
    walk = 0.999 * walk + 0.0005 * rng.normal();
    const k = i + phase;
    const heavy = rng.next() < 0.05 ? 3 : 1;
    const v = 2.5 + 0.03 * Math.sin((2 * Math.PI * k) / 3000) + walk + 0.008 * heavy * rng.normal();
    out.push({ ts: t0 + i * PERIOD_MS, value: Math.round(v / LSB) * LSB });
  }
  return out;
}

/** Copies `base` with one anomaly of each requested type injected, well apart. */
export function injectAnomalies(base: readonly Reading[], types: readonly AnomalyType[], seed: number): { readings: Reading[]; events: LabelledEvent[] } {
  const rng = new Rng(seed);
  const readings = base.map((r) => ({ ...r }));
  const events: LabelledEvent[] = [];
  const gap = Math.floor(readings.length / (types.length + 1));
  types.forEach((type, k) => {
    const start = gap * (k + 1) + rng.int(Math.floor(gap / 4));
    const len = { spike: 1, dip: 1, level_shift: 150, noise_burst: 50, stuck: 100, dropout: 20, oscillation: 100, ramp: 150 }[type];
    const end = Math.min(readings.length - 1, start + len - 1);
    for (let i = start; i <= end; i++) {
      const r = readings[i] as Reading;
      const j = i - start;
      let v = r.value;
      if (type === 'spike') v += 0.6;
      else if (type === 'dip') v -= 0.6;
      else if (type === 'level_shift') v += 0.25;
      else if (type === 'noise_burst') v += 0.12 * rng.normal();
      else if (type === 'stuck') v = (readings[start - 1] as Reading).value;
      else if (type === 'dropout') v = 0;
      else if (type === 'oscillation') v += 0.1 * Math.sin((2 * Math.PI * j) / 8);
      else v += (0.4 * j) / len;
      readings[i] = { ts: r.ts, value: Math.round(v / LSB) * LSB };
    }
    events.push({ type, start, end });
  });
  return { readings, events };
}

export interface EventResult {
  detected: AnomalyType[];
  missed: AnomalyType[];
  falseAlarms: number;
  f1: number;
  falseAlarmsPerHour: number;
}

/**
 * Scores a detector over `readings` and evaluates at the event level: an event counts as detected
 * when an alarm falls in [start, end + tolerance]; a false alarm is a run of alarms outside every
 * such span (runs closer than `tolerance` merge).
 */
export function evaluateEvents(detector: Detector, readings: readonly Reading[], events: readonly LabelledEvent[], tolerance = 50): EventResult {
  const alarms = readings.map((r) => detector.score(r).is_anomaly);
  const covered = new Uint8Array(readings.length);
  for (const e of events) for (let i = e.start; i <= Math.min(readings.length - 1, e.end + tolerance); i++) covered[i] = 1;
  const detected: AnomalyType[] = [];
  const missed: AnomalyType[] = [];
  for (const e of events) {
    let hit = false;
    for (let i = e.start; i <= Math.min(readings.length - 1, e.end + tolerance); i++) if (alarms[i]) hit = true;
    (hit ? detected : missed).push(e.type);
  }
  let falseAlarms = 0;
  let lastFalse = -Infinity;
  alarms.forEach((a, i) => {
    if (!a || covered[i]) return;
    if (i - lastFalse > tolerance) falseAlarms++;
    lastFalse = i;
  });
  const tp = detected.length;
  const precision = tp + falseAlarms > 0 ? tp / (tp + falseAlarms) : 0;
  const recall = events.length > 0 ? tp / events.length : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  const hours = (readings.length * PERIOD_MS) / 3_600_000;
  return { detected, missed, falseAlarms, f1, falseAlarmsPerHour: falseAlarms / hours };
}
