import { describe, expect, it } from 'vitest';
import { FAULT_FAMILIES, FAULT_KINDS, generateFaultTrace, PERIODIC_KINDS, type FaultTrace } from './faults.ts';

const all = (t: FaultTrace) => [...t.train, ...t.test];

describe('generateFaultTrace', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateFaultTrace(7);
    expect(generateFaultTrace(7)).toEqual(a);
    const b = generateFaultTrace(8);
    expect(b.test.slice(0, 50)).not.toEqual(a.test.slice(0, 50));
  });

  it('draws families, rates and levels across the documented ranges', () => {
    const infos = Array.from({ length: 40 }, (_, i) => generateFaultTrace(i + 1).info);
    expect(new Set(infos.map((i) => i.family)).size).toBe(FAULT_FAMILIES.length);
    expect(new Set(infos.map((i) => i.nominalHz)).size).toBeGreaterThanOrEqual(6);
    for (const i of infos) {
      expect(i.sampleRateHz).toBeGreaterThanOrEqual(0.97);
      expect(i.sampleRateHz).toBeLessThanOrEqual(103);
      expect(i.level).toBeGreaterThan(0);
      expect(i.level).toBeLessThan(24);
    }
  });

  it('quantises to the ADC step, within the sensor range, with increasing timestamps', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const t = generateFaultTrace(seed);
      const rs = all(t);
      const bad = rs.filter((r, k) => {
        const code = r.value / t.info.lsb;
        return Math.abs(code - Math.round(code)) > 1e-6 || r.value < 0 || r.value > t.info.rangeV || (k > 0 && r.ts <= rs[k - 1]!.ts);
      });
      expect(bad).toEqual([]);
    }
  });

  it('keeps events out of the training part, inside the scored part, apart and in order', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const t = generateFaultTrace(seed);
      expect(t.events.length).toBeGreaterThanOrEqual(3);
      const trainEnd = t.train.at(-1)!.ts;
      const testEnd = t.test.at(-1)!.ts;
      for (const [k, e] of t.events.entries()) {
        expect(e.start).toBeGreaterThan(trainEnd);
        expect(e.end).toBeLessThanOrEqual(testEnd);
        expect(e.end).toBeGreaterThanOrEqual(e.start);
        if (k > 0) expect(e.start - t.events[k - 1]!.end).toBeGreaterThanOrEqual(29_000);
      }
    }
  });

  it('gives periodic-only kinds to periodic traces only', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const t = generateFaultTrace(seed);
      if (t.info.mainPeriodS === undefined) expect(t.events.filter((e) => PERIODIC_KINDS.includes(e.kind))).toEqual([]);
    }
  });

  it('can produce every event kind', () => {
    for (const kind of FAULT_KINDS) {
      const t = generateFaultTrace(3, { family: 'periodic', kinds: [kind], sampleRateHz: 10 });
      expect(t.events.map((e) => e.kind)).toEqual([kind]);
    }
  });

  it('makes spikes stand out beyond every normal excursion of a flat trace', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const t = generateFaultTrace(seed, { family: 'flat_wander', kinds: ['spike'] });
      const [e] = t.events;
      expect(e?.magnitude).toBeGreaterThanOrEqual(1.6 * Math.max(t.info.envelope, 3 * t.info.lsb) - 1e-12);
      const inside = t.test.filter((r) => r.ts >= e!.start && r.ts <= e!.end);
      expect(inside.length).toBeGreaterThanOrEqual(1);
      expect(inside.length).toBeLessThanOrEqual(3);
    }
  });

  it('freezes stuck readings, zeroes 0 V dropouts and leaves a gap for missing readings', () => {
    const stuck = generateFaultTrace(5, { family: 'flat_wander', kinds: ['stuck'] });
    const s = stuck.events[0]!;
    const frozen = stuck.test.filter((r) => r.ts >= s.start && r.ts <= s.end).map((r) => r.value);
    expect(frozen.length).toBeGreaterThan(4);
    expect(new Set(frozen).size).toBe(1);
    let sawGap = false;
    let sawZero = false;
    for (let seed = 1; seed <= 30 && !(sawGap && sawZero); seed++) {
      const t = generateFaultTrace(seed, { family: 'flat_wander', kinds: ['dropout'] });
      const e = t.events[0]!;
      const inside = t.test.filter((r) => r.ts >= e.start && r.ts <= e.end);
      if (e.variant === 'zero') {
        sawZero = true;
        expect(inside.every((r) => r.value === 0)).toBe(true);
      } else {
        sawGap = true;
        // Only the first reading after the gap lies in the window.
        expect(inside).toHaveLength(1);
        expect(inside[0]!.ts).toBe(e.end);
        const before = t.test.filter((r) => r.ts < e.start).at(-1)!;
        expect(e.end - before.ts).toBeGreaterThanOrEqual(1900);
      }
    }
    expect(sawGap && sawZero).toBe(true);
  });

  it('puts loose-wire glitches in the training part as normal behaviour', () => {
    let glitchy = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const t = generateFaultTrace(seed, { family: 'loose_wire', sampleRateHz: 5 });
      if (t.info.glitches > 0) glitchy++;
      for (const e of t.events) if (e.kind === 'spike') expect(t.test.find((r) => r.ts === e.start)!.value).toBeGreaterThan(t.info.level * 0.5);
    }
    expect(glitchy).toBeGreaterThan(25);
  });
});
