import { describe, expect, it } from 'vitest';
import { evaluateTrace, summarize, summarizeKind } from './evaluate.ts';
import type { AnomalyEvent } from './generator.ts';

const ev = (start: number, end: number, kind: AnomalyEvent['kind'] = 'spike'): AnomalyEvent => ({ kind, start, end, magnitude: 1 });
const HOUR = 3_600_000;

describe('evaluateTrace', () => {
  it('detects an event when an alarm falls inside its window or within the tolerance after it', () => {
    const events = [ev(10_000, 12_000), ev(50_000, 51_000), ev(90_000, 91_000)];
    const r = evaluateTrace([11_000, 53_500, 95_000], events, HOUR, { toleranceMs: 3000 });
    expect(r.outcomes.map((o) => o.detected)).toEqual([true, true, false]);
    expect(r.outcomes[0]?.delayMs).toBe(1000);
    expect(r.falseAlarms).toBe(1);
  });

  it('counts consecutive false alarms within the merge gap as one', () => {
    const r = evaluateTrace([1000, 1100, 1200, 2900, 10_000, 20_000], [], HOUR, { mergeGapMs: 2000 });
    expect(r.falseAlarms).toBe(3);
  });

  it('does not count alarms before an event starts as detections', () => {
    const r = evaluateTrace([9_999], [ev(10_000, 11_000)], HOUR);
    expect(r.outcomes[0]?.detected).toBe(false);
    expect(r.falseAlarms).toBe(1);
  });
});

describe('summarize', () => {
  it('pools counts into precision, recall, F1 and false alarms per hour', () => {
    const a = evaluateTrace([11_000, 500_000], [ev(10_000, 12_000), ev(100_000, 101_000, 'dip')], HOUR / 2);
    const b = evaluateTrace([], [ev(10_000, 12_000)], HOUR / 2);
    const m = summarize([a, b]);
    expect(m).toMatchObject({ events: 3, detected: 1, falseAlarms: 1, hours: 1, falseAlarmsPerHour: 1 });
    expect(m.precision).toBeCloseTo(0.5);
    expect(m.recall).toBeCloseTo(1 / 3);
    expect(m.f1).toBeCloseTo(0.4);
    expect(summarizeKind([a, b], 'dip')).toMatchObject({ events: 1, detected: 0, recall: 0, f1: 0 });
  });

  it('gives F1 = 1 for a perfect detector and 0 for a silent one', () => {
    const events = [ev(10_000, 12_000)];
    expect(summarize([evaluateTrace([10_500], events, HOUR)]).f1).toBe(1);
    expect(summarize([evaluateTrace([], events, HOUR)]).f1).toBe(0);
  });
});

describe('evaluateTrace edge cases', () => {
  it('counts an alarm exactly at end + tolerance as a detection and one millisecond later as a false alarm', () => {
    const events = [ev(10_000, 12_000)];
    expect(evaluateTrace([15_000], events, HOUR, { toleranceMs: 3000 }).outcomes[0]?.detected).toBe(true);
    const late = evaluateTrace([15_001], events, HOUR, { toleranceMs: 3000 });
    expect(late.outcomes[0]?.detected).toBe(false);
    expect(late.falseAlarms).toBe(1);
  });

  it('merges false alarms by the gap between consecutive alarms, not from the first one', () => {
    // 0, 1.5 s, 3 s, 4.5 s are a chain with gaps under 2 s: one alarm; 6.6 s starts a new one.
    expect(evaluateTrace([0, 1500, 3000, 4500, 6600], [], HOUR, { mergeGapMs: 2000 }).falseAlarms).toBe(2);
  });

  it('never charges alarms inside an event window, however many', () => {
    const alarms = Array.from({ length: 100 }, (_, i) => 10_000 + i * 10);
    const r = evaluateTrace(alarms, [ev(10_000, 12_000)], HOUR);
    expect(r.falseAlarms).toBe(0);
    expect(r.outcomes[0]?.delayMs).toBe(0);
  });

  it('credits both events when one alarm falls in overlapping tolerance windows', () => {
    const r = evaluateTrace([12_500], [ev(10_000, 11_000), ev(12_000, 13_000, 'dip')], HOUR, { toleranceMs: 3000 });
    expect(r.outcomes.map((o) => o.detected)).toEqual([true, true]);
  });

  it('gives precision 1 and recall 1 when there are neither events nor alarms', () => {
    const m = summarize([evaluateTrace([], [], HOUR)]);
    expect(m).toMatchObject({ precision: 1, recall: 1, falseAlarmsPerHour: 0 });
  });
});
