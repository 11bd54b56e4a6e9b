import { describe, expect, it } from 'vitest';
import { runSyntheticBenchmark } from './benchmark.ts';
import { createZScoreBaseline } from './zscore-baseline.ts';

describe('runSyntheticBenchmark', () => {
  it('scores a silent detector as recall 0 with no false alarms', async () => {
    const r = await runSyntheticBenchmark({
      makeScorer: () => ({ fit: () => Promise.resolve(), score: () => ({ is_anomaly: false }) }),
      seeds: 1,
      kinds: ['spike', 'stuck'],
    });
    expect(r.traces).toBe(2);
    expect(r.overall).toMatchObject({ events: 8, detected: 0, falseAlarms: 0, recall: 0 });
    expect(r.readingsScored).toBe(12_000);
  });

  it('charges an always-alarming detector false alarms between events', async () => {
    const r = await runSyntheticBenchmark({
      makeScorer: () => ({ fit: () => Promise.resolve(), score: () => ({ is_anomaly: true }) }),
      seeds: 1,
      kinds: ['spike'],
    });
    expect(r.overall.recall).toBe(1);
    expect(r.overall.falseAlarms).toBeGreaterThanOrEqual(4);
    expect(r.overall.precision).toBeLessThan(0.6);
  });

  it('places the rolling z-score baseline well below a usable detector', async () => {
    const r = await runSyntheticBenchmark({ makeScorer: () => createZScoreBaseline(), seeds: 2 });
    expect(r.overall.f1).toBeGreaterThan(0.2);
    expect(r.overall.f1).toBeLessThan(0.7);
    expect(r.overall.falseAlarmsPerHour).toBeGreaterThan(3);
    expect(r.perKind.spike?.recall).toBeGreaterThan(0.8);
    expect(r.perKind.ramp?.recall).toBeLessThan(0.7);
  });

  it('is reproducible', async () => {
    const run = () => runSyntheticBenchmark({ makeScorer: () => createZScoreBaseline(), seeds: 1, kinds: ['oscillation'] });
    expect((await run()).overall).toEqual((await run()).overall);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      runSyntheticBenchmark({ makeScorer: () => createZScoreBaseline(), seeds: 1, signal: controller.signal }),
    ).rejects.toThrow();
  });
});
