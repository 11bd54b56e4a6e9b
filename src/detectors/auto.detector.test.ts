import { describe, expect, it } from 'vitest';
import { evaluateTrace } from '../bench/synthetic/evaluate.ts';
import { generateFaultTrace } from '../bench/synthetic/faults.ts';
import { parseArtifact, validateArtifact } from './artifact.ts';
import { SubsequenceChannel } from './channels/subsequence.ts';
import { Rng } from './random.ts';
import { createDetector, describeDetectors, restoreDetector } from './registry.ts';
import { DEFAULT_DETECTOR_KIND, DetectorError, type Detector, type DetectorArtifact, type Reading, type Score } from './types.ts';

const LSB = 5 / 1024;
const T0 = 1_700_000_000_000;
const round = (a: DetectorArtifact): DetectorArtifact => JSON.parse(JSON.stringify(a)) as DetectorArtifact;

/** A simulator-like 10 Hz, 10-bit stream: level, slow wander, Gaussian noise, timing jitter. */
function trace(n: number, seed: number, t0 = T0, level = 2.5, noise = 0.01): Array<{ ts: number; value: number }> {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const v = level + 0.02 * Math.sin((2 * Math.PI * i) / 3000) + noise * rng.normal();
    return { ts: t0 + i * 100 + Math.round((rng.next() - 0.5) * 8), value: Math.round(v / LSB) * LSB };
  });
}

const AVERAGING: ReadonlySet<string> = new Set(['level', 'drift', 'swing', 'burst', 'collapse', 'range', 'trend']);
const alarmsIn = (scores: Score[], from: number, to: number): Score[] => scores.slice(from, to + 1).filter((s) => s.is_anomaly);

/** Scores `live` with an `auto` detector (seed 1, `params`) fitted on `train`. */
async function scoresAfterFit(params: Record<string, unknown>, train: readonly Reading[], live: readonly Reading[]): Promise<Score[]> {
  const d = createDetector('auto', { seed: 1, params });
  await d.fit(train);
  return live.map((r) => d.score(r));
}

/**
 * Over `traces` (each fitted on its first 3,000 readings and scoring the rest), in how many an
 * alarm between live readings `from` and `to` is a `hit` with the defaults (`found`), and in how
 * many any alarm comes there with the boolean parameter `param` off (`foundOff`); `each` checks
 * every trace's scores with the defaults.
 */
async function foundOnAndOff(
  traces: readonly Reading[][],
  param: string,
  [from, to]: [number, number],
  hit: (s: Score) => boolean,
  each: (on: Score[]) => void,
): Promise<{ found: number; foundOff: number }> {
  let found = 0;
  let foundOff = 0;
  for (const all of traces) {
    const on = await scoresAfterFit({}, all.slice(0, 3000), all.slice(3000));
    const off = await scoresAfterFit({ [param]: false }, all.slice(0, 3000), all.slice(3000));
    if (alarmsIn(on, from, to).some(hit)) found++;
    if (alarmsIn(off, from, to).length > 0) foundOff++;
    each(on);
  }
  return { found, foundOff };
}

/**
 * Fits an `auto` detector (`options`) on development trace `seed`'s training part and scores its
 * test part: the scores, the fitted artifact, and the events found and false alarms as the benchmark
 * counts them (default tolerance and merge gap).
 */
async function onFaultTrace(
  seed: number,
  options: { seed?: number; params: Record<string, unknown> },
): Promise<{ scores: Score[]; artifact: DetectorArtifact; found: number; falseAlarms: number }> {
  const tr = generateFaultTrace(seed);
  const d = createDetector('auto', options);
  await d.fit(tr.train);
  const artifact = round(d.serialize());
  const scores = tr.test.map((r) => d.score(r));
  const alarms = tr.test.filter((_, i) => (scores[i] as Score).is_anomaly).map((r) => r.ts);
  const periodMs = 1000 / tr.info.sampleRateHz;
  const e = evaluateTrace(alarms, tr.events, (tr.test.at(-1) as Reading).ts - (tr.test[0] as Reading).ts + periodMs);
  return { scores, artifact, found: e.outcomes.filter((o) => o.detected).length, falseAlarms: e.falseAlarms };
}

/**
 * Fault trace `seed` fitted with every default and with the boolean `param` off, and the indices of
 * its (one) spike event's readings in the scored part.
 */
async function spikeWithAndWithout(seed: number, param: string): Promise<{ on: Awaited<ReturnType<typeof onFaultTrace>>; off: Awaited<ReturnType<typeof onFaultTrace>>; inSpike: number[] }> {
  const on = await onFaultTrace(seed, { seed: 1, params: {} });
  const off = await onFaultTrace(seed, { seed: 1, params: { [param]: false } });
  const tr = generateFaultTrace(seed);
  const spike = tr.events.find((e) => e.kind === 'spike') as { start: number; end: number };
  const inSpike = tr.test.map((r, i) => (r.ts >= spike.start && r.ts <= spike.end ? i : -1)).filter((i) => i >= 0);
  return { on, off, inSpike };
}

/** The width of a score's normal band in steps of `q`. */
const bandIn = (q: number) => (s: Score): number => ((s.upper as number) - (s.lower as number)) / q;

/**
 * Fits `auto` with `params` on `tr`'s training part and scores its scored part: the channels of the
 * alarms in `ev` (up to 3 s after it), the times of the others (ms into the scored part), and the detector.
 */
async function alarmsAround(
  tr: { train: readonly Reading[]; test: readonly Reading[] },
  ev: { start: number; end: number },
  params: Record<string, unknown>,
): Promise<{ inEvent: string[]; elsewhere: number[]; detector: Detector }> {
  const detector = createDetector('auto', { seed: 1, params });
  await detector.fit(tr.train);
  const t0 = (tr.test[0] as Reading).ts;
  const inEvent: string[] = [];
  const elsewhere: number[] = [];
  for (const r of tr.test) {
    const s = detector.score(r);
    if (!s.is_anomaly) continue;
    if (r.ts >= ev.start && r.ts <= ev.end + 3000) inEvent.push(s.channel as string);
    else elsewhere.push(r.ts - t0);
  }
  return { inEvent, elsewhere, detector };
}

/**
 * A model written before the parameter `param` existed (fitted with it off, the parameter absent
 * from its artifact) loads with it off (`offValue`: false for a boolean) and scores exactly as a
 * model with it off. Restored is compared with restored: the shape channel's sums differ from a
 * fitted one's in the last bits. `also`: further parameters of that model (as it was fitted then).
 */
async function expectLoadsWithItOff(param: string, train: readonly Reading[], live: readonly Reading[], offValue: boolean | number = false, also: Record<string, unknown> = {}): Promise<void> {
  const off = createDetector('auto', { seed: 1, params: { ...also, [param]: offValue } });
  await off.fit(train);
  const old = round(off.serialize());
  delete (old.params as Record<string, unknown>)[param];
  const restored = restoreDetector(validateArtifact(old));
  expect(restored.serialize().params[param]).toBe(offValue);
  const explicit = restoreDetector(validateArtifact(round(off.serialize())));
  expect(live.map((r) => restored.score(r))).toEqual(live.map((r) => explicit.score(r)));
}

/**
 * `detector` (never fitted, mid-stream) as written before the boolean parameter `param` existed:
 * its artifact without the parameter, restored; the restored detector has it off.
 */
function restoredWithout(param: string, detector: Detector): Detector {
  const old = round(detector.serialize());
  delete (old.params as Record<string, unknown>)[param];
  const restored = restoreDetector(validateArtifact(old));
  expect(restored.serialize().params[param]).toBe(false);
  return restored;
}

/**
 * With adaptLevel the boolean parameter `param` changes nothing (the same scores as with it off),
 * and a fitted model's state holds no `stateKey`.
 */
async function expectOffWithAdaptLevel(param: string, stateKey: string, train: readonly Reading[], live: readonly Reading[]): Promise<void> {
  const adapting = await scoresAfterFit({ adaptLevel: true }, train, live);
  expect(adapting).toEqual(await scoresAfterFit({ adaptLevel: true, [param]: false }, train, live));
  const d = createDetector('auto', { seed: 1, params: { adaptLevel: true } });
  await d.fit(train);
  expect(d.serialize().state).not.toHaveProperty(stateKey);
}

/**
 * Scores `live` up to `at` with `d`, then checks that a model restored from its artifact scores the
 * rest exactly as `d` goes on; returns that artifact.
 */
function expectRestoredGoesOn(d: Detector, live: readonly Reading[], at: number): DetectorArtifact {
  for (const r of live.slice(0, at)) d.score(r);
  const art = round(d.serialize());
  const restored = restoreDetector(validateArtifact(art));
  const rest = live.slice(at);
  expect(rest.map((r) => restored.score(r))).toEqual(rest.map((r) => d.score(r)));
  return art;
}

async function fittedAuto(): Promise<{ train: Reading[]; artifact: DetectorArtifact }> {
  const train = trace(3000, 1);
  const d = createDetector('auto', { seed: 1 });
  await d.fit(train);
  return { train, artifact: round(d.serialize()) };
}

describe('auto (the default kind)', () => {
  it('is the default kind and is listed first; ensemble is gone from the kinds', () => {
    expect(DEFAULT_DETECTOR_KIND).toBe('auto');
    const kinds = describeDetectors().map((d) => d.kind);
    expect(kinds[0]).toBe('auto');
    expect(kinds).not.toContain('ensemble');
  });

  it('raises no alarm on clean noise, fitted or online', async () => {
    const { train, artifact } = await fittedAuto();
    const d = restoreDetector(artifact);
    const live = trace(6000, 2, train.at(-1)!.ts + 60_000);
    expect(live.map((r) => d.score(r)).filter((s) => s.is_anomaly)).toEqual([]);
    const online = createDetector('auto');
    expect(trace(9000, 3).map((r) => online.score(r)).filter((s) => s.is_anomaly)).toEqual([]);
  });

  it('detects an injected spike, level shift, stuck run and dropout, naming the channel', async () => {
    const { train, artifact } = await fittedAuto();
    const d = restoreDetector(artifact);
    const base = trace(6000, 4, train.at(-1)!.ts + 60_000);
    const r = base.map((x) => ({ ...x }));
    r[1000]!.value += 0.5; // spike
    for (let i = 2000; i < 2300; i++) r[i]!.value += 0.2; // level shift
    for (let i = 3500; i < 3560; i++) r[i]!.value = r[3499]!.value; // stuck
    for (let i = 4500; i < 6000; i++) r[i]!.ts += 5000; // dropout: a 5 s gap before reading 4500
    const scores = r.map((x) => d.score(x));
    const spike = alarmsIn(scores, 1000, 1010);
    expect(spike.length).toBeGreaterThan(0);
    // The fault channels see a lone 50-sigma reading as a spike or as the start of a level change.
    expect(['spike', 'level']).toContain(spike[0]!.channel);
    expect(alarmsIn(scores, 2000, 2030).length).toBeGreaterThan(0);
    const stuck = alarmsIn(scores, 3500, 3560);
    expect(stuck.map((s) => s.signal)).toContain('stuck');
    const gap = alarmsIn(scores, 4500, 4502);
    expect(gap.map((s) => s.signal)).toContain('dropout');
    // Nothing outside the events and their aftermath (the level's return after 300 readings is a change too).
    const quiet = scores.filter((s, i) => s.is_anomaly && !(i >= 1000 && i < 1050) && !(i >= 2000 && i < 2500) && !(i >= 3500 && i < 3600) && !(i >= 4500 && i < 4550));
    expect(quiet).toEqual([]);
  });

  it('explains each prediction: the expected value and a band that contains normal readings', async () => {
    const { train, artifact } = await fittedAuto();
    const d = restoreDetector(artifact);
    const live = trace(3000, 5, train.at(-1)!.ts + 60_000);
    const scores = live.map((r) => d.score(r));
    let inside = 0;
    for (const [i, s] of scores.entries()) {
      expect(s.expected).toBeTypeOf('number');
      expect(s.lower!).toBeLessThan(s.expected!);
      expect(s.upper!).toBeGreaterThan(s.expected!);
      expect(Math.abs(s.expected! - live[i]!.value)).toBeLessThan(0.1);
      if (live[i]!.value >= s.lower! && live[i]!.value <= s.upper!) inside++;
      expect(s.channel).toBeTypeOf('string');
    }
    expect(inside / scores.length).toBeGreaterThan(0.999);
    // The band is narrow enough that a 0.5 V spike lies outside it.
    const last = scores.at(-1)!;
    expect(last.upper! - last.expected!).toBeLessThan(0.5);
  });

  it('round-trips through serialize and restore mid-stream with identical scores', async () => {
    const { train, artifact } = await fittedAuto();
    const a = restoreDetector(artifact);
    const live = trace(2000, 6, train.at(-1)!.ts + 60_000);
    live[1500]!.value += 0.4;
    for (const r of live.slice(0, 1000)) a.score(r);
    const b = restoreDetector(validateArtifact(round(a.serialize())));
    const rest = live.slice(1000);
    expect(rest.map((r) => b.score(r))).toEqual(rest.map((r) => a.score(r)));
    expect(JSON.stringify(a.serialize()).length).toBeLessThan(512 * 1024);
  });

  it('scores a clock that steps back or repeats in order, one score per reading, without a flood of alarms', () => {
    const d = createDetector('auto');
    const r = trace(4000, 7);
    for (let i = 2000; i < 2100; i++) r[i]!.ts -= 3_600_000; // the clock steps back an hour for 100 readings
    for (let i = 3000; i < 3050; i++) r[i]!.ts = r[2999]!.ts; // and then repeats one timestamp
    const scores = r.map((x) => d.score(x));
    expect(scores).toHaveLength(r.length);
    expect(scores.every((s) => Number.isFinite(s.anomaly_score))).toBe(true);
    expect(scores.filter((s) => s.is_anomaly).length).toBeLessThanOrEqual(3);
  });

  it('learns online without fit and flags a large level change', () => {
    const d = createDetector('auto');
    const r = trace(6000, 8);
    for (let i = 4000; i < 6000; i++) r[i]!.value += 1;
    const scores = r.map((x) => d.score(x));
    expect(scores.slice(0, 4000).filter((s) => s.is_anomaly)).toEqual([]);
    expect(alarmsIn(scores, 4000, 4010).length).toBeGreaterThan(0);
  });

  it('refuses an artifact of the retired ensemble kind with a retrain path', () => {
    const old = { format: 'vigil-detector', version: 1, kind: 'ensemble', seed: 1, threshold: 0.5, params: {}, state: { calibration: null, members: [] } };
    expect(() => validateArtifact(old)).toThrow(DetectorError);
    expect(() => parseArtifact(JSON.stringify(old))).toThrow(/retired.*"auto".*vigil train/s);
    expect(() => createDetector('ensemble')).toThrow(/retired/);
  });

  it('rejects a tampered member state', async () => {
    const { artifact } = await fittedAuto();
    const bad = round(artifact);
    (bad.state as { robust: { kind: string } }).robust.kind = 'context';
    expect(() => validateArtifact(bad)).toThrow(/robust/);
  });
});

