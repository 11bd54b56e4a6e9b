import { describe, expect, it } from 'vitest';
import { parseArtifact, validateArtifact } from './artifact.ts';
import { Rng } from './random.ts';
import { createDetector, restoreDetector } from './registry.ts';
import { fitPowerTail } from './rolling.ts';
import type { Detector, DetectorArtifact, Reading, Score, Signal } from './types.ts';

const LSB = 5 / 1023;
const T0 = 1_700_000_000_000;

/** Arduino-like 10 Hz voltage: 10-bit quantisation, mild heavy-tailed noise, slow wander. */
function arduino(n: number, seed: number): Reading[] {
  const rng = new Rng(seed);
  const out: Reading[] = [];
  for (let i = 0; i < n; i++) {
    const noise = 0.01 * rng.normal() * (rng.next() < 0.03 ? 2.5 : 1);
    const v = 2.5 + 0.03 * Math.sin((2 * Math.PI * i) / 3000) + noise;
    out.push({ ts: T0 + i * 100, value: Math.round(v / LSB) * LSB });
  }
  return out;
}

function scoreAll(d: Detector, readings: readonly Reading[]): Score[] {
  return readings.map((r) => d.score(r));
}

/** Alarms raised in [from, to). */
function alarmsIn(scores: readonly Score[], from: number, to: number): Score[] {
  return scores.slice(from, to).filter((s) => s.is_anomaly);
}

type Inject = (r: Reading[], at: number) => void;

const CASES: Array<{ name: string; expected: Signal[]; inject: Inject; span: number }> = [
  { name: 'a spike', expected: ['spike'], span: 5, inject: (r, at) => void (r[at] = { ...r[at]!, value: r[at]!.value + 0.6 }) },
  { name: 'a dip', expected: ['spike'], span: 5, inject: (r, at) => void (r[at] = { ...r[at]!, value: r[at]!.value - 0.6 }) },
  {
    name: 'a level shift',
    expected: ['spike', 'level_shift'],
    span: 60,
    inject: (r, at) => {
      for (let i = at; i < r.length; i++) r[i] = { ...r[i]!, value: r[i]!.value + 0.25 };
    },
  },
  {
    name: 'a noise burst',
    expected: ['burst', 'variance', 'spike'],
    span: 60,
    inject: (r, at) => {
      const rng = new Rng(9);
      for (let i = at; i < at + 60; i++) r[i] = { ...r[i]!, value: r[i]!.value + 0.08 * rng.normal() };
    },
  },
  {
    name: 'a stuck sensor',
    expected: ['stuck', 'variance'],
    span: 100,
    inject: (r, at) => {
      for (let i = at; i < at + 100; i++) r[i] = { ...r[i]!, value: r[at - 1]!.value };
    },
  },
  {
    name: 'a zero-volt dropout',
    expected: ['dropout'],
    span: 20,
    inject: (r, at) => {
      for (let i = at; i < at + 20; i++) r[i] = { ...r[i]!, value: 0 };
    },
  },
  {
    name: 'a timestamp gap',
    expected: ['dropout'],
    span: 3,
    inject: (r, at) => {
      for (let i = at; i < r.length; i++) r[i] = { ...r[i]!, ts: r[i]!.ts + 5_000 };
    },
  },
  {
    name: 'a ramp',
    expected: ['level_shift', 'spike'],
    span: 300,
    inject: (r, at) => {
      for (let i = at; i < r.length; i++) r[i] = { ...r[i]!, value: r[i]!.value + Math.min(0.5, (0.5 * (i - at)) / 300) };
    },
  },
  {
    name: 'an oscillation',
    expected: ['variance', 'burst', 'spike', 'level_shift'],
    span: 100,
    inject: (r, at) => {
      for (let i = at; i < at + 100; i++) r[i] = { ...r[i]!, value: r[i]!.value + 0.1 * Math.sin((2 * Math.PI * (i - at)) / 8) };
    },
  },
];

