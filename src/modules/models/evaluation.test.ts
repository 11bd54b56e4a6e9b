import { describe, expect, it } from 'vitest';
import type { Detector, Reading, Score } from '../../detectors/index.ts';
import { combineMetrics, deriveAccuracy, evaluateDetector } from './evaluation.ts';

/** Alarms exactly on the readings whose value is above 5. */
function thresholdDetector(): Detector {
  return {
    kind: 'robust',
    trainable: false,
    threshold: 0.5,
    minFitSamples: 0,
    fit: async () => ({ kind: 'robust', samples: 0, threshold: 0.5, metrics: {} }),
    score: (r: Reading): Score => ({ anomaly_score: r.value > 5 ? 1 : 0, is_anomaly: r.value > 5, confidence: 1, method: 'test', signal: 'none' }),
    warmup: () => ({ window_progress: 1, window_size: 1, current_window: 1, status: 'ml_ready' }),
    serialize: () => {
      throw new Error('not needed');
    },
  };
}

const series = (values: number[]): Reading[] => values.map((value, i) => ({ ts: i * 1000, value }));

describe('evaluateDetector', () => {
  it('measures the false-alarm rate per normal reading without labels', () => {
    const m = evaluateDetector(thresholdDetector(), series([1, 1, 9, 1, 1, 1, 1, 1, 1, 1]));
    expect(m).toMatchObject({ readings: 10, normal_readings: 10, alarms: 1, false_alarm_rate: 0.1, false_alarms: 1 });
    expect(m.f1).toBeUndefined();
    expect(deriveAccuracy(m)).toBe(0.9);
  });

  it('scores labelled events: detected within the segment, false alarms elsewhere', () => {
    const values = Array.from({ length: 60 }, () => 1);
    values[10] = 9; // inside the first event
    values[40] = 9; // a false alarm
    const m = evaluateDetector(thresholdDetector(), series(values), [
      { start: 9000, end: 11_000 },
      { start: 25_000, end: 26_000 },
    ]);
    expect(m).toMatchObject({ events: 2, detected: 1, false_alarms: 1, precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(deriveAccuracy(m)).toBe(0.5);
  });

  it('combines traces by adding events and alarms', () => {
    const a = evaluateDetector(thresholdDetector(), series([1, 9, 1]), [{ start: 1000, end: 1000 }]);
    const b = evaluateDetector(thresholdDetector(), series([1, 1, 1]), [{ start: 1000, end: 1000 }]);
    expect(combineMetrics([a, b])).toMatchObject({ events: 2, detected: 1, recall: 0.5, precision: 1 });
  });
});