describe('auto on a cycle (seasonal removal)', () => {
  /** 20 Hz, a 1.87 s cycle of amplitude 0.5 V around 2.5 V, noise 0.01 V. */
  const cycle = (n: number, seed: number, t0 = T0): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 50, value: 2.5 + 0.5 * Math.sin((2 * Math.PI * i) / 37.4) + 0.01 * rng.normal() }));
  };

  it('finds a spike far smaller than the cycle, with a band that follows the cycle', async () => {
    const train = cycle(4000, 3);
    const d = createDetector('auto', { seed: 1 });
    const report = await d.fit(train);
    expect(report.metrics.seasonal_period).toBeCloseTo(37.4, 0);
    const live = cycle(3000, 4, T0 + 4000 * 50);
    live[2000] = { ...live[2000]!, value: live[2000]!.value + 0.12 }; // 12 noise sd, a quarter of the amplitude
    const scores = live.map((r) => d.score(r));
    expect(alarmsIn(scores, 2000, 2005).length).toBeGreaterThan(0);
    expect(alarmsIn(scores, 300, 1990)).toEqual([]);
    // The band moves with the cycle: the expected value tracks the sine within a few noise sd.
    for (const i of [1500, 1510, 1520]) expect(Math.abs(scores[i]!.expected! - (2.5 + 0.5 * Math.sin((2 * Math.PI * i) / 37.4)))).toBeLessThan(0.05);
  });

  it('loads a model written before a spike could be a shape incident\'s echo with that off, and scores as such a model does', async () => {
    const train = cycle(4000, 3);
    const on = createDetector('auto', { seed: 1 });
    await on.fit(train);
    expect(on.serialize().params.pointEchoOfShape).toBe(true);
    const off = createDetector('auto', { seed: 1, params: { pointEchoOfShape: false } });
    await off.fit(train);
    const old = round(on.serialize());
    delete (old.params as Record<string, unknown>).pointEchoOfShape;
    const before = restoreDetector(validateArtifact(old));
    expect(before.serialize().params.pointEchoOfShape).toBe(false);
    const live = cycle(2000, 4, T0 + 4000 * 50);
    // The cycle runs a third faster for 20 s and comes back at another phase: a shape incident.
    for (let i = 1000; i < 2000; i++) live[i] = { ...live[i]!, value: live[i]!.value + 0.5 * (Math.sin((2 * Math.PI * (i + (Math.min(i, 1400) - 1000) / 3)) / 37.4) - Math.sin((2 * Math.PI * i) / 37.4)) };
    live[1100] = { ...live[1100]!, value: live[1100]!.value + 0.15 };
    const offRestored = restoreDetector(validateArtifact(round(off.serialize())));
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => offRestored.score(r)));
  });

  it('loads a model written before the reference cycles and the variance channels\' step back on cycles as such a model, and scores as one', async () => {
    const train = cycle(4000, 3);
    const now = createDetector('auto', { seed: 1 });
    await now.fit(train);
    expect(now.serialize().params.cycleVarianceBias).toBe(-2);
    const off = createDetector('auto', { seed: 1, params: { cycleVarianceBias: 0 } });
    await off.fit(train);
    // What an older build wrote: no parameter, no reference in the shape channel's state.
    const strip = (a: DetectorArtifact, param: boolean): DetectorArtifact => {
      const r = round(a);
      if (param) delete (r.params as Record<string, unknown>).cycleVarianceBias;
      const shape = (r.state as { shape: Record<string, unknown> }).shape;
      delete shape.reference;
      delete shape.referenceRoughness;
      return r;
    };
    const before = restoreDetector(validateArtifact(strip(now.serialize(), true)));
    expect(before.serialize().params.cycleVarianceBias).toBe(0);
    const offRestored = restoreDetector(validateArtifact(strip(off.serialize(), false)));
    const live = cycle(2000, 4, T0 + 4000 * 50);
    const rng = new Rng(9);
    for (let i = 1000; i < 1100; i++) live[i] = { ...live[i]!, value: live[i]!.value + 0.05 * rng.normal() }; // a noise burst
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => offRestored.score(r)));
  });

  it('on a cycle, steps the fault channels back below the threshold only: the same alarms, lower near misses', async () => {
    const train = cycle(4000, 3);
    // At the per-reading false-alarm target (budgetHz 0) this 20 Hz fixture was written for; the
    // default's lower target at 20 Hz leaves fewer near misses to step back.
    const now = createDetector('auto', { seed: 1, params: { budgetHz: 0 } });
    await now.fit(train);
    expect(now.serialize().params.cycleQuietBias).toBe(-4);
    const off = createDetector('auto', { seed: 1, params: { cycleQuietBias: 0, budgetHz: 0 } });
    await off.fit(train);
    const live = cycle(3000, 4, T0 + 4000 * 50);
    for (const [at, size] of [[1000, 0.12], [2000, 0.03]] as const) live[at] = { ...live[at]!, value: live[at]!.value + size };
    const a = live.map((r) => now.score(r));
    const b = live.map((r) => off.score(r));
    expect(a.map((s) => s.is_anomaly)).toEqual(b.map((s) => s.is_anomaly));
    expect(alarmsIn(a, 1000, 1005).length).toBeGreaterThan(0);
    let lower = 0;
    for (const [i, s] of a.entries()) {
      const o = b[i]!;
      if (o.is_anomaly) expect(s.anomaly_score).toBe(o.anomaly_score);
      else expect(s.anomaly_score).toBeLessThanOrEqual(o.anomaly_score);
      if (s.anomaly_score < o.anomaly_score) lower++;
    }
    expect(lower).toBeGreaterThan(1000);
    // Without a cycle nothing changes.
    const flat = Array.from({ length: 4000 }, (_, i) => ({ ts: T0 + i * 50, value: 2.5 + 0.01 * new Rng(i).normal() }));
    const f1 = createDetector('auto', { seed: 1 });
    const f0 = createDetector('auto', { seed: 1, params: { cycleQuietBias: 0 } });
    await f1.fit(flat.slice(0, 3000));
    await f0.fit(flat.slice(0, 3000));
    expect(flat.slice(3000).map((r) => f1.score(r))).toEqual(flat.slice(3000).map((r) => f0.score(r)));
  });

  it('loads a model written before the near misses stepped back on cycles with that off, and scores as such a model does', async () => {
    const train = cycle(4000, 3);
    const now = createDetector('auto', { seed: 1 });
    await now.fit(train);
    const off = createDetector('auto', { seed: 1, params: { cycleQuietBias: 0 } });
    await off.fit(train);
    const old = round(now.serialize());
    delete (old.params as Record<string, unknown>).cycleQuietBias;
    const before = restoreDetector(validateArtifact(old));
    expect(before.serialize().params.cycleQuietBias).toBe(0);
    const offRestored = restoreDetector(validateArtifact(round(off.serialize())));
    const live = cycle(2000, 4, T0 + 4000 * 50);
    live[1500] = { ...live[1500]!, value: live[1500]!.value + 0.05 };
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => offRestored.score(r)));
  });

  it('fits its shape channel again on the whole training part, hold-out included, with the scale it was calibrated on', async () => {
    const train = cycle(4000, 3);
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const shape = (d.serialize().state as { shape: { points: number[]; refs: number[]; reference?: number[] } }).shape;
    const alone = new SubsequenceChannel();
    alone.fit(train.map((r) => r.value));
    // The same history and reference as a channel fitted on every training reading …
    expect(shape.points).toEqual(alone.toJSON().points);
    expect(shape.reference).toEqual(alone.toJSON().reference);
    // … and the scale of one fitted on the part before the hold-out.
    const head = new SubsequenceChannel();
    head.fit(train.slice(0, 3000).map((r) => r.value));
    expect(shape.refs).toEqual(head.toJSON().refs);
  });

  it('scores a stream that continues the training clock from its first reading, and flags a gap longer than the cycle memory at once', async () => {
    const train = cycle(4000, 3);
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    // The same cycle, in phase, continuing the training clock (a recording's next part, a backtest).
    const rng = new Rng(8);
    const at = (i: number): Reading => ({ ts: T0 + i * 50, value: 2.5 + 0.5 * Math.sin((2 * Math.PI * i) / 37.4) + 0.01 * rng.normal() });
    const before = Array.from({ length: 300 }, (_, k) => at(4000 + k));
    before[20] = { ...before[20]!, value: before[20]!.value + 0.12 }; // 12 noise sd in the first cycle
    // 20 s without readings (about 11 cycles; the seasonal memory holds five), then the cycle again.
    const after = Array.from({ length: 300 }, (_, k) => at(4700 + k));
    const scores = [...before, ...after].map((r) => d.score(r));
    expect(alarmsIn(scores, 20, 23).length).toBeGreaterThan(0);
    expect(alarmsIn(scores, 0, 19)).toEqual([]);
    expect(alarmsIn(scores, 30, 299)).toEqual([]);
    // The first reading after the gap is the dropout: judged as it comes, not when the fault channels resume.
    expect(scores[300]!.is_anomaly).toBe(true);
    expect(scores[300]!.channel).toBe('dropout');
    // Then the fault channels wait three cycles for the phase, and the cycle raises nothing.
    expect(alarmsIn(scores, 301, 599)).toEqual([]);
  });

  it('waits for the cycle again after a pause, and its artifact restores', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(cycle(4000, 5));
    // The phase is kept until a reading shows a pause longer than the seasonal memory (five cycles).
    expect(d.warmup().status).toBe('ml_ready');
    const live = cycle(400, 6, T0 + 10_000_000);
    expect(d.score(live[0]!).anomaly_score).toBe(0);
    expect(d.warmup().status).toBe('warming_up');
    for (const r of live.slice(1)) d.score(r);
    expect(d.warmup().status).toBe('ml_ready');
    const restored = restoreDetector(round(d.serialize()));
    const more = cycle(200, 7, T0 + 10_000_000 + 400 * 50);
    for (const r of more) expect(restored.score(r).anomaly_score).toBeCloseTo(d.score(r).anomaly_score, 9);
  });
});

describe('auto: one incident, one alarm', () => {
  async function incident(episode?: number): Promise<{ d: ReturnType<typeof createDetector>; scores: Score[] }> {
    const { train } = await fittedAuto();
    const d = createDetector('auto', { seed: 1, ...(episode !== undefined && { params: { episode } }) });
    await d.fit(train);
    const r = trace(3000, 4, train.at(-1)!.ts + 60_000);
    r[1000]!.value += 0.5; // a spike,
    r[1120]!.value += 0.8; // another 12 s later,
    for (let i = 1200; i < 1260; i++) r[i]!.value = r[1199]!.value; // a stuck run 8 s after that,
    r[2000]!.value += 0.5; // and spikes 74 s and 40 s after the last alarm
    r[2400]!.value += 0.3;
    return { d, scores: r.map((x) => d.score(x)) };
  }

  it('keeps the averaging channels\' echoes of an event quiet for 20 s after its last alarm-level reading, not the event\'s own channel, a stuck run or a later event', async () => {
    const { scores } = await incident();
    const first = alarmsIn(scores, 1000, 1000);
    expect(first).toHaveLength(1);
    expect(alarmsIn(scores, 1001, 1119)).toEqual([]);
    // The second spike is named like the first: the same kind of event alarms again.
    expect(alarmsIn(scores, 1120, 1120).map((s) => s.channel)).toEqual([first[0]!.channel]);
    expect(alarmsIn(scores, 1121, 1199)).toEqual([]);
    const stuck = alarmsIn(scores, 1200, 1259);
    expect(stuck.length).toBeGreaterThan(20);
    expect(stuck.every((s) => s.channel === 'stuck')).toBe(true);
    expect(alarmsIn(scores, 1260, 1999)).toEqual([]);
    expect(alarmsIn(scores, 2000, 2005).length).toBeGreaterThan(0);
    expect(alarmsIn(scores, 2400, 2405).length).toBeGreaterThan(0);
  });

  it('raises the echoes as alarms with episode 0', async () => {
    const { scores } = await incident(0);
    expect(alarmsIn(scores, 1001, 1119).length).toBeGreaterThan(0);
    expect(alarmsIn(scores, 1260, 1999).length).toBeGreaterThan(0);
  });

  it('carries an incident across serialize and restore, and scores a model written before incidents as it did', async () => {
    const { d } = await incident();
    const restored = restoreDetector(validateArtifact(round(d.serialize())));
    expect((restored.serialize().state as { episode: unknown }).episode).toEqual((d.serialize().state as { episode: unknown }).episode);
    const { artifact } = await fittedAuto();
    const old = round(artifact);
    delete (old.params as Record<string, unknown>).episode;
    delete (old.state as Record<string, unknown>).episode;
    const before = restoreDetector(validateArtifact(old));
    expect(before.serialize().params.episode).toBe(0);
    const off = createDetector('auto', { seed: 1, params: { episode: 0 } });
    await off.fit(trace(3000, 1));
    const live = trace(1500, 4, T0 + 10_000_000);
    live[1000]!.value += 0.5;
    live[1120]!.value += 0.8;
    const offRestored = restoreDetector(validateArtifact(round(off.serialize())));
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => offRestored.score(r)));
  });
});

describe('auto: one alarm per shape event', () => {
  it('does not alarm again while its windows still span a distorted cycle that is over', async () => {
    // 10 Hz, a 4 s cycle with sharp features; one cycle replaced by a flattened one.
    const wave = (i: number): number => 2 + 0.4 * Math.sin((2 * Math.PI * i) / 40) + 0.2 * Math.sin((6 * Math.PI * i) / 40);
    const rng = new Rng(17);
    const make = (n: number, t0: number, from = 0): Reading[] => Array.from({ length: n }, (_, k) => ({ ts: t0 + k * 100, value: wave(from + k) + 0.005 * rng.normal() }));
    const d = createDetector('auto', { seed: 1 });
    await d.fit(make(4000, T0));
    const live = make(2400, T0 + 1_000_000, 0);
    for (let i = 1600; i < 1640; i++) live[i] = { ...live[i]!, value: 2 + 0.1 * (wave(i) - 2) };
    const scores = live.map((r) => d.score(r));
    const shapeAlarms = scores.map((s, i) => (s.is_anomaly && s.channel === 'shape' ? i : -1)).filter((i) => i >= 0);
    // The incident is raised (the step into the flattened cycle alarms on the point channel first;
    // the shape channel's alarms inside that incident are then its echo, see `echoRuns`).
    expect(scores.slice(1600, 1680).some((s) => s.is_anomaly)).toBe(true);
    // The windows that still span the flattened cycle (up to a cycle after it) raise no new alarm.
    expect(shapeAlarms.filter((i) => i > 1640 && i < 1700)).toEqual([]);
  });
});

describe('auto: within an incident, the windowed channels alarm once (echoRuns)', () => {
  /** Variance bursts of 4 s at 100, 110 and 140 s of live data: the second 6 s after the first, inside its incident. */
  async function bursts(params: Record<string, unknown>): Promise<Score[]> {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(trace(3000, 1));
    const live = trace(1500, 4, T0 + 10_000_000);
    const rng = new Rng(9);
    for (const a of [1000, 1100, 1400]) for (let i = a; i < a + 40; i++) live[i]!.value += 0.08 * rng.normal();
    return live.map((r) => d.score(r));
  }

  it('treats a later run of an averaging channel inside the incident as its echo, and alarms again once the incident is over', async () => {
    const on = await bursts({});
    expect(alarmsIn(on, 1000, 1060).length).toBeGreaterThan(0);
    expect(alarmsIn(on, 1000, 1060).every((s) => AVERAGING.has(s.channel ?? ''))).toBe(true);
    expect(alarmsIn(on, 1061, 1160)).toEqual([]);
    expect(alarmsIn(on, 1400, 1460).length).toBeGreaterThan(0);
    // Suppressed readings still score just below the threshold (they are logged, and rank, as near misses).
    expect(Math.max(...on.slice(1100, 1160).map((s) => s.anomaly_score))).toBeGreaterThan(0.45);
    // Before the rule the same channel alarmed again inside the incident.
    const off = await bursts({ echoRuns: false });
    expect(alarmsIn(off, 1061, 1160).length).toBeGreaterThan(0);
  });

  it('scores a slow stream (0.5 Hz) the same fitted and restored from its artifact (the run gap comes from the state, not from the fit)', async () => {
    const slow = (n: number, seed: number, t0: number): Reading[] => trace(n, seed, t0).map((r, i) => ({ ts: t0 + i * 2000, value: r.value }));
    const fitted = createDetector('auto', { seed: 1 });
    await fitted.fit(slow(3000, 1, T0));
    const restored = restoreDetector(validateArtifact(round(fitted.serialize())));
    const live = slow(400, 4, T0 + 100_000_000).map((r, i) => (i >= 200 && i < 260 ? { ...r, value: r.value + 0.1 } : r));
    const a = live.map((r) => fitted.score(r));
    expect(live.map((r) => restored.score(r))).toEqual(a);
    expect(alarmsIn(a, 200, 262).length).toBeGreaterThan(0);
  });

  it('loads models written before the rule with it off, scoring exactly as they did', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(trace(3000, 1));
    const old = round(d.serialize());
    delete (old.params as Record<string, unknown>).echoRuns;
    const before = restoreDetector(validateArtifact(old));
    expect(before.serialize().params.echoRuns).toBe(false);
    const off = createDetector('auto', { seed: 1, params: { echoRuns: false } });
    await off.fit(trace(3000, 1));
    const live = trace(1500, 4, T0 + 10_000_000);
    const rng = new Rng(9);
    for (const a of [1000, 1100]) for (let i = a; i < a + 40; i++) live[i]!.value += 0.08 * rng.normal();
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => off.score(r)));
  });
});

describe('auto: a signal sitting on one ADC code (swingFloors)', () => {
  const Q = 3.3 / 1024;
  /** 50 Hz, 10 bits over 3.3 V, noise a quarter of a code: the readings sit on one code and flicker to the next now and then. */
  const oneCode = (n: number, seed: number, t0: number): Array<{ ts: number; value: number }> => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 20, value: Math.round((1.7338 + 0.25 * Q * rng.normal()) / Q) * Q }));
  };
  async function live(params: Record<string, unknown>): Promise<Score[]> {
    const readings = oneCode(3000, 2, T0 + 10_000_000);
    readings[2000]!.value += 10 * Q;
    return scoresAfterFit(params, oneCode(15_000, 1, T0), readings);
  }
  const bandInCodes = bandIn(Q);

  it('keeps a normal band a few codes wide and names a 10-code spike a spike, where the locked swing channel gave a band 10 times wider', async () => {
    const on = await live({});
    expect(Math.max(...on.map(bandInCodes))).toBeLessThan(10);
    expect(on[2000]).toMatchObject({ is_anomaly: true, channel: 'spike' });
    expect(on.filter((s) => s.is_anomaly)).toHaveLength(1);
    // Without the floors the first residuals of exactly 0 teach the swing channel a log energy with
    // no spread; it then sits at an enormous surprise for good and the calibration widens everything.
    // (holdoffRearm, later, keeps a locked channel held off for good, and spikeBar, later, lifts the
    // spike past the widened bar on its own: both off here, as when this was measured)
    const off = await live({ swingFloors: false, holdoffRearm: false, spikeBar: false });
    expect(Math.min(...off.map(bandInCodes))).toBeGreaterThan(30);
    expect(off[2000]?.channel).not.toBe('spike');
  });

  it('loads models written before the floors with them off, scoring exactly as they did', async () => {
    // Its hold-out alarmed throughout: holdoutGuard, later, refuses such a fit.
    await expectLoadsWithItOff('swingFloors', oneCode(15_000, 1, T0), oneCode(3000, 3, T0 + 20_000_000), false, { holdoutGuard: false });
  });
});

describe("auto: on a cycle, the swing channel learns its first energies whatever they are (swingSettle)", () => {
  // Development-set trace 100125: a 2 Hz cycle of 22.5 readings (11.4 s), six events in the scored part.
  const tr = generateFaultTrace(100125);
  const run = (params: Record<string, unknown>) => onFaultTrace(100125, { seed: 1, params });

  it('does not lock the fault member at a surprise that pins every score at the threshold, and finds the events', async () => {
    const on = await run({});
    // Measured where it was found, with the cycle remembered as read (cycleLevelFree off): there the
    // unsettled swing channel locked; with the level-free cycle it did not on this trace.
    // (holdoutGuard, later, refuses the locked fit: its hold-out alarmed throughout)
    const off = await run({ swingSettle: false, cycleLevelFree: false, holdoutGuard: false });
    // Locked, the swing channel's surprise stayed high through training and the scored part: the
    // calibration put the threshold at the saturated score, which every reading reached (an alarm)
    // or sat just under (an echo of the incident that never ended).
    const atThreshold = (xs: Score[]): number => xs.filter((s) => s.anomaly_score >= 0.49).length / xs.length;
    const median = (xs: Score[]): number => xs.map((s) => s.anomaly_score).sort((a, b) => a - b)[xs.length >> 1] as number;
    expect(atThreshold(off.scores)).toBeGreaterThan(0.95);
    expect(off.found).toBeLessThanOrEqual(1);
    // Settled, normal readings score far below it (the events' readings and their echoes reach it).
    expect(median(on.scores)).toBeLessThan(0.05);
    expect(atThreshold(on.scores)).toBeLessThan(0.2);
    expect(on.found).toBeGreaterThanOrEqual(5);
    expect(on.falseAlarms).toBe(0);
    expect((on.artifact.state as { robust: { params: { swingSettle: number } } }).robust.params.swingSettle).toBe(160);
  });

  it('is off without a cycle, and models written before it load with it off', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(trace(3000, 1));
    expect((d.serialize().state as { robust: { params: { swingSettle: number } } }).robust.params.swingSettle).toBe(0);
    await expectLoadsWithItOff('swingSettle', tr.train, tr.test.slice(0, 600));
  });
});