describe('robust detector', () => {
  it('raises no alarm on a long normal Arduino trace', () => {
    const scores = scoreAll(createDetector('robust'), arduino(20_000, 1));
    expect(alarmsIn(scores, 0, scores.length).length).toBeLessThanOrEqual(2);
  });

  for (const c of CASES) {
    it(`detects and names ${c.name}`, () => {
      const readings = arduino(4000, 2);
      const at = 3000;
      c.inject(readings, at);
      const scores = scoreAll(createDetector('robust'), readings);
      expect(alarmsIn(scores, 200, at)).toHaveLength(0);
      const hits = alarmsIn(scores, at, at + c.span);
      expect(hits.length).toBeGreaterThan(0);
      expect(c.expected).toContain(hits[0]!.signal);
    });
  }

  it('flags a different kind of event inside the hold-off of an alarm (a stuck sensor right after a spike)', () => {
    const readings = arduino(4000, 2);
    readings[3000] = { ...readings[3000]!, value: readings[3000]!.value + 1.5 };
    for (let i = 3020; i < 3080; i++) readings[i] = { ...readings[i]!, value: readings[3019]!.value };
    const scores = scoreAll(createDetector('robust'), readings);
    expect(alarmsIn(scores, 3000, 3005).length).toBeGreaterThan(0);
    // The stuck run starts 20 readings after the spike alarm, well inside the default hold-off of 100.
    expect(alarmsIn(scores, 3020, 3080).map((s) => s.signal)).toContain('stuck');
  });

  it('is causal: scores of a prefix do not depend on what follows', () => {
    const readings = arduino(3000, 3);
    readings[2000] = { ...readings[2000]!, value: 4 };
    const full = scoreAll(createDetector('robust'), readings);
    const prefix = scoreAll(createDetector('robust'), readings.slice(0, 2100));
    expect(prefix).toEqual(full.slice(0, 2100));
  });

  it('is deterministic', () => {
    const readings = arduino(2000, 4);
    expect(scoreAll(createDetector('robust'), readings)).toEqual(scoreAll(createDetector('robust'), readings));
  });

  it('restores from its artifact (through JSON and validation) and then scores identically', () => {
    const readings = arduino(3000, 5);
    readings[2500] = { ...readings[2500]!, value: 0.3 };
    const a = createDetector('robust', { params: { rarityHorizon: 5000 } });
    scoreAll(a, readings.slice(0, 1500));
    const b = restoreDetector(parseArtifact(JSON.stringify(a.serialize())));
    expect(b.serialize()).toEqual(a.serialize());
    expect(scoreAll(b, readings.slice(1500))).toEqual(scoreAll(a, readings.slice(1500)));
  });

  it('with holdoffBreak, carries a hold-off\'s first |z| across serialize and restore, and refuses a bad one', () => {
    const readings = arduino(3000, 5);
    readings[1495] = { ...readings[1495]!, value: readings[1495]!.value + 1 };
    readings[1505] = { ...readings[1505]!, value: readings[1505]!.value + 4 };
    const a = createDetector('robust', { params: { holdoffBreak: 2 } });
    scoreAll(a, readings.slice(0, 1500));
    const state = a.serialize().state as { peakZ?: number };
    expect(state.peakZ).toBeGreaterThan(0);
    const b = restoreDetector(parseArtifact(JSON.stringify(a.serialize())));
    expect(b.serialize()).toEqual(a.serialize());
    expect(scoreAll(b, readings.slice(1500))).toEqual(scoreAll(a, readings.slice(1500)));
    const bad = a.serialize();
    (bad.state as { peakZ: number }).peakZ = -1;
    expect(() => validateArtifact(bad)).toThrow(/peakZ/);
  });

  it('reports warm-up progress and then readiness', () => {
    const d = createDetector('robust', { params: { warmup: 50 } });
    expect(d.warmup()).toEqual({ window_progress: 0, window_size: 50, current_window: 0, status: 'warming_up' });
    const readings = arduino(60, 6);
    scoreAll(d, readings.slice(0, 25));
    expect(d.warmup()).toMatchObject({ window_progress: 0.5, current_window: 25, status: 'warming_up' });
    const s = scoreAll(d, readings.slice(25));
    expect(s[0]!.anomaly_score).toBe(0);
    expect(d.warmup().status).toBe('ml_ready');
  });

  it('applies a threshold changed while running', () => {
    const readings = arduino(2000, 7);
    readings[1500] = { ...readings[1500]!, value: readings[1500]!.value + 0.6 };
    const d = createDetector('robust');
    scoreAll(d, readings.slice(0, 1500));
    d.threshold = 0.999999999;
    const s = d.score(readings[1500]!);
    expect(s.anomaly_score).toBeGreaterThan(0.5);
    expect(s.is_anomaly).toBe(s.anomaly_score >= 0.999999999);
    d.threshold = 0.1;
    const t = createDetector('robust', { threshold: 0.1 });
    expect(t.threshold).toBe(0.1);
  });

  it('calibrates on held-out normal data in fit and keeps a low false-alarm rate', async () => {
    const d = createDetector('robust');
    const report = await d.fit(arduino(8000, 8), { targetFalseAlarmRate: 0.001 });
    expect(report.kind).toBe('robust');
    expect(report.metrics.heldout_false_alarm_rate).toBeLessThanOrEqual(0.005);
    const after = scoreAll(d, arduino(5000, 9).map((r) => ({ ...r, ts: r.ts + 800_000 })));
    expect(alarmsIn(after, 0, after.length).length).toBeLessThan(25);
    await expect(createDetector('robust').fit(arduino(50, 1))).rejects.toMatchObject({ code: 'insufficient-data' });
  });

  it('restores a fitted detector (learned spike tail, drift and swing state) and scores identically', async () => {
    const a = createDetector('robust');
    await a.fit(arduino(3000, 12));
    const art = a.serialize();
    const state = art.state as { spikeTail: number[] | null; drift: { lagged: number[] } };
    expect(state.spikeTail).toHaveLength(3);
    expect(state.drift.lagged).toHaveLength(300);
    const later = arduino(1000, 13).map((r) => ({ ...r, ts: r.ts + 300_000 }));
    const b = restoreDetector(parseArtifact(JSON.stringify(art)));
    expect(scoreAll(b, later)).toEqual(scoreAll(a, later));
  });

  it('loads an older state without the drift, swing and spike-tail fields', () => {
    const a = createDetector('robust');
    scoreAll(a, arduino(500, 14));
    const art = JSON.parse(JSON.stringify(a.serialize())) as { state: Record<string, unknown> };
    delete art.state.drift;
    delete art.state.swing;
    delete art.state.spikeTail;
    const b = restoreDetector(parseArtifact(JSON.stringify(art)));
    expect(scoreAll(b, arduino(200, 15)).length).toBe(200);
  });

  it('keeps an exceedance count (exceedWindow) apart from its own score, in its state', async () => {
    const train = arduino(3000, 18);
    const later = arduino(1500, 19).map((r) => ({ ...r, ts: r.ts + 300_000 }));
    const off = createDetector('robust');
    const on = createDetector('robust', { params: { exceedWindow: 32 } });
    await off.fit(train);
    await on.fit(train);
    // Its own verdicts are those of a detector without the count.
    expect(scoreAll(on, later.slice(0, 1000))).toEqual(scoreAll(off, later.slice(0, 1000)));
    const art = JSON.parse(JSON.stringify(on.serialize())) as DetectorArtifact;
    expect((art.state as { exceed?: { sides: number[] } }).exceed?.sides).toHaveLength(32);
    const back = restoreDetector(parseArtifact(JSON.stringify(art)));
    expect(scoreAll(back, later.slice(1000))).toEqual(scoreAll(on, later.slice(1000)));
    // A count without exceedWindow, or a malformed one, is refused.
    const stray = JSON.parse(JSON.stringify(off.serialize())) as DetectorArtifact;
    (stray.state as Record<string, unknown>).exceed = (art.state as Record<string, unknown>).exceed;
    expect(() => restoreDetector(parseArtifact(JSON.stringify(stray)))).toThrow(/"exceed" is kept only with exceedWindow/);
    (art.state as { exceed: { rates: number[] } }).exceed.rates = [0.1, 2];
    expect(() => restoreDetector(parseArtifact(JSON.stringify(art)))).toThrow(/"exceed": rates must be two rates in \[0, 1\]/);
  });

  it('with swingSettle, learns its first energies whatever they are: a quiet start does not lock the swing channel at a surprise', async () => {
    // 10 Hz: a steady ±1 mV flicker for the first 150 readings (the median window fills at 128 and
    // the swing channel judges from its tenth energy), then 10 mV noise for good: a quiet start-up
    // (on a cycle, the cycle's shape still settling) before the signal's own noise.
    const rng = new Rng(20);
    const readings = Array.from({ length: 4000 }, (_, i) => ({ ts: T0 + i * 100, value: 2.5 + (i < 150 ? (i % 2 === 0 ? 0.001 : -0.001) : 0.01 * rng.normal()) }));
    const swingAfterFit = async (params: Record<string, unknown>): Promise<number[]> => {
      const d = createDetector('robust', { params: { swingMinSd: 0.25, ...params } });
      await d.fit(readings.slice(0, 3000));
      return readings.slice(3000).map((r) => {
        d.score(r);
        return (d as unknown as { parts: { swing: number } }).parts.swing;
      });
    };
    const share = (xs: number[]): number => xs.filter((x) => x >= 5).length / xs.length;
    expect(share(await swingAfterFit({}))).toBeGreaterThan(0.9);
    expect(share(await swingAfterFit({ swingSettle: 160 }))).toBeLessThan(0.01);
  });

  it('alarms on a slow ramp that the rolling median follows', async () => {
    const readings = arduino(6000, 16);
    const d = createDetector('robust');
    await d.fit(readings.slice(0, 3000));
    // +0.15 V over 60 s and back: the 12.8 s median window follows it, the 30 s drift lag does not.
    for (let k = 0; k < 1200; k++) readings[4000 + k] = { ...readings[4000 + k]!, value: readings[4000 + k]!.value + 0.15 * (1 - Math.abs(k - 600) / 600) };
    const scores = scoreAll(d, readings.slice(3000));
    // The same allowance as the calibration test above (< 25 in 5000 at a 0.001 target).
    expect(alarmsIn(scores, 0, 1000).length).toBeLessThanOrEqual(5);
    expect(alarmsIn(scores, 1000, 2230).some((s) => s.signal === 'drift')).toBe(true);
  });

  it('does not compare with an anomalous reading driftLag readings later (no drift echo of a dropout)', async () => {
    const readings = arduino(5000, 17);
    const d = createDetector('robust');
    await d.fit(readings.slice(0, 3000));
    for (let k = 0; k < 30; k++) readings[3600 + k] = { ...readings[3600 + k]!, value: 0 };
    const scores = scoreAll(d, readings.slice(3000));
    expect(alarmsIn(scores, 600, 640).length).toBeGreaterThan(0);
    const driftAt = (s: Score): number => s.contributions?.find((c) => c.name === 'drift')?.weight ?? 0;
    expect(Math.max(...scores.slice(700, 2000).map(driftAt))).toBeLessThan(3);
  });

  it('rejects unknown or out-of-range params', () => {
    expect(() => createDetector('robust', { params: { window: 2 } })).toThrow(/between/);
    expect(() => createDetector('robust', { params: { nope: 1 } })).toThrow(/unknown parameter "nope"/);
    expect(() => createDetector('robust', { params: { zeroDropout: 'yes' } })).toThrow(/boolean/);
  });

  it('rejects a tampered state through validateArtifact', () => {
    const a = createDetector('robust');
    scoreAll(a, arduino(300, 10));
    const art = JSON.parse(JSON.stringify(a.serialize())) as { state: { window: number[] } };
    art.state.window = new Array(5000).fill(1);
    expect(() => validateArtifact(art)).toThrow(/window/);
    const tail = JSON.parse(JSON.stringify(a.serialize())) as { state: Record<string, unknown> };
    tail.state.spikeTail = [1, 2, 3];
    expect(() => validateArtifact(tail)).toThrow(/spikeTail/);
    const drift = JSON.parse(JSON.stringify(a.serialize())) as { state: { drift: { lagged: number[] } } };
    drift.state.drift.lagged = new Array(301).fill(1);
    expect(() => validateArtifact(drift)).toThrow(/drift/);
    const flags = JSON.parse(JSON.stringify(a.serialize())) as { state: { drift: { flags: number[] } } };
    flags.state.drift.flags = [2];
    expect(() => validateArtifact(flags)).toThrow(/drift.flags/);
  });
});

