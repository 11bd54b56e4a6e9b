import { describe, expect, it } from 'vitest';
import { validateArtifact } from './artifact.ts';
import { frameGain, levelFrame, repeatFraction } from './level-frame.ts';
import { Rng } from './random.ts';
import { createDetector, restoreDetector } from './registry.ts';
import type { Detector, DetectorArtifact, Reading, Score } from './types.ts';

const LSB = 5 / 1024;
const T0 = 1_700_000_000_000;
const PAUSE = 5 * 60_000;

/** A 10-bit Arduino-like normal stream around `level` with Gaussian noise `noise` (V), a slow wander and a few ms of timing jitter. */
function stream(n: number, o: { level: number; noise: number; seed: number; t0: number; periodMs?: number; quantize?: boolean }): Reading[] {
  const rng = new Rng(o.seed);
  const period = o.periodMs ?? 100;
  return Array.from({ length: n }, (_, i) => {
    const v = o.level + 0.004 * Math.sin((2 * Math.PI * i) / 3000) + o.noise * rng.normal();
    const jitter = Math.round((rng.next() - 0.5) * 0.08 * period);
    return { ts: o.t0 + i * period + jitter, value: o.quantize === false ? Math.round(v * 1e4) / 1e4 : Math.round(v / LSB) * LSB };
  });
}

async function fitted(params: Record<string, unknown> = {}, kind = 'robust'): Promise<{ detector: Detector; lastTs: number }> {
  const train = stream(6000, { level: 2.5, noise: 0.006, seed: 11, t0: T0 });
  const detector = createDetector(kind, { seed: 5, params });
  await detector.fit(train);
  return { detector, lastTs: train.at(-1)!.ts };
}

const round = (a: DetectorArtifact): DetectorArtifact => JSON.parse(JSON.stringify(a)) as DetectorArtifact;
const alarms = (scores: Score[]): Array<{ i: number; signal: string }> => scores.flatMap((s, i) => (s.is_anomaly ? [{ i, signal: s.signal }] : []));

describe('levelFrame', () => {
  it('measures the median and the mean absolute step, capping the largest steps', () => {
    const values = [1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 1, 1.1, 9];
    const f = levelFrame(values);
    expect(f.center).toBeCloseTo(1.1, 12);
    // 19 steps of 0.1 and one of 7.9, capped at the 95th percentile of the steps.
    expect(f.scale).toBeLessThan(0.5);
    expect(f.scale).toBeGreaterThan(0.1);
  });

  it('maps scales by their ratio, within bounds, and falls back to 1 for a constant stream', () => {
    expect(frameGain({ center: 0, scale: 2 }, { center: 5, scale: 1 })).toBe(2);
    expect(frameGain({ center: 0, scale: 1 }, { center: 5, scale: 0 })).toBe(1);
    expect(frameGain({ center: 0, scale: 1e9 }, { center: 5, scale: 1 })).toBe(1e3);
    expect(repeatFraction([1, 1, 1, 2])).toBeCloseTo(3 / 5, 12);
  });
});

