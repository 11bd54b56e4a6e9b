/**
 * Event-level scoring of alarms against labelled anomaly windows.
 *
 * - An event is detected when at least one alarm falls in `[start, end + toleranceMs]`.
 * - Alarms outside every (tolerance-extended) window are false alarms; consecutive ones less
 *   than `mergeGapMs` apart count as one (a detector that keeps alarming for a minute after an
 *   event is charged one false alarm, not six hundred).
 * - Precision = detected events / (detected events + false alarms); recall = detected / events.
 * - False alarms per hour are over the whole scored duration.
 * @module
 */
/** What scoring needs of a labelled event: its kind and its window (epoch ms, both inclusive). */
export interface LabelledEvent {
  kind: string;
  start: number;
  end: number;
}

export interface EvaluateOptions {
  /** Grace period after an event window in which an alarm still counts as a detection (default 3000). */
  toleranceMs?: number;
  /** Alarms closer than this merge into one alarm when counting false alarms (default 2000). */
  mergeGapMs?: number;
}

export const DEFAULT_TOLERANCE_MS = 3000;
export const DEFAULT_MERGE_GAP_MS = 2000;

export interface EventOutcome {
  kind: string;
  detected: boolean;
  /** Milliseconds from the event start to its first alarm, when detected. */
  delayMs?: number;
}

export interface TraceEvaluation {
  outcomes: EventOutcome[];
  falseAlarms: number;
  /** Scored duration in milliseconds. */
  durationMs: number;
}

/**
 * Scores one trace. `alarms` are the timestamps of readings flagged as anomalous, ascending;
 * `durationMs` is the length of the scored part.
 */
export function evaluateTrace(
  alarms: readonly number[],
  events: readonly LabelledEvent[],
  durationMs: number,
  options: EvaluateOptions = {},
): TraceEvaluation {
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  const mergeGap = options.mergeGapMs ?? DEFAULT_MERGE_GAP_MS;
  const windows = [...events].sort((a, b) => a.start - b.start);
  const firstAlarm = new Map<LabelledEvent, number>();
  let falseAlarms = 0;
  let lastFalse = -Infinity;
  let w = 0;
  for (const t of alarms) {
    while (w < windows.length && (windows[w] as LabelledEvent).end + tolerance < t) w++;
    let hit = false;
    // Windows may overlap once extended by the tolerance; credit every window containing t.
    for (let j = w; j < windows.length; j++) {
      const ev = windows[j] as LabelledEvent;
      if (ev.start > t) break;
      if (t <= ev.end + tolerance) {
        hit = true;
        if (!firstAlarm.has(ev)) firstAlarm.set(ev, t);
      }
    }
    if (!hit) {
      if (t - lastFalse >= mergeGap) falseAlarms++;
      lastFalse = t;
    }
  }
  const outcomes = events.map((ev): EventOutcome => {
    const first = firstAlarm.get(ev);
    return first === undefined ? { kind: ev.kind, detected: false } : { kind: ev.kind, detected: true, delayMs: first - ev.start };
  });
  return { outcomes, falseAlarms, durationMs };
}

export interface EventMetrics {
  events: number;
  detected: number;
  falseAlarms: number;
  precision: number;
  recall: number;
  f1: number;
  hours: number;
  falseAlarmsPerHour: number;
  /** Median detection delay in milliseconds over detected events (NaN when none). */
  medianDelayMs: number;
}

/** Aggregates trace evaluations (micro-averaged: counts are pooled, then ratios taken). */
export function summarize(evaluations: readonly TraceEvaluation[]): EventMetrics {
  let events = 0;
  let detected = 0;
  let falseAlarms = 0;
  let durationMs = 0;
  const delays: number[] = [];
  for (const e of evaluations) {
    events += e.outcomes.length;
    falseAlarms += e.falseAlarms;
    durationMs += e.durationMs;
    for (const o of e.outcomes) {
      if (o.detected) {
        detected++;
        delays.push(o.delayMs ?? 0);
      }
    }
  }
  return metricsFrom(events, detected, falseAlarms, durationMs, delays);
}

/** Like {@link summarize} but only counting events of one kind (false alarms are still all counted). */
export function summarizeKind(evaluations: readonly TraceEvaluation[], kind: string): EventMetrics {
  return summarize(evaluations.map((e) => ({ ...e, outcomes: e.outcomes.filter((o) => o.kind === kind) })));
}

function metricsFrom(events: number, detected: number, falseAlarms: number, durationMs: number, delays: number[]): EventMetrics {
  const precision = detected + falseAlarms === 0 ? 1 : detected / (detected + falseAlarms);
  const recall = events === 0 ? 1 : detected / events;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const hours = durationMs / 3_600_000;
  delays.sort((a, b) => a - b);
  const medianDelayMs = delays.length === 0 ? NaN : (delays[Math.floor((delays.length - 1) / 2)] as number);
  return {
    events,
    detected,
    falseAlarms,
    precision,
    recall,
    f1,
    hours,
    falseAlarmsPerHour: hours > 0 ? falseAlarms / hours : 0,
    medianDelayMs,
  };
}