/**
 * 10 Hz, a slow wander quantised to 20 mV steps (long runs of one code are normal): a generator
 * whose successive calls continue one stream from the seeded state.
 */
function quantisedWander(seed: number): (n: number, t0: number) => Reading[] {
  const rng = new Rng(seed);
  let w = 0;
  return (n, t0) =>
    Array.from({ length: n }, (_, i) => {
      w += -w / 300 + 0.002 * rng.normal();
      return { ts: t0 + i * 100, value: Math.round((2 + w + 0.002 * rng.normal()) / 0.02) * 0.02 };
    });
}
const stuckWeight = (s: Score): number => s.contributions?.find((c) => c.name === 'stuck')?.weight ?? 0;

describe('robust: stuck runs on a coarsely quantised signal', () => {
  it.each(['robust', 'auto'])('%s judges runs against how long runs of one code last: no stuck alarm on normal runs, a run ten times the longest stands out', async (kind) => {
    const make = quantisedWander(9);
    const longestRun = (rs: readonly Reading[]): number => {
      let best = 1;
      let run = 1;
      for (let i = 1; i < rs.length; i++) {
        run = rs[i]!.value === rs[i - 1]!.value ? run + 1 : 1;
        best = Math.max(best, run);
      }
      return best;
    };
    const train = make(6000, 0);
    const d = createDetector(kind, { seed: 1 });
    await d.fit(train);
    const live = make(6000, 1_000_000);
    const liveScores = live.map((r) => d.score(r));
    expect(liveScores.filter((s) => s.is_anomaly && s.signal === 'stuck')).toEqual([]);
    // A stuck sensor: one code for ten times the longest run seen in training.
    const stuckAt = live.at(-1)!.value;
    const length = 10 * longestRun(train);
    expect(length).toBeGreaterThan(100);
    const stuck = Array.from({ length }, (_, i) => d.score({ ts: 2_000_000 + i * 100, value: stuckAt }));
    // The stuck channel's surprise at the end of the stuck run is far above any normal run's.
    // (Whether it alarms also depends on the calibration; that is the benchmark's business.)
    if (kind === 'robust') expect(stuckWeight(stuck.at(-1)!)).toBeGreaterThan(3 * Math.max(1, ...liveScores.map(stuckWeight)));
    else expect(stuck.at(-1)!.channel).toBe('stuck');
  });
});