describe('robust with adaptLevel', () => {
  for (const level of [3.3, 1.0]) {
    it(`re-baselines to a device at ${level} V instead of alarming, reporting warming_up meanwhile`, async () => {
      const { detector, lastTs } = await fitted({ adaptLevel: true });
      const d = restoreDetector(round(detector.serialize()));
      expect(d.warmup()).toEqual({ window_progress: 0, window_size: 100, current_window: 0, status: 'warming_up' });
      const live = stream(3000, { level, noise: 0.02, seed: 21, t0: lastTs + PAUSE, quantize: false });
      const scores: Score[] = [];
      for (const [i, r] of live.entries()) {
        scores.push(d.score(r));
        if (i === 49) expect(d.warmup()).toMatchObject({ status: 'warming_up', current_window: 50, window_progress: 0.5 });
        if (i === 99) expect(d.warmup().status).toBe('ml_ready');
      }
      expect(alarms(scores)).toEqual([]);
    });
  }

  it('without adaptLevel, a model trained on the device flags the level change at once (as level_shift, not dropout)', async () => {
    const { detector, lastTs } = await fitted();
    const live = stream(600, { level: 3.3, noise: 0.02, seed: 21, t0: lastTs + PAUSE, quantize: false });
    const found = alarms(live.map((r) => detector.score(r)));
    expect(found[0]).toEqual({ i: 0, signal: 'level_shift' });
    expect(found.filter((a) => a.signal === 'dropout')).toEqual([]);
  });

  it('detects a spike, a mid-stream level shift, a stuck sensor, a 0 V dropout and a time gap after the re-baseline', async () => {
    const { detector, lastTs } = await fitted({ adaptLevel: true });
    const live = stream(6000, { level: 3.3, noise: 0.02, seed: 22, t0: lastTs + PAUSE, quantize: false }).map((r) => ({ ...r }));
    const events: Array<{ kind: string; from: number; to: number }> = [];
    const at = (kind: string, from: number, to: number, edit: (i: number) => void): void => {
      for (let i = from; i <= to; i++) edit(i);
      events.push({ kind, from, to });
    };
    at('spike', 600, 600, (i) => (live[i]!.value += 0.3));
    at('level_shift', 1500, 2099, (i) => (live[i]!.value += 0.15));
    at('stuck', 3000, 3049, (i) => (live[i]!.value = live[2999]!.value));
    at('dropout', 4000, 4019, (i) => (live[i]!.value = 0));
    // A 5 s gap: the readings after it come late.
    for (let i = 5000; i < live.length; i++) live[i]!.ts += 5000;
    events.push({ kind: 'gap', from: 5000, to: 5000 });
    const scores = live.map((r) => detector.score(r));
    const found = alarms(scores);
    for (const e of events) {
      const hit = found.find((a) => a.i >= e.from && a.i <= e.to + 30);
      expect(hit, e.kind).toBeDefined();
    }
    // Anything else is a false alarm; a few echoes of the events at most.
    const outside = found.filter((a) => !events.some((e) => a.i >= e.from && a.i <= e.to + 30));
    expect(outside.length).toBeLessThanOrEqual(3);
    expect(scores[5000]).toMatchObject({ is_anomaly: true, signal: 'dropout' });
    expect(scores[4000]).toMatchObject({ is_anomaly: true, signal: 'dropout' });
  });

  it('learns the device sampling interval: a 2 Hz device is no stream of dropouts', async () => {
    const { detector, lastTs } = await fitted({ adaptLevel: true });
    const live = stream(1200, { level: 1.0, noise: 0.01, seed: 23, t0: lastTs + PAUSE, periodMs: 500, quantize: false });
    expect(alarms(live.map((r) => detector.score(r)))).toEqual([]);
  });

  it('survives serialize/restore at every stage with identical verdicts', async () => {
    const { detector, lastTs } = await fitted({ adaptLevel: true });
    const reference = restoreDetector(round(detector.serialize()));
    const live = stream(400, { level: 3.3, noise: 0.02, seed: 24, t0: lastTs + PAUSE, quantize: false });
    live[250] = { ts: live[250]!.ts, value: live[250]!.value + 0.4 };
    const expected = live.map((r) => reference.score(r));
    let d = restoreDetector(round(detector.serialize()));
    const got: Score[] = [];
    for (const [i, r] of live.entries()) {
      // Through the collection (0, 40, 99), right after it (100) and later (250).
      if ([0, 40, 99, 100, 250].includes(i)) {
        const a = validateArtifact(round(d.serialize()));
        d = restoreDetector(a);
      }
      got.push(d.score(r));
    }
    expect(got).toEqual(expected);
    expect(expected[250]!.is_anomaly).toBe(true);
    const mid = stream(40, { level: 3.3, noise: 0.02, seed: 24, t0: lastTs + PAUSE, quantize: false });
    const partial = restoreDetector(round(detector.serialize()));
    for (const r of mid) partial.score(r);
    const state = partial.serialize().state as { adapt: { collecting: boolean; pending: number[][]; live: unknown } };
    expect(state.adapt).toMatchObject({ collecting: true, live: null });
    expect(state.adapt.pending).toHaveLength(40);
  });

  it('re-baselines again after resume()', async () => {
    const { detector, lastTs } = await fitted({ adaptLevel: true });
    for (const r of stream(300, { level: 3.3, noise: 0.02, seed: 25, t0: lastTs + PAUSE, quantize: false })) detector.score(r);
    expect(detector.warmup().status).toBe('ml_ready');
    detector.resume?.();
    expect(detector.warmup().status).toBe('warming_up');
    const next = stream(600, { level: 1.2, noise: 0.01, seed: 26, t0: lastTs + 2 * PAUSE, quantize: false });
    expect(alarms(next.map((r) => detector.score(r)))).toEqual([]);
  });

  it('does nothing before a fit: an unfitted detector warms up as usual', () => {
    const d = createDetector('robust', { params: { adaptLevel: true } });
    const live = stream(150, { level: 3.3, noise: 0.02, seed: 27, t0: T0, quantize: false });
    live.forEach((r) => d.score(r));
    expect(d.warmup().status).toBe('ml_ready');
    expect((d.serialize().state as { adapt?: unknown }).adapt).toBeUndefined();
  });

  it('rejects malformed re-baseline state in artifacts', async () => {
    const { detector } = await fitted({ adaptLevel: true });
    const good = round(detector.serialize());
    const withAdapt = (adapt: unknown, params: Record<string, unknown> = good.params): unknown => ({ ...good, params, state: { ...(good.state as object), adapt } });
    const ref = (good.state as { adapt: { ref: number[] } }).adapt.ref;
    expect(() => validateArtifact(good)).not.toThrow();
    const bad: Array<[string, unknown]> = [
      ['adapt without adaptLevel', withAdapt({ ref, live: null, collecting: true, pending: [] }, { ...good.params, adaptLevel: false })],
      ['a negative scale', withAdapt({ ref: [2.5, -1], live: null, collecting: true, pending: [] })],
      ['a live frame while collecting', withAdapt({ ref, live: [3, 0.01], collecting: true, pending: [] })],
      ['pending readings when not collecting', withAdapt({ ref, live: [3, 0.01], collecting: false, pending: [[1, 2]] })],
      ['a full window still pending', withAdapt({ ref, live: null, collecting: true, pending: Array.from({ length: 100 }, (_, i) => [i, 3]) })],
      ['a malformed pending reading', withAdapt({ ref, live: null, collecting: true, pending: [[1, 2, 3]] })],
      ['a missing flag', withAdapt({ ref, live: null, pending: [] })],
    ];
    for (const [what, artifact] of bad) expect(() => validateArtifact(artifact), what).toThrow(/adapt/);
  });
});

