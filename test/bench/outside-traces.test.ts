import { describe, expect, it } from 'vitest';
import { generateOutsideTrace, OUTSIDE_EVENT_KINDS, type OutsideTrace } from '../../bench/support/outside-traces.ts';

const SEEDS = Array.from({ length: 140 }, (_, i) => 900_001 + i);
const traces: Array<{ seed: number; trace: OutsideTrace }> = SEEDS.map((seed) => ({ seed, trace: generateOutsideTrace(seed) }));

const all = (t: OutsideTrace) => [...t.train, ...t.test];
/** Readings that look like a loose-wire glitch: about 0 V between two readings well above it. */
function glitchCount(rs: ReadonlyArray<{ value: number }>): number {
  let n = 0;
  for (let i = 1; i + 1 < rs.length; i++) if (rs[i]!.value < 0.05 && rs[i - 1]!.value > 1 && rs[i + 1]!.value > 1) n++;
  return n;
}

describe('generateOutsideTrace', () => {
  it('returns the same trace for the same seed and a different one for another seed', () => {
    expect(generateOutsideTrace(123)).toEqual(generateOutsideTrace(123));
    expect(generateOutsideTrace(124).test).not.toEqual(generateOutsideTrace(123).test);
  });

  it('samples at a nominal 1–100 Hz, with the real rate within 3 % and strictly increasing whole-ms timestamps', () => {
    for (const { trace } of traces) {
      const { sampleRateHz, actualRateHz } = trace.info;
      expect(sampleRateHz).toBeGreaterThanOrEqual(1);
      expect(sampleRateHz).toBeLessThanOrEqual(100);
      expect(Math.abs(actualRateHz / sampleRateHz - 1)).toBeLessThanOrEqual(0.03);
      const rs = all(trace);
      expect(rs.filter((r, i) => i > 0 && r.ts <= rs[i - 1]!.ts)).toEqual([]);
      expect(rs.every((r) => Number.isInteger(r.ts))).toBe(true);
      const intervals = trace.train.slice(1).map((r, i) => r.ts - trace.train[i]!.ts).sort((a, b) => a - b);
      const median = intervals[Math.floor(intervals.length / 2)]!;
      expect(Math.abs(median - 1000 / actualRateHz)).toBeLessThanOrEqual(0.02 * (1000 / actualRateHz) + 1);
    }
  });

  it('spans 5 minutes of training then 10 minutes to score', () => {
    for (const { trace } of traces) {
      expect(trace.train.at(-1)!.ts - trace.train[0]!.ts).toBeGreaterThan(295_000);
      expect(trace.test.at(-1)!.ts - trace.test[0]!.ts).toBeGreaterThan(595_000);
      expect(trace.test[0]!.ts).toBeGreaterThan(trace.train.at(-1)!.ts);
    }
  });

  it('labels 3–6 non-overlapping events inside the scored part, none in its first 20 s, at least 10 s apart', () => {
    for (const { trace } of traces) {
      const { events, test, train } = trace;
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.length).toBeLessThanOrEqual(6);
      for (const e of events) {
        expect(e.end).toBeGreaterThanOrEqual(e.start);
        expect(e.start).toBeGreaterThan(train.at(-1)!.ts);
        expect(e.start).toBeGreaterThanOrEqual(test[0]!.ts + 19_000);
        expect(e.end).toBeLessThanOrEqual(test.at(-1)!.ts);
      }
      for (let i = 1; i < events.length; i++) expect(events[i]!.start - events[i - 1]!.end).toBeGreaterThanOrEqual(9_900);
    }
  });

  it('produces every event kind across seeds, and cycle kinds only in periodic families', () => {
    const seen = new Set(traces.flatMap(({ trace }) => trace.events.map((e) => e.kind)));
    expect([...seen].sort()).toEqual([...OUTSIDE_EVENT_KINDS].sort());
    for (const { trace } of traces) {
      const cycle = trace.events.filter((e) => e.kind === 'frequency_change' || e.kind === 'distorted_cycle');
      if (cycle.length > 0) expect(['periodic', 'multi_periodic']).toContain(trace.info.family);
    }
  });

  it('keeps every value within 0 V and full scale (24 V, or the divider range on an ADC), on the ADC step', () => {
    for (const { trace } of traces) {
      expect(trace.info.fullScaleV).toBeLessThanOrEqual(24);
      const values = all(trace).map((r) => r.value);
      expect(values.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(0);
      expect(values.reduce((a, b) => Math.max(a, b))).toBeLessThanOrEqual(trace.info.fullScaleV + 1e-9);
      if (trace.info.family === 'adc') {
        const q = trace.info.quantumV;
        expect(values.filter((v) => Math.abs(v / q - Math.round(v / q)) > 1e-6)).toEqual([]);
      }
    }
  });

  it('puts loose-wire glitches to about 0 V in the training part too, at a similar rate, and nowhere else', () => {
    const loose = traces.filter(({ trace }) => trace.info.family === 'loose_wire').map(({ trace }) => trace);
    expect(loose.length).toBeGreaterThan(5);
    let train = 0;
    let test = 0;
    for (const trace of loose) {
      expect(glitchCount(trace.train)).toBeGreaterThanOrEqual(1);
      expect(glitchCount(trace.train)).toBe(trace.info.glitches.train);
      train += glitchCount(trace.train);
      test += glitchCount(trace.test);
      for (const e of trace.events) if (e.kind === 'spike') expect(e.detail.size).toBeGreaterThan(0);
    }
    const rate = test / 600 / (train / 300);
    expect(rate).toBeGreaterThan(0.5);
    expect(rate).toBeLessThan(2);
    for (const { trace } of traces) if (trace.info.family !== 'loose_wire') expect(glitchCount(trace.train)).toBe(0);
  });

  it('freezes a stuck reading at the value just before it, where the normal readings move', () => {
    let stuck = 0;
    for (const { trace } of traces) {
      for (const e of trace.events.filter((x) => x.kind === 'stuck')) {
        stuck++;
        const k = trace.test.findIndex((r) => r.ts === e.start);
        const frozen = trace.test.filter((r) => r.ts >= e.start && r.ts <= e.end);
        expect(frozen.length).toBeGreaterThanOrEqual(6);
        expect(new Set(frozen.map((r) => r.value)).size).toBe(1);
        expect(frozen[0]!.value).toBe(trace.test[k - 1]!.value);
        const before = trace.test.slice(Math.max(0, k - 1 - frozen.length), k - 1);
        expect(new Set(before.map((r) => r.value)).size).toBeGreaterThan(1);
      }
    }
    expect(stuck).toBeGreaterThan(10);
  });

  it('makes a dropout either readings at 0 V well above 0 V, or readings really missing', () => {
    const variants = new Set<unknown>();
    for (const { trace } of traces) {
      const period = 1000 / trace.info.actualRateHz;
      for (const e of trace.events.filter((x) => x.kind === 'dropout')) {
        variants.add(e.detail.variant);
        if (e.detail.variant === 'zero') {
          const inside = trace.test.filter((r) => r.ts >= e.start && r.ts <= e.end);
          expect(inside.length).toBeGreaterThanOrEqual(4);
          expect(inside.every((r) => r.value === 0)).toBe(true);
          const before = trace.test.filter((r) => r.ts < e.start).slice(-20);
          expect(Math.min(...before.map((r) => r.value))).toBeGreaterThan(0.5);
        } else {
          expect(trace.test.some((r) => r.ts >= e.start && r.ts < e.end)).toBe(false);
          expect(trace.test.some((r) => r.ts === e.end)).toBe(true);
          const prev = trace.test.filter((r) => r.ts < e.start).at(-1)!;
          expect(e.end - prev.ts).toBeGreaterThanOrEqual(Math.max(1900, 4.5 * period));
        }
      }
    }
    expect(variants).toEqual(new Set(['zero', 'missing']));
  });

  it('leaves no readings missing in the training part', () => {
    for (const { trace } of traces) {
      const period = 1000 / trace.info.actualRateHz;
      const gaps = trace.train.slice(1).map((r, i) => r.ts - trace.train[i]!.ts);
      expect(gaps.reduce((a, b) => Math.max(a, b))).toBeLessThan(3 * period + 2);
    }
  });
});