describe('robust: runs judged against the longest training run (stuckRunFactor)', () => {
  const make = quantisedWander(19);

  it('keeps a normal run no rarer than the longest training run, and a run past twice it rises; the reference survives a round trip', async () => {
    const train = make(6000, 0);
    const d = createDetector('robust', { seed: 1, params: { stuckRunFactor: 2 } });
    await d.fit(train);
    const [longest, runs] = (d.serialize().state as { runReference: [number, number] }).runReference;
    expect(runs).toBeGreaterThanOrEqual(20);
    expect(longest).toBeGreaterThan(10);
    const cap = Math.log10(runs) + 0.01; // contributions are rounded to 0.01
    const restored = restoreDetector(parseArtifact(JSON.stringify(d.serialize())));
    const live = make(3000, 1_000_000);
    const scores = scoreAll(d, live);
    expect(scoreAll(restored, live)).toEqual(scores);
    expect(Math.max(...scores.map(stuckWeight))).toBeLessThanOrEqual(cap);
    // One code held for 1.5 × and then 4 × the longest training run.
    const at = live.at(-1)!.value;
    const t = live.at(-1)!.ts;
    const held = Array.from({ length: 4 * longest }, (_, i) => d.score({ ts: t + (i + 1) * 100, value: at }));
    expect(stuckWeight(held[Math.floor(1.5 * longest) - 1]!)).toBeLessThanOrEqual(cap);
    expect(stuckWeight(held.at(-1)!)).toBeGreaterThan(cap + 3);
    expect(held.slice(0, 2 * longest).filter((s) => s.is_anomaly && s.signal === 'stuck')).toEqual([]);
    // (Whether it alarms depends on the calibration; the stuck-runs test above checks `auto` names such a run.)
  });

  it('with stuckRunLearn, a run that ends at most that many times the longest becomes the longest; a far longer one teaches nothing', async () => {
    const train = make(6000, 0);
    const d = createDetector('robust', { seed: 1, params: { stuckRunFactor: 2, stuckRunLearn: 4 } });
    await d.fit(train);
    const reference = (): [number, number] => (d.serialize().state as { runReference: [number, number] }).runReference;
    const [longest, runs] = reference();
    const cap = Math.log10(runs) + 0.01;
    const live = make(1000, 1_000_000);
    scoreAll(d, live);
    let t = live.at(-1)!.ts;
    const at = live.at(-1)!.value;
    const hold = (value: number, n: number): Score[] => Array.from({ length: n }, () => d.score({ ts: (t += 100), value }));
    // Three times the longest: past twice it, the run is surprising while it lasts …
    expect(stuckWeight(hold(at + 0.5, 3 * longest).at(-1)!)).toBeGreaterThan(cap + 1);
    hold(at, 1); // … and once it has ended it is the longest known (the count of runs stays the fit's).
    expect(reference()).toEqual([3 * longest, runs]);
    expect(stuckWeight(hold(at + 0.5, 3 * longest).at(-1)!)).toBeLessThanOrEqual(cap);
    hold(at, 1);
    // Fifty times that (a stuck sensor) is beyond four times the longest: it teaches nothing.
    expect(stuckWeight(hold(at + 0.5, 50 * longest).at(-1)!)).toBeGreaterThan(cap + 3);
    hold(at, 1);
    expect(reference()).toEqual([3 * longest, runs]);
    // Without it the reference stays as fit set it.
    const off = createDetector('robust', { seed: 1, params: { stuckRunFactor: 2 } });
    await off.fit(train);
    const offReference = (): [number, number] => (off.serialize().state as { runReference: [number, number] }).runReference;
    const fitted = offReference();
    t = live.at(-1)!.ts;
    for (const r of live) off.score(r);
    for (let i = 0; i <= 3 * fitted[0]; i++) off.score({ ts: (t += 100), value: i < 3 * fitted[0] ? at + 0.5 : at });
    expect(offReference()).toEqual(fitted);
  });

  it('refuses a malformed run reference in an artifact', async () => {
    const d = createDetector('robust', { seed: 1, params: { stuckRunFactor: 2 } });
    await d.fit(make(6000, 0));
    const art = JSON.parse(JSON.stringify(d.serialize())) as { state: Record<string, unknown> };
    art.state.runReference = [0.5, -1];
    expect(() => restoreDetector(parseArtifact(JSON.stringify(art)))).toThrow(/runReference/);
  });
});