describe('auto: a fast stream gets no more false alarms an hour than a 10 Hz one (budgetHz)', () => {
  const target = (a: DetectorArtifact): number => (a.state as { calibration: { targetFalseAlarmRate: number } }).calibration.targetFalseAlarmRate;
  /** The calibration's target (rounded as stored) relative to `expected`. */
  const relative = (a: DetectorArtifact, expected: number): number => target(a) / expected;

  it("calibrates a 98 Hz stream to a tenth of the per-reading target, so its normal glitches' tails stop alarming", async () => {
    // Development-set trace 100498: a loose wire at 98.4 Hz, six events; its Gaussian noise reaches
    // 4 σ a few times in ten minutes, which a 10 Hz stream's per-reading target calls alarms.
    const on = await onFaultTrace(100498, { seed: 1, params: {} });
    const off = await onFaultTrace(100498, { seed: 1, params: { budgetHz: 0 } });
    const hz = generateFaultTrace(100498).info.sampleRateHz;
    // Two channel groups share the target (no cycle): 1e-4 / 2 per reading, times 10 Hz / 98.4 Hz.
    expect(relative(off.artifact, 0.0001 / 2)).toBeCloseTo(1, 3);
    expect(relative(on.artifact, (0.0001 / 2) * (10 / hz))).toBeCloseTo(1, 3);
    expect(off.falseAlarms).toBeGreaterThanOrEqual(5);
    expect(on.falseAlarms).toBeLessThanOrEqual(1);
    expect(on.found).toBeGreaterThanOrEqual(off.found);
  });

  it('keeps the per-reading target at 10 Hz and below, and for a target fit is given', async () => {
    const tenHz = createDetector('auto', { seed: 1 });
    await tenHz.fit(trace(3000, 1));
    expect(relative(tenHz.serialize(), 0.0001 / 2)).toBeCloseTo(1, 3);
    const fast = trace(6000, 2).map((r, i) => ({ ts: T0 + i * 10, value: r.value }));
    const given = createDetector('auto', { seed: 1 });
    await given.fit(fast, { targetFalseAlarmRate: 0.0004 });
    expect(relative(given.serialize(), 0.0004 / 2)).toBeCloseTo(1, 3);
    const scaled = createDetector('auto', { seed: 1 });
    await scaled.fit(fast);
    // 100 Hz: a tenth, the smallest share.
    expect(relative(scaled.serialize(), 0.0001 / 2 / 10)).toBeCloseTo(1, 3);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const tr = generateFaultTrace(100498);
    await expectLoadsWithItOff('budgetHz', tr.train, tr.test.slice(0, 600), 0);
  });
});

describe("auto: on a cycle, a level shift's aftermath is not remembered as the cycle (cycleLevelFree)", () => {
  // Development-set trace 100508: two cycles at 19.8 Hz, a level shift held for several cycles
  // among four events; without the rule the cycle remembered after it stepped at the phase where
  // it ended, and the swing channel alarmed 37 s later.
  const tr = generateFaultTrace(100508);

  it('raises no false alarm after the level shift and finds the same events', async () => {
    const on = await onFaultTrace(100508, { seed: 1, params: {} });
    const off = await onFaultTrace(100508, { seed: 1, params: { cycleLevelFree: false } });
    expect(off.falseAlarms).toBeGreaterThanOrEqual(1);
    expect(on.falseAlarms).toBe(0);
    expect(on.found).toBe(off.found);
    expect((on.artifact.state as { seasonal: { levelFree?: boolean } }).seasonal.levelFree).toBe(true);
    expect(off.artifact.state as { seasonal: object }).not.toHaveProperty('seasonal.levelFree');
  });

  it('loads models written before it with it off, scoring exactly as they did, and refuses a state that disagrees with its params', async () => {
    await expectLoadsWithItOff('cycleLevelFree', tr.train, tr.test.slice(0, 600));
    const d = createDetector('auto', { seed: 1 });
    await d.fit(tr.train);
    const art = round(d.serialize());
    (art.params as Record<string, unknown>).cycleLevelFree = false;
    expect(() => restoreDetector(validateArtifact(art))).toThrow(/levelFree/);
  });
});

describe("auto: a fit finds a cycle through a loose wire's glitches (periodFence)", () => {
  // Development-set trace 100022: a loose wire at 4.9 Hz, 1.74 V with a cycle of 8 readings (1.6 s)
  // a few millivolts high, and two readings near 0 V in its training part.
  const tr = generateFaultTrace(100022);
  const cycleOf = async (params: Record<string, unknown>): Promise<number | undefined> => {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(tr.train);
    return (d.serialize().state as { seasonal?: { period: number } }).seasonal?.period;
  };

  it('finds the cycle, which the glitches hid from the period inference without it', async () => {
    // Without glitchValues: with it the glitch gate learns these two glitches and takes them out before the inference.
    expect(Math.abs(((await cycleOf({ glitchValues: false })) as number) - 8)).toBeLessThan(0.1);
    expect(await cycleOf({ periodFence: false, glitchValues: false })).toBeUndefined();
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('periodFence', tr.train, tr.test.slice(0, 600));
  });
});

describe("auto: a clear point outlier alarms past the fault group's bar (spikeBar)", () => {
  // Development-set traces: 100063, a wandering flat signal at 10 Hz (noise 2.3 mV, 12 bits over
  // 5 V) with a two-reading spike of 21 mV (9σ); 100071, a 100 Hz signal of several cycles with a
  // one-reading spike of 29 mV (19σ). The fault group is calibrated on the largest of its channels'
  // surprises, and the swing channel's normal tail on these signals set a bar both spikes stayed under.
  it.each([100063, 100071])('finds the spike of trace %i that the group bar hid, named a spike, with no more false alarms', async (seed) => {
    const { on, off, inSpike } = await spikeWithAndWithout(seed, 'spikeBar');
    expect(on.found).toBe(off.found + 1);
    expect(on.falseAlarms).toBeLessThanOrEqual(off.falseAlarms);
    expect(inSpike.some((i) => off.scores[i]!.is_anomaly)).toBe(false);
    const first = inSpike.find((i) => on.scores[i]!.is_anomaly);
    expect(first).toBeDefined();
    expect(on.scores[first!]).toMatchObject({ channel: 'spike', signal: 'spike', method: 'auto:spike' });
    // Just over the bar: a lifted reading never outranks a calibrated alarm.
    expect(on.scores[first!]!.anomaly_score).toBeLessThan(0.6);
  });

  it('lifts nothing before a fit calibrated the stream: never fitted, its first 1,024 readings score as without it', () => {
    const tr = generateFaultTrace(100063);
    const readings = [...tr.train.slice(0, 1000)];
    readings[900] = { ...readings[900]!, value: readings[900]!.value + 0.05 };
    const score = (params: Record<string, unknown>) => {
      const d = createDetector('auto', { seed: 1, params });
      return readings.map((r) => d.score(r));
    };
    expect(score({})).toEqual(score({ spikeBar: false }));
  });

  it('lifts no reading only a few ADC steps out on a signal whose noise is below one step', async () => {
    // 10 Hz, 10 bits over 5 V: a random walk with 2 mV of noise sits on one or two codes, and a
    // reading 3 codes from the rolling median scores as a 10σ spike against the step's own error.
    const rng = new Rng(3);
    let w = 0;
    const all = Array.from({ length: 6000 }, (_, i) => {
      w += 0.005 * Math.sqrt(0.1) * rng.normal();
      return { ts: T0 + i * 100, value: Math.round((2.47 + w + 0.002 * rng.normal()) / LSB) * LSB };
    });
    const on = await scoresAfterFit({ levelRange: false }, all.slice(0, 3000), all.slice(3000));
    expect(on.filter((s) => s.is_anomaly)).toEqual([]);
    // The same reading moved to 6 codes out is lifted.
    const live = all.slice(3000).map((r) => ({ ...r }));
    const i = 2314;
    const median = [...live.slice(i - 9, i).map((r) => r.value)].sort((a, b) => a - b)[4]!;
    live[i]!.value = median + 6 * LSB;
    const moved = await scoresAfterFit({ levelRange: false }, all.slice(0, 3000), live);
    expect(moved[i]).toMatchObject({ is_anomaly: true, channel: 'spike' });
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const tr = generateFaultTrace(100071);
    await expectLoadsWithItOff('spikeBar', tr.train, tr.test.slice(49_900, 50_100));
  });
});

describe('auto: two readings out on one side on heavy-tailed noise reach the spike bar together (spikePairs)', () => {
  // Development-set traces, Student-t noise (3–4 degrees of freedom): 100121 at 9.8 Hz with a
  // two-reading spike of 1.14 V (3.5 times the largest normal excursion), 100162 at 9.9 Hz with one
  // of 0.65 V (2.3 times). Under the tail the training part showed, each reading alone scores a
  // point surprise of 5–6, under the bar; two in a row reach it.
  it.each([100121, 100162])('finds the two-reading spike of trace %i at its second reading, named a spike, with no more false alarms', async (seed) => {
    const { on, off, inSpike } = await spikeWithAndWithout(seed, 'spikePairs');
    expect(on.found).toBe(off.found + 1);
    expect(on.falseAlarms).toBeLessThanOrEqual(off.falseAlarms);
    expect(inSpike).toHaveLength(2);
    expect(inSpike.some((i) => off.scores[i]!.is_anomaly)).toBe(false);
    expect(on.scores[inSpike[0]!]!.is_anomaly).toBe(false);
    expect(on.scores[inSpike[1]!]).toMatchObject({ is_anomaly: true, channel: 'spike', signal: 'spike' });
  });

  it('changes nothing on Gaussian-like noise: a wandering 10 Hz trace scores as without it', async () => {
    // 100063 (see spikeBar above): Gaussian noise, so no power-law tail guards its point channel.
    const on = await onFaultTrace(100063, { seed: 1, params: {} });
    const off = await onFaultTrace(100063, { seed: 1, params: { spikePairs: false } });
    expect(on.scores).toEqual(off.scores);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const tr = generateFaultTrace(100121);
    const spike = tr.events.find((e) => e.kind === 'spike')!;
    const at = tr.test.findIndex((r) => r.ts >= spike.start);
    await expectLoadsWithItOff('spikePairs', tr.train, tr.test.slice(at - 100, at + 100));
  });
});

describe('auto: the autoregressive point channel (arPoint)', () => {
  // Development-set traces, fitted: 100087, several cycles at 5.1 Hz with a mains hum aliased to
  // about 1 Hz, and a three-reading spike of 9 mV (13 noise sigmas) that the hum, left in the
  // residual from the remembered cycle, hid from the rolling median; 100032, a random walk at 10 Hz
  // with a two-reading spike of 5 mV (7 noise sigmas).
  it.each([100087, 100032])('finds the spike of trace %i that the rolling median missed, named a spike, with no more false alarms', async (seed) => {
    const { on, off, inSpike } = await spikeWithAndWithout(seed, 'arPoint');
    expect(on.artifact.state).toHaveProperty('arPoint');
    expect(off.artifact.state).not.toHaveProperty('arPoint');
    expect(on.found).toBeGreaterThan(off.found);
    expect(on.falseAlarms).toBeLessThanOrEqual(off.falseAlarms);
    expect(inSpike.some((i) => off.scores[i]!.is_anomaly)).toBe(false);
    const first = inSpike.find((i) => on.scores[i]!.is_anomaly);
    expect(first).toBeDefined();
    expect(on.scores[first!]).toMatchObject({ channel: 'spike', signal: 'spike' });
    // Past the spike bar by as much as it is past its own: just over the threshold.
    expect(on.scores[first!]!.anomaly_score).toBeLessThan(0.6);
  });

  it('is not fitted on heavy-tailed noise, whose two-reading spikes spikePairs finds: the trace scores as without it', async () => {
    // 100121: Student-t noise (see spikePairs above).
    const on = await onFaultTrace(100121, { seed: 1, params: {} });
    const off = await onFaultTrace(100121, { seed: 1, params: { arPoint: false } });
    expect(on.artifact.state).not.toHaveProperty('arPoint');
    expect(on.scores).toEqual(off.scores);
  });

  it('a model saved in the middle of a spike goes on exactly as the one that scored it', async () => {
    // The random walk: no cycle, whose shape channel's sums would differ in the last bits.
    const tr = generateFaultTrace(100032);
    const d = createDetector('auto', { seed: 1 });
    await d.fit(tr.train);
    const spike = tr.events.find((e) => e.kind === 'spike')!;
    const at = tr.test.findIndex((r) => r.ts >= spike.start) + 1;
    const art = expectRestoredGoesOn(d, tr.test.slice(0, at + 300), at);
    expect((art.state as { arPoint?: { imputed: number } }).arPoint?.imputed).toBeGreaterThan(0);
    const bad = JSON.parse(JSON.stringify(art)) as DetectorArtifact;
    (bad.state as { arPoint: { bar: number } }).arPoint.bar = -1;
    expect(() => validateArtifact(bad)).toThrow(/arPoint/);
  });

  it('changes nothing with adaptLevel, and loads models written before it with it off, scoring exactly as they did', async () => {
    const tr = generateFaultTrace(100087);
    const spike = tr.events.find((e) => e.kind === 'spike')!;
    const at = tr.test.findIndex((r) => r.ts >= spike.start);
    await expectOffWithAdaptLevel('arPoint', 'arPoint', tr.train, tr.test.slice(at - 200, at + 200));
    await expectLoadsWithItOff('arPoint', tr.train, tr.test.slice(at - 100, at + 100));
  });
});

describe('auto: runs of one code a short self-fit was too short to show (runsLearned)', () => {
  // Development-set trace 100415: 9 bits over 24 V at 103 Hz, noise a sixth of a step, so the
  // reading holds one code for up to 7 s. Never fitted, the detector's self-fits set the run
  // reference from their first 12,288 readings (longest run 185); the scored part holds runs of 400–750.
  const tr = generateFaultTrace(100415);
  const online = (params: Record<string, unknown>): { found: number; falseAlarms: number; stuckOutside: number } => {
    const d = createDetector('auto', { seed: 1, params });
    for (const r of tr.train) d.score(r);
    const scores = tr.test.map((r) => d.score(r));
    const alarms = tr.test.filter((_, i) => scores[i]!.is_anomaly).map((r) => r.ts);
    const e = evaluateTrace(alarms, tr.events, tr.test.at(-1)!.ts - tr.test[0]!.ts + 10);
    const stuckOutside = tr.test.filter((r, i) => scores[i]!.is_anomaly && scores[i]!.channel === 'stuck' && !tr.events.some((ev) => r.ts >= ev.start && r.ts <= ev.end + 3000)).length;
    return { found: e.outcomes.filter((o) => o.detected).length, falseAlarms: e.falseAlarms, stuckOutside };
  };

  it('alarms on no normal run once the reference has learned the runs that ended, and finds the same events', () => {
    const on = online({});
    const off = online({ runsLearned: false });
    expect(off.stuckOutside).toBeGreaterThan(100);
    expect(off.falseAlarms).toBeGreaterThanOrEqual(4);
    expect(on.stuckOutside).toBe(0);
    expect(on.falseAlarms).toBeLessThanOrEqual(1);
    expect(on.found).toBe(off.found);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('runsLearned', tr.train.slice(0, 8000), tr.test.slice(0, 3000));
  });
});

describe('auto: a coarse ADC signal that sits on one code for long stretches (runGuards)', () => {
  const Q = 3.3 / 256;
  /** 10 Hz, 8 bits over 3.3 V, a slow wander and noise a sixth of a code; `flat` readings first hold one code (a settling sensor). */
  const codes = (n: number, seed: number, t0: number, flat = 0): Array<{ ts: number; value: number }> => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, i) => {
      w += -w / 600 + 0.03 * Q * rng.normal();
      return { ts: t0 + i * 100, value: i < flat ? Math.round(2.15 / Q) * Q : Math.round((2.15 + w + 0.17 * Q * rng.normal()) / Q) * Q };
    });
  };
  async function live(params: Record<string, unknown>): Promise<Score[]> {
    const readings = codes(4000, 2, T0 + 10_000_000);
    readings[1000]!.value += 7 * Q;
    return scoresAfterFit(params, codes(3000, 1, T0, 150), readings);
  }
  const bandInCodes = bandIn(Q);

  it('finds a 7-code spike as a spike with a band a dozen codes wide, where runs of repeats and the settling start had hidden it', async () => {
    const on = await live({});
    expect(on[1000]).toMatchObject({ is_anomaly: true, channel: 'spike' });
    expect(Math.max(...on.map(bandInCodes))).toBeLessThan(30);
    // Without the guards the settling start (every change scored |z| = 1000 against no scale) locks
    // the swing channel and the runs of repeats set the fault channels' alarm point: the spike is missed.
    // (stuckApart, later, also keeps long runs of one code out of the spread, and holdoffRearm keeps a
    // locked channel held off for good: both off here, as when this was measured)
    const off = await live({ runGuards: false, stuckApart: false, holdoffRearm: false });
    expect(off[1000]?.is_anomaly).toBe(false);
    expect(Math.max(...off.map(bandInCodes))).toBeGreaterThan(80);
  });

  it('loads models written before the guards with them off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('runGuards', codes(3000, 1, T0, 150), codes(2000, 3, T0 + 20_000_000));
  });
});

describe('auto: a stuck sensor on a cycle is kept out of the cycle\'s shape (cycleImpute)', () => {
  /** 1 Hz, a sine of 7.84 s, 10-bit readings; `stuck` readings from 400 repeat reading 399. */
  const cycle = (n: number, seed: number, t0: number, stuck = 0): Array<{ ts: number; value: number }> => {
    const rng = new Rng(seed);
    const out = Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 1000, value: Math.round((4.1 + 0.2 * Math.sin((2 * Math.PI * i) / 7.84) + 0.011 * rng.normal()) / LSB) * LSB }));
    for (let i = 400; i < 400 + stuck; i++) out[i]!.value = out[399]!.value;
    return out;
  };
  // Stuck for 39 s: five cycles, every one the cycle's shape remembers.
  const live = (params: Record<string, unknown>): Promise<Score[]> => scoresAfterFit(params, cycle(1200, 1, T0), cycle(1200, 2, T0 + 1_200_000, 39));

  it('alarms when the sensor sticks and not again when the cycle comes back', async () => {
    const on = await live({});
    expect(alarmsIn(on, 400, 438).length).toBeGreaterThan(0);
    expect(alarmsIn(on, 439, 1199)).toEqual([]);
    // Learned into the shape, the stuck readings came back as a spike once the signal moved again.
    const off = await live({ cycleImpute: false });
    expect(alarmsIn(off, 439, 460).some((s) => s.channel === 'spike')).toBe(true);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('cycleImpute', cycle(1200, 1, T0), cycle(1200, 3, T0 + 2_400_000, 39));
  });
});