describe('resuming after fit: no first-reading dropout from window features', () => {
  it('iforest scores the live stream the same whether it follows training at once or after an hour', async () => {
    const train = stream(3000, { level: 2.5, noise: 0.006, seed: 31, t0: T0 });
    const d = createDetector('iforest', { seed: 2 });
    await d.fit(train);
    const artifact = round(d.serialize());
    const live = (t0: number) => stream(200, { level: 2.5, noise: 0.006, seed: 32, t0 });
    const direct = restoreDetector(artifact);
    const paused = restoreDetector(artifact);
    const a = live(train.at(-1)!.ts + 100).map((r) => direct.score(r));
    const b = live(train.at(-1)!.ts + 3_600_000).map((r) => paused.score(r));
    expect(b).toEqual(a);
  });

  it('a user-trained auto model (the default kind) raises no alarm on its own level after a pause, and flags a different level as a level shift', async () => {
    const train = stream(4000, { level: 2.5, noise: 0.006, seed: 33, t0: T0 });
    const d = createDetector('auto', { seed: 3 });
    await d.fit(train);
    const artifact = round(d.serialize());
    const same = restoreDetector(artifact);
    const sameScores = stream(600, { level: 2.5, noise: 0.006, seed: 34, t0: train.at(-1)!.ts + PAUSE }).map((r) => same.score(r));
    expect(alarms(sameScores)).toEqual([]);
    const other = restoreDetector(artifact);
    const otherScores = stream(600, { level: 3.3, noise: 0.006, seed: 34, t0: train.at(-1)!.ts + PAUSE }).map((r) => other.score(r));
    const found = alarms(otherScores);
    // A single reading off the trained level reads as a spike; the next ones as the level shift it is.
    expect(found[0]?.i).toBe(0);
    expect(found.slice(0, 5).map((a) => a.signal)).toContain('level_shift');
    expect(found.filter((a) => a.signal === 'dropout')).toEqual([]);
  });
});