describe('robust: noise below one ADC step', () => {
  // 10 Hz, a level just below the boundary between two 20 mV codes with noise a tenth of a step:
  // the reading flickers between the two codes and the rolling IQR is often 0.
  const STEP = 0.02;
  const make = (n: number, t0: number, seed: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: Math.round((2.009 + 0.1 * STEP * rng.normal()) / STEP) * STEP }));
  };

  it('judges a reading at least at the resolution: a one-step flicker is no spike or level shift, a spike of eight steps is', async () => {
    const d = createDetector('robust', { seed: 1 });
    await d.fit(make(4000, 0, 3));
    const live = make(3000, 1_000_000, 4);
    const normal = live.map((r) => d.score(r));
    expect(normal.filter((s) => s.is_anomaly && (s.signal === 'spike' || s.signal === 'level_shift'))).toEqual([]);
    const last = live.at(-1)!;
    const spike = d.score({ ts: last.ts + 100, value: last.value + 8 * STEP });
    expect(spike.is_anomaly).toBe(true);
    // A lone far-out reading is named a spike or the start of a level change (as above).
    expect(['spike', 'level_shift']).toContain(spike.signal);
  });

  it('keeps the learned resolution in its artifact, and loads artifacts written before it', async () => {
    const d = createDetector('robust', { seed: 1 });
    await d.fit(make(4000, 0, 3));
    const artifact = JSON.parse(JSON.stringify(d.serialize())) as ReturnType<Detector['serialize']>;
    expect((artifact.state as { quantum?: number }).quantum).toBeCloseTo(STEP, 9);
    const live = make(200, 1_000_000, 4);
    const restored = restoreDetector(artifact);
    expect(live.map((r) => restored.score(r))).toEqual(live.map((r) => d.score(r)));
    const older = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    delete (older.state as { quantum?: number }).quantum;
    expect(() => validateArtifact(older)).not.toThrow();
    const bad = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    (bad.state as { quantum?: number }).quantum = -1;
    expect(() => validateArtifact(bad)).toThrow(/quantum/);
  });
});

describe('robust: the spike guards follow the training noise', () => {
  // 10 Hz at 2.5 V, continuous values; `heavy` mixes in one reading in 50 at eight times the noise.
  const make = (n: number, t0: number, seed: number, heavy = false): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: 2.5 + 0.01 * rng.normal() * (heavy && rng.next() < 0.02 ? 8 : 1) }));
  };
  const state = (d: Detector): { spikeTail: number[] | null; spikeGaussian?: boolean } => d.serialize().state as { spikeTail: number[] | null; spikeGaussian?: boolean };

  it('drops the power-tail guard on Gaussian training noise, keeps it on heavy-tailed noise and with adaptLevel', async () => {
    const gaussian = createDetector('robust', { seed: 1 });
    await gaussian.fit(make(4000, 0, 3));
    expect(state(gaussian)).toMatchObject({ spikeTail: null, spikeGaussian: true });
    const heavy = createDetector('robust', { seed: 1 });
    await heavy.fit(make(4000, 0, 3, true));
    expect(state(heavy).spikeGaussian).toBeUndefined();
    expect(state(heavy).spikeTail).toHaveLength(3);
    const adapting = createDetector('robust', { seed: 1, params: { adaptLevel: true } });
    await adapting.fit(make(4000, 0, 3));
    expect(state(adapting).spikeGaussian).toBeUndefined();
  });

  it('gives a 10σ spike on Gaussian noise a higher spike surprise and a narrower band than an artifact written before', async () => {
    const d = createDetector('robust', { seed: 1 });
    await d.fit(make(4000, 0, 3));
    const artifact = JSON.parse(JSON.stringify(d.serialize())) as ReturnType<Detector['serialize']>;
    const older = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    delete (older.state as { spikeGaussian?: boolean }).spikeGaussian;
    // Before, fit learned a power-law tail from the same Gaussian |z| (about α 5).
    const rng = new Rng(5);
    const tail = fitPowerTail(Array.from({ length: 3000 }, () => Math.abs(rng.normal())))!;
    (older.state as { spikeTail: number[] | null }).spikeTail = [tail.u, tail.p, tail.alpha];
    const now = restoreDetector(artifact);
    const before = restoreDetector(validateArtifact(older));
    const live = make(600, 1_000_000, 4);
    live[500] = { ...live[500]!, value: live[500]!.value + 0.1 };
    const a = live.map((r) => now.score(r));
    const b = live.map((r) => before.score(r));
    const spikeOf = (s: Score): number => s.contributions?.find((c) => c.name === 'spike')?.weight ?? 0;
    expect(a[500]!.is_anomaly).toBe(true);
    // Surprise is −log10 p: at least a thousand times rarer than the power tail made it.
    expect(spikeOf(a[500]!)).toBeGreaterThan(spikeOf(b[500]!) + 3);
    // The band in which a reading is no spike narrows with the milder guard.
    expect(a[499]!.upper! - a[499]!.lower!).toBeLessThan(b[499]!.upper! - b[499]!.lower!);
    const bad = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    (bad.state as { spikeGaussian?: unknown }).spikeGaussian = 'yes';
    expect(() => validateArtifact(bad)).toThrow(/spikeGaussian/);
  });
});

