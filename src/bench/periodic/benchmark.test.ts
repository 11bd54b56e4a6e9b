import { describe, expect, it } from 'vitest';
import { createDetector } from '../../detectors/index.ts';
import {
  buildSeries,
  detectorScorer,
  generatePeriodicSeries,
  judge,
  matrixProfileScorer,
  PERIODIC_DEV_SEEDS,
  PERIODIC_FAMILIES,
  PERIODIC_HELDOUT_SEEDS,
  runPeriodicBenchmark,
  SHAPE_ANOMALIES,
  subsequenceScorer,
  UCR_SLACK,
} from './index.ts';

describe('periodic series generator', () => {
  it('is deterministic in its seed and puts the one anomaly in the test part', () => {
    const a = generatePeriodicSeries(1001, 0);
    const b = generatePeriodicSeries(1001, 0);
    expect([...a.values]).toEqual([...b.values]);
    for (const [i, seed] of PERIODIC_DEV_SEEDS.slice(0, 14).entries()) {
      const s = generatePeriodicSeries(seed, i);
      expect(s.anomalyStart).toBeGreaterThanOrEqual(s.trainLength);
      expect(s.anomalyEnd).toBeGreaterThanOrEqual(s.anomalyStart);
      expect(s.anomalyEnd).toBeLessThan(s.values.length);
      expect(s.values.every(Number.isFinite)).toBe(true);
    }
  });

  it('covers every family with every anomaly within 42 series, on disjoint development and held-out seeds', () => {
    const pairs = new Set(Array.from({ length: 42 }, (_, i) => generatePeriodicSeries(PERIODIC_DEV_SEEDS[i]!, i)).map((s) => `${s.family}/${s.anomaly}`));
    expect(pairs.size).toBe(PERIODIC_FAMILIES.length * SHAPE_ANOMALIES.length);
    expect(PERIODIC_DEV_SEEDS.some((s) => PERIODIC_HELDOUT_SEEDS.includes(s))).toBe(false);
  });

  it('makes a missing beat flat where the beat should be', () => {
    const s = buildSeries(5, 'ecg', 'missing_beat');
    const anomaly = s.values.subarray(s.anomalyStart, s.anomalyEnd + 1);
    const before = s.values.subarray(s.anomalyStart - (s.anomalyEnd - s.anomalyStart + 1), s.anomalyStart);
    const range = (xs: Float64Array) => Math.max(...xs) - Math.min(...xs);
    expect(range(anomaly)).toBeLessThan(0.6 * range(before));
  });
});

describe('judge (UCR rule)', () => {
  const s = generatePeriodicSeries(1001, 0);
  const scoresPeakingAt = (index: number) => {
    const out = new Float64Array(s.values.length - s.trainLength);
    out[index - s.trainLength] = 1;
    return out;
  };
  it(`accepts a peak inside the label or within ${UCR_SLACK} samples of it, and nothing further`, () => {
    expect(judge(s, scoresPeakingAt(s.anomalyStart)).correct).toBe(true);
    expect(judge(s, scoresPeakingAt(s.anomalyEnd + UCR_SLACK)).correct).toBe(true);
    expect(judge(s, scoresPeakingAt(s.anomalyEnd + UCR_SLACK + 1)).correct).toBe(false);
    expect(judge(s, scoresPeakingAt(s.anomalyStart - UCR_SLACK - 1)).correct).toBe(false);
  });
  it('takes the first of tied maxima, so a saturated score gains nothing', () => {
    const flat = new Float64Array(s.values.length - s.trainLength).fill(1);
    expect(judge(s, flat).predicted).toBe(s.trainLength);
  });
});

describe('runPeriodicBenchmark', () => {
  it('scores the subsequence channel and the matrix-profile anchor per split, kind and family', async () => {
    const channel = await runPeriodicBenchmark(subsequenceScorer(), { limit: 7 });
    expect(channel.whole.total).toBe(14);
    expect(channel.dev.total).toBe(7);
    expect(channel.heldout.total).toBe(7);
    expect(channel.whole.accuracy).toBeGreaterThanOrEqual(0.7);
    expect(Object.values(channel.perAnomaly).reduce((n, a) => n + (a?.total ?? 0), 0)).toBe(14);
    const mp = await runPeriodicBenchmark(matrixProfileScorer(), { limit: 2, splits: ['dev'] });
    expect(mp.outcomes).toHaveLength(2);
  });

  it('runs a detector kind the way a user does: fit on the training part, anomaly_score per test reading', async () => {
    const r = await runPeriodicBenchmark(detectorScorer('robust', () => createDetector('robust')), { limit: 1, splits: ['dev'] });
    expect(r.scorer).toBe('robust');
    expect(r.readings).toBeGreaterThan(1000);
  });
});