describe('auto: a 0 V dropout stays out of the rolling statistics (dropoutsApart)', () => {
  const HZ = 5;
  /** 5 Hz, 10 bits, a slow wander and noise; `zeros` seconds of 0 V (a disconnected input) from 60 s. */
  const stream = (n: number, seed: number, t0: number, zeros = 0): Array<{ ts: number; value: number }> => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, i) => {
      w += -w / (60 * HZ) + 0.0015 * rng.normal();
      const dropped = i >= 60 * HZ && i < (60 + zeros) * HZ;
      return { ts: t0 + i * (1000 / HZ), value: dropped ? 0 : Math.round((2.5 + w + 0.006 * rng.normal()) / LSB) * LSB };
    });
  };
  const live = (params: Record<string, unknown>): Promise<Score[]> => scoresAfterFit(params, stream(300 * HZ, 1, T0), stream(200 * HZ, 2, T0 + 300_000, 8));

  it('names the dropout and raises nothing once the signal is back, where its readings came back as a swing alarm 19 s later', async () => {
    // A 20 s incident, as when this was measured: the default 25 s would also take the swing alarm 19 s later as the dropout's echo.
    const on = await live({ episode: 20 });
    expect(alarmsIn(on, 60 * HZ, 68 * HZ - 1).some((s) => s.channel === 'dropout')).toBe(true);
    expect(alarmsIn(on, 69 * HZ, 200 * HZ - 1)).toEqual([]);
    // Without dropoutsApart the 0 V readings also reach the range channel (levelRange, later), which
    // would alarm on them, and, as a stuck run, are kept out of the spread by stuckApart (later); with
    // holdoffRearm (later) the swing channel, still high from them, stays held off.
    const off = await live({ dropoutsApart: false, episode: 20, levelRange: false, stuckApart: false, holdoffRearm: false });
    expect(alarmsIn(off, 69 * HZ, 200 * HZ - 1).length).toBeGreaterThan(0);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('dropoutsApart', stream(300 * HZ, 1, T0), stream(200 * HZ, 3, T0 + 600_000, 8));
  });
});

describe('auto without a model: fits itself on the sensor stream it has seen', () => {
  const calibrated = (d: { serialize(): DetectorArtifact }): boolean => (d.serialize().state as { calibration: unknown }).calibration !== null;

  it('fits itself at 1,024 readings of a sensor stream, leaving every earlier score as it was', () => {
    const r = trace(6000, 21);
    const self = createDetector('auto');
    const never = createDetector('auto', { params: { selfFit: 0 } });
    const a = r.slice(0, 1023).map((x) => self.score(x));
    expect(a).toEqual(r.slice(0, 1023).map((x) => never.score(x)));
    expect(calibrated(self)).toBe(false);
    self.score(r[1023]!);
    expect(calibrated(self)).toBe(true);
    // It keeps no readings once its last self-fit (at 4,096) is done.
    for (const x of r.slice(1024, 4096)) self.score(x);
    expect((self.serialize().state as { seen?: unknown }).seen).toBeUndefined();
  });

  it('finds a spike the online scoring misses, and stays quiet on clean noise', () => {
    const r = trace(8000, 22);
    r[6000]!.value += 0.07; // 7 noise sd
    const self = createDetector('auto');
    const never = createDetector('auto', { params: { selfFit: 0 } });
    const s = r.map((x) => self.score(x));
    const n = r.map((x) => never.score(x));
    expect(alarmsIn(n, 6000, 6005)).toEqual([]);
    expect(alarmsIn(s, 6000, 6005).length).toBeGreaterThan(0);
    expect(s.filter((x, i) => x.is_anomaly && !(i >= 6000 && i < 6010))).toEqual([]);
  });

  it('keeps learning online on a slow series (readings minutes apart)', () => {
    const d = createDetector('auto');
    const r = trace(5000, 23).map((x, i) => ({ ts: T0 + i * 300_000, value: x.value }));
    for (const x of r) d.score(x);
    expect(calibrated(d)).toBe(false);
    expect((d.serialize().state as { seen?: unknown }).seen).toBeUndefined();
  });

  it('round-trips mid-stream with its readings, through the self-fit, with identical scores', () => {
    const r = trace(3000, 24);
    const a = createDetector('auto');
    for (const x of r.slice(0, 800)) a.score(x);
    const b = restoreDetector(validateArtifact(round(a.serialize())));
    const rest = r.slice(800);
    expect(rest.map((x) => b.score(x))).toEqual(rest.map((x) => a.score(x)));
    expect(calibrated(b)).toBe(true);
  });

  /** 800 s at 10 Hz: a long noise burst from 260 s to 430 s (across the self-fit at 4,096 readings), a shorter, weaker one at 550 s. */
  function twoBursts(seed: number): Reading[] {
    const r = trace(8000, seed);
    const rng = new Rng(seed + 100);
    for (let i = 2600; i < 4300; i++) r[i]!.value += 0.05 * rng.normal();
    for (let i = 5500; i < 5700; i++) r[i]!.value += 0.04 * rng.normal();
    return r;
  }

  it('learns nothing from what it alarmed on (selfFitQuiet): a second event after a long first one still alarms', () => {
    for (const seed of [31, 33]) {
      const r = twoBursts(seed);
      const quiet = createDetector('auto');
      const q = r.map((x) => quiet.score(x));
      expect(alarmsIn(q, 2600, 2640).length).toBeGreaterThan(0);
      expect(alarmsIn(q, 5500, 5730).length).toBeGreaterThan(0);
      // Every self-fit on every reading seen (as before it): the fit at 4,096 readings learned the
      // first burst as normal and calibrated above it, so the second one goes unseen. (With
      // holdoffRearm, later, the burst's swing stays held off through the fit's hold-out, which keeps
      // the calibration low enough to see the second one even then, and spikeBar, later, lifts the
      // second burst's clearest outliers past the raised bar: both off here, as when this was measured.)
      const all = createDetector('auto', { params: { selfFitQuiet: false, holdoffRearm: false, spikeBar: false } });
      const a = r.map((x) => all.score(x));
      expect(alarmsIn(a, 2600, 2640).length).toBeGreaterThan(0);
      expect(alarmsIn(a, 5500, 5730)).toEqual([]);
    }
  });

  it('keeps the first alarm since its last self-fit across a restore, scoring on exactly as without one', () => {
    const r = twoBursts(31);
    const a = createDetector('auto');
    for (const x of r.slice(0, 3000)) a.score(x);
    const saved = round(a.serialize());
    expect((saved.state as { seen: { alarmTs?: number; fitCount?: number } }).seen).toMatchObject({ alarmTs: r[2600]!.ts, fitCount: 2048 });
    const b = restoreDetector(validateArtifact(saved));
    const rest = r.slice(3000);
    expect(rest.map((x) => b.score(x))).toEqual(rest.map((x) => a.score(x)));
    // The self-fit at 4,096 readings was skipped (too few readings before the burst); none is kept after it.
    expect((b.serialize().state as { seen?: unknown }).seen).toBeUndefined();
    const bad = round(saved);
    (bad.state as { seen: { alarmTs: number } }).seen.alarmTs = -5;
    expect(() => validateArtifact(bad)).toThrow(/state\.seen\.alarmTs/);
  });

  it('at 100 Hz goes on fitting itself until its readings span 5 minutes (selfFitSpan), with far fewer false alarms', () => {
    // Seed 1: 0 against 8 false alarms. (Seed 3 had 0 against 6 until the novelty channel's floor rose
    // to 5 log-odds: now 0 against 2, the short fit's novelty alarms gone with it.)
    for (const seed of [1]) {
      const tr = generateFaultTrace(seed, { family: 'heavy_tailed', sampleRateHz: 100, kinds: ['spike'] });
      const all = [...tr.train, ...tr.test];
      // The sensor-fault benchmark's event scoring of the scored part (false alarms a reading or more apart counted once).
      const judged = (scores: Score[]) =>
        evaluateTrace(
          all.flatMap((x, i) => (i >= tr.train.length && scores[i]!.is_anomaly ? [x.ts] : [])),
          tr.events,
          tr.test.at(-1)!.ts - tr.test[0]!.ts,
        );
      const falseAlarms = (scores: Score[]): number => judged(scores).falseAlarms;
      const found = (scores: Score[]): boolean => judged(scores).outcomes.every((o) => o.detected);
      const span = createDetector('auto');
      const s = all.slice(0, 5000).map((x) => span.score(x));
      // Past 4,096 readings (41 s) it still keeps them for the next fit …
      expect((span.serialize().state as { seen?: { ts: unknown[] } }).seen?.ts).toHaveLength(5000);
      for (const x of all.slice(5000)) s.push(span.score(x));
      // … and none once the fit at 32,768 readings (5.5 min) is done.
      expect((span.serialize().state as { seen?: unknown }).seen).toBeUndefined();
      // The last self-fit at 4,096 readings (as before it): the same spikes, many more false alarms.
      const short = createDetector('auto', { params: { selfFitSpan: false } });
      const t = all.map((x) => short.score(x));
      expect(found(s) && found(t)).toBe(true);
      expect(falseAlarms(s)).toBeLessThanOrEqual(2);
      expect(falseAlarms(t)).toBeGreaterThanOrEqual(6);
    }
  });

  it("still fits itself when a fit cut short by an alarm is the first to span the trend channel's 4 minutes (selfFitTrend): the ramp after it is found", () => {
    // Dev trace 100160 (heavy-tailed noise, 5 Hz): the self-fit at 1,024 readings spans 205 s, too
    // little for the trend channel; a dip 33 s into the scored part alarms, so the fit at 2,048
    // readings is cut 30 s before it, to 1,521 readings (303 s), fewer than 1.5 × 1,024. Skipped, no
    // later fit came either (each is cut at the same alarm), and the ramp 350–438 s into the scored
    // part went unseen.
    const tr = generateFaultTrace(100160);
    const all = [...tr.train, ...tr.test];
    const ramp = tr.events.find((e) => e.kind === 'ramp')!;
    const atRamp = all.findIndex((r) => r.ts >= ramp.start);
    type Seen = { seen?: { fitCount: number }; trend?: unknown };
    const run = (params: Record<string, unknown>) => {
      const d = createDetector('auto', { params });
      const before = all.slice(0, atRamp).map((r) => d.score(r));
      const state = d.serialize().state as Seen;
      const inRamp = all
        .slice(atRamp)
        .map((r) => ({ r, s: d.score(r) }))
        .filter(({ r, s }) => s.is_anomaly && r.ts <= ramp.end + 3000)
        .map(({ s }) => s.channel);
      return { before, state, inRamp };
    };
    const on = run({});
    expect(on.state.seen?.fitCount).toBe(1521);
    expect(on.state.trend).toBeDefined();
    expect(on.inRamp).toContain('trend');
    const off = run({ selfFitTrend: false });
    expect(off.state.seen?.fitCount).toBe(1024);
    expect(off.state.trend).toBeUndefined();
    expect(off.inRamp).toEqual([]);
    // Until the fit at 2,048 readings both score alike; after it, not.
    expect(on.before.slice(0, 2047)).toEqual(off.before.slice(0, 2047));
    expect(on.before.slice(2048)).not.toEqual(off.before.slice(2048));
  });

  it('restores a stream it wrote before selfFitTrend with it off, scoring on as a detector with it off', () => {
    const tr = generateFaultTrace(100160);
    const all = [...tr.train, ...tr.test];
    const off = createDetector('auto', { params: { selfFitTrend: false } });
    for (const r of all.slice(0, 1900)) off.score(r);
    const restored = restoredWithout('selfFitTrend', off);
    const rest = all.slice(1900);
    expect(rest.map((r) => restored.score(r))).toEqual(rest.map((r) => off.score(r)));
  });

  it('rejects malformed stored readings, and artifacts fitted with per-channel scales with a retrain path', async () => {
    const a = createDetector('auto');
    for (const x of trace(300, 25)) a.score(x);
    const bad = round(a.serialize());
    (bad.state as { seen: { ts: unknown[] } }).seen.ts.push('x');
    expect(() => validateArtifact(bad)).toThrow(/state\.seen/);
    const { artifact } = await fittedAuto();
    // Artifacts of the builds that fitted each fault channel on its own scale: a retrain path, not wrong scores.
    const tampered = round(artifact);
    (tampered.state as Record<string, unknown>).channelCalibration = { spike: { center: 1, scale: 1 } };
    (tampered.state as Record<string, unknown>).faultHoldoff = [0, 0, ''];
    expect(() => validateArtifact(tampered)).toThrow(/per-channel fault scales.*retrain/);
  });
});

describe('auto: the drift channel judges time', () => {
  it('passes driftSeconds to the fault member, and scores a model written before it with the reading-based drift channel', async () => {
    const { train, artifact } = await fittedAuto();
    expect(artifact.params.driftSeconds).toBe(20);
    expect((artifact.state as { robust: DetectorArtifact }).robust.params.driftSeconds).toBe(20);
    // A model fitted with driftSeconds 0 is what the build before it fitted; strip what that build did not write.
    const off = createDetector('auto', { seed: 1, params: { driftSeconds: 0 } });
    await off.fit(train);
    const offArtifact = round(off.serialize());
    const old = round(offArtifact);
    delete (old.params as Record<string, unknown>).driftSeconds;
    delete ((old.state as { robust: DetectorArtifact }).robust.params as Record<string, unknown>).driftSeconds;
    expect((old.state as { robust: { state: Record<string, unknown> } }).robust.state.timeDrift).toBeUndefined();
    const before = restoreDetector(validateArtifact(old));
    expect(before.serialize().params.driftSeconds).toBe(0);
    const live = trace(3000, 4, T0 + 10_000_000);
    for (let k = 0; k < 1200; k++) live[1000 + k]!.value += 0.15 * (1 - Math.abs(k - 600) / 600);
    const offRestored = restoreDetector(validateArtifact(offArtifact));
    expect(live.map((r) => before.score(r))).toEqual(live.map((r) => offRestored.score(r)));
    // A stored member made with another drift setting than its parent's is refused.
    const mixed = round(artifact);
    delete (mixed.params as Record<string, unknown>).driftSeconds;
    expect(() => validateArtifact(mixed)).toThrow(/other parameters/);
  });
});

describe('auto: one glitch is no level shift (levelClip)', () => {
  // 10 Hz at 2.5 V with one reading in 500 pulled 0.2–0.6 V down (a loose contact), in training and live.
  const glitchy = (n: number, seed: number, t0: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({
      ts: t0 + i * 100,
      value:
        2.5 +
        0.02 * Math.sin((2 * Math.PI * i) / 3000) +
        0.01 * rng.normal() -
        (rng.next() < 0.002 ? 0.4 * (0.5 + rng.next()) : 0),
    }));
  };
  const levelAlarms = async (params: Record<string, unknown>): Promise<number> => {
    let n = 0;
    for (const seed of [2, 3, 6]) {
      const scores = await scoresAfterFit(
        params,
        glitchy(6000, seed, T0),
        glitchy(6000, seed + 100, T0 + 600_000),
      );
      n += scores.filter((s) => s.is_anomaly && s.signal === 'level_shift').length;
    }
    return n;
  };

  it('raises no level-shift alarm on glitches like those it was trained on, where the full glitch in the level channel raised several', async () => {
    // The glitch gate (below) would take most of these glitches away before the level channel sees them.
    expect(await levelAlarms({ levelClip: false, glitchGate: false })).toBeGreaterThanOrEqual(3);
    expect(await levelAlarms({ glitchGate: false })).toBe(0);
  });

  it('passes the clip to the fault member, not with adaptLevel, and loads models written before it with it off', async () => {
    const { train, artifact } = await fittedAuto();
    expect(artifact.params.levelClip).toBe(true);
    expect((artifact.state as { robust: DetectorArtifact }).robust.params.levelClip).toBe(8);
    const adapting = createDetector('auto', { seed: 1, params: { adaptLevel: true } });
    await adapting.fit(train);
    expect((adapting.serialize().state as { robust: DetectorArtifact }).robust.params.levelClip).toBe(0);
    // With adaptLevel it changes nothing: the same scores as with it off, glitches, spikes and a shift included.
    const bumps = new Set([500, 1200, 1201, 1202]);
    const live = glitchy(3000, 8, T0 + 10_000_000).map((r, i) => ({ ts: r.ts, value: r.value + (bumps.has(i) ? 0.3 : 0) + (i >= 2000 && i < 2300 ? 0.2 : 0) }));
    const off = createDetector('auto', { seed: 1, params: { adaptLevel: true, levelClip: false } });
    await off.fit(train);
    expect(live.map((r) => adapting.score(r))).toEqual(live.map((r) => off.score(r)));
    await expectLoadsWithItOff('levelClip', train, glitchy(3000, 7, T0 + 10_000_000));
  });
});

describe('auto: a settled drift level, and the drift channel on short cycles (settledDrift)', () => {
  // 10 Hz, a 2 s cycle of 0.5 V with 0.02 V noise; live: a 0.12 V ramp up and back over 80 s from 60 s on.
  const cycle = (n: number, seed: number, t0: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: 2.5 + 0.5 * Math.sin((2 * Math.PI * i) / 20) + 0.02 * rng.normal() }));
  };
  const train = cycle(3000, 1, T0);
  const live = cycle(2000, 2, T0 + 300_000);
  for (let k = 0; k < 800; k++) live[600 + k] = { ...live[600 + k]!, value: live[600 + k]!.value + 0.12 * (1 - Math.abs(k - 400) / 400) };
  const run = async (params: Record<string, unknown>): Promise<Score[]> => {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(train);
    return live.map((r) => d.score(r));
  };

  it('finds a ramp on a short cycle with the drift channel, which was off on cycles, and is quiet before it', async () => {
    // The trend channel (cycleTrend) finds this ramp too, first: off here, to see the drift channel
    // alone. So does the cycle remembered as read (cycleLevelFree off): this 6 σ ramp sits near the
    // threshold, and with the level-free cycle the hold-out's swing tail (99th percentile 3.3
    // against 3.1) moves the tail calibration's centre from 1.1 to 2.2, so the drift channel alone
    // stays under it (the trend channel, on by default, finds the ramp either way).
    const on = await run({ cycleTrend: false, cycleLevelFree: false });
    expect(alarmsIn(on, 0, 599)).toEqual([]);
    expect(alarmsIn(on, 600, 1399).some((s) => s.channel === 'drift')).toBe(true);
    expect(alarmsIn(await run({}), 600, 1399).some((s) => s.channel === 'trend')).toBe(true);
    const off = await run({ settledDrift: false, cycleTrend: false, cycleLevelFree: false });
    expect(off.some((s) => s.channel === 'drift' && s.is_anomaly)).toBe(false);
  });

  it('restores a model fitted on a cycle with its drift member (the cycle length sets its smoothing) and scores as it', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = round(d.serialize());
    const member = ((art.state as { robust: DetectorArtifact }).robust.params as { driftSmooth: number; driftWeight: number });
    expect(member.driftWeight).toBe(1);
    expect(member.driftSmooth).toBeCloseTo(2.5, 6); // max(driftSeconds / 8, a 2 s cycle)
    const restored = restoreDetector(validateArtifact(art));
    const again = restoreDetector(validateArtifact(round(d.serialize())));
    expect(live.map((r) => restored.score(r))).toEqual(live.map((r) => again.score(r)));
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('settledDrift', train, live);
  });
});

