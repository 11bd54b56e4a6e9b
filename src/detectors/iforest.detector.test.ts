import { describe, it, expect } from 'vitest';
import { iforestFactory } from './iforest.detector.ts';
import { ANOMALY_TYPES, evaluateEvents, injectAnomalies, normalSignal } from './signal-fixtures.ts';
import { DetectorError, type Reading } from './types.ts';

const create = (params: Record<string, unknown> = {}, seed = 1) => iforestFactory.create({ params, seed });

describe('iforest detector', () => {
  const train = normalSignal(3000, 11);
  const test = normalSignal(6000, 12, train[train.length - 1]!.ts + 100, 3000);

  it('rejects fit below minFitSamples, naming the minimum', async () => {
    const d = create();
    const err = await d.fit(train.slice(0, 10)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DetectorError);
    expect((err as DetectorError).code).toBe('insufficient-data');
    expect((err as DetectorError).message).toContain(String(d.minFitSamples));
  });

  it('detects injected anomalies with few false alarms', async () => {
    const d = create();
    const report = await d.fit(train);
    expect(report.metrics.holdout_false_alarm_rate).toBeLessThan(0.01);
    const { readings, events } = injectAnomalies(test, ANOMALY_TYPES, 3);
    const res = evaluateEvents(d, readings, events);
    expect(res.detected.length).toBeGreaterThanOrEqual(6);
    expect(res.falseAlarmsPerHour).toBeLessThan(30);
  });

  it('explains an alarm with top contributing features', async () => {
    const d = create();
    await d.fit(train);
    for (const r of test.slice(0, 100)) d.score(r);
    const s = d.score({ ts: test[100]!.ts, value: test[99]!.value + 1 });
    expect(s.is_anomaly).toBe(true);
    expect(s.contributions?.length).toBeGreaterThan(0);
    expect(s.signal).not.toBe('none');
  });

  it('is causal: scores of a prefix do not depend on what follows', async () => {
    const a = create();
    const b = create();
    await a.fit(train);
    await b.fit(train);
    const sa = test.slice(0, 300).map((r) => a.score(r).anomaly_score);
    const sb = test.slice(0, 600).map((r) => b.score(r).anomaly_score);
    expect(sb.slice(0, 300)).toEqual(sa);
  });

  it('gives the same scores for the same seed and different ones for another seed', async () => {
    const a = create({}, 5);
    const b = create({}, 5);
    const c = create({}, 6);
    await Promise.all([a.fit(train), b.fit(train), c.fit(train)]);
    const run = (d: typeof a) => test.slice(0, 200).map((r) => d.score(r).anomaly_score);
    const ra = run(a);
    expect(run(b)).toEqual(ra);
    expect(run(c)).not.toEqual(ra);
  });

  it('restores from its artifact and scores identically', async () => {
    const a = create();
    await a.fit(train);
    for (const r of test.slice(0, 100)) a.score(r);
    const art = JSON.parse(JSON.stringify(a.serialize()));
    const b = iforestFactory.restore(art);
    const rest = test.slice(100, 400);
    expect(rest.map((r) => b.score(r))).toEqual(rest.map((r) => a.score(r)));
  });

  it('rejects malformed state', () => {
    expect(() => iforestFactory.validateState({ model: null })).toThrow(DetectorError);
    const bad = { model: { forest: { roots: [5] } }, window: { values: [], ts: [], run: 0 }, warmBuffer: [] };
    expect(() => iforestFactory.validateState(bad)).toThrow(/invalid|must/i);
  });

  it('warms up online without fit, then scores causally', () => {
    const d = create({ warmup: 600 });
    const stream: Reading[] = [...train.slice(0, 600), ...test.slice(0, 200)];
    const scores = stream.map((r) => d.score(r));
    expect(scores.slice(0, 600).every((s) => !s.is_anomaly && s.anomaly_score === 0)).toBe(true);
    expect(d.warmup().status).toBe('ml_ready');
    const alarms = scores.slice(600).filter((s) => s.is_anomaly).length;
    expect(alarms).toBeLessThan(5);
  });

  it('reports warm-up progress while buffering', () => {
    const d = create({ warmup: 200 });
    for (const r of train.slice(0, 50)) d.score(r);
    expect(d.warmup()).toEqual({ window_progress: 0.25, window_size: 200, current_window: 50, status: 'warming_up' });
  });

  it('rejects unknown parameters', () => {
    expect(() => create({ nope: 1 })).toThrow(DetectorError);
  });

  it('aborts a fit when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await create().fit(train, { signal: ac.signal }).catch((e: unknown) => e);
    expect((err as DetectorError).code).toBe('aborted');
  });
});
