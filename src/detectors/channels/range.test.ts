import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { LevelRange } from './range.ts';

const T0 = 1_700_000_000_000;

/** 10 Hz at 2.5 V with noise of 0.01 V, plus `add(i)`. */
function stream(n: number, seed: number, t0 = T0, add: (i: number) => number = () => 0): Array<{ ts: number; value: number }> {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ ts: t0 + i * 100, value: 2.5 + 0.01 * rng.normal() + add(i) }));
}

/** What the range answers for each reading, in order. */
const run = (range: LevelRange, rs: ReadonlyArray<{ ts: number; value: number }>): number[] => rs.map((r) => range.push(r.ts, r.value));

describe('LevelRange', () => {
  it('stays at 0 on more of the same, and measures a moved level in spreads of the training levels', () => {
    const range = LevelRange.fit(stream(3000, 1)) as LevelRange;
    expect(range).toBeDefined();
    expect(Math.max(...run(range, stream(3000, 2, T0 + 300_000)))).toBeLessThan(2);
    // The 2 s level of 0.01 V noise at 10 Hz spreads by about 0.01 / √40 ≈ 1.6 mV: 0.05 V is far out.
    const beyond = run(range, stream(600, 3, T0 + 600_000, (i) => (i >= 300 ? -0.05 : 0)));
    expect(Math.max(...beyond.slice(0, 300))).toBeLessThan(2);
    expect(Math.max(...beyond.slice(400))).toBeGreaterThan(15);
  });

  it('after extend, answers only a further move beyond the new edge', () => {
    const range = LevelRange.fit(stream(3000, 1)) as LevelRange;
    const moved = stream(1200, 2, T0 + 300_000, (i) => (i >= 300 ? 0.05 : 0) + (i >= 800 ? 0.05 : 0));
    const out = moved.map((r, i) => {
      const z = range.push(r.ts, r.value);
      if (i === 500) range.extend();
      return z;
    });
    expect(out[500]).toBeGreaterThan(15);
    // Readings after the edge moved up to the new level: near 0 (noise around the edge), until the second move.
    expect(Math.max(...out.slice(520, 800))).toBeLessThan(4);
    expect(Math.max(...out.slice(900))).toBeGreaterThan(15);
  });

  it('relaxes an edge moved out back to the fitted one once the level came back, and keeps it while the level stays', () => {
    const range = LevelRange.fit(stream(3000, 1)) as LevelRange;
    const fitted = range.toJSON();
    // Up by 0.05 V for 60 s (extended at its peak), then back for 10 minutes.
    const excursion = stream(6600, 2, T0 + 300_000, (i) => (i >= 300 && i < 900 ? 0.05 : 0));
    excursion.forEach((r, i) => {
      range.push(r.ts, r.value);
      if (i === 800) range.extend();
    });
    const after = range.toJSON();
    expect(after.fitted).toEqual([fitted.lo, fitted.hi]);
    expect(after.hi - fitted.hi).toBeLessThan(0.01 * 0.05);
    // The same move again alarms as the first did.
    expect(Math.max(...run(range, stream(600, 3, T0 + 1_000_000, (i) => (i >= 100 ? 0.05 : 0))))).toBeGreaterThan(15);
    // A level that stays: the edge stays with it, within the level's noise, for ten minutes
    const stays = LevelRange.fit(stream(3000, 1)) as LevelRange;
    const moved = stream(6600, 4, T0 + 300_000, (i) => (i >= 300 ? 0.05 : 0));
    const out = moved.map((r, i) => {
      const z = stays.push(r.ts, r.value);
      if (i === 800) stays.extend();
      return z;
    });
    expect(stays.toJSON().hi).toBeGreaterThan(fitted.hi + 0.04);
    // (the detector alarms at 8 spreads)
    expect(Math.max(...out.slice(820))).toBeLessThan(8);
  });

  it('compares nothing until the level has settled after a start, a restart or a long gap', () => {
    const range = LevelRange.fit(stream(3000, 1)) as LevelRange;
    range.restart();
    // Far out from the first reading on, but the first 6 s (3 time constants) are not compared.
    const far = stream(200, 2, T0 + 300_000, () => 1);
    const out = run(range, far);
    expect(out.slice(0, 59).every((z) => z === 0)).toBe(true);
    expect(out[100]).toBeGreaterThan(100);
    // A gap of a minute restarts it too.
    const after = run(range, stream(100, 3, T0 + 400_000, () => 1));
    expect(after.slice(0, 59).every((z) => z === 0)).toBe(true);
  });

  it('skips readings that are not finite or step back in time, and has a floor of the quantisation step on a flat trace', () => {
    // A trace that sits on one ADC code except for single steps: the spread is the step / √12, not 0.
    const q = 5 / 1024;
    const flat = stream(3000, 1).map((r, i) => ({ ts: r.ts, value: 2.5 + (i % 500 === 0 ? q : 0) }));
    const range = LevelRange.fit(flat) as LevelRange;
    expect(range.toJSON().spread).toBeCloseTo(q / Math.sqrt(12), 9);
    const before = range.toJSON();
    expect(range.push(before.lastTs as number, Number.NaN)).toBe(0);
    expect(range.push((before.lastTs as number) - 1000, 9)).toBe(0);
    expect(range.toJSON()).toEqual(before);
  });

  it('needs enough settled levels to fit', () => {
    expect(LevelRange.fit(stream(40, 1))).toBeUndefined();
  });

  it('goes on from its JSON exactly as it would have, and refuses malformed state', () => {
    const a = LevelRange.fit(stream(3000, 1)) as LevelRange;
    const live = stream(1000, 2, T0 + 300_000, (i) => 0.0002 * i);
    run(a, live.slice(0, 400));
    const b = LevelRange.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(run(b, live.slice(400))).toEqual(run(a, live.slice(400)));
    const restarted = LevelRange.fit(stream(3000, 1)) as LevelRange;
    restarted.restart();
    expect(() => LevelRange.fromJSON(JSON.parse(JSON.stringify(restarted.toJSON())))).not.toThrow();
    const good = a.toJSON();
    for (const bad of [null, [], { ...good, lo: good.hi + 1 }, { ...good, hi: good.fitted[1] - 1 }, { ...good, fitted: [1] }, { ...good, spread: 0 }, { ...good, level: null }, { ...good, weight: -1 }, { ...good, lastTs: 'now' }, { ...good, since: undefined }]) {
      expect(() => LevelRange.fromJSON(JSON.parse(JSON.stringify(bad)))).toThrow();
    }
  });
});