describe('auto: the point channel also measures from the last few readings (localPoint)', () => {
  // 10 Hz: a level wandering by 3 mV a reading (mean-reverting over 30 s) with 5 mV noise; live:
  // four one-reading spikes of 50 mV (10 noise σ, clear of their neighbours but not of the wander).
  const wander = (n: number, seed: number, t0: number): Reading[] => {
    const rng = new Rng(seed);
    let w = 2.5;
    return Array.from({ length: n }, (_, i) => {
      w += -(w - 2.5) / 300 + 0.003 * rng.normal();
      return { ts: t0 + i * 100, value: w + 0.005 * rng.normal() };
    });
  };
  const train = wander(3000, 1, T0);
  const live = wander(3000, 2, T0 + 300_000);
  const spikes = [600, 1200, 1800, 2400];
  for (const at of spikes) live[at] = { ...live[at]!, value: live[at]!.value + 0.05 };
  const run = async (params: Record<string, unknown>): Promise<{ found: number; others: number }> => {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(train);
    const s = live.map((r) => d.score(r));
    return {
      found: spikes.filter((at) => alarmsIn(s, at, at + 2).length > 0).length,
      others: s.filter((x, i) => x.is_anomaly && !spikes.some((at) => i >= at && i < at + 30)).length,
    };
  };

  it('finds spikes on a wandering level that the rolling median missed, with no more alarms elsewhere', async () => {
    const on = await run({});
    const off = await run({ localPoint: false });
    expect(on.found).toBeGreaterThanOrEqual(3);
    expect(off.found).toBeLessThanOrEqual(1);
    expect(on.others).toBeLessThanOrEqual(off.others);
  });

  it('keeps the last readings across serialize and restore, refuses a malformed list, and is off for re-baselined models', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = round(d.serialize());
    const member = (art.state as { robust: DetectorArtifact }).robust;
    expect(member.params.localPoint).toBe(9);
    expect((member.state as { local?: number[] }).local).toHaveLength(9);
    const restored = restoreDetector(validateArtifact(art));
    const again = restoreDetector(validateArtifact(round(d.serialize())));
    expect(live.map((r) => restored.score(r))).toEqual(live.map((r) => again.score(r)));
    const bad = round(d.serialize());
    ((bad.state as { robust: DetectorArtifact }).robust.state as { local: unknown[] }).local = new Array(10).fill(1);
    expect(() => validateArtifact(bad)).toThrow(/local/);
    const preset = createDetector('auto', { seed: 1, params: { adaptLevel: true } });
    await preset.fit(train);
    expect(((preset.serialize().state as { robust: DetectorArtifact }).robust.params as { localPoint: number }).localPoint).toBe(0);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('localPoint', train, live);
  });
});

describe('auto: known glitches (glitchGate)', () => {
  // 10 Hz at 2.5 V with one reading in 400 near 0 V (a loose connector), in training and live.
  const loose = (n: number, seed: number, t0: number): Reading[] => {
    const rng = new Rng(seed);
    let last = -10;
    return Array.from({ length: n }, (_, i) => {
      const glitch = i - last > 20 && rng.next() < 0.0025;
      if (glitch) last = i;
      return { ts: t0 + i * 100, value: glitch ? 2.5 * 0.08 * rng.next() : 2.5 + 0.02 * Math.sin((2 * Math.PI * i) / 3000) + 0.01 * rng.normal() };
    });
  };
  const train = loose(6000, 11, T0);
  const live = loose(9000, 12, T0 + 700_000);
  const glitchesIn = (rs: readonly Reading[]): number => rs.filter((r) => r.value < 1).length;
  /** 5 Hz, 2.5 V ± `amplitude` V every `period` readings, with one reading in 300 near 0 V. */
  const looseCycle = (n: number, seed: number, t0: number, amplitude: number, period: number): Reading[] => {
    const rng = new Rng(seed);
    let last = -10;
    return Array.from({ length: n }, (_, i) => {
      const glitch = i - last > 20 && rng.next() < 1 / 300;
      if (glitch) last = i;
      return { ts: t0 + i * 200, value: glitch ? 0.1 * rng.next() : 2.5 + amplitude * Math.sin((2 * Math.PI * i) / period) + 0.01 * rng.normal() };
    });
  };

  it('alarms on no live glitch of a kind it was trained on, and, calibrated without them, finds spikes it missed with them; a sustained drop still alarms', async () => {
    expect(glitchesIn(train)).toBeGreaterThanOrEqual(5);
    expect(glitchesIn(live)).toBeGreaterThanOrEqual(10);
    // Eight upward spikes of 10 and 15 noise sigmas, away from the glitches.
    const spikes = [1007, 2007, 3007, 4007, 5007, 6007, 7007, 8007];
    const spiked = live.map((r, i) => (spikes.includes(i) ? { ts: r.ts, value: r.value + (i < 5000 ? 0.1 : 0.15) } : r));
    const off = await scoresAfterFit({ glitchGate: false }, train, spiked);
    const on = await scoresAfterFit({}, train, spiked);
    const found = (scores: Score[]): number => spikes.filter((i) => scores[i]!.is_anomaly).length;
    expect(found(off)).toBeLessThanOrEqual(2);
    // A spike that repeats at one depth is not learned as a glitch live: all eight alarm, and nothing else does.
    expect(found(on)).toBe(8);
    expect(on.filter((s, i) => s.is_anomaly && !spikes.includes(i))).toEqual([]);
    // The same depth for 5 readings: its first reading is taken as a glitch, the second alarms.
    const drop = live.map((r, i) => (i >= 8000 && i < 8005 ? { ts: r.ts, value: 0.1 } : r));
    expect(live[7999]!.value).toBeGreaterThan(1);
    const scores = await scoresAfterFit({}, train, drop);
    expect(scores[8000]!.is_anomaly).toBe(false);
    expect(alarmsIn(scores, 8001, 8010).length).toBeGreaterThan(0);
  });

  it('learns the glitches of a cycle sampled twelve times per period, and alarms on none of them live', async () => {
    // ± 0.4 V every 2.4 s: the cycle alone strays far from the gate's local median, so only the
    // straight line through the readings before shows the glitch.
    const cycleTrain = looseCycle(3000, 21, T0, 0.4, 12);
    const cycleLive = looseCycle(3000, 22, T0 + 700_000, 0.4, 12);
    expect(glitchesIn(cycleTrain)).toBeGreaterThanOrEqual(5);
    const glitchAt = cycleLive.flatMap((r, i) => (r.value < 1 ? [i] : []));
    expect(glitchAt.length).toBeGreaterThanOrEqual(5);
    const d = createDetector('auto', { seed: 1 });
    await d.fit(cycleTrain);
    expect((d.serialize().state as { glitch: { down: number[] } }).glitch.down.length).toBeGreaterThanOrEqual(2);
    const scores = cycleLive.map((r) => d.score(r));
    expect(glitchAt.filter((i) => scores[i]!.is_anomaly)).toEqual([]);
  });

  it('scores a known glitch on a cycle as the cycle there: no alarm follows a glitch on eight readings per period', async () => {
    // ± 0.3 V every 1.6 s: the last normal value held for one reading would be a dent in the cycle.
    const cyclic = (n: number, seed: number, t0: number): Reading[] => looseCycle(n, seed, t0, 0.3, 8);
    /** Over 10 seeds: the live glitches, and the alarms within 10 readings of one. */
    const nearGlitches = async (params: Record<string, unknown>): Promise<{ glitches: number; near: number }> => {
      let glitches = 0;
      let near = 0;
      for (let seed = 1; seed <= 10; seed++) {
        const d = createDetector('auto', { seed: 1, params });
        await d.fit(cyclic(3000, 2 * seed, T0));
        const live = cyclic(3000, 2 * seed + 1, T0 + 700_000);
        const at = live.flatMap((r, i) => (r.value < 1 ? [i] : []));
        glitches += at.length;
        live.forEach((r, i) => {
          if (d.score(r).is_anomaly && at.some((j) => Math.abs(i - j) <= 10)) near++;
        });
      }
      return { glitches, near };
    };
    const on = await nearGlitches({});
    expect(on.glitches).toBeGreaterThanOrEqual(50);
    expect(on.near).toBe(0);
    // Off (as in models written before it), the held value raised alarms next to the glitches.
    expect((await nearGlitches({ cycleGlitch: false })).near).toBeGreaterThan(0);
    await expectLoadsWithItOff('cycleGlitch', cyclic(3000, 2, T0), cyclic(3000, 3, T0 + 700_000));
  });

  it('is no glitch on the other side: a spike upward as deep as the glitches go down alarms', async () => {
    const up = live.map((r, i) => (i === 5000 ? { ts: r.ts, value: 4.9 } : r));
    const scores = await scoresAfterFit({}, train, up);
    expect(scores[5000]!.is_anomaly).toBe(true);
  });

  it('is off before a fit (never fitted, the stream learns nothing about glitches), and in a fit on data without lone excursions', async () => {
    const online = createDetector('auto', { params: { selfFit: 0 } });
    const plain = createDetector('auto', { seed: 1 });
    await plain.fit(trace(3000, 1));
    expect(online.serialize().state).not.toHaveProperty('glitch');
    const learned = (plain.serialize().state as { glitch: { up: number[]; down: number[] } }).glitch;
    expect(learned.up.length + learned.down.length).toBe(0);
  });

  it('keeps the gate in the artifact: a restored model scores the rest of the stream exactly as the one that went on', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = expectRestoredGoesOn(d, live, 4000);
    expect((art.state as { glitch: { down: number[] } }).glitch.down.length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a malformed gate, or one in a model without glitchGate, with a clear message', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const bad = round(d.serialize());
    (bad.state as { glitch: { down: number[] } }).glitch.down = [0.5];
    expect(() => restoreDetector(validateArtifact(bad))).toThrow(/state\.glitch: up and down/);
    const stray = round(d.serialize());
    stray.params.glitchGate = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.glitch is only written with glitchGate/);
  });

  it('is off with adaptLevel (a model for other devices has not seen their glitches): the same scores as with it off', async () => {
    await expectOffWithAdaptLevel('glitchGate', 'glitch', train, live.slice(0, 3000));
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('glitchGate', train, live.slice(0, 3000));
  });
});

describe('auto: glitches known by the value they read (glitchValues)', () => {
  // Development-set trace 100022 (see periodFence above): beside its cycle's 50 mV dips the two
  // glitches of the training part were no lone excursions, so the gate never knew them, and never
  // fitted, the detector alarmed on every glitch of the scored part.
  const tr = generateFaultTrace(100022);
  const glitchAlarms = (params: Record<string, unknown>): number => {
    const d = createDetector('auto', { seed: 1, params });
    for (const r of tr.train) d.score(r);
    return tr.test.filter((r) => d.score(r).is_anomaly && r.value < 0.5).length;
  };

  it('learns the glitches online from the training part and alarms on none of the scored part, where without it each alarmed', () => {
    const lows = tr.test.filter((r) => r.value < 0.5).length;
    expect(lows).toBeGreaterThanOrEqual(3);
    expect(glitchAlarms({})).toBe(0);
    expect(glitchAlarms({ glitchValues: false })).toBe(lows);
  });

  it('knows glitches to 0 V at any level: after the level falls, a fitted model still takes them for glitches', async () => {
    // 2.5 V with 10 mV noise and a reading near 0 V every ~40 s in training; live, the level falls to 1.4 V.
    const rng = new Rng(9);
    const at = (i: number): boolean => i % 397 === 200;
    const train = Array.from({ length: 6000 }, (_, i) => ({ ts: T0 + i * 100, value: at(i) ? 0.05 * rng.next() : 2.5 + 0.01 * rng.normal() }));
    const live = Array.from({ length: 4000 }, (_, i) => ({ ts: T0 + 700_000 + i * 100, value: at(i) ? 0.05 * rng.next() : (i < 1000 ? 2.5 : 1.4) + 0.01 * rng.normal() }));
    const glitches = live.flatMap((r, i) => (i > 1100 && at(i) ? [i] : []));
    expect(glitches.length).toBeGreaterThanOrEqual(5);
    const on = await scoresAfterFit({}, train, live);
    const off = await scoresAfterFit({ glitchValues: false }, train, live);
    expect(glitches.filter((i) => on[i]!.is_anomaly)).toEqual([]);
    expect(glitches.filter((i) => off[i]!.is_anomaly).length).toBeGreaterThanOrEqual(3);
  });

  it('keeps the values in the artifact exactly when it is on, and refuses a state that disagrees with its params', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(tr.train);
    const art = round(d.serialize());
    expect((art.state as { glitch: { values: { down: number[] } } }).glitch.values.down.length).toBe(2);
    (art.params as Record<string, unknown>).glitchValues = false;
    expect(() => restoreDetector(validateArtifact(art))).toThrow(/values exactly when glitchValues/);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('glitchValues', tr.train, tr.test.slice(0, 3000));
  });
});

describe("auto: the level's range (levelRange)", () => {
  // 10 Hz, 10-bit, 2.47 V with 5 mV noise and a little wander; live: a ramp down by 45 mV and back
  // over 300 s (150 s each way), too slow for the drift channel's 20 s, from reading 1500 on.
  const slow = (n: number, seed: number, t0: number, add: (i: number) => number = () => 0): Reading[] => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, i) => {
      w += -w / 600 + 0.0001 * rng.normal();
      return { ts: t0 + i * 100, value: Math.round((2.47 + w + 0.005 * rng.normal() + add(i)) / LSB) * LSB };
    });
  };
  const train = slow(3000, 1, T0);
  const ramp = (i: number): number => (i >= 1500 && i < 4500 ? -0.045 * (1 - Math.abs(i - 3000) / 1500) : 0);
  const live = slow(6000, 2, T0 + 400_000, ramp);

  it('finds a ramp too slow for the drift channel once the level leaves every level of training, and is quiet before it', async () => {
    // The trend channel (levelTrend) finds this ramp too: off here, to see the range channel alone.
    const on = await scoresAfterFit({ levelTrend: false }, train, live);
    const off = await scoresAfterFit({ levelRange: false, levelTrend: false }, train, live);
    expect(alarmsIn(off, 0, 5999)).toEqual([]);
    expect(alarmsIn(on, 0, 1499)).toEqual([]);
    const found = alarmsIn(on, 1500, 4499);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((s) => s.channel === 'range' && s.signal === 'drift' && s.method === 'auto:range')).toBe(true);
    expect(alarmsIn(on, 4500, 5999)).toEqual([]);
  });

  it('keeps a 0 V dropout out of the range: a ramp after one is still found', async () => {
    const dropped = live.map((r, i) => (i >= 500 && i < 580 ? { ts: r.ts, value: 0 } : r));
    const scores = await scoresAfterFit({}, train, dropped);
    expect(alarmsIn(scores, 500, 579).some((s) => s.channel === 'dropout')).toBe(true);
    expect(alarmsIn(scores, 1500, 4499).some((s) => s.channel === 'range')).toBe(true);
  });

  it('alarms once for a level that moved and stays, not on every reading out there', async () => {
    const moved = slow(6000, 2, T0 + 400_000, (i) => (i < 1500 ? 0 : -0.045 * Math.min(1, (i - 1500) / 1500)));
    const scores = await scoresAfterFit({}, train, moved);
    const out = alarmsIn(scores, 1500, 5999);
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThanOrEqual(3);
    // The last 250 s sit at the new level: quiet.
    expect(alarmsIn(scores, 3500, 5999)).toEqual([]);
  });

  it('keeps the range in the artifact: a restored model scores the rest of the stream exactly as the one that went on', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = expectRestoredGoesOn(d, live, 2000);
    expect((art.state as { range: { spread: number } }).range.spread).toBeGreaterThan(0);
  });

  it('refuses a malformed range, or one in a model without levelRange, with a clear message', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const bad = round(d.serialize());
    (bad.state as { range: { spread: number } }).range.spread = -1;
    expect(() => restoreDetector(validateArtifact(bad))).toThrow(/state\.range: spread/);
    const stray = round(d.serialize());
    stray.params.levelRange = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.range is only written with levelRange/);
  });

  it('is off on a cycle, before a fit, and with adaptLevel (the same scores as with it off)', async () => {
    const cycle = Array.from({ length: 3000 }, (_, i) => ({ ts: T0 + i * 100, value: 2.5 + 0.5 * Math.sin((2 * Math.PI * i) / 20) + 0.02 * Math.sin(i * 7.1) }));
    const periodic = createDetector('auto', { seed: 1 });
    await periodic.fit(cycle);
    expect((periodic.serialize().state as { seasonal: unknown }).seasonal).not.toBeNull();
    expect(periodic.serialize().state).not.toHaveProperty('range');
    expect(createDetector('auto', { params: { selfFit: 0 } }).serialize().state).not.toHaveProperty('range');
    await expectOffWithAdaptLevel('levelRange', 'range', train, live);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('levelRange', train, live.slice(0, 3000));
  });
});

describe("auto: the level's trend (levelTrend)", () => {
  // 10 Hz random walk (5 mV per √s) with 2 mV noise on 10-bit codes; live continues it, with a ramp
  // up by RAMP_V over 75 s and back over 75 s from live reading 3000 (the walk moves about 43 mV in 75 s).
  const walk = (n: number, seed: number, add: (i: number) => number): Reading[] => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, i) => {
      w += 0.005 * Math.sqrt(0.1) * rng.normal();
      return { ts: T0 + i * 100, value: Math.round((2.47 + w + 0.002 * rng.normal() + add(i)) / LSB) * LSB };
    });
  };
  const RAMP_V = 0.25;
  const ramp = (i: number): number => (i >= 6000 && i < 7500 ? RAMP_V * (1 - Math.abs(i - 6750) / 750) : 0);
  const all = walk(9000, 3, ramp);
  const train = all.slice(0, 3000);
  const live = all.slice(3000);

  it('finds a ramp on a wandering signal that the other channels follow, and is quiet before it', async () => {
    // The range channel is off in both: the walk leaves the training part's levels on its own, and
    // the range channel's alarms would hide what the trend channel adds.
    const on = await scoresAfterFit({ levelRange: false }, train, live);
    const off = await scoresAfterFit({ levelRange: false, levelTrend: false }, train, live);
    expect(alarmsIn(off, 3000, 4529)).toEqual([]);
    expect(alarmsIn(on, 0, 2999)).toEqual([]);
    const found = alarmsIn(on, 3000, 4529);
    expect(found.some((s) => s.channel === 'trend' && s.signal === 'drift' && s.method === 'auto:trend')).toBe(true);
    expect(alarmsIn(on, 4530, 5999)).toEqual([]);
  });

  it('keeps the trend in the artifact: a restored model scores the rest of the stream exactly as the one that went on', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = expectRestoredGoesOn(d, live, 3200);
    expect((art.state as { trend: { spread: number[] } }).trend.spread).toHaveLength(3);
  });

  it('refuses a malformed trend, or one in a model without levelTrend, with a clear message', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const bad = round(d.serialize());
    (bad.state as { trend: { spread: number[] } }).trend.spread = [1, -1, 1];
    expect(() => restoreDetector(validateArtifact(bad))).toThrow(/state\.trend: spread/);
    const stray = round(d.serialize());
    stray.params.levelTrend = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.trend is only written with levelTrend/);
  });

  it('is off before a fit and with adaptLevel (the same scores as with it off)', async () => {
    expect(createDetector('auto', { params: { selfFit: 0 } }).serialize().state).not.toHaveProperty('trend');
    await expectOffWithAdaptLevel('levelTrend', 'trend', train, live.slice(0, 3000));
  });

  it('loads models written before it (and before trendRearm) with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('levelTrend', train, live.slice(0, 3000));
    await expectLoadsWithItOff('trendRearm', train, live.slice(0, 3000));
  });

  it("with trendRearm, arms the channel when a gap restarts its level, and says so in the trend's state", async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    const art = round(d.serialize());
    expect((art.state as { trend: { rearm?: boolean } }).trend.rearm).toBe(true);
    const off = createDetector('auto', { seed: 1, params: { trendRearm: false } });
    await off.fit(train);
    expect((off.serialize().state as { trend: object }).trend).not.toHaveProperty('rearm');
    const stray = round(d.serialize());
    stray.params.trendRearm = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.trend\.rearm is written only with trendRearm/);
    const missing = round(off.serialize());
    missing.params.trendRearm = true;
    expect(() => restoreDetector(validateArtifact(missing))).toThrow(/state\.trend\.rearm is written with trendRearm/);
  });
});

