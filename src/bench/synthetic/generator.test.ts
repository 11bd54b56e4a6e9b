import { describe, expect, it } from 'vitest';
import { ADC_LSB_V, ANOMALY_KINDS, generateTrace } from './generator.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

describe('generateTrace', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateTrace({ seed: 7 });
    const b = generateTrace({ seed: 7 });
    const c = generateTrace({ seed: 8 });
    expect(a).toEqual(b);
    expect(c.readings.slice(0, 50)).not.toEqual(a.readings.slice(0, 50));
  });

  it('samples at about 10 Hz with strictly increasing timestamps', () => {
    const { readings } = generateTrace({ seed: 1, events: 0 });
    expect(readings).toHaveLength(9000);
    const deltas = readings.slice(1).map((r, i) => r.ts - (readings[i] as { ts: number }).ts);
    expect(Math.min(...deltas)).toBeGreaterThan(0);
    expect(median(deltas)).toBeCloseTo(100, -1);
    expect(Math.max(...deltas)).toBeLessThan(110);
  });

  it('quantises to 10-bit ADC steps within 0..5 V', () => {
    const { readings } = generateTrace({ seed: 2 });
    for (const r of readings) {
      const code = r.value / ADC_LSB_V;
      expect(Math.abs(code - Math.round(code))).toBeLessThan(1e-9);
      expect(r.value).toBeGreaterThanOrEqual(0);
      expect(r.value).toBeLessThan(5);
    }
  });

  it('keeps the normal part free of events and puts the requested number of non-overlapping events after it', () => {
    for (const kind of ANOMALY_KINDS) {
      const t = generateTrace({ seed: 3, kinds: [kind], events: 4 });
      expect(t.events).toHaveLength(4);
      expect(t.events.every((e) => e.kind === kind)).toBe(true);
      expect(t.events[0]?.start).toBeGreaterThan(t.normalUntil);
      for (let i = 1; i < t.events.length; i++) {
        expect(t.events[i]?.start).toBeGreaterThan((t.events[i - 1]?.end ?? Infinity) + 20_000);
      }
    }
  });

  it('has heavy-tailed but small normal noise (a few ADC steps)', () => {
    const { readings } = generateTrace({ seed: 4, events: 0 });
    const diffs = readings.slice(1).map((r, i) => r.value - (readings[i] as { value: number }).value);
    const mad = median(diffs.map(Math.abs));
    expect(mad).toBeGreaterThanOrEqual(ADC_LSB_V * 0.5);
    expect(mad).toBeLessThan(ADC_LSB_V * 4);
    // Heavier than Gaussian: some differences beyond 6 MADs exist.
    expect(diffs.filter((d) => Math.abs(d) > 6 * mad).length).toBeGreaterThan(0);
  });

  it('makes stuck events exact repeats and zero dropouts read 0 V', () => {
    const stuck = generateTrace({ seed: 5, kinds: ['stuck'], events: 2 });
    for (const e of stuck.events) {
      const inside = stuck.readings.filter((r) => r.ts >= e.start && r.ts <= e.end);
      expect(new Set(inside.map((r) => r.value)).size).toBe(1);
      expect(inside.length).toBeGreaterThanOrEqual(50);
    }
    let zero = 0;
    let gap = 0;
    for (let seed = 0; seed < 10; seed++) {
      const d = generateTrace({ seed, kinds: ['dropout'], events: 2 });
      for (const e of d.events) {
        const inside = d.readings.filter((r) => r.ts >= e.start && r.ts <= e.end);
        if (e.variant === 'zero') {
          zero++;
          expect(inside.every((r) => r.value === 0)).toBe(true);
        } else {
          gap++;
          // Only the first reading after the gap falls in the window, and it comes late.
          expect(inside).toHaveLength(1);
          const before = d.readings.filter((r) => r.ts < e.start).at(-1);
          expect((inside[0]?.ts ?? 0) - (before?.ts ?? 0)).toBeGreaterThanOrEqual(2000);
        }
      }
    }
    expect(zero).toBeGreaterThan(0);
    expect(gap).toBeGreaterThan(0);
  });

  it('moves the signal by the event magnitude for level shifts', () => {
    const t = generateTrace({ seed: 6, kinds: ['level_shift'], events: 1 });
    const e = t.events[0];
    if (!e) throw new Error('no event');
    const before = t.readings.filter((r) => r.ts < e.start && r.ts >= e.start - 10_000).map((r) => r.value);
    const inside = t.readings.filter((r) => r.ts >= e.start && r.ts < e.start + 10_000).map((r) => r.value);
    expect(Math.abs(median(inside) - median(before))).toBeGreaterThan(e.magnitude * 0.5);
  });
});
