import { describe, expect, it } from 'vitest';
import { parseArtifact, validateArtifact } from './artifact.ts';
import { CONTEXT_ARTIFACT_VERSION, readContextParams } from './context.detector.ts';
import { Rng } from './random.ts';
import { createDetector, restoreDetector } from './registry.ts';
import { DetectorError, type Detector, type Reading, type Score } from './types.ts';

const T0 = 1_700_000_000_000;
const PERIOD = 50;

/** A 0–5 V periodic signal (period 50 readings) with a little noise. */
function periodic(n: number, seed: number, period = PERIOD): Reading[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * 100, value: 2.5 + 1.5 * Math.sin((2 * Math.PI * i) / period) + 0.03 * rng.normal() }));
}

function scoreAll(d: Detector, readings: readonly Reading[]): Score[] {
  return readings.map((r) => d.score(r));
}

function alarmIndices(scores: readonly Score[], from = 0, to = scores.length): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) if (scores[i]!.is_anomaly) out.push(i);
  return out;
}

function invalidArtifactMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DetectorError);
    expect((e as DetectorError).code).toBe('invalid-artifact');
    return (e as DetectorError).message;
  }
  throw new Error('expected an invalid-artifact error');
}

const roundTrip = (d: Detector): Detector => restoreDetector(parseArtifact(JSON.stringify(d.serialize())));

