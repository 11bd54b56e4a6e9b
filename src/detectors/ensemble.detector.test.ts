import { describe, it, expect } from 'vitest';
import { ensembleFactory } from './ensemble.detector.ts';
import { createDetector, restoreDetector } from './registry.ts';
import { ANOMALY_TYPES, evaluateEvents, injectAnomalies, normalSignal } from './signal-fixtures.ts';
import { DetectorError } from './types.ts';

const create = (params: Record<string, unknown> = {}, seed = 1) => ensembleFactory.create({ params, seed });

describe('ensemble detector', () => {
  const train = normalSignal(3000, 41);
  const test = normalSignal(6000, 42, train[train.length - 1]!.ts + 100, 3000);

  it('is the registry default kind', () => {
    expect(createDetector().kind).toBe('ensemble');
  });

  it('rejects fit below minFitSamples, naming the minimum', async () => {
    const d = create();
    const err = (await d.fit(train.slice(0, 200)).catch((e: unknown) => e)) as DetectorError;
    expect(err.code).toBe('insufficient-data');
    expect(err.message).toContain(String(d.minFitSamples));
  });

  it('detects injected anomalies of every type with few false alarms', async () => {
    const d = create();
    const report = await d.fit(train);
    expect(report.metrics['rcf.holdout_false_alarm_rate']).toBeDefined();
    const { readings, events } = injectAnomalies(test, ANOMALY_TYPES, 5);
    const res = evaluateEvents(d, readings, events);
    expect(res.detected.length).toBeGreaterThanOrEqual(7);
    expect(res.falseAlarms).toBeLessThanOrEqual(3);
  });

  it('lets a member far beyond the cap alarm alone on a stuck sensor (soloMargin)', async () => {
    const stuck = test.slice(0, 1000).map((r, i) => (i >= 500 && i < 700 ? { ...r, value: test[499]!.value } : r));
    const alarmsWith = async (params: Record<string, unknown>): Promise<number> => {
      const d = create(params);
      await d.fit(train);
      return stuck.filter((r, i) => d.score(r).is_anomaly && i >= 500 && i < 730).length;
    };
    const solo = await alarmsWith({});
    expect(solo).toBeGreaterThan(0);
    expect(solo).toBeGreaterThanOrEqual(await alarmsWith({ soloMargin: 100 }));
  });

  it('names the member that drove an alarm', async () => {
    const d = create();
    await d.fit(train);
    for (const r of test.slice(0, 100)) d.score(r);
    const s = d.score({ ts: test[100]!.ts, value: test[99]!.value + 1 });
    expect(s.is_anomaly).toBe(true);
    expect(s.method).toMatch(/^ensemble:(robust|iforest|rcf)$/);
    expect(s.contributions?.[0]?.name).toBe(s.method.split(':')[1]);
    expect(s.signal).not.toBe('none');
  });

  it('is causal, deterministic for a seed, and restores to identical scores', async () => {
    const a = create({}, 9);
    const b = create({}, 9);
    await a.fit(train);
    await b.fit(train);
    const sa = test.slice(0, 300).map((r) => a.score(r));
    const sb = test.slice(0, 600).map((r) => b.score(r));
    expect(sb.slice(0, 300)).toEqual(sa);
    const c = restoreDetector(JSON.parse(JSON.stringify(a.serialize())));
    const rest = test.slice(300, 900);
    expect(rest.map((r) => c.score(r))).toEqual(rest.map((r) => a.score(r)));
  });

  it('rejects an artifact whose members are malformed', async () => {
    const d = create({ useRobust: false, useRcf: false });
    await d.fit(train);
    const art = d.serialize();
    expect(() => ensembleFactory.validateState(art.state, art)).not.toThrow();
    const state = art.state as { members: Array<Record<string, unknown>> };
    const broken = { ...state, members: [{ ...state.members[0], state: { model: 5 } }] };
    expect(() => ensembleFactory.validateState(broken, art)).toThrow(DetectorError);
    expect(() => ensembleFactory.validateState({ calibration: null, members: [] })).toThrow(/members/);
  });

  it('rejects an ensemble without members', () => {
    expect(() => create({ useRobust: false, useIforest: false, useRcf: false })).toThrow(DetectorError);
  });

  it('warms up online without fit and then scores', () => {
    const d = create();
    const scores = train.map((r) => d.score(r));
    expect(scores[0]!.is_anomaly).toBe(false);
    expect(d.warmup().status).toBe('ml_ready');
    expect(scores.slice(1500).filter((s) => s.is_anomaly).length).toBeLessThan(10);
    const spike = d.score({ ts: train[2999]!.ts + 100, value: train[2999]!.value + 1 });
    expect(spike.is_anomaly).toBe(true);
  });
});
