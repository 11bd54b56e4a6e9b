import { describe, it, expect } from 'vitest';
import { rcfFactory } from './rcf.detector.ts';
import { ANOMALY_TYPES, evaluateEvents, injectAnomalies, normalSignal } from './signal-fixtures.ts';
import { DetectorError } from './types.ts';

const create = (params: Record<string, unknown> = {}, seed = 1) => rcfFactory.create({ params, seed });

describe('rcf detector', () => {
  const train = normalSignal(3000, 21);
  const test = normalSignal(6000, 22, train[train.length - 1]!.ts + 100, 3000);

  it('rejects fit below minFitSamples, naming the minimum', async () => {
    const d = create();
    const err = (await d.fit(train.slice(0, 100)).catch((e: unknown) => e)) as DetectorError;
    expect(err.code).toBe('insufficient-data');
    expect(err.message).toContain(String(d.minFitSamples));
  });

  it('detects injected anomalies with few false alarms', async () => {
    const d = create();
    await d.fit(train);
    const { readings, events } = injectAnomalies(test, ANOMALY_TYPES, 4);
    const res = evaluateEvents(d, readings, events);
    expect(res.detected.length).toBeGreaterThanOrEqual(6);
    expect(res.falseAlarmsPerHour).toBeLessThanOrEqual(12);
  });

  it('raises no more than a couple of alarms on clean data', async () => {
    const d = create();
    await d.fit(train);
    expect(evaluateEvents(d, test, []).falseAlarms).toBeLessThanOrEqual(2);
  });

  it('names the signal and the shingle positions behind a spike', async () => {
    const d = create();
    await d.fit(train);
    for (const r of test.slice(0, 50)) d.score(r);
    const s = d.score({ ts: test[50]!.ts, value: test[49]!.value + 1 });
    expect(s.is_anomaly).toBe(true);
    expect(s.signal).toBe('spike');
    expect(s.contributions?.[0]?.name).toBe('lag_0');
  });

  it('is causal and deterministic for a seed', async () => {
    const a = create({}, 3);
    const b = create({}, 3);
    await a.fit(train);
    await b.fit(train);
    const sa = test.slice(0, 300).map((r) => a.score(r).anomaly_score);
    const sb = test.slice(0, 600).map((r) => b.score(r).anomaly_score);
    expect(sb.slice(0, 300)).toEqual(sa);
  });

  it('restores from its artifact (trees, boxes and reservoirs) and scores identically', async () => {
    const a = create({ trees: 10 });
    await a.fit(train);
    for (const r of test.slice(0, 1000)) a.score(r);
    const b = rcfFactory.restore(JSON.parse(JSON.stringify(a.serialize())));
    const rest = test.slice(1000, 3000);
    expect(rest.map((r) => b.score(r))).toEqual(rest.map((r) => a.score(r)));
    expect(JSON.stringify(b.serialize())).toEqual(JSON.stringify(a.serialize()));
  });

  it('with updateEvery, scores every reading, learns from every n-th and restores mid-cycle', async () => {
    const a = create({ trees: 10, updateEvery: 3 });
    await a.fit(train);
    const before = JSON.stringify((a.serialize().state as { trees: unknown[] }).trees);
    a.score(test[0]!);
    const scores = test.slice(1, 1001).map((r) => a.score(r));
    expect(scores.every((s) => s.anomaly_score >= 0 && s.anomaly_score <= 1)).toBe(true);
    expect(JSON.stringify((a.serialize().state as { trees: unknown[] }).trees)).not.toEqual(before);
    const b = rcfFactory.restore(JSON.parse(JSON.stringify(a.serialize())));
    const rest = test.slice(1001, 2001);
    expect(rest.map((r) => b.score(r))).toEqual(rest.map((r) => a.score(r)));
    const { readings, events } = injectAnomalies(test, ANOMALY_TYPES, 4);
    const c = create({ updateEvery: 2 });
    await c.fit(train);
    expect(evaluateEvents(c, readings, events).detected.length).toBeGreaterThanOrEqual(6);
  });

  it('keeps each tree at most sampleSize points through many inserts and deletes', async () => {
    const d = create({ trees: 4, sampleSize: 32, horizon: 64 });
    await d.fit(train);
    const state = d.serialize().state as { trees: Array<{ nodes: number[]; sample: number[] }> };
    for (const t of state.trees) {
      expect(t.sample.length).toBe(32);
      expect(t.nodes[4]).toBe(32);
    }
  });

  it('warms up online, then scores', () => {
    const d = create({ warmup: 600 });
    const scores = [...train.slice(0, 600), ...test.slice(0, 300)].map((r) => d.score(r));
    expect(scores.slice(0, 600).every((s) => !s.is_anomaly)).toBe(true);
    expect(d.warmup().status).toBe('ml_ready');
    expect(scores.slice(600).filter((s) => s.is_anomaly).length).toBeLessThan(5);
  });

  it('rejects a malformed artifact state', () => {
    expect(() => rcfFactory.validateState({})).toThrow(DetectorError);
    const bad = { seen: 1, skipRun: 0, learnLeft: 0, lastTs: null, shingle: [0, 0], calibration: null, warmRaw: [], trees: [{ rng: 1, nodes: [0, 0, 0, 0, 1], points: [], sample: [] }] };
    expect(() => rcfFactory.validateState(bad)).toThrow(/children/);
  });

  it('aborts a fit when the signal is aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = (await create().fit(train, { signal: ac.signal }).catch((e: unknown) => e)) as DetectorError;
    expect(err.code).toBe('aborted');
  });
});