describe("auto: the level's trend on a cycle (cycleTrend)", () => {
  /** 10 Hz, a 2 s cycle of ±0.3 V with a second harmonic, 8 mV noise and a slow wander (about 40 mV) on 10-bit codes, plus `add(i)`. */
  const cycle = (n: number, seed: number, add: (i: number) => number): Reading[] => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, i) => {
      w += -w / 1500 + 0.0015 * rng.normal();
      const phase = (2 * Math.PI * i) / 20;
      const v = 2.5 + 0.3 * Math.sin(phase) + 0.1 * Math.sin(2 * phase) + w + 0.008 * rng.normal() + add(i);
      return { ts: T0 + i * 100, value: Math.round(v / LSB) * LSB };
    });
  };
  // Live (from reading 3000 of each trace): a ramp up by 0.25 V over 60 s and back over 60 s from
  // live reading 3000, and a lone reading 2 V down (a glitch) at live reading 1000.
  const events = (i: number): number =>
    i >= 6000 && i < 7200 ? 0.25 * (1 - Math.abs(i - 6600) / 600) : i === 4000 ? -2 : 0;
  const traces = Array.from({ length: 8 }, (_, k) => cycle(9000, k + 1, events));

  it('finds a slow ramp on a cycle that the channels reading the cycle removed follow, and alarms on nothing else', async () => {
    const { found, foundOff } = await foundOnAndOff(traces, 'cycleTrend', [3000, 4229], (s) => s.channel === 'trend' && s.signal === 'drift', (on) => {
      // The glitch itself alarms; nothing else outside the ramp does.
      expect(on.flatMap((s, i) => (s.is_anomaly && (i < 3000 || i > 4229) ? [i] : []))).toEqual([1000]);
    });
    expect(found).toBeGreaterThanOrEqual(5);
    expect(foundOff).toBe(0);
  });

  it("holds the trend channel for a cycle and the level's settling after a reading the spike channel calls a fault", async () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1 });
    await d.fit(all.slice(0, 3000));
    for (const r of all.slice(3000, 4001)) d.score(r);
    const glitch = all[4000] as Reading;
    // The cycle is 20 readings (2 s); the level's time constant 2 s, settled after three.
    const holdUntil = (d.serialize().state as { trend: { holdUntil?: number } }).trend.holdUntil as number;
    expect(Math.abs(holdUntil - (glitch.ts + 2000 + 6000))).toBeLessThan(5);
  });

  it("with cycleHoldSize, holds it only for a fault that moves the cycle's mean by a spread of its 20 s moves", async () => {
    // The 2 V glitch moves the mean of a 20-reading cycle by 0.1 V, several spreads; a reading 0.06 V
    // up (a spike to the spike channel, as the noise of a ramp can be) by 3 mV, a fraction of one.
    const holdAfter = async (size: number, cycleHoldSize: boolean): Promise<number | undefined> => {
      const all = cycle(5000, 1, (i) => (i === 4000 ? size : 0));
      const d = createDetector('auto', { seed: 1, params: { cycleHoldSize } });
      await d.fit(all.slice(0, 3000));
      for (const r of all.slice(3000, 4000)) d.score(r);
      const s = d.score(all[4000] as Reading);
      expect(s.is_anomaly || size > 0).toBe(true);
      const trend = (d.serialize().state as { trend: { holdUntil?: number; spread: number[] } }).trend;
      expect(Math.abs(size) / 20 >= (trend.spread[0] as number)).toBe(size < 0);
      return trend.holdUntil === undefined ? undefined : trend.holdUntil - (all[4000] as Reading).ts;
    };
    expect(await holdAfter(-2, true)).toBeCloseTo(8000, -1);
    expect(await holdAfter(-2, false)).toBeCloseTo(8000, -1);
    expect(await holdAfter(0.06, false)).toBeCloseTo(8000, -1);
    expect(await holdAfter(0.06, true)).toBeUndefined();
  });

  it('keeps the trend of a cycle in the artifact, refused in a model without cycleTrend', async () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1 });
    await d.fit(all.slice(0, 3000));
    // Restored mid-ramp, it alarms where the one that went on does (the shape channel's sums may
    // differ in the last bits after a restore, so verdicts are compared, not scores).
    const live = all.slice(3000);
    for (const r of live.slice(0, 3200)) d.score(r);
    const art = round(d.serialize());
    const restored = restoreDetector(validateArtifact(art));
    const verdicts = (x: Detector): string[] =>
      live.slice(3200).map((r) => {
        const s = x.score(r);
        return `${s.is_anomaly}:${s.channel}`;
      });
    const went = verdicts(d);
    expect(verdicts(restored)).toEqual(went);
    expect(went.some((v) => v === 'true:trend')).toBe(true);
    expect((art.state as { seasonal?: unknown }).seasonal).toBeDefined();
    expect((art.state as { trend: { lags?: number } }).trend.lags).toBe(2);
    const stray = round(d.serialize());
    stray.params.cycleTrend = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(
      /state\.trend is only written without a cycle \(state\.seasonal\) unless cycleTrend/,
    );
  });

  it('loads models written before it (and before cycleHoldSize) with it off, scoring exactly as they did', async () => {
    const all = traces[0] as Reading[];
    await expectLoadsWithItOff('cycleTrend', all.slice(0, 3000), all.slice(3000, 6000));
    await expectLoadsWithItOff('cycleHoldSize', all.slice(0, 3000), all.slice(3000, 6000));
  });
});

describe("auto: the level's trend on cycles of 20 to 40 s (cycleTrendLong)", () => {
  // Development-set trace 100460: 1 Hz, 6.24 V with a cycle of 25 s, 12 mV noise; a ramp of 0.2 V
  // up and back over 113 s (465–578 s of the scored part) that no other channel sees.
  const tr = generateFaultTrace(100460);
  const t0 = (tr.test[0] as Reading).ts;
  const ramp = tr.events.find((e) => e.kind === 'ramp') as { start: number; end: number };
  const alarms = async (params: Record<string, unknown>): Promise<{ at: number; channel: string | undefined }[]> => {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(tr.train);
    return tr.test.flatMap((r) => {
      const s = d.score(r);
      return s.is_anomaly ? [{ at: r.ts, channel: s.channel }] : [];
    });
  };

  it('finds the slow ramp on a 25 s cycle, which without it no channel alarms on, and adds no other alarm', async () => {
    expect((ramp.start - t0) / 1000).toBeCloseTo(465, -1);
    const on = await alarms({});
    const off = await alarms({ cycleTrendLong: false });
    const inRamp = (a: { at: number }): boolean => a.at >= ramp.start && a.at <= ramp.end + 5000;
    expect(on.filter(inRamp).map((a) => a.channel)).toEqual(['trend']);
    expect(off.filter(inRamp)).toEqual([]);
    expect(on.filter((a) => !inRamp(a))).toEqual(off.filter((a) => !inRamp(a)));
  });

  it('fits the channel on 300 s of training on a 22 s cycle, whose levels span only 232 s, and finds the ramp there', async () => {
    // Development-set trace 100098: 9.8 Hz, several cycles (22 s fitted), a ramp at 243–379 s.
    const other = generateFaultTrace(100098);
    const slow = other.events.find((e) => e.kind === 'ramp') as { start: number; end: number };
    const on = await alarmsAround(other, slow, {});
    const off = await alarmsAround(other, slow, { cycleTrendLong: false });
    const hasTrend = (d: Detector): boolean => (d.serialize().state as { trend?: unknown }).trend !== undefined;
    expect(hasTrend(on.detector)).toBe(true);
    expect(hasTrend(off.detector)).toBe(false);
    expect(on.inEvent).toEqual(['trend']);
    expect(off.inEvent).toEqual([]);
    expect(on.elsewhere).toEqual(off.elsewhere);
  });

  it('keeps the trend of such a cycle in the artifact only with it, and loads models written before it with it off', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(tr.train);
    const art = round(d.serialize());
    const cycle = (art.state as { seasonal: { period: number; interval: number } }).seasonal;
    expect((cycle.period * cycle.interval) / 1000).toBeGreaterThan(20);
    expect((art.state as { trend: { lags?: number } }).trend.lags).toBe(2);
    const off = createDetector('auto', { seed: 1, params: { cycleTrendLong: false } });
    await off.fit(tr.train);
    expect(off.serialize().state).not.toHaveProperty('trend');
    (art.params as Record<string, unknown>).cycleTrendLong = false;
    expect(() => restoreDetector(validateArtifact(art))).toThrow(/state\.trend is only written on a cycle of at most 20 s \(40 s with cycleTrendLong\)/);
    await expectLoadsWithItOff('cycleTrendLong', tr.train, tr.test.slice(400, 700));
  });
});

describe('auto: the shape channel takes a lasting change as the new normal after 16 cycles (shapeNewNormal)', () => {
  // Development-set trace 13: 2.02 Hz, a 3.96 s cycle (8.00 readings); a frequency change at
  // 243–276 s of the scored part leaves the cycle's phase moved by part of a reading, and a ramp of
  // 15 mV up and back follows at 327–392 s.
  const tr = generateFaultTrace(13);
  const t0 = (tr.test[0] as Reading).ts;
  const ramp = tr.events.find((e) => e.kind === 'ramp') as { start: number; end: number };

  it('finds the ramp after a frequency change, which without it the shape channel\'s echoes hide, and changes no other alarm', async () => {
    expect((ramp.start - t0) / 1000).toBeCloseTo(327, -1);
    const on = await alarmsAround(tr, ramp, {});
    const off = await alarmsAround(tr, ramp, { shapeNewNormal: false });
    expect(on.inEvent.length).toBeGreaterThan(0);
    expect(off.inEvent).toEqual([]);
    expect(on.elsewhere).toEqual(off.elsewhere);
  });

  it('writes the option in the shape channel\'s state only with it, refuses a state that disagrees, and loads models written before it with it off', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(tr.train);
    const art = round(d.serialize());
    expect((art.state as { shape: { options: { newNormalCycles: number } } }).shape.options.newNormalCycles).toBe(16);
    (art.params as Record<string, unknown>).shapeNewNormal = false;
    expect(() => restoreDetector(validateArtifact(art))).toThrow(/state\.shape\.options\.newNormalCycles must be 0 without shapeNewNormal/);
    const off = createDetector('auto', { seed: 1, params: { shapeNewNormal: false } });
    await off.fit(tr.train);
    expect((off.serialize().state as { shape: { options: { newNormalCycles: number } } }).shape.options.newNormalCycles).toBe(0);
    await expectLoadsWithItOff('shapeNewNormal', tr.train, tr.test.slice(480, 800));
  });
});

describe('auto: oscillations in heavy-tailed noise (exceedance)', () => {
  /**
   * 10 Hz, Student-t noise with 3 degrees of freedom (standard deviation 10 mV: outliers of 20–30
   * standard deviations come every few minutes) on a 12-bit 5 V ADC, plus `add(i)`.
   */
  const heavy = (n: number, seed: number, add: (i: number) => number): Reading[] => {
    const rng = new Rng(seed);
    const sd = 0.01;
    return Array.from({ length: n }, (_, i) => {
      const z = rng.normal();
      const chi = (rng.normal() ** 2 + rng.normal() ** 2 + rng.normal() ** 2) / 3;
      const v = 2.5 + (sd / Math.sqrt(3)) * (z / Math.sqrt(chi)) + add(i);
      return { ts: T0 + i * 100, value: Math.round(v / (5 / 4096)) * (5 / 4096) };
    });
  };
  // Live (from reading 3000): a 1.3 Hz oscillation of 4 standard deviations for 15 s from live reading 2000.
  const oscillation = (i: number): number => (i >= 5000 && i < 5150 ? 0.04 * Math.sin((2 * Math.PI * 1.3 * (i - 5000)) / 10) : 0);
  const traces = Array.from({ length: 8 }, (_, k) => heavy(9000, k + 1, oscillation));

  it('finds an oscillation the outliers hide from the energy of the residual, and alarms on nothing else', async () => {
    const { found, foundOff } = await foundOnAndOff(traces, 'exceedance', [2000, 2179], (s) => s.channel === 'exceed' && s.signal === 'variance', (on) => {
      // The count alarms nowhere else.
      expect(on.flatMap((s, i) => (s.is_anomaly && s.channel === 'exceed' && (i < 2000 || i > 2179) ? [i] : []))).toEqual([]);
    });
    // All 8 now; without the count 1.
    expect(found).toBeGreaterThanOrEqual(7);
    expect(foundOff).toBeLessThanOrEqual(2);
  });

  it('keeps the count in the artifact: a model restored mid-oscillation goes on as the original', async () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1 });
    await d.fit(all.slice(0, 3000));
    const art = expectRestoredGoesOn(d, all.slice(3000), 2050);
    const exceed = (art.state as { robust: { state: { exceed?: { sides: number[] } } } }).robust.state.exceed;
    expect(exceed?.sides).toHaveLength(32);
    // A model without it whose fault member keeps a count was made by another build: refused.
    const stray = round(art);
    stray.params.exceedance = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.robust was made with other parameters than this build uses; retrain/);
  });

  it('counts only after a fit: a never-fitted detector from its first self-fit on', () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1 });
    const robustState = (): object => (d.serialize().state as { robust: { state: object } }).robust.state;
    for (const r of all.slice(0, 1000)) d.score(r);
    expect(robustState()).not.toHaveProperty('exceed');
    // It fits itself on the readings it has seen at 1,024 readings.
    for (const r of all.slice(1000, 1100)) d.score(r);
    expect(robustState()).toHaveProperty('exceed');
  });

  it('is off with adaptLevel (the presets)', async () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1, params: { adaptLevel: true } });
    await d.fit(all.slice(0, 3000));
    expect((d.serialize().state as { robust: { state: object } }).robust.state).not.toHaveProperty('exceed');
    const live = all.slice(3000, 5500);
    expect(await scoresAfterFit({ adaptLevel: true }, all.slice(0, 3000), live)).toEqual(await scoresAfterFit({ adaptLevel: true, exceedance: false }, all.slice(0, 3000), live));
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const all = traces[0] as Reading[];
    await expectLoadsWithItOff('exceedance', all.slice(0, 3000), all.slice(3000, 6000));
  });
});

describe('auto: the exceedance count past what the training data reached (exceedTrained)', () => {
  /**
   * 10 Hz, Gaussian noise (10 mV) on a 12-bit 5 V ADC with a 3 s burst of interference (4 times
   * the noise) every 45 s, in the training part as much as live: normal for this device. Live
   * (from reading 3000), a 1.3 Hz oscillation of 5 noise standard deviations for 15 s from live
   * reading 2000.
   */
  const bursty = (seed: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: 9000 }, (_, i) => {
      const interference = i % 450 >= 200 && i % 450 < 230;
      const oscillation = i >= 5000 && i < 5150 ? 0.05 * Math.sin((2 * Math.PI * 1.3 * (i - 5000)) / 10) : 0;
      const v = 2.5 + 0.01 * rng.normal() * (interference ? 4 : 1) + oscillation;
      return { ts: T0 + i * 100, value: Math.round(v / (5 / 4096)) * (5 / 4096) };
    });
  };
  const traces = Array.from({ length: 6 }, (_, k) => bursty(k + 1));
  /** The live bursts (numbered by their 45 s slot) in which the count alarmed, and whether any alarm came in the oscillation. */
  const outcome = (live: readonly Score[]): { bursts: number; oscillation: boolean } => {
    const inOscillation = (i: number): boolean => i >= 2000 && i < 2180;
    const slots = new Set(live.flatMap((s, i) => (s.is_anomaly && s.channel === 'exceed' && !inOscillation(i) ? [Math.floor((i + 3000) / 450)] : [])));
    return { bursts: slots.size, oscillation: live.some((s, i) => s.is_anomaly && inOscillation(i)) };
  };

  it('leaves the bursts the training part held alone, and still finds the oscillation', async () => {
    let bursts = 0;
    let burstsOff = 0;
    for (const all of traces) {
      const on = outcome(await scoresAfterFit({}, all.slice(0, 3000), all.slice(3000)));
      const off = outcome(await scoresAfterFit({ exceedTrained: false }, all.slice(0, 3000), all.slice(3000)));
      expect(on.oscillation).toBe(true);
      expect(off.oscillation).toBe(true);
      bursts += on.bursts;
      burstsOff += off.bursts;
    }
    // Of 78 live bursts: 55 alarmed on the count without it, 5 with it.
    expect(burstsOff).toBeGreaterThanOrEqual(40);
    expect(bursts).toBeLessThanOrEqual(10);
  });

  it('keeps its alarm point in the artifact, and only where the training data reached past the usual one', async () => {
    const all = traces[0] as Reading[];
    const d = createDetector('auto', { seed: 1 });
    await d.fit(all.slice(0, 3000));
    const art = expectRestoredGoesOn(d, all.slice(3000), 1900);
    const bar = (art.state as { exceedBar?: number }).exceedBar;
    expect(bar).toBeGreaterThan(8);
    // Training data without bursts: the count alarms from the usual point, and the artifact holds none.
    const calm = createDetector('auto', { seed: 1 });
    await calm.fit(trace(3000, 1));
    expect(calm.serialize().state).not.toHaveProperty('exceedBar');
    // Refused where it could not have been written, or malformed.
    const stray = round(art);
    stray.params.exceedTrained = false;
    expect(() => restoreDetector(validateArtifact(stray))).toThrow(/state\.exceedBar is only written with exceedance and exceedTrained/);
    const low = round(art);
    (low.state as { exceedBar: number }).exceedBar = 8;
    expect(() => restoreDetector(validateArtifact(low))).toThrow(/state\.exceedBar must be a number above 8/);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const all = traces[1] as Reading[];
    await expectLoadsWithItOff('exceedTrained', all.slice(0, 3000), all.slice(3000, 6000));
  });
});

