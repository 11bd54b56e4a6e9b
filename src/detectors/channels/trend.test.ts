import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { LevelTrend } from './trend.ts';

const T0 = 1_700_000_000_000;

/** A random walk sampled at `hz` (step 2 mV per √s) with 1 mV noise, plus `add(i)`. */
function walk(
  n: number,
  seed: number,
  hz = 10,
  t0 = T0,
  add: (i: number) => number = () => 0,
): Array<{ ts: number; value: number }> {
  const rng = new Rng(seed);
  let w = 0;
  const step = 0.002 / Math.sqrt(hz);
  return Array.from({ length: n }, (_, i) => {
    w += step * rng.normal();
    return { ts: t0 + (i * 1000) / hz, value: 2.5 + w + 0.001 * rng.normal() + add(i) };
  });
}

/** One walk of 3,000 training readings and `n` live ones that continue it (`add` by live index). */
function trainAndLive(
  n: number,
  seed: number,
  add: (i: number) => number = () => 0,
): [Array<{ ts: number; value: number }>, Array<{ ts: number; value: number }>] {
  const all = walk(3000 + n, seed, 10, T0, (i) => (i >= 3000 ? add(i - 3000) : 0));
  return [all.slice(0, 3000), all.slice(3000)];
}

/** What the trend answers for each reading, in order. */
const run = (trend: LevelTrend, rs: ReadonlyArray<{ ts: number; value: number }>): number[] =>
  rs.map((r) => trend.push(r.ts, r.value));
/** Indices of the readings it alarmed on. */
const alarms = (out: readonly number[]): number[] => out.flatMap((z, i) => (z > 0 ? [i] : []));

