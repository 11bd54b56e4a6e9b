/**
 * Model metrics on held-out data. Pure: used by the training worker and by preset seeding.
 *
 * - `false_alarm_rate`: alarms per reading on normal (unlabelled) held-out readings.
 * - With labelled segments: event-level `precision`, `recall` and `f1` (an event is detected when
 *   an alarm falls inside it or within 3 s after it; alarms elsewhere are false alarms, merged
 *   when closer than 2 s), the scoring of the synthetic benchmark.
 * - `accuracy` (the model card's number, 0..1) is `f1` when labelled data was evaluated, else
 *   `1 - false_alarm_rate`.
 * @module
 */
import { evaluateTrace, type AnomalyEvent } from '../../bench/synthetic/index.ts';
import type { Detector, Reading } from '../../detectors/index.ts';

export interface Segment {
  /** Epoch ms, inclusive. */
  start: number;
  end: number;
}

export interface EvaluationMetrics {
  readings: number;
  /** Readings outside every labelled segment. */
  normal_readings: number;
  /** Duration evaluated, in hours. */
  hours: number;
  alarms: number;
  /** Alarms outside every segment (and its grace period), merged when closer than 2 s. */
  false_alarms: number;
  false_alarm_rate: number;
  false_alarms_per_hour: number;
  events?: number;
  detected?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  /** 1 when measured on the labelled parts of the training recordings (no separate evaluation recording). */
  on_training_recordings?: number;
  /** Sessions labelled by alarm feedback that were measured on too. */
  feedback_sessions?: number;
}

export function inSegments(ts: number, segments: readonly Segment[]): boolean {
  for (const s of segments) if (ts >= s.start && ts <= s.end) return true;
  return false;
}

/**
 * Scores `readings` in order with `detector` (which must be fitted) and measures alarms against
 * `segments`. Readings inside a segment are anomalous; every other reading is normal.
 */
export function evaluateDetector(detector: Detector, readings: readonly Reading[], segments: readonly Segment[] = []): EvaluationMetrics {
  const flags = new Uint8Array(readings.length);
  for (let i = 0; i < readings.length; i++) flags[i] = detector.score(readings[i] as Reading).is_anomaly ? 1 : 0;
  return evaluateScored(readings, flags, segments);
}

/** Measures already scored readings (`flags[i]` = 1 when reading i alarmed) against `segments`. */
export function evaluateScored(readings: readonly Reading[], flags: Uint8Array, segments: readonly Segment[] = []): EvaluationMetrics {
  const alarms: number[] = [];
  let normal = 0;
  let normalAlarms = 0;
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i] as Reading;
    const anomalous = segments.length > 0 && inSegments(r.ts, segments);
    if (!anomalous) normal++;
    if (flags[i] === 1) {
      alarms.push(r.ts);
      if (!anomalous) normalAlarms++;
    }
  }
  const durationMs = readings.length > 1 ? (readings.at(-1) as Reading).ts - (readings[0] as Reading).ts : 0;
  const hours = Math.max(durationMs / 3_600_000, 1e-9);
  const events: AnomalyEvent[] = segments.map((s) => ({ kind: 'spike', start: s.start, end: s.end, magnitude: 0 }));
  const ev = evaluateTrace(alarms, events, durationMs);
  const metrics: EvaluationMetrics = {
    readings: readings.length,
    normal_readings: normal,
    hours: round(hours, 6),
    alarms: alarms.length,
    false_alarms: ev.falseAlarms,
    false_alarm_rate: normal > 0 ? round(normalAlarms / normal, 6) : 0,
    false_alarms_per_hour: round(ev.falseAlarms / hours),
  };
  if (segments.length > 0) Object.assign(metrics, eventScores(segments.length, ev.outcomes.filter((o) => o.detected).length, ev.falseAlarms));
  return metrics;
}

/** Combines the metrics of several evaluated traces (events and alarms add up). */
export function combineMetrics(parts: readonly EvaluationMetrics[]): EvaluationMetrics {
  const sum = (f: (m: EvaluationMetrics) => number | undefined) => parts.reduce((a, m) => a + (f(m) ?? 0), 0);
  const normal = sum((m) => m.normal_readings);
  const hours = sum((m) => m.hours);
  const falseAlarms = sum((m) => m.false_alarms);
  const out: EvaluationMetrics = {
    readings: sum((m) => m.readings),
    normal_readings: normal,
    hours: round(hours, 6),
    alarms: sum((m) => m.alarms),
    false_alarms: falseAlarms,
    false_alarm_rate: normal > 0 ? round(sum((m) => m.false_alarm_rate * m.normal_readings) / normal, 6) : 0,
    false_alarms_per_hour: hours > 0 ? round(falseAlarms / hours) : 0,
  };
  const events = sum((m) => m.events);
  if (events > 0) Object.assign(out, eventScores(events, sum((m) => m.detected), falseAlarms));
  return out;
}

function eventScores(events: number, detected: number, falseAlarms: number) {
  const precision = detected + falseAlarms > 0 ? detected / (detected + falseAlarms) : 0;
  const recall = detected / events;
  return {
    events,
    detected,
    precision: round(precision),
    recall: round(recall),
    f1: round(precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0),
  };
}

/** The model card's `accuracy`: F1 on labelled data when there was any, else 1 - false-alarm rate. */
export function deriveAccuracy(m: { f1?: number; false_alarm_rate?: number }): number | null {
  if (m.f1 !== undefined) return m.f1;
  if (m.false_alarm_rate !== undefined) return round(1 - m.false_alarm_rate, 4);
  return null;
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