describe('auto: a stuck run stays out of the spread (stuckApart)', () => {
  // The 10 Hz simulator-like trace; live: stuck at one reading's value for `seconds` from reading 1000.
  const stuckFor = (seconds: number): Reading[] => {
    const live = trace(3000, 2, T0 + 400_000);
    const to = 1000 + seconds * 10;
    for (let i = 1000; i < to; i++) live[i] = { ts: live[i]!.ts, value: live[999]!.value };
    return live;
  };
  const train = trace(3000, 1);

  it('names the stuck run and raises nothing once the signal is back, where the noise after it scored as spikes', async () => {
    for (const seconds of [20, 40]) {
      const live = stuckFor(seconds);
      const end = 1000 + seconds * 10;
      const on = await scoresAfterFit({}, train, live);
      expect(alarmsIn(on, 1000, end - 1).some((s) => s.channel === 'stuck')).toBe(true);
      // (the first reading back may repeat the stuck value by chance and continue the run)
      expect(alarmsIn(on, end + 5, 2999)).toEqual([]);
      const off = await scoresAfterFit({ stuckApart: false }, train, live);
      expect(alarmsIn(off, end, end + 100).some((s) => s.channel === 'spike')).toBe(true);
    }
  });

  it('is a parameter of the fault member, off with adaptLevel', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(train);
    expect((d.serialize().state as { robust: DetectorArtifact }).robust.params.skipStuck).toBe(true);
    const preset = createDetector('auto', { seed: 1, params: { adaptLevel: true } });
    await preset.fit(train);
    expect((preset.serialize().state as { robust: DetectorArtifact }).robust.params.skipStuck).toBe(false);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('stuckApart', train, stuckFor(20));
  });
});

describe('auto: a 0 V dropout teaches the spike and level channels nothing (dropoutsTeachNothing)', () => {
  // The 10 Hz simulator-like trace (noise 0.01 V); live: one 0 V reading at 500, a 7σ spike at 1200 (70 s later).
  const train = trace(3000, 1);
  const live = (): Reading[] => {
    const r = trace(3000, 2, T0 + 400_000);
    r[500] = { ts: r[500]!.ts, value: 0 };
    r[1200] = { ts: r[1200]!.ts, value: r[1200]!.value + 0.07 };
    return r;
  };

  it('finds a spike after a 0 V dropout, which had taught the spike channel that |z| ~1000 is normal (also with adaptLevel)', async () => {
    for (const adaptLevel of [false, true]) {
      const on = await scoresAfterFit({ adaptLevel }, train, live());
      expect(on[500]!.channel).toBe('dropout');
      expect(on[1200]).toMatchObject({ is_anomaly: true, channel: 'spike' });
      expect(on.filter((s) => s.is_anomaly)).toHaveLength(2);
      // Measured with arPoint off, as when the rule was measured: the autoregressive point channel,
      // which the dropout teaches nothing either, finds this spike without it.
      const off = await scoresAfterFit({ adaptLevel, dropoutsTeachNothing: false, arPoint: false }, train, live());
      expect(off[500]!.channel).toBe('dropout');
      expect(off[1200]!.is_anomaly).toBe(false);
    }
  });

  it('is a parameter of the fault member, with or without adaptLevel', async () => {
    const robustParams = async (params: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const d = createDetector('auto', { seed: 1, params });
      await d.fit(train);
      return (d.serialize().state as { robust: DetectorArtifact }).robust.params;
    };
    expect((await robustParams({})).learnDropouts).toBe(false);
    expect((await robustParams({ adaptLevel: true })).learnDropouts).toBe(false);
    expect((await robustParams({ dropoutsTeachNothing: false })).learnDropouts).toBe(true);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('dropoutsTeachNothing', train, live());
  });
});

describe('auto: an echo\'s alarm-level readings start no run (ownRuns)', () => {
  // A development trace of the sensor-fault benchmark (seed 100008, periodic, 101 Hz): its cycle's
  // frequency changes from 131.2 s to 213.1 s of the scored part; the deseasonalised residual shows
  // the cycle's new phase for a few cycles after that.
  const trace = generateFaultTrace(100008);
  const t0 = trace.test[0]!.ts;
  const seconds = (i: number): number => (trace.test[i]!.ts - t0) / 1000;
  const outsideEvents = (scores: Score[]): number[] =>
    scores.map((s, i) => (s.is_anomaly && !trace.events.some((e) => trace.test[i]!.ts >= e.start && trace.test[i]!.ts <= e.end + 3000) ? i : -1)).filter((i) => i >= 0);
  const fitted = async (params: Record<string, unknown>): Promise<Detector> => {
    const d = createDetector('auto', { seed: 1, params });
    await d.fit(trace.train);
    return d;
  };

  it('raises no alarm after the frequency change is over, where an echo\'s second reading had continued its run', async () => {
    // At the per-reading false-alarm target (budgetHz 0), where the echoes reached the threshold;
    // the default's lower target at 101 Hz raises no such alarm either.
    const on = await fitted({ budgetHz: 0 });
    const scores = trace.test.map((r) => on.score(r));
    expect(outsideEvents(scores)).toEqual([]);
    expect(scores.some((s, i) => s.is_anomaly && seconds(i) >= 131.2 && seconds(i) <= 216.1)).toBe(true);
    const byDefault = await fitted({});
    expect(outsideEvents(trace.test.map((r) => byDefault.score(r)))).toEqual([]);
    // Before the rule: swing alarms a few seconds after the change, each right after a suppressed
    // alarm-level reading (an echo) of the same channel.
    const off = await fitted({ ownRuns: false, budgetHz: 0 });
    const before = trace.test.map((r) => off.score(r));
    const late = outsideEvents(before);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((i) => seconds(i) > 216.1 && seconds(i) < 230 && before[i]!.channel === 'swing')).toBe(true);
    const i = late[0]!;
    expect(before.slice(Math.max(0, i - 100), i).some((s) => !s.is_anomaly && s.channel === 'swing' && s.anomaly_score >= 0.99 * off.threshold - 1e-9)).toBe(true);
  });

  it('carries the last own alarm across serialize and restore', async () => {
    const d = await fitted({});
    for (const r of trace.test.slice(0, trace.test.findIndex((x) => x.ts >= t0 + 133_000))) d.score(r);
    const episode = (d.serialize().state as { episode: unknown[] }).episode;
    expect(episode).toHaveLength(5);
    const restored = restoreDetector(validateArtifact(round(d.serialize())));
    expect((restored.serialize().state as { episode: unknown }).episode).toEqual(episode);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('ownRuns', trace.train, trace.test.slice(13_000, 24_000));
  });
});

describe('auto without a model: a slow stream\'s new extremes (newExtremes)', () => {
  /** A five-minute series: 2,000 readings of bounded noise on 10-bit codes, a new high at 1,500 (0.02 V above everything before: 10 % of the range). */
  function slowSeries(seed: number, step = 300_000): Reading[] {
    const rng = new Rng(seed);
    const r = Array.from({ length: 2000 }, (_, i) => ({ ts: T0 + i * step, value: Math.round((2.5 + 0.2 * (rng.next() - 0.5)) / LSB) * LSB }));
    const hi = Math.max(...r.slice(0, 1500).map((x) => x.value));
    r[1500]!.value = hi + 0.02;
    return r;
  }
  const extremeAlarms = (scores: Score[]): number[] => scores.flatMap((s, i) => (s.is_anomaly && s.channel === 'extreme' ? [i] : []));

  it('alarms on a value beyond every one a never-fitted slow stream has shown, named extreme, and only there', () => {
    for (const seed of [41, 42, 43]) {
      const r = slowSeries(seed);
      const d = createDetector('auto');
      const scores = r.map((x) => d.score(x));
      // The warm-up's values make the range; noise within it never alarms as an extreme.
      expect(extremeAlarms(scores)).toEqual([1500]);
      expect(scores[1500]).toMatchObject({ is_anomaly: true, channel: 'extreme', signal: 'spike' });
      const off = createDetector('auto', { params: { newExtremes: false } });
      const offScores = r.map((x) => off.score(x));
      expect(extremeAlarms(offScores)).toEqual([]);
      expect(offScores[1500]!.is_anomaly).toBe(false);
    }
  });

  it('leaves sensor streams (readings 10 s apart or closer) as they were', () => {
    const r = slowSeries(44, 100);
    const on = createDetector('auto');
    const off = createDetector('auto', { params: { newExtremes: false } });
    expect(r.map((x) => on.score(x))).toEqual(r.map((x) => off.score(x)));
  });

  it('round-trips mid-stream with its range, and loads a never-fitted model written before it with it off', () => {
    const r = slowSeries(45);
    const a = createDetector('auto');
    for (const x of r.slice(0, 1000)) a.score(x);
    const saved = round(a.serialize());
    expect(saved.state).toHaveProperty('extremes');
    const b = restoreDetector(validateArtifact(saved));
    const rest = r.slice(1000);
    const scores = rest.map((x) => a.score(x));
    expect(rest.map((x) => b.score(x))).toEqual(scores);
    expect(extremeAlarms(scores)).toEqual([500]);

    const before = createDetector('auto', { params: { newExtremes: false } });
    for (const x of r.slice(0, 1000)) before.score(x);
    const restored = restoredWithout('newExtremes', before);
    expect(extremeAlarms(rest.map((x) => restored.score(x)))).toEqual([]);
  });

  it('refuses a malformed range, or one in a state that could not have written it', () => {
    const r = slowSeries(46);
    const a = createDetector('auto');
    for (const x of r.slice(0, 1000)) a.score(x);
    const good = round(a.serialize());
    const bad = (mutate: (art: DetectorArtifact) => void): DetectorArtifact => {
      const art = round(good);
      mutate(art);
      return art;
    };
    expect(() => restoreDetector(validateArtifact(bad((art) => ((art.state as Record<string, unknown>).extremes = { n: 5, lo: 3, hi: 1, rest: 0 }))))).toThrow(/state\.extremes/);
    expect(() => restoreDetector(validateArtifact(bad((art) => ((art.params as Record<string, unknown>).newExtremes = false))))).toThrow(/newExtremes/);
    expect(() => restoreDetector(validateArtifact(bad((art) => ((art.state as Record<string, unknown>).seen = { ts: [T0], value: [1], total: 1 }))))).toThrow(/never-fitted/);
  });

  it('is dropped by a fit: a fitted model keeps no range of new extremes', async () => {
    const r = slowSeries(47);
    const d = createDetector('auto');
    for (const x of r.slice(0, 1000)) d.score(x);
    await d.fit(trace(3000, 48));
    expect(d.serialize().state).not.toHaveProperty('extremes');
  });
});

describe("auto: the fault member's hold-off waits for its channel to fall (holdoffRearm)", () => {
  const falseAlarmsAndFound = (seed: number, params: Record<string, unknown>) => onFaultTrace(seed, { params });

  it('raises no second alarm at 2 Hz when the hold-off runs out while the rolling median still catches up, and finds the same events', async () => {
    // Development-set traces at 2 Hz (flat wander; a quantised signal): with the hold-off ending after
    // its 100 readings alone, the swing channel, still high after a ramp or a level shift, alarmed again.
    for (const seed of [100099, 100108]) {
      const on = await falseAlarmsAndFound(seed, {});
      const off = await falseAlarmsAndFound(seed, { holdoffRearm: false });
      expect(on.falseAlarms).toBe(0);
      expect(off.falseAlarms).toBeGreaterThan(0);
      expect(on.found).toBe(off.found);
    }
  });

  it('carries a hold-off whose channel has not fallen yet across serialize and restore', async () => {
    const tr = generateFaultTrace(100108);
    const d = createDetector('auto');
    await d.fit(tr.train);
    const robustState = (): Record<string, unknown> => ((d.serialize().state as { robust: DetectorArtifact }).robust.state as Record<string, unknown>);
    let at = -1;
    for (const [i, r] of tr.test.entries()) {
      d.score(r);
      if (robustState().peakQuiet === false) {
        at = i + 1;
        break;
      }
    }
    expect(at).toBeGreaterThan(0);
    const art = expectRestoredGoesOn(d, tr.test.slice(at), 0);
    expect(((art.state as { robust: DetectorArtifact }).robust.state as Record<string, unknown>).peakQuiet).toBe(false);
    const bad = round(art);
    ((bad.state as { robust: DetectorArtifact }).robust.state as Record<string, unknown>).peakQuiet = 'no';
    expect(() => restoreDetector(validateArtifact(bad))).toThrow(/peakQuiet/);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const tr = generateFaultTrace(100099);
    await expectLoadsWithItOff('holdoffRearm', tr.train, tr.test);
  });
});

describe('auto: a short recording of a slow sensor (shortFit, earlySelfFit)', () => {
  /**
   * A 1 Hz sensor, 15 minutes: level, slow wander, 10 mV noise on 10-bit codes. From reading 300 (the
   * end of a 5-minute recording), a 10-σ step from 500 to 559 and a 12-σ spike at 750.
   */
  const slow = (seed: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: 900 }, (_, i) => {
      let v = 2.5 + 0.02 * Math.sin((2 * Math.PI * i) / 400) + 0.01 * rng.normal();
      if (i >= 500 && i < 560) v += 0.1;
      if (i === 750) v += 0.12;
      return { ts: T0 + i * 1000 + Math.round((rng.next() - 0.5) * 8), value: Math.round(v / LSB) * LSB };
    });
  };
  /** Whether the step and the spike (live readings 200–262 and 450–453) alarmed, and the alarms elsewhere. */
  const found = (live: readonly Score[]): { step: boolean; spike: boolean; elsewhere: number } => ({
    step: alarmsIn([...live], 200, 262).length > 0,
    spike: alarmsIn([...live], 450, 453).length > 0,
    elsewhere: live.filter((s, i) => s.is_anomaly && !(i >= 200 && i <= 262) && !(i >= 450 && i <= 453)).length,
  });

  it('fits 5 minutes of a 1 Hz sensor and finds what the never-fitted detector misses; 900 readings were needed before', async () => {
    expect(createDetector('auto').minFitSamples).toBe(267);
    expect(createDetector('auto', { params: { shortFit: false } }).minFitSamples).toBe(900);
    let fittedFinds = 0;
    let falseAlarms = 0;
    for (const seed of [2, 3, 4, 5, 6]) {
      const r = slow(seed);
      const d = createDetector('auto', { seed: 1 });
      await d.fit(r.slice(0, 300));
      const f = found(r.slice(300).map((x) => d.score(x)));
      if (f.step && f.spike) fittedFinds++;
      falseAlarms += f.elsewhere;
      // Before: refused, the user could only score online, which finds neither in these 10 minutes.
      const old = createDetector('auto', { seed: 1, params: { shortFit: false } });
      await expect(old.fit(r.slice(0, 300))).rejects.toMatchObject({ code: 'insufficient-data' });
      for (const x of r.slice(0, 300)) old.score(x);
      const o = found(r.slice(300).map((x) => old.score(x)));
      expect(o.step || o.spike).toBe(false);
    }
    expect(fittedFinds).toBe(5);
    expect(falseAlarms).toBeLessThanOrEqual(3);
  });

  it('refuses too few readings by name, and a short recording it could not learn from rather than alarm on everything', async () => {
    const r = slow(1);
    await expect(createDetector('auto').fit(r.slice(0, 266))).rejects.toMatchObject({ code: 'insufficient-data', details: { minimum: 267, got: 266 } });
    // Seed 1's 5 minutes taught the swing channel too little: its hold-out alarmed on every reading.
    await expect(createDetector('auto', { seed: 1 }).fit(r.slice(0, 300))).rejects.toMatchObject({ code: 'insufficient-data', details: { minimum: 900, got: 300 } });
  });

  it('round-trips a short fit (its novelty member keeps its shorter warm-up) and loads models written before it with it off', async () => {
    const r = slow(2);
    const d = createDetector('auto', { seed: 1 });
    await d.fit(r.slice(0, 300));
    const art = expectRestoredGoesOn(d, r.slice(300), 100);
    expect((art.state as { context: { params: { warmup: number } } }).context.params.warmup).toBe(Math.floor((300 - 75) / 2));
    // The point channel's AR model has as many lags as 225 training readings support (20 per coefficient), not 16.
    expect((art.state as { arPoint: { coef: number[] } }).arPoint.coef).toHaveLength(Math.floor(225 / 20));
    await expectLoadsWithItOff('shortFit', trace(3000, 1).slice(0, 1200), trace(3000, 1).slice(1200, 2400));
  });

  it('without a model, a slow stream fits itself once at 5 minutes, provisionally, and again at its first self-fit', () => {
    let finds = 0;
    for (const seed of [2, 3, 4, 5, 6]) {
      const r = slow(seed);
      const d = createDetector('auto', { seed: 1 });
      const scores = r.map((x) => d.score(x));
      if (found(scores.slice(300)).step && found(scores.slice(300)).spike) finds++;
      const off = createDetector('auto', { seed: 1, params: { earlySelfFit: false } });
      expect(r.some((x) => off.score(x).is_anomaly)).toBe(false);
      const seen = (d.serialize().state as { seen: { earlyTried?: boolean; provisional?: boolean; fitCount?: number; alarmTs?: number } }).seen;
      // Its alarms do not cut the next self-fit short: no alarm time is kept.
      expect(seen).toMatchObject({ earlyTried: true, provisional: true });
      expect(seen.fitCount).toBeGreaterThanOrEqual(300);
      expect(seen).not.toHaveProperty('alarmTs');
    }
    expect(finds).toBe(5);
    // A 10 Hz stream reaches its first self-fit (1,024 readings) long before 5 minutes: no early fit.
    const fast = createDetector('auto', { seed: 1 });
    for (const x of trace(4000, 7)) fast.score(x);
    expect((fast.serialize().state as { seen: Record<string, unknown> }).seen).not.toHaveProperty('earlyTried');
  });

  it('leaves series read minutes apart (never self-fitted) as they were', () => {
    const rng = new Rng(9);
    const r = Array.from({ length: 1200 }, (_, i) => ({ ts: T0 + i * 300_000, value: 2.5 + 0.05 * Math.sin(i / 40) + 0.01 * rng.normal() }));
    r[900]!.value += 0.3;
    const on = createDetector('auto', { seed: 1 });
    const off = createDetector('auto', { seed: 1, params: { earlySelfFit: false } });
    const scores = r.map((x, i) => {
      const s = on.score(x);
      expect(s).toEqual(off.score(x));
      // Around its 267th reading (the early fit's minimum) and its 300th (where it is known as slow), the same state.
      if (i >= 260 && i <= 310) expect(on.serialize().state).toEqual(off.serialize().state);
      return s;
    });
    expect(scores[900]!.is_anomaly).toBe(true);
  });

  it('round-trips mid-stream, refuses a malformed early-fit state, and loads a never-fitted model written before it with it off', () => {
    const r = slow(3);
    const d = createDetector('auto', { seed: 1 });
    for (const x of r.slice(0, 400)) d.score(x);
    const art = round(d.serialize());
    const b = restoreDetector(validateArtifact(art));
    expect(r.slice(400).map((x) => b.score(x))).toEqual(r.slice(400).map((x) => d.score(x)));
    const bad = (mutate: (seen: Record<string, unknown>, params: Record<string, unknown>) => void): DetectorArtifact => {
      const a = round(art);
      mutate((a.state as { seen: Record<string, unknown> }).seen, a.params as Record<string, unknown>);
      return a;
    };
    expect(() => restoreDetector(validateArtifact(bad((s) => (s.provisional = false))))).toThrow(/must be true when present/);
    expect(() => restoreDetector(validateArtifact(bad((s) => delete s.earlyTried)))).toThrow(/provisional needs earlyTried/);
    expect(() => restoreDetector(validateArtifact(bad((_, p) => (p.earlySelfFit = false))))).toThrow(/only written with earlySelfFit/);
    const before = createDetector('auto', { seed: 1, params: { earlySelfFit: false } });
    for (const x of r.slice(0, 280)) before.score(x);
    const restored = restoredWithout('earlySelfFit', before);
    for (const x of r.slice(280)) restored.score(x);
    expect((restored.serialize().state as { seen: Record<string, unknown> }).seen).not.toHaveProperty('earlyTried');
  });
});