describe('robust: two readings out on one side on heavy-tailed noise (pairSpike)', () => {
  // 10 Hz at 2.5 V; one reading in 50 at eight times the noise, as in the test above.
  const make = (n: number, t0: number, seed: number, heavy: boolean): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: 2.5 + 0.01 * rng.normal() * (heavy && rng.next() < 0.02 ? 8 : 1) }));
  };
  const pairOf = (d: Detector): number => (d as unknown as { pairSpike: number }).pairSpike;
  const spikeOf = (d: Detector): number => (d as unknown as { parts: { spike: number } }).parts.spike;
  /** Scores `live` with readings `at` moved by `moves` (volts); the pair and point surprises after each reading. */
  const run = async (heavy: boolean, moves: number[], at = 400, params: Record<string, unknown> = {}): Promise<{ pairs: number[]; spikes: number[] }> => {
    const d = createDetector('robust', { seed: 1, params });
    await d.fit(make(4000, 0, 3, heavy));
    const live = make(500, 1_000_000, 4, heavy);
    moves.forEach((m, k) => (live[at + k] = { ...live[at + k]!, value: 2.5 + m }));
    const pairs: number[] = [];
    const spikes: number[] = [];
    for (const r of live) {
      d.score(r);
      pairs.push(pairOf(d));
      spikes.push(spikeOf(d));
    }
    return { pairs, spikes };
  };

  it('is twice the smaller point surprise of two readings out on the same side, and 0 on opposite sides', async () => {
    const same = await run(true, [0.25, 0.2]);
    const first = same.spikes[400]!;
    const second = same.spikes[401]!;
    expect(Math.min(first, second)).toBeGreaterThan(2);
    expect(same.pairs[401]).toBeCloseTo(2 * Math.min(first, second), 9);
    // The first reading of the pair has no partner yet; ordinary noise pairs score little.
    expect(same.pairs[400]).toBeLessThan(first);
    expect(Math.max(...same.pairs.slice(0, 400))).toBeLessThan(2 * Math.min(first, second));
    const opposite = await run(true, [0.25, -0.2]);
    expect(opposite.pairs[401]).toBe(0);
  });

  it('is 0 on Gaussian-like training noise, whose point surprise no power-law tail caps, and with adaptLevel (the presets)', async () => {
    const { pairs } = await run(false, [0.25, 0.2]);
    expect(pairs.every((p) => p === 0)).toBe(true);
    // adaptLevel keeps the tail guard for other devices' noise, whatever its own training noise was.
    const adapting = await run(true, [0.25, 0.2], 400, { adaptLevel: true });
    expect(adapting.spikes[401]).toBeGreaterThan(2);
    expect(adapting.pairs.every((p) => p === 0)).toBe(true);
  });

  it('survives a save and restore between the two readings', async () => {
    const d = createDetector('robust', { seed: 1 });
    await d.fit(make(4000, 0, 3, true));
    const live = make(500, 1_000_000, 4, true);
    live[400] = { ...live[400]!, value: 2.75 };
    live[401] = { ...live[401]!, value: 2.7 };
    for (const r of live.slice(0, 401)) d.score(r);
    const restored = restoreDetector(validateArtifact(JSON.parse(JSON.stringify(d.serialize())) as DetectorArtifact));
    d.score(live[401]!);
    restored.score(live[401]!);
    expect(pairOf(restored)).toBeGreaterThan(4);
    expect(pairOf(restored)).toBe(pairOf(d));
    const bad = JSON.parse(JSON.stringify(d.serialize())) as DetectorArtifact;
    (bad.state as { lastSpike?: unknown }).lastSpike = -1;
    expect(() => validateArtifact(bad)).toThrow(/lastSpike/);
  });
});

