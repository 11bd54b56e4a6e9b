import { describe, expect, it } from 'vitest';
import type { Detector, Reading, Score } from '../../detectors/index.ts';
import { backtest } from './backtest.ts';
import { evaluateDetector } from './evaluation.ts';

/** Score = value / 10; alarms at or above the detector's threshold. */
function linearDetector(threshold = 0.5): Detector {
  const d: Detector = {
    kind: 'robust',
    trainable: false,
    threshold,
    minFitSamples: 0,
    fit: async () => ({ kind: 'robust', samples: 0, threshold, metrics: {} }),
    score: (r: Reading): Score => ({ anomaly_score: r.value / 10, is_anomaly: r.value / 10 >= d.threshold, confidence: 1, method: 'test', signal: 'none' }),
    warmup: () => ({ window_progress: 1, window_size: 1, current_window: 1, status: 'ml_ready' }),
    serialize: () => {
      throw new Error('not needed');
    },
  };
  return d;
}

const readings: Reading[] = Array.from({ length: 1000 }, (_, i) => ({ ts: i * 100, value: i >= 500 && i < 510 ? 9 : i === 800 ? 7 : 1 }));

describe('backtest', () => {
  it('measures exactly what evaluateDetector measures, and buckets the series by reading count', () => {
    const segments = [{ start: 50_000, end: 51_000 }];
    const out = backtest(linearDetector(), readings, segments, { points: 100 });
    expect(out.metrics).toEqual(evaluateDetector(linearDetector(), readings, segments));
    expect(out.metrics).toMatchObject({ events: 1, detected: 1, alarms: 11, false_alarms: 1 });
    expect(out.series).toHaveLength(100);
    expect(out.series[50]).toEqual([50_000, 9, 9, 0.9, 10]);
    expect(out.series[0]).toEqual([0, 1, 1, 0.1, 0]);
    expect(out.series.reduce((n, b) => n + b[4], 0)).toBe(11);
    expect(out.alarms).toEqual([50_000, 80_000]);
  });

  it('follows the threshold it is given, and returns no series for 0 points', () => {
    const out = backtest(linearDetector(0.8), readings, [], { points: 0 });
    expect(out.metrics.alarms).toBe(10);
    expect(out.series).toEqual([]);
  });
});