describe('auto: a recording it cannot learn from is refused, not fitted to alarm on everything (holdoutGuard)', () => {
  const constant = (n: number, hz: number): Reading[] => Array.from({ length: n }, (_, i) => ({ ts: T0 + Math.round((i * 1000) / hz), value: 2.5 }));

  it('refuses a recording whose readings all hold one value, saying what to check; without it the model alarmed on every live reading', async () => {
    const r = constant(3000, 10);
    await expect(createDetector('auto').fit(r.slice(0, 1500))).rejects.toMatchObject({ code: 'insufficient-data', message: expect.stringMatching(/all read 2\.5: check that the sensor is connected/) as unknown });
    // (As models were before faultFloor too: the floor alone now keeps such a model quiet.)
    const off = await scoresAfterFit({ holdoutGuard: false, faultFloor: false }, r.slice(0, 1500), r.slice(1500));
    expect(off.filter((s) => s.is_anomaly).length).toBeGreaterThan(1400);
  });

  it('refuses a fit whose own hold-out alarms throughout (a code flickering for 10 s, then one value), and leaves self-fits alone', async () => {
    const r = Array.from({ length: 1500 }, (_, i) => ({ ts: T0 + i * 100, value: i < 100 && i % 2 === 1 ? 2.5049 : 2.5 }));
    // Its hold-out alarmed throughout before faultFloor; with the floor the fit is quiet (below).
    await expect(createDetector('auto', { params: { faultFloor: false } }).fit(r)).rejects.toMatchObject({
      code: 'insufficient-data',
      message: expect.stringMatching(/hold-out alarmed on 100 % of them\); check that the recording holds the normal signal/) as unknown,
    });
    const off = createDetector('auto', { params: { holdoutGuard: false, faultFloor: false } });
    expect((await off.fit(r)).metrics.holdout_false_alarm_rate).toBe(1);
    const floored = createDetector('auto', { seed: 1 });
    expect((await floored.fit(r)).metrics.holdout_false_alarm_rate).toBe(0);
    expect(Array.from({ length: 3000 }, (_, i) => floored.score({ ts: T0 + (1500 + i) * 100, value: 2.5 })).filter((s) => s.is_anomaly)).toEqual([]);
    // A never-fitted stream's self-fits are not refused so (a refusal would end them): it scores as without the guard.
    const on = createDetector('auto', { seed: 1 });
    const without = createDetector('auto', { seed: 1, params: { holdoutGuard: false } });
    const stream = trace(2500, 8);
    expect(stream.map((x) => on.score(x))).toEqual(stream.map((x) => without.score(x)));
  });

  it('fits data with missing values (NaN): the point channel leaves them out, as it does live', async () => {
    const r = trace(4000, 5).map((x, i) => (i % 37 === 0 ? { ...x, value: Number.NaN } : x));
    const d = createDetector('auto', { seed: 1 });
    await d.fit(r.slice(0, 3000));
    expect((d.serialize().state as { arPoint?: { coef: number[] } }).arPoint?.coef).toHaveLength(17);
    const live = r.slice(3000).map((x) => d.score(x));
    expect(live.every((s) => Number.isFinite(s.anomaly_score))).toBe(true);
    expect(live.filter((s) => s.is_anomaly).length).toBeLessThanOrEqual(2);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    const all = trace(4000, 6);
    await expectLoadsWithItOff('holdoutGuard', all.slice(0, 3000), all.slice(3000));
  });
});

describe('auto: a cycle that repeats exactly (two ADC codes in turn) is not a stuck sensor (cycleRepeatsRaw, faultFloor)', () => {
  /** 10 Hz, readings toggling between two neighbouring 10-bit codes at every reading. */
  const toggling = (n: number, from = 0): Reading[] => Array.from({ length: n }, (_, i) => ({ ts: T0 + (from + i) * 100, value: (512 + ((from + i) % 2)) * LSB }));
  const alarms = (scores: readonly Score[]): Score[] => scores.filter((s) => s.is_anomaly);

  it('never fitted, stays quiet, where the residual of the removed cycle repeating called every reading stuck after the fourth self-fit', () => {
    const stream = toggling(6000);
    const run = (params: Record<string, unknown>): Score[] => {
      const d = createDetector('auto', { seed: 1, params });
      return alarms(stream.map((r) => d.score(r)));
    };
    expect(run({})).toEqual([]);
    const before = run({ cycleRepeatsRaw: false, faultFloor: false });
    expect(before.length).toBeGreaterThan(1000);
    expect(before.every((s) => s.channel === 'stuck')).toBe(true);
    // Not counted as repeats, the residual leaves the fault member all but silent on the self-fit's
    // hold-out: without the floor its calibration put the bar there and every reading alarmed.
    expect(run({ faultFloor: false }).length).toBeGreaterThan(3000);
  });

  it('fits 300 or 2,000 such readings and stays quiet on 3,000 more', async () => {
    const short = toggling(3000, 300);
    expect(alarms(await scoresAfterFit({}, toggling(300), short))).toEqual([]);
    // Counted as repeats, the residual's run outgrew the short fit's and alarmed stuck on and on.
    expect(alarms(await scoresAfterFit({ cycleRepeatsRaw: false }, toggling(300), short)).filter((s) => s.channel === 'stuck').length).toBeGreaterThan(500);
    const live = toggling(3000, 2000);
    expect(alarms(await scoresAfterFit({}, toggling(2000), live))).toEqual([]);
    expect(alarms(await scoresAfterFit({ faultFloor: false, holdoutGuard: false }, toggling(2000), live)).length).toBe(live.length);
  });

  it('still finds the sensor sticking at one of the codes', async () => {
    const base = toggling(3000, 2000);
    const live = base.map((r, i) => (i >= 1000 && i < 1100 ? { ts: r.ts, value: (base[999] as Reading).value } : r));
    const scores = await scoresAfterFit({}, toggling(2000), live);
    expect(alarmsIn(scores, 1000, 1099).some((s) => s.channel === 'stuck')).toBe(true);
    expect(alarmsIn(scores, 0, 999)).toEqual([]);
  });

  it('loads models written before them with them off, scoring exactly as they did', async () => {
    const rng = new Rng(4);
    const cycle = Array.from({ length: 4000 }, (_, i) => ({ ts: T0 + i * 100, value: Math.round((2.5 + 0.2 * Math.sin((2 * Math.PI * i) / 25) + 0.004 * rng.normal()) / LSB) * LSB }));
    await expectLoadsWithItOff('cycleRepeatsRaw', cycle.slice(0, 3000), cycle.slice(3000));
    await expectLoadsWithItOff('faultFloor', cycle.slice(0, 3000), cycle.slice(3000));
  });
});

describe('auto: readings that share a timestamp (a clock coarser than the sampling) are not dropouts (coarseClock)', () => {
  /** 10 Hz readings stamped to the second (ten per timestamp); `gapS` seconds missing from reading `gapAt`. */
  const logged = (n: number, seed: number, from = 0, gapAt = -1, gapS = 0): Reading[] => {
    const rng = new Rng(seed);
    let w = 0;
    return Array.from({ length: n }, (_, k) => {
      const i = from + k;
      const late = gapAt >= 0 && k >= gapAt ? gapS * 10 : 0;
      w += -w / 600 + 0.001 * rng.normal();
      return { ts: T0 + Math.floor((i + late) / 10) * 1000, value: Math.round((2.5 + w + 0.01 * rng.normal()) / LSB) * LSB };
    });
  };

  it('fitted on 10 minutes stays quiet on 40 more, where every tick of the clock alarmed as a dropout', async () => {
    const train = logged(6000, 1);
    const live = logged(24_000, 2, 6000);
    expect(await scoresAfterFit({}, train, live).then((s) => s.filter((x) => x.is_anomaly))).toEqual([]);
    const off = (await scoresAfterFit({ coarseClock: false }, train, live)).filter((x) => x.is_anomaly);
    expect(off.length).toBeGreaterThan(100);
    expect(off.every((s) => s.channel === 'dropout')).toBe(true);
  });

  it('still finds 20 s of missing readings, and round-trips mid-second', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(logged(6000, 1));
    const live = logged(3000, 3, 6000, 1505, 20);
    const before = live.slice(0, 1205).map((r) => d.score(r));
    expect(before.filter((s) => s.is_anomaly)).toEqual([]);
    const copy = restoreDetector(validateArtifact(round(d.serialize())));
    // Five readings share the last timestamp: four since the clock moved.
    expect((d.serialize().state as { robust: { state: { sameTs?: number } } }).robust.state.sameTs).toBe(4);
    const rest = live.slice(1205);
    const a = rest.map((r) => d.score(r));
    expect(rest.map((r) => copy.score(r))).toEqual(a);
    expect(a.slice(295, 310).some((s) => s.is_anomaly && s.channel === 'dropout')).toBe(true);
  });

  it('refuses a malformed count of readings since the clock moved', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(logged(6000, 1));
    for (const r of logged(5, 2, 6000)) d.score(r);
    for (const bad of [-1, 1.5, 'x']) {
      const a = round(d.serialize());
      (a.state as { robust: { state: Record<string, unknown> } }).robust.state.sameTs = bad;
      expect(() => restoreDetector(validateArtifact(a))).toThrow(/sameTs/);
    }
    const legacy = round(d.serialize());
    (legacy.params as Record<string, unknown>).coarseClock = false;
    // Without the parameter the fault member's state is not the one its parameters write.
    expect(() => restoreDetector(validateArtifact(legacy))).toThrow(/Invalid auto artifact: state\.robust/);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('coarseClock', logged(6000, 1), logged(3000, 2, 6000));
  });
});

describe("auto: a relay's switches between levels it knows are no anomaly (knownStates)", () => {
  /** A relay's output: 0.4 V or 3.2 V, each held 30–90 s at 10 Hz, noise 0.01 V, 10-bit; `rc`: readings of RC edge. */
  const relay = (n: number, seed: number, t0 = T0, rc = 0): Reading[] => {
    const rng = new Rng(seed);
    const hold = (): number => Math.round((30 + rng.next() * 60) * 10);
    let high = false;
    let left = hold();
    let x = 0.4;
    return Array.from({ length: n }, (_, i) => {
      if (--left <= 0) {
        high = !high;
        left = hold();
      }
      const target = high ? 3.2 : 0.4;
      x = rc > 0 ? x + (target - x) / rc : target;
      return { ts: t0 + i * 100, value: Math.round((x + 0.01 * rng.normal()) / LSB) * LSB };
    });
  };
  const train = relay(6000, 3);
  const live = relay(30_000, 2, T0 + 700_000);

  it('fitted on 10 minutes, raises no alarm at 40 switches in 50 minutes, where nearly every switch alarmed', async () => {
    expect((await scoresAfterFit({}, train, live)).filter((s) => s.is_anomaly)).toEqual([]);
    const off = (await scoresAfterFit({ knownStates: false }, train, live)).filter((s) => s.is_anomaly);
    expect(off.length).toBeGreaterThan(20);
    // With an RC edge of a few readings between the levels, too.
    expect((await scoresAfterFit({}, relay(6000, 3, T0, 5), relay(30_000, 4, T0 + 700_000, 5))).filter((s) => s.is_anomaly)).toEqual([]);
  });

  it('still finds what a level does not explain: a spike beyond, a dip within, a level between, a noise burst, a stuck value, a dropout', async () => {
    const base = live.slice(0, 18_000);
    const rng = new Rng(9);
    const level = (i: number): number => ((base[i] as Reading).value > 1.8 ? 3.2 : 0.4);
    // [start, readings, value at the reading (or undefined: missing)]
    const events: Array<[string, number, number, (i: number) => number | undefined]> = [
      ['spike beyond', 2000, 2, (i) => level(i) + 1.2],
      ['dip within', 4500, 2, (i) => level(i) + (level(i) > 1.8 ? -0.4 : 0.4)],
      ['level between', 7000, 50, () => 1.8],
      ['noise burst', 9500, 100, (i) => level(i) + 0.05 * rng.normal()],
      ['stuck', 12_000, 200, () => (base[11_999] as Reading).value],
      ['dropout', 14_500, 200, () => undefined],
    ];
    const at = new Map<number, number | undefined>();
    for (const [, start, n, value] of events) for (let i = start; i < start + n; i++) at.set(i, value(i));
    const withEvents = base.flatMap((r, i) => {
      if (!at.has(i)) return [r];
      const v = at.get(i);
      return v === undefined ? [] : [{ ts: r.ts, value: Math.round(v / LSB) * LSB }];
    });
    const scores = await scoresAfterFit({}, train, withEvents);
    const alarmed = withEvents.filter((_, k) => scores[k]?.is_anomaly).map((r) => Math.round((r.ts - (base[0] as Reading).ts) / 100));
    for (const [name, start, n] of events) expect(alarmed.some((i) => i >= start && i <= start + n + 30), name).toBe(true);
    // Nothing else alarmed.
    expect(alarmed.filter((i) => !events.some(([, start, n]) => i >= start && i <= start + n + 30))).toEqual([]);
  });

  it('finds a dip of two readings on a relay with an RC edge, where it looks like the start of a switch', async () => {
    const base = relay(6000, 4, T0 + 700_000, 5);
    // Two readings 0.5 V towards the other level, in the middle of a stay.
    const at = base.findIndex((r, i) => i > 1000 && base.slice(i - 100, i + 100).every((x) => Math.abs(x.value - r.value) < 0.1));
    const dipped = base.map((r, i) => (i === at || i === at + 1 ? { ts: r.ts, value: r.value + (r.value < 1.8 ? 0.5 : -0.5) } : r));
    const scores = await scoresAfterFit({}, relay(6000, 3, T0, 5), dipped);
    expect(alarmsIn(scores, at, at + 3).map((s) => s.channel)).toEqual(['spike']);
    expect(scores.filter((s) => s.is_anomaly)).toHaveLength(1);
  });

  it('alarms on a level it never saw at its first visit only: then it is a known state', async () => {
    const rng = new Rng(11);
    // Three visits of 60 s to 1.8 V, 5 minutes apart, from whichever level the relay is at.
    const visits = [3000, 6000, 9000];
    const base = live.slice(0, 12_000);
    const withLevel = base.map((r, i) => (visits.some((v) => i >= v && i < v + 600) ? { ts: r.ts, value: Math.round((1.8 + 0.01 * rng.normal()) / LSB) * LSB } : r));
    const scores = await scoresAfterFit({}, train, withLevel);
    expect(alarmsIn(scores, 3000, 3599).length).toBeGreaterThan(0);
    // Its return to the relay's levels and the later visits raise nothing.
    expect(alarmsIn(scores, 3600, 11_999)).toEqual([]);
  });

  it('never fitted, learns the levels in its self-fits: quiet after its first 10 minutes', async () => {
    const stream = relay(24_000, 5);
    const d = createDetector('auto', { seed: 1 });
    expect(stream.map((r) => d.score(r)).slice(6000).filter((s) => s.is_anomaly)).toEqual([]);
    const off = createDetector('auto', { seed: 1, params: { knownStates: false } });
    expect(stream.map((r) => off.score(r)).slice(6000).filter((s) => s.is_anomaly).length).toBeGreaterThan(20);
  });

  it('round-trips mid-edge and scores on identically; refuses malformed states', async () => {
    const d = createDetector('auto', { seed: 1 });
    await d.fit(relay(6000, 3, T0, 5));
    const edgy = relay(3000, 4, T0 + 700_000, 5);
    // Stop on an edge: a reading between the levels.
    const stop = edgy.findIndex((r) => r.value > 1 && r.value < 2.6);
    for (const r of edgy.slice(0, stop + 1)) d.score(r);
    const state = round(d.serialize());
    expect((state.state as { states?: { outside: number } }).states?.outside).toBeGreaterThan(0);
    const copy = restoreDetector(validateArtifact(state));
    const rest = edgy.slice(stop + 1);
    expect(rest.map((r) => copy.score(r))).toEqual(rest.map((r) => d.score(r)));
    const bad = round(d.serialize());
    (bad.state as { states: { levels: unknown } }).states.levels = [0.4];
    expect(() => restoreDetector(validateArtifact(bad))).toThrow(/state\.states: levels/);
    const off = round(d.serialize());
    (off.params as Record<string, unknown>).knownStates = false;
    expect(() => restoreDetector(validateArtifact(off))).toThrow(/state\.states is only written with knownStates/);
  });

  it('loads models written before it with it off, scoring exactly as they did', async () => {
    await expectLoadsWithItOff('knownStates', train, live.slice(0, 3000));
  });
});