describe('robust: the drift channel by time (driftSeconds)', () => {
  const HZ = 50;
  const noise = (n: number, seed: number, t0: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + Math.round((i * 1000) / HZ), value: 2.5 + 0.01 * rng.normal() }));
  };
  /** 300 s of training at 50 Hz, then 200 s live with a 0.1 V ramp up and back over 80 s from 60 s on. */
  async function ramp(params: Record<string, unknown>): Promise<{ d: Detector; live: Reading[]; scores: Score[] }> {
    const d = createDetector('robust', { seed: 1, params });
    const train = noise(300 * HZ, 1, 1_700_000_000_000);
    await d.fit(train);
    const live = noise(200 * HZ, 2, train.at(-1)!.ts + 60_000);
    for (let k = 0; k < 80 * HZ; k++) live[60 * HZ + k] = { ...live[60 * HZ + k]!, value: live[60 * HZ + k]!.value + 0.1 * (1 - Math.abs(k - 40 * HZ) / (40 * HZ)) };
    return { d, live, scores: scoreAll(d, live) };
  }

  it('alarms on a slow ramp at a high sampling rate by its change over seconds, quiet before it', async () => {
    const { scores } = await ramp({ driftSeconds: 20 });
    const driftAlarms = scores.flatMap((x, i) => (x.is_anomaly && x.signal === 'drift' ? [i / HZ] : []));
    expect(driftAlarms[0]).toBeGreaterThan(60);
    expect(driftAlarms[0]).toBeLessThan(100); // before the ramp's peak
    expect(alarmsIn(scores, 0, 60 * HZ - 1)).toEqual([]);
  });

  it('carries its state across serialize and restore; an artifact without it validates and scores', async () => {
    const { d, live } = await ramp({ driftSeconds: 20 });
    const art = JSON.parse(JSON.stringify(d.serialize())) as ReturnType<Detector['serialize']>;
    const state = art.state as { timeDrift?: { kept: number[]; flags: number[] } };
    expect(state.timeDrift?.kept).toHaveLength(8);
    const more = noise(2000, 3, live.at(-1)!.ts + 20);
    const restored = restoreDetector(parseArtifact(JSON.stringify(art)));
    expect(scoreAll(restored, more)).toEqual(scoreAll(d, more));
    const bad = JSON.parse(JSON.stringify(art)) as typeof art;
    (bad.state as { timeDrift: { flags: number[] } }).timeDrift.flags = [2];
    expect(() => validateArtifact(bad)).toThrow(/timeDrift/);
    const older = JSON.parse(JSON.stringify(art)) as typeof art;
    delete (older.state as { timeDrift?: unknown }).timeDrift;
    expect(scoreAll(restoreDetector(validateArtifact(older)), more)).toHaveLength(2000);
    // Without driftSeconds (older models, and the default) the state has no timeDrift.
    expect((createDetector('robust').serialize().state as { timeDrift?: unknown }).timeDrift).toBeUndefined();
  });

  const driftAlarms = (scores: readonly Score[]): number[] => scores.flatMap((x, i) => (x.is_anomaly && x.signal === 'drift' ? [i / HZ] : []));

  it('with driftSmooth: one alarm for the ramp, whose way back the older level raised again and again', async () => {
    const settled = driftAlarms((await ramp({ driftSeconds: 20, driftSmooth: 2.5 })).scores);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toBeGreaterThan(60);
    expect(settled[0]).toBeLessThan(100);
    const older = driftAlarms((await ramp({ driftSeconds: 20 })).scores);
    expect(older.filter((t) => t > 100).length).toBeGreaterThan(0);
  });

  it('with driftSmooth: the first readings after a pause are no reference (a glitch there came back as drift a lag later)', async () => {
    const glitchAtStart = async (params: Record<string, unknown>): Promise<number[]> => {
      const d = createDetector('robust', { seed: 1, params });
      const train = noise(300 * HZ, 1, T0);
      await d.fit(train);
      const live = noise(60 * HZ, 3, train.at(-1)!.ts + 60_000);
      for (let k = 0; k < 3; k++) live[k] = { ...live[k]!, value: live[k]!.value + 0.05 };
      return driftAlarms(scoreAll(d, live));
    };
    expect(await glitchAtStart({ driftSeconds: 20, driftSmooth: 2.5 })).toEqual([]);
    expect((await glitchAtStart({ driftSeconds: 20 })).length).toBeGreaterThan(0);
  });

  it('with driftSmooth: carries its weight and last alarm across serialize and restore, and refuses a malformed weight', async () => {
    const { d, live } = await ramp({ driftSeconds: 20, driftSmooth: 2.5 });
    const art = JSON.parse(JSON.stringify(d.serialize())) as ReturnType<Detector['serialize']>;
    const td = (art.state as { timeDrift: { weight?: number; alarm?: number[] } }).timeDrift;
    expect(td.weight).toBeGreaterThan(1);
    expect(td.alarm?.[0]).toBe(1);
    const more = noise(2000, 3, live.at(-1)!.ts + 20);
    expect(scoreAll(restoreDetector(parseArtifact(JSON.stringify(art))), more)).toEqual(scoreAll(d, more));
    const bad = JSON.parse(JSON.stringify(art)) as typeof art;
    (bad.state as { timeDrift: { weight: number } }).timeDrift.weight = 0.5;
    expect(() => validateArtifact(bad)).toThrow(/timeDrift.weight/);
    // A level without its weight is taken as settled, and keeps following the readings even when
    // the first one repeats the last timestamp (no infinite weight that would freeze it).
    const bare = JSON.parse(JSON.stringify(art)) as typeof art;
    delete (bare.state as { timeDrift: { weight?: number } }).timeDrift.weight;
    const restored = restoreDetector(validateArtifact(bare));
    const last = live.at(-1)!;
    const higher = [{ ts: last.ts, value: last.value + 1 }, ...noise(500, 4, last.ts + 20).map((r) => ({ ...r, value: r.value + 1 }))];
    scoreAll(restored, higher);
    const level = (restored.serialize().state as { timeDrift: { level: number; weight: number } }).timeDrift;
    expect(level.level).toBeGreaterThan(3.4);
    expect(Number.isFinite(level.weight)).toBe(true);
  });
});

