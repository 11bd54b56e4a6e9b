import { describe, expect, it } from 'vitest';
import { parseArtifact, validateArtifact } from './artifact.ts';
import { Rng } from './random.ts';
import { createDetector, restoreDetector } from './registry.ts';
import type { Detector, Reading, Score } from './types.ts';

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

/** A repeating duty cycle (a pump switching on and off) with a little noise. */
function cycle(n: number, seed: number, period = 40): Reading[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ ts: T0 + i * 100, value: (i % period < period / 4 ? 4 : 1) + 0.02 * rng.normal() }));
}

function scoreAll(d: Detector, readings: readonly Reading[]): Score[] {
  return readings.map((r) => d.score(r));
}

const alarmsIn = (scores: readonly Score[], from: number, to: number): Score[] => scores.slice(from, to).filter((s) => s.is_anomaly);

const KNOWN_RANGE = { rangeMin: 0, rangeMax: 5 };

describe('context detector', () => {
  it('raises no alarm on a long normal Arduino trace with the ADC range known', () => {
    const scores = scoreAll(createDetector('context', { params: KNOWN_RANGE }), arduino(20_000, 1));
    expect(alarmsIn(scores, 0, scores.length)).toHaveLength(0);
  });

  it('raises few alarms on a long normal Arduino trace once it has learned the range and the noise', () => {
    const scores = scoreAll(createDetector('context'), arduino(20_000, 1));
    expect(alarmsIn(scores, 5000, scores.length).length).toBeLessThanOrEqual(4);
  });

  it('detects a level shift, with the range known or learned', () => {
    for (const params of [KNOWN_RANGE, {}]) {
      const readings = arduino(9000, 2);
      for (let i = 8000; i < readings.length; i++) readings[i] = { ...readings[i]!, value: readings[i]!.value + 1 };
      const scores = scoreAll(createDetector('context', { params }), readings);
      expect(alarmsIn(scores, 5000, 8000).length).toBeLessThanOrEqual(1);
      expect(alarmsIn(scores, 8000, 8010).length).toBeGreaterThan(0);
    }
  });

  it('learns a repeating cycle and flags a pulse that stops half-way as a pattern anomaly', () => {
    const readings = cycle(6000, 3);
    for (let i = 5000; i < 5010; i++) readings[i] = { ...readings[i]!, value: 2.5 + 0.02 * Math.sin(i) };
    const scores = scoreAll(createDetector('context', { params: KNOWN_RANGE }), readings);
    expect(alarmsIn(scores, 2000, 5000)).toHaveLength(0);
    const hits = alarmsIn(scores, 5000, 5010);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.signal).toBe('pattern');
  });

  it('is causal: scores of a prefix do not depend on what follows', () => {
    const readings = arduino(3000, 4);
    readings[2000] = { ...readings[2000]!, value: 4 };
    const full = scoreAll(createDetector('context'), readings);
    const prefix = scoreAll(createDetector('context'), readings.slice(0, 2100));
    expect(prefix).toEqual(full.slice(0, 2100));
  });

  it('is deterministic', () => {
    const readings = cycle(3000, 5);
    expect(scoreAll(createDetector('context'), readings)).toEqual(scoreAll(createDetector('context'), readings));
  });

  it('restores from its artifact (through JSON and validation) and then scores identically', () => {
    const readings = cycle(3000, 6);
    readings[2500] = { ...readings[2500]!, value: 4.8 };
    for (const cut of [60, 1500]) {
      const a = createDetector('context', { params: { restPeriod: 30 } });
      scoreAll(a, readings.slice(0, cut));
      const b = restoreDetector(parseArtifact(JSON.stringify(a.serialize())));
      expect(b.serialize()).toEqual(a.serialize());
      expect(scoreAll(b, readings.slice(cut))).toEqual(scoreAll(a, readings.slice(cut)));
    }
  });

  it('keeps its memory within maxContexts', () => {
    const rng = new Rng(7);
    const d = createDetector('context', { params: { ...KNOWN_RANGE, maxContexts: 500, valueBits: 5 } });
    for (let i = 0; i < 5000; i++) d.score({ ts: T0 + i * 100, value: 5 * rng.next() });
    const state = d.serialize().state as { memory: { contexts: unknown[] } };
    expect(state.memory.contexts.length).toBeLessThanOrEqual(500);
  });

  it('reports warm-up while it learns the range, and is ready at once when the range is known', () => {
    const d = createDetector('context', { params: { rangeWarmup: 50 } });
    expect(d.warmup()).toMatchObject({ window_size: 50, current_window: 0, status: 'warming_up' });
    scoreAll(d, arduino(25, 8));
    expect(d.warmup()).toMatchObject({ window_progress: 0.5, status: 'warming_up' });
    scoreAll(d, arduino(25, 9));
    expect(d.warmup().status).toBe('ml_ready');
    expect(createDetector('context', { params: KNOWN_RANGE }).warmup().status).toBe('ml_ready');
  });

  it('rejects unknown or out-of-range params', () => {
    expect(() => createDetector('context', { params: { valueBits: 0 } })).toThrow(/between/);
    expect(() => createDetector('context', { params: { nope: 1 } })).toThrow(/unknown parameter "nope"/);
    expect(() => createDetector('context', { params: { restPeriod: 1.5 } })).toThrow(/integer/);
  });

  it('rejects a tampered state through validateArtifact', () => {
    const a = createDetector('context');
    scoreAll(a, cycle(500, 10));
    const good = JSON.stringify(a.serialize());
    const tamper = (edit: (state: { memory: { contexts: number[][]; leftGroup: number[] }; rest: number }) => void): unknown => {
      const art = JSON.parse(good) as { state: { memory: { contexts: number[][]; leftGroup: number[] }; rest: number } };
      edit(art.state);
      return art;
    };
    expect(() => validateArtifact(tamper((s) => (s.memory.contexts[0]![0] = 1e6)))).toThrow(/out of range/);
    expect(() => validateArtifact(tamper((s) => s.memory.leftGroup.push(2 ** 31 + 1e6)))).toThrow(/unknown context/);
    expect(() => validateArtifact(tamper((s) => (s.rest = -1)))).toThrow(/rest/);
    expect(() => validateArtifact(JSON.parse(good))).not.toThrow();
  });
});