describe('LevelTrend', () => {
  it('stays quiet on more of the same walk, and alarms once on a ramp the walk would take minutes to make', () => {
    const [train, live] = trainAndLive(6000, 2);
    const trend = LevelTrend.fit(train, 5) as LevelTrend;
    expect(trend).toBeDefined();
    expect(alarms(run(trend, live))).toEqual([]);
    // The walk moves about 2 mV·√40 ≈ 13 mV in 40 s; a ramp up by 80 mV over 40 s and back over 40 s.
    const ramp = (i: number): number => (i >= 1000 && i < 1800 ? 0.08 * (1 - Math.abs(i - 1400) / 400) : 0);
    const [train2, ramped] = trainAndLive(4000, 3, ramp);
    const out = run(LevelTrend.fit(train2, 5) as LevelTrend, ramped);
    const hits = alarms(out);
    expect(hits.length).toBe(1);
    expect(hits[0]).toBeGreaterThanOrEqual(1000);
    expect(hits[0]).toBeLessThan(1800);
    expect(out[hits[0] as number]).toBeGreaterThanOrEqual(5);
  });

  it('scales its spread with the lag: a move that is large in 20 s but ordinary over 80 s is judged at 20 s', () => {
    const trend = LevelTrend.fit(walk(3000, 1), 5) as LevelTrend;
    const s = trend.toJSON().spread;
    expect(s[1] as number).toBeGreaterThanOrEqual((s[0] as number) * Math.SQRT2 * 0.999);
    expect(s[2] as number).toBeGreaterThanOrEqual((s[0] as number) * 2 * 0.999);
  });

  it("takes a level shift's way back as the same event, and no reference from a stretch marked as an alarm", () => {
    // Up 60 mV for 30 s, then back: alarms at the step up, not on the way back.
    const [train, shifted] = trainAndLive(3000, 4, (i) => (i >= 1000 && i < 1300 ? 0.06 : 0));
    const shiftAlarms = alarms(run(LevelTrend.fit(train, 5) as LevelTrend, shifted));
    expect(shiftAlarms.length).toBe(1);
    expect(shiftAlarms[0]).toBeGreaterThanOrEqual(1000);
    expect(shiftAlarms[0]).toBeLessThan(1300);
    // A 2 s dip of 300 mV the caller alarmed on: the levels kept while the level took it in are no reference.
    const dip = (i: number): number => (i >= 1000 && i < 1020 ? -0.3 : 0);
    const [train5, data] = trainAndLive(3000, 5, dip);
    const marked = LevelTrend.fit(train5, 5) as LevelTrend;
    const out = data.slice(0, 1100).map((r, i) => {
      if (i >= 1000 && i < 1020) marked.mark(r.ts);
      return marked.push(r.ts, r.value);
    });
    expect(marked.toJSON().keptLevel.slice(-4)).toContain(null);
    expect(alarms(out).filter((i) => i >= 1020)).toEqual([]);
    expect(alarms(run(marked, data.slice(1100)))).toEqual([]);
  });

  it('with lags 2 waits for a second lag: after a restart a step seen at 20 s alone alarms only once the 40 s lag sees it', () => {
    // Restarted at live reading 0, the 20 s lag has a reference from 20 s on, the 40 s lag from 40 s
    // on; a step up of 120 mV at 25 s (the walk's 20 s spread is about 11 mV) is first seen by the
    // 20 s lag alone, from 40 s by both.
    const [train, live] = trainAndLive(1000, 6, (i) => (i >= 250 ? 0.12 : 0));
    const first = (lags: 1 | 2): number => {
      const trend = LevelTrend.fit(train, 5, { lags }) as LevelTrend;
      trend.restart();
      const hits = alarms(run(trend, live));
      expect(hits).toHaveLength(1);
      return hits[0] as number;
    };
    const one = first(1);
    expect(one).toBeGreaterThanOrEqual(250);
    expect(one).toBeLessThan(400);
    const two = first(2);
    expect(two).toBeGreaterThanOrEqual(400);
    expect(two).toBeLessThan(650);
  });

  it('with rearm, a restart arms it again: a ramp soon after a gap is heard though an alarm before the gap disarmed it', () => {
    // A step up of 120 mV at live reading 250 alarms and disarms the channel; readings 500–649 are
    // missing (15 s: the level restarts); from 700 a ramp up by 120 mV over 30 s. Without rearm the
    // channel waits for every lag to have a reference again (80 s) and to show a small move, and the
    // ramp has ended by then.
    const event = (i: number): number => (i >= 250 ? 0.12 : 0) + (i >= 1000 ? 0.12 : i >= 700 ? (0.12 * (i - 700)) / 300 : 0);
    const [train, all] = trainAndLive(2500, 10, event);
    const live = all.filter((_, i) => i < 500 || i >= 650);
    const hitsWith = (rearm: boolean): number[] => {
      const trend = LevelTrend.fit(train, 5, { rearm }) as LevelTrend;
      expect(trend.rearms).toBe(rearm);
      // Indices into `all` (the gap's readings are absent from `live`).
      return alarms(run(trend, live)).map((i) => (i < 500 ? i : i + 150));
    };
    const off = hitsWith(false);
    expect(off.filter((i) => i >= 250 && i < 500)).toHaveLength(1);
    expect(off.filter((i) => i >= 650)).toEqual([]);
    const on = hitsWith(true);
    expect(on.filter((i) => i < 650)).toEqual(off.filter((i) => i < 650));
    const after = on.filter((i) => i >= 650);
    expect(after).toHaveLength(1);
    expect(after[0]).toBeGreaterThanOrEqual(700);
    expect(after[0]).toBeLessThan(1300);
  });

  it('holds its alarms after a point fault the level took in, and alarms on a later move as before', () => {
    // A 1.5 V spike at live reading 1000 moves the 2 s level by about 75 mV (the walk's 20 s spread
    // is about 11 mV); a step up of 120 mV at 2000 is a real move.
    const event = (i: number): number => (i === 1000 ? 1.5 : i >= 2000 ? 0.12 : 0);
    const [train, live] = trainAndLive(3000, 7, event);
    const plain = alarms(run(LevelTrend.fit(train, 5) as LevelTrend, live));
    expect(plain.some((i) => i >= 1000 && i < 1100)).toBe(true);
    const held = LevelTrend.fit(train, 5) as LevelTrend;
    const out = live.map((r, i) => {
      if (i === 1000) held.hold(r.ts, 0);
      return held.push(r.ts, r.value);
    });
    const hits = alarms(out);
    expect(hits.filter((i) => i < 2000)).toEqual([]);
    expect(hits.filter((i) => i >= 2000 && i < 2300)).toHaveLength(1);
  });

  it('floors its spreads at the quantum it is given: levels computed from coarse readings are no finer than them', () => {
    const train = walk(3000, 8);
    const fine = (LevelTrend.fit(train, 5) as LevelTrend).toJSON().spread[0] as number;
    const coarse = (LevelTrend.fit(train, 5, { quantum: 0.05 }) as LevelTrend).toJSON().spread[0] as number;
    expect(fine).toBeLessThan(0.01);
    expect(coarse).toBeCloseTo(0.05 / Math.sqrt(12), 6);
  });

  it('averages at least 8 readings on a slow stream: a 1 Hz walk with heavy noise stays quiet', () => {
    const rng = new Rng(9);
    let w = 0;
    const noisy = Array.from({ length: 4800 }, (_, i) => {
      w += 0.002 * rng.normal();
      // Student-t noise with 3 degrees of freedom: a normal over the root of a chi-square / 3.
      const chi = (rng.normal() ** 2 + rng.normal() ** 2 + rng.normal() ** 2) / 3;
      return { ts: T0 + i * 1000, value: 2.5 + w + (0.01 * rng.normal()) / Math.sqrt(chi) };
    });
    const trend = LevelTrend.fit(noisy.slice(0, 1200), 5) as LevelTrend;
    expect(trend.toJSON().tau).toBe(8000);
    expect(alarms(run(trend, noisy.slice(1200)))).toEqual([]);
  });

  it('round-trips mid-stream (with its hold, lags and rearm) and goes on identically', () => {
    const ramp = (i: number): number => (i >= 1000 && i < 1800 ? 0.08 * (1 - Math.abs(i - 1400) / 400) : 0);
    const [train, live] = trainAndLive(4000, 3, ramp);
    const a = LevelTrend.fit(train, 5, { lags: 2, rearm: true }) as LevelTrend;
    run(a, live.slice(0, 1200));
    a.mark(live[1199]?.ts as number);
    a.hold(live[1199]?.ts as number, 1000);
    expect(a.toJSON()).toMatchObject({ lags: 2, rearm: true, holdUntil: (live[1199]?.ts as number) + 1000 + 3 * 2000 });
    expect((LevelTrend.fit(train, 5) as LevelTrend).toJSON()).not.toHaveProperty('rearm');
    const b = LevelTrend.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(b.rearms).toBe(true);
    expect(run(b, live.slice(1200))).toEqual(run(a, live.slice(1200)));
  });

  it('refuses malformed state with a message naming the field', () => {
    const good = (LevelTrend.fit(walk(3000, 1), 5) as LevelTrend).toJSON();
    expect(() => LevelTrend.fromJSON({ ...good, spread: [1, 2] })).toThrow(/spread/);
    expect(() => LevelTrend.fromJSON({ ...good, tau: 10 })).toThrow(/tau/);
    expect(() => LevelTrend.fromJSON({ ...good, keptTs: [2, 1], keptLevel: [1, 1] })).toThrow(/keptTs/);
    expect(() => LevelTrend.fromJSON({ ...good, lastSign: 2 })).toThrow(/lastSign/);
    expect(() => LevelTrend.fromJSON({ ...good, lags: 3 })).toThrow(/lags/);
    expect(() => LevelTrend.fromJSON({ ...good, rearm: false })).toThrow(/rearm/);
    expect(() => LevelTrend.fromJSON({ ...good, holdUntil: 'soon' })).toThrow(/holdUntil/);
    expect(() => LevelTrend.fromJSON(null)).toThrow(/object/);
  });

  it('declines a fit on less than 240 s of data (three of its longest lag)', () => {
    expect(LevelTrend.fit(walk(100, 1), 5)).toBeUndefined();
    expect(LevelTrend.fit(walk(2300, 1), 5)).toBeUndefined();
    expect(LevelTrend.fit(walk(2500, 1), 5)).toBeDefined();
  });
});