describe('robust: one glitch is no level shift (levelClip)', () => {
  const make = (n: number, t0: number, seed: number): Reading[] => {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: 2.5 + 0.01 * rng.normal() }));
  };
  const weight = (s: Score, name: string): number =>
    s.contributions?.find((c) => c.name === name)?.weight ?? 0;
  const fitted = async (levelClip: number): Promise<Detector> => {
    const d = createDetector('robust', { seed: 1, params: { levelClip } });
    await d.fit(make(4000, 0, 3));
    return d;
  };

  it('keeps a one-reading 30σ glitch out of the level channel, still alarms on it as a spike, and finds a level shift as before', async () => {
    const live = make(400, 1_000_000, 4);
    live[200] = { ...live[200]!, value: live[200]!.value + 0.3 };
    for (let i = 300; i < live.length; i++) live[i] = { ...live[i]!, value: live[i]!.value + 0.3 };
    const [clipped, full] = [await fitted(8), await fitted(0)];
    const a = live.map((r) => clipped.score(r));
    const b = live.map((r) => full.score(r));
    // The glitch: a spike alarm either way; the level channel's surprise only without the clip.
    expect(a[200]).toMatchObject({ is_anomaly: true, signal: 'spike' });
    expect(b[200]!.is_anomaly).toBe(true);
    expect(weight(b[200]!, 'level')).toBeGreaterThan(5);
    expect(weight(a[200]!, 'level')).toBeLessThan(weight(b[200]!, 'level') / 3);
    // The shift: its second reading enters at full size, so the level channel sees it a reading later at most.
    const levelAt = (s: Score[]): number => s.slice(300).findIndex((x) => weight(x, 'level') > 5);
    expect(levelAt(b)).toBeGreaterThanOrEqual(0);
    expect(levelAt(a)).toBeGreaterThanOrEqual(0);
    expect(levelAt(a)).toBeLessThanOrEqual(levelAt(b) + 1);
    expect(alarmsIn(a, 300, 320).length).toBeGreaterThan(0);
  });

  it('keeps the last z in its artifact (same scores after a round trip), loads artifacts written before it and refuses a malformed one', async () => {
    const d = await fitted(8);
    const live = make(300, 1_000_000, 5);
    for (let i = 100; i < 103; i++) live[i] = { ...live[i]!, value: live[i]!.value + 0.3 };
    live.slice(0, 101).forEach((r) => d.score(r));
    const artifact = JSON.parse(JSON.stringify(d.serialize())) as ReturnType<Detector['serialize']>;
    expect((artifact.state as { lastZ?: number }).lastZ).toBeGreaterThan(8);
    const restored = restoreDetector(validateArtifact(artifact));
    expect(live.slice(101).map((r) => restored.score(r))).toEqual(live.slice(101).map((r) => d.score(r)));
    const older = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    delete (older.state as { lastZ?: number }).lastZ;
    delete (older.params as { levelClip?: number }).levelClip;
    expect(restoreDetector(validateArtifact(older)).serialize().params).toMatchObject({ levelClip: 0 });
    (older.state as { lastZ?: unknown }).lastZ = 'x';
    expect(() => validateArtifact(older)).toThrow(/lastZ/);
  });
});

describe('robust: a 0 V dropout teaches the spike channel nothing (learnDropouts)', () => {
  // Clean 10 Hz noise (σ 0.01 V), an 8σ spike at reading 2000; the absolute guard off so the
  // learned spread alone sets the spike channel's surprise.
  const stream = (event: (r: Reading[]) => void): Reading[] => {
    const rng = new Rng(3);
    const live = Array.from({ length: 3000 }, (_, i) => ({ ts: T0 + i * 100, value: 2.5 + 0.01 * rng.normal() }));
    event(live);
    live[2000] = { ...live[2000]!, value: live[2000]!.value + 0.08 };
    return live;
  };
  const spikeSurprise = (params: Record<string, unknown>, live: readonly Reading[]): { surprise: number; signals: Signal[] } => {
    const d = createDetector('robust', { seed: 1, params: { absoluteZScale: 0, ...params } }) as Detector & { parts: { spike: number } };
    let surprise = 0;
    const signals = live.map((r, i) => {
      const s = d.score(r);
      if (i === 2000) surprise = d.parts.spike;
      return s.signal;
    });
    return { surprise, signals };
  };

  it('with learnDropouts off, a 0 V dropout (|z| ~1000) leaves the spike channel as it was; on, it hides a spike 100 s later', () => {
    const dropout = stream((r) => void (r[1000] = { ...r[1000]!, value: 0 }));
    const clean = spikeSurprise({ skipZeroDropouts: true }, stream(() => undefined)).surprise;
    const off = spikeSurprise({ skipZeroDropouts: true, learnDropouts: false }, dropout);
    const on = spikeSurprise({ skipZeroDropouts: true }, dropout);
    expect(off.signals[1000]).toBe('dropout');
    expect(off.signals[2000]).toBe('spike');
    expect(off.surprise).toBeGreaterThan(20);
    expect(Math.abs(off.surprise - clean)).toBeLessThan(0.5);
    expect(on.surprise).toBeLessThan(3);
  });
});