describe('context detector', () => {
  const AT = 6000;
  const N = 7000;

  it('detects a spike in a periodic signal after warm-up, and names it', () => {
    const data = periodic(N, 1);
    data[AT] = { ...data[AT]!, value: data[AT]!.value + 2 };
    const scores = scoreAll(createDetector('context'), data);
    const hits = alarmIndices(scores, AT, AT + 5);
    expect(hits.length).toBeGreaterThan(0);
    expect(scores[hits[0]!]!.signal).not.toBe('none');
    expect(scores[hits[0]!]!.contributions?.length).toBeGreaterThan(0);
    expect(alarmIndices(scores, 0, AT).length).toBeLessThanOrEqual(1);
  });

  it('detects a level shift', () => {
    const data = periodic(N, 2).map((r, i) => (i >= AT ? { ...r, value: r.value + 1 } : r));
    const scores = scoreAll(createDetector('context'), data);
    expect(alarmIndices(scores, AT, AT + 30).length).toBeGreaterThan(0);
    expect(alarmIndices(scores, 0, AT).length).toBeLessThanOrEqual(1);
  });

  it('detects a change of pattern that stays within the usual values', () => {
    // From AT on the period drops from 50 to 17 readings: the same values, in unfamiliar succession.
    const fast = periodic(N, 4, 17);
    const data = periodic(N, 3).map((r, i) => (i >= AT ? { ...r, value: fast[i]!.value } : r));
    const lo = Math.min(...data.slice(0, AT).map((r) => r.value));
    const hi = Math.max(...data.slice(0, AT).map((r) => r.value));
    expect(data.slice(AT).every((r) => r.value > lo - 0.2 && r.value < hi + 0.2)).toBe(true);
    const scores = scoreAll(createDetector('context'), data);
    const hits = alarmIndices(scores, AT, AT + 100);
    expect(hits.length).toBeGreaterThan(0);
    expect(scores[hits[0]!]!.anomaly_score).toBeGreaterThanOrEqual(0.5);
  });

  it('raises few alarms on a long clean periodic signal', () => {
    const scores = scoreAll(createDetector('context'), periodic(30_000, 5));
    expect(alarmIndices(scores, 0, 300)).toEqual([]);
    expect(alarmIndices(scores).length).toBeLessThanOrEqual(3);
  });

  it('uses a fixed measurement range when given, and flags readings beyond it', () => {
    const d = createDetector('context', { params: { rangeMin: 0, rangeMax: 5 } });
    const data = periodic(3000, 6);
    const scores = scoreAll(d, data);
    expect(alarmIndices(scores, 0, 3000).length).toBeLessThanOrEqual(1);
    const beyond = d.score({ ts: T0 + 3000 * 100, value: 9 });
    expect(beyond.is_anomaly).toBe(true);
    expect((d.serialize().state as { bins: number[] }).bins).toEqual([0, 5 / 16, 5 / 16]);
  });

  it('keeps working when the learned range turns out far too narrow (bins widen)', () => {
    const d = createDetector('context', { params: { warmup: 100 } });
    const quiet = Array.from({ length: 100 }, (_, i) => ({ ts: T0 + i * 100, value: 2.5 + 0.001 * (i % 3) }));
    scoreAll(d, quiet);
    const before = (d.serialize().state as { bins: number[] }).bins[1]!;
    const wide = periodic(4000, 7).map((r, i) => ({ ...r, ts: T0 + (100 + i) * 100 }));
    const scores = scoreAll(d, wide);
    const after = (d.serialize().state as { bins: number[] }).bins[1]!;
    expect(after).toBeGreaterThan(before * 8);
    expect(alarmIndices(scores, 2000).length).toBeLessThanOrEqual(1);
  });

  it('is deterministic and causal', () => {
    const data = periodic(4000, 8);
    data[3000] = { ...data[3000]!, value: 0 };
    const a = scoreAll(createDetector('context', { seed: 3 }), data);
    const b = scoreAll(createDetector('context', { seed: 3 }), data);
    const prefix = scoreAll(createDetector('context', { seed: 3 }), data.slice(0, 3200));
    expect(b).toEqual(a);
    expect(prefix).toEqual(a.slice(0, 3200));
  });

  it('scores identically after serialize → restore, during warm-up and after it', () => {
    const data = periodic(6000, 9);
    data[5000] = { ...data[5000]!, value: 4.9 };
    for (const cut of [120, 3000]) {
      const live = createDetector('context', { seed: 11 });
      for (const r of data.slice(0, cut)) live.score(r);
      const restored = roundTrip(live);
      expect(restored.warmup()).toEqual(live.warmup());
      expect(scoreAll(restored, data.slice(cut))).toEqual(scoreAll(live, data.slice(cut)));
      expect(restored.serialize()).toEqual(live.serialize());
    }
  });

  it('answers scoreBrief with the score and signal score() gives, through warm-up, alarms and non-finite readings', () => {
    const data = periodic(4000, 14);
    data[3000] = { ...data[3000]!, value: 0 };
    data[3500] = { ...data[3500]!, value: Number.NaN };
    const full = createDetector('context', { seed: 5 });
    const brief = createDetector('context', { seed: 5 }) as Detector & { scoreBrief(r: Reading): { anomaly_score: number; signal: string } };
    let alarms = 0;
    for (const r of data) {
      const s = full.score(r);
      const b = brief.scoreBrief(r);
      expect({ anomaly_score: b.anomaly_score, signal: b.signal }).toEqual({ anomaly_score: s.anomaly_score, signal: s.signal });
      if (s.is_anomaly) alarms++;
    }
    expect(alarms).toBeGreaterThanOrEqual(2);
    expect(brief.serialize()).toEqual(full.serialize());
  });

  it('reports warm-up progress', () => {
    const d = createDetector('context', { params: { warmup: 200 } });
    expect(d.warmup()).toEqual({ window_progress: 0, window_size: 200, current_window: 0, status: 'warming_up' });
    scoreAll(d, periodic(100, 10));
    expect(d.warmup().window_progress).toBeCloseTo(0.5);
    scoreAll(d, periodic(101, 11));
    expect(d.warmup().status).toBe('ml_ready');
  });

  it('never alarms during warm-up and calls a non-finite reading a dropout', () => {
    const d = createDetector('context');
    const data = periodic(300, 12);
    data[50] = { ...data[50]!, value: 40 };
    expect(alarmIndices(scoreAll(d, data))).toEqual([]);
    const nan = d.score({ ts: T0 + 301 * 100, value: Number.NaN });
    expect(nan).toMatchObject({ is_anomaly: true, signal: 'dropout' });
  });

  it('keeps its memory bounded on a long random stream', () => {
    const capacity = 200;
    const d = createDetector('context', { params: { capacity, factsPerContext: 4, positionWindow: 16, order: 4, levels: 64 } });
    const rng = new Rng(13);
    let sizeMax = 0;
    for (let i = 0; i < 60_000; i++) {
      d.score({ ts: T0 + i * 100, value: rng.next() * 100 * (rng.next() < 0.01 ? 50 : 1) });
      if (i % 5000 === 4999) {
        const state = d.serialize().state as { memory: { entries: unknown[][]; marginal: unknown[][] }; short: unknown[]; window: unknown[] };
        sizeMax = Math.max(sizeMax, state.memory.entries.length);
        expect(state.memory.entries.length).toBeLessThanOrEqual(capacity);
        for (const e of state.memory.entries) for (const t of e.slice(2) as unknown[][]) expect(t.length).toBeLessThanOrEqual(2 * 4);
        expect(state.window.length).toBeLessThanOrEqual(16);
      }
    }
    expect(sizeMax).toBeGreaterThan(capacity / 2);
    expect(JSON.stringify(d.serialize()).length).toBeLessThan(200_000);
  });

  it('rejects invalid params', () => {
    const bad = (params: Record<string, unknown>, pattern: RegExp): void => {
      let caught: unknown;
      try {
        createDetector('context', { params });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DetectorError);
      expect((caught as DetectorError).code).toBe('invalid-params');
      expect((caught as DetectorError).message).toMatch(pattern);
    };
    bad({ magic: 1 }, /unknown parameter "magic"/);
    bad({ levels: 1 }, /"levels" must be between/);
    bad({ order: 2.5 }, /"order" must be an integer/);
    bad({ rangeMin: 5, rangeMax: 0 }, /"rangeMax" must be greater than "rangeMin"/);
    bad({ rangeMax: Number.NaN }, /finite number/);
    expect(readContextParams({ rangeMin: 0, rangeMax: 5 })).toMatchObject({ rangeMin: 0, rangeMax: 5 });
  });

  describe('artifacts', () => {
    function artifact(): Record<string, any> {
      const d = createDetector('context');
      scoreAll(d, periodic(1500, 14));
      return JSON.parse(JSON.stringify(d.serialize())) as Record<string, any>;
    }

    it('are versioned and validate', () => {
      const a = artifact();
      expect(a.version).toBe(CONTEXT_ARTIFACT_VERSION);
      expect(a.version).toBeGreaterThan(1);
      expect(validateArtifact(a)).toBe(a);
    });

    it('of the replaced implementation (version 1) are rejected with a clear message', () => {
      const old = { ...artifact(), version: 1 };
      expect(invalidArtifactMessage(() => validateArtifact(old))).toMatch(/version.*not supported.*context/);
      expect(invalidArtifactMessage(() => restoreDetector(old as any))).toMatch(/no longer supported.*replaced context implementation/);
    });

    it('that were tampered with are rejected', () => {
      const cases: Array<[string, (a: Record<string, any>) => void, RegExp]> = [
        ['prototype key', (a) => (a.state.memory = JSON.parse('{"__proto__":{"x":1}}')), /__proto__/],
        ['too many contexts', (a) => (a.state.memory.entries = Array.from({ length: 4001 + a.params.capacity }, () => a.state.memory.entries[0])), /at most/],
        ['repeated context', (a) => a.state.memory.entries.push(a.state.memory.entries[0]), /repeats a context/],
        ['fact table too long', (a) => (a.state.memory.entries[0][2] = Array.from({ length: 2 * a.params.factsPerContext + 2 }, (_, i) => i)), /at most/],
        ['negative count', (a) => (a.state.memory.entries[0][2] = [1, -3]), /non-negative/],
        ['context too long', (a) => (a.state.memory.entries[0][0] = Array.from({ length: a.params.order + 1 }, () => 1)), /levels of 1 to/],
        ['history as text', (a) => (a.state.history = ['1']), /history/],
        ['window too long', (a) => (a.state.window = Array.from({ length: a.params.positionWindow + 1 }, () => 1)), /window/],
        ['bad bins', (a) => (a.state.bins = [0, -1, 1]), /bins/],
        ['bad calibration', (a) => (a.state.calibration = { center: 1 }), /calibration/],
        ['rest beyond rest period', (a) => (a.state.rest = a.params.restPeriod + 1), /rest/],
        ['unknown param', (a) => (a.params.extra = 1), /unknown parameter/],
        ['missing memory', (a) => delete a.state.memory, /memory/],
        ['non-finite number', (a) => (a.state.long = [Number.POSITIVE_INFINITY, 0, 0]), /finite/],
      ];
      for (const [, tamper, pattern] of cases) {
        const a = artifact();
        tamper(a);
        expect(invalidArtifactMessage(() => validateArtifact(a))).toMatch(pattern);
      }
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });
  });

  describe('fit', () => {
    const rng = new Rng(21);
    const LSB = 5 / 1023;
    /** Arduino-like: a slow 3000-reading cycle plus heavy-tailed noise, 10-bit quantised. */
    const arduino = (n: number, offset = 0): Reading[] =>
      Array.from({ length: n }, (_, i) => {
        const k = i + offset;
        const v = 2.5 + 0.03 * Math.sin((2 * Math.PI * k) / 3000) + 0.01 * rng.normal() * (rng.next() < 0.05 ? 3 : 1);
        return { ts: T0 + k * 100, value: Math.round(v / LSB) * LSB };
      });

    it('rejects too little data, naming the minimum', async () => {
      const d = createDetector('context');
      const err = await d.fit(arduino(50)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DetectorError);
      expect((err as DetectorError).code).toBe('insufficient-data');
      expect((err as DetectorError).message).toContain(String(d.minFitSamples));
    });

    it('warm-starts and calibrates on normal data, then flags a spike with few false alarms', async () => {
      const d = createDetector('context', { seed: 2 });
      const progress: number[] = [];
      const report = await d.fit(arduino(3000), { onProgress: (p) => progress.push(p) });
      expect(report.kind).toBe('context');
      expect(report.metrics.heldout_false_alarm_rate).toBeLessThanOrEqual(0.01);
      expect(progress.at(-1)).toBe(1);
      const live = arduino(6000, 3000);
      live[4000] = { ...live[4000]!, value: live[4000]!.value + 0.6 };
      const scores = scoreAll(d, live);
      expect(alarmIndices(scores, 4000, 4003).length).toBeGreaterThan(0);
      expect(alarmIndices(scores, 0, 3990).length + alarmIndices(scores, 4100).length).toBeLessThanOrEqual(6);
      // The fitted state survives a round trip.
      expect(scoreAll(roundTrip(d), live.slice(0, 500))).toEqual(scoreAll(roundTrip(d), live.slice(0, 500)));
    });

    it('aborts when its signal is aborted', async () => {
      const ac = new AbortController();
      ac.abort();
      const err = await createDetector('context').fit(arduino(3000), { signal: ac.signal }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DetectorError);
      expect((err as DetectorError).code).toBe('aborted');
      expect((err as Error).name).toBe('AbortError');
    });
  });
});
