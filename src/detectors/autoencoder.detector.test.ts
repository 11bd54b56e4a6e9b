import { describe, it, expect } from 'vitest';
import { autoencoderFactory } from './autoencoder.detector.ts';
import { evaluateEvents, injectAnomalies, normalSignal } from './signal-fixtures.ts';
import { DetectorError } from './types.ts';

const create = (params: Record<string, unknown> = {}, seed = 1) => autoencoderFactory.create({ params: { epochs: 4, ...params }, seed });

describe('autoencoder detector', () => {
  const train = normalSignal(2000, 31);
  const test = normalSignal(4000, 32, train[train.length - 1]!.ts + 100, 2000);

  it('rejects fit below minFitSamples, naming the minimum', async () => {
    const d = create();
    const err = (await d.fit(train.slice(0, 50)).catch((e: unknown) => e)) as DetectorError;
    expect(err.code).toBe('insufficient-data');
    expect(err.message).toContain(String(d.minFitSamples));
  });

  it('trains with tfjs, reports progress per epoch and detects shape anomalies', async () => {
    const d = create();
    const stages: string[] = [];
    const report = await d.fit(train, { onProgress: (_p, stage) => stages.push(stage) });
    expect(stages.filter((s) => s.startsWith('epoch')).length).toBe(4);
    expect(Number.isFinite(report.metrics.final_loss)).toBe(true);
    const { readings, events } = injectAnomalies(test, ['spike', 'noise_burst', 'oscillation', 'dropout'], 2);
    const res = evaluateEvents(d, readings, events);
    expect(res.detected.length).toBeGreaterThanOrEqual(3);
    expect(res.falseAlarmsPerHour).toBeLessThanOrEqual(20);
  });

  it('is deterministic for a seed, causal, and restores to identical scores', async () => {
    const a = create({}, 7);
    const b = create({}, 7);
    await a.fit(train);
    await b.fit(train);
    const sa = test.slice(0, 200).map((r) => a.score(r).anomaly_score);
    const sb = test.slice(0, 400).map((r) => b.score(r).anomaly_score);
    expect(sb.slice(0, 200)).toEqual(sa);
    const c = autoencoderFactory.restore(JSON.parse(JSON.stringify(a.serialize())));
    const rest = test.slice(200, 600);
    expect(rest.map((r) => c.score(r))).toEqual(rest.map((r) => a.score(r)));
  });

  it('aborts training with an aborted error', async () => {
    const ac = new AbortController();
    const d = create({ epochs: 50 });
    const p = d.fit(train, { signal: ac.signal, onProgress: () => ac.abort() });
    const err = (await p.catch((e: unknown) => e)) as DetectorError;
    expect(err.code).toBe('aborted');
  });

  it('in online mode trains itself with the TypeScript trainer, deterministically and causally', () => {
    const run = () => {
      const d = create({ warmup: 1000, epochs: 3 });
      const out = train.slice(0, 1300).map((r) => d.score(r));
      return { d, out };
    };
    const { d, out } = run();
    expect(out.slice(0, 1000).every((s) => !s.is_anomaly)).toBe(true);
    expect(d.warmup().status).toBe('ml_ready');
    expect(out.slice(1000).filter((s) => s.is_anomaly).length).toBeLessThan(5);
    expect(run().out.map((s) => s.anomaly_score)).toEqual(out.map((s) => s.anomaly_score));
    const spike = d.score({ ts: train[1300]!.ts, value: train[1299]!.value + 1 });
    expect(spike.is_anomaly).toBe(true);
  });

  it('rejects weights of the wrong shape', () => {
    const d = create();
    const art = d.serialize();
    expect(() => autoencoderFactory.validateState({ ...(art.state as object), model: { scale: 1, calibration: { center: 1, scale: 1, targetFalseAlarmRate: 0.001 }, layers: [] } }, art)).toThrow(DetectorError);
  });
});
