import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { SubsequenceChannel } from './subsequence.ts';

const gauss = (x: number, mu: number, s: number) => Math.exp(-0.5 * ((x - mu) / s) ** 2);
const beat = (f: number) => 0.1 * gauss(f, 0.25, 0.03) + gauss(f, 0.4, 0.012) - 0.2 * gauss(f, 0.43, 0.01) + 0.3 * gauss(f, 0.65, 0.045);

type Cycle = 'normal' | 'distorted' | 'missing' | 'extra' | 'bigger';

/** A beat train of `cycles` beats of about `period` samples; `odd` replaces beat number `at`. */
function beats(cycles: number, period: number, seed: number, odd?: { at: number; kind: Cycle }): { values: number[]; start: number; end: number } {
  const rng = new Rng(seed);
  const values: number[] = [];
  let start = -1;
  let end = -1;
  for (let c = 0; c < cycles; c++) {
    const kind = odd && c === odd.at ? odd.kind : 'normal';
    if (kind !== 'normal') start = values.length;
    const len = Math.round(period * (kind === 'extra' ? 0.55 : 1 + 0.01 * rng.normal()));
    for (let k = 0; k < len; k++) {
      const f = k / len;
      let v = beat(f);
      if (kind === 'distorted') v = beat(f + 0.08 * Math.sin(2 * Math.PI * f));
      if (kind === 'missing') v = 0;
      if (kind === 'bigger') v = 1.4 * beat(f);
      values.push(2 + v + 0.01 * rng.normal());
    }
    if (kind !== 'normal') end = values.length - 1;
  }
  return { values, start, end };
}

function run(channel: SubsequenceChannel, values: readonly number[]): number[] {
  return values.map((v) => channel.update(v));
}

function argmax(xs: readonly number[]): number {
  let at = 0;
  for (let i = 1; i < xs.length; i++) if ((xs[i] as number) > (xs[at] as number)) at = i;
  return at;
}

describe('SubsequenceChannel', () => {
  const train = beats(30, 80, 1).values;

  it('learns the period and is ready after fitting on normal data', () => {
    const ch = new SubsequenceChannel();
    ch.fit(train);
    expect(ch.periodic).toBe(true);
    expect(Math.abs(ch.period! - 80)).toBeLessThan(2);
    expect(ch.ready).toBe(true);
    expect(ch.decimation).toBe(4);
    expect(ch.windowLengths).toEqual([10, 20]);
  });

  it('stays quiet on clean periodic data', () => {
    const ch = new SubsequenceChannel();
    ch.fit(train);
    const scores = run(ch, beats(30, 80, 2).values);
    // 1 is the 99th percentile of normal training windows; a clean continuation stays near it.
    expect(Math.max(...scores)).toBeLessThan(3);
    const sorted = [...scores].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(0.8);
  });

  for (const kind of ['distorted', 'missing', 'extra', 'bigger'] as const) {
    it(`puts its highest score on a ${kind} cycle`, () => {
      const ch = new SubsequenceChannel();
      ch.fit(train);
      const test = beats(30, 80, 3, { at: 17, kind });
      const scores = run(ch, test.values);
      const at = argmax(scores);
      expect(at).toBeGreaterThanOrEqual(test.start);
      expect(at).toBeLessThanOrEqual(test.end + 100);
      expect(scores[at]).toBeGreaterThan(2.6);
    });
  }

  it('predicts the next value from its nearest neighbour', () => {
    const ch = new SubsequenceChannel();
    ch.fit(train);
    const test = beats(10, 80, 4).values;
    let err = 0;
    let n = 0;
    for (const v of test) {
      ch.update(v);
      if (Number.isFinite(ch.expected)) {
        err += Math.abs(ch.expected - v);
        n++;
      }
    }
    expect(n).toBeGreaterThan(700);
    // The beat spans 1.3; a block mean four readings wide is predicted to within a few percent of it.
    expect(err / n).toBeLessThan(0.06);
  });

  it('learns the period and scale online when never fitted', () => {
    const ch = new SubsequenceChannel();
    const test = beats(120, 40, 5, { at: 110, kind: 'missing' });
    const scores = run(ch, test.values);
    expect(ch.periodic).toBe(true);
    expect(Math.abs(ch.period! - 40)).toBeLessThan(2);
    expect(ch.ready).toBe(true);
    const at = argmax(scores);
    expect(at).toBeGreaterThanOrEqual(test.start);
    expect(at).toBeLessThanOrEqual(test.end + 100);
  });

  it('scores an aperiodic series with fixed windows and says it is not periodic', () => {
    const rng = new Rng(9);
    const ch = new SubsequenceChannel();
    ch.fit(Array.from({ length: 3000 }, () => rng.normal()));
    expect(ch.periodic).toBe(false);
    expect(ch.ready).toBe(true);
    const scores = run(ch, Array.from({ length: 500 }, () => rng.normal()));
    expect(scores.every((s) => Number.isFinite(s) && s >= 0)).toBe(true);
  });

  it('restores from its JSON state and continues with the same scores', () => {
    const a = new SubsequenceChannel();
    a.fit(train);
    const test = beats(20, 80, 6, { at: 15, kind: 'distorted' }).values;
    run(a, test.slice(0, 701));
    const text = JSON.stringify(a.toJSON());
    expect(text.length).toBeLessThan(32 * 1024);
    const b = SubsequenceChannel.fromJSON(JSON.parse(text));
    expect(b.period).toBe(a.period);
    for (const v of test.slice(701)) {
      const sa = a.update(v);
      const sb = b.update(v);
      expect(sb).toBeCloseTo(sa, 6);
      if (Number.isFinite(a.expected)) expect(b.expected).toBeCloseTo(a.expected, 6);
    }
  });

  it('rejects a malformed state', () => {
    const good = new SubsequenceChannel().toJSON();
    expect(() => SubsequenceChannel.fromJSON(null)).toThrow(TypeError);
    expect(() => SubsequenceChannel.fromJSON({ ...good, v: 99 })).toThrow(/version/);
    expect(() => SubsequenceChannel.fromJSON({ ...good, points: [1, 'x'] })).toThrow(/points/);
    expect(() => SubsequenceChannel.fromJSON({ ...good, decimation: 0 })).toThrow(/decimation/);
    expect(() => SubsequenceChannel.fromJSON({ ...good, options: { history: 5 } })).toThrow(/history/);
  });

  it('ignores non-finite readings', () => {
    const ch = new SubsequenceChannel();
    ch.fit(train);
    const before = ch.update(2);
    expect(ch.update(Number.NaN)).toBe(before);
    expect(ch.update(Number.POSITIVE_INFINITY)).toBe(before);
  });
});

describe('SubsequenceChannel: anomalous windows are no neighbours', () => {
  it('keeps scoring a long anomaly instead of matching it against its own earlier cycles', () => {
    const normal = beats(60, 64, 11).values;
    const ch = new SubsequenceChannel();
    ch.fit(normal);
    run(ch, beats(10, 64, 12).values);
    // Eight distorted beats in a row: later ones would match the earlier distorted ones.
    const odd: number[] = [];
    for (let c = 0; c < 8; c++) odd.push(...beats(1, 64, 100 + c, { at: 0, kind: 'distorted' }).values);
    const scores = run(ch, odd);
    const late = scores.slice(Math.floor(scores.length * 0.75));
    expect(Math.max(...late)).toBeGreaterThan(1.5);
  });

  it('accepts a change that lasts as the new normal', () => {
    const ch = new SubsequenceChannel();
    ch.fit(beats(60, 64, 21).values);
    // The highest score of each of 80 bigger beats in a row.
    const perBeat: number[] = [];
    for (let c = 0; c < 80; c++) perBeat.push(Math.max(...run(ch, beats(1, 64, 200 + c, { at: 0, kind: 'bigger' }).values)));
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
    // Once anomalies fill half the history they are neighbours again: the bigger beats become normal.
    expect(median(perBeat.slice(0, 10))).toBeGreaterThan(3);
    expect(median(perBeat.slice(-20))).toBeLessThan(1.5);
  });
});

describe('SubsequenceChannel: newNormalCycles', () => {
  // A cycle of exactly 8 readings, sampled at `phase` (in readings) into it.
  const cycle8 = (n: number, phase: number, rng: Rng): number[] => Array.from({ length: n }, (_, k) => 2 + Math.sin((2 * Math.PI * (k + phase)) / 8) + 0.005 * rng.normal());
  /** The highest score of each cycle after the cycle's phase moved by half a reading. */
  function afterPhaseStep(options: { newNormalCycles?: number }): number[] {
    const rng = new Rng(5);
    const ch = new SubsequenceChannel(options);
    ch.fit(cycle8(800, 0, rng));
    run(ch, cycle8(80, 0, rng));
    const scores = run(ch, cycle8(8 * 60, 0.5, rng));
    return Array.from({ length: 60 }, (_, c) => Math.max(...scores.slice(8 * c, 8 * c + 8)));
  }

  it("takes a moved phase as the new normal after that many cycles, where half the history takes 32 (every window sampled between the normal ones' points)", () => {
    const quick = afterPhaseStep({ newNormalCycles: 16 });
    const slow = afterPhaseStep({});
    // The step itself scores, either way.
    expect(Math.max(...quick.slice(0, 4))).toBeGreaterThan(3);
    expect(Math.max(...slow.slice(0, 4))).toBeGreaterThan(3);
    // 20 to 30 cycles later: normal with the option, still anomalous without it.
    expect(Math.max(...quick.slice(20, 30))).toBeLessThan(1.5);
    expect(Math.min(...slow.slice(20, 30))).toBeGreaterThan(1.5);
    // Past half the history both have taken it.
    expect(Math.max(...slow.slice(45))).toBeLessThan(1.5);
  });

  it('keeps the option in its state and refuses a bad one', () => {
    const ch = new SubsequenceChannel({ newNormalCycles: 16 });
    expect(SubsequenceChannel.fromJSON(JSON.parse(JSON.stringify(ch.toJSON()))).newNormalCycles).toBe(16);
    const old = JSON.parse(JSON.stringify(new SubsequenceChannel().toJSON()));
    delete old.options.newNormalCycles;
    expect(SubsequenceChannel.fromJSON(old).newNormalCycles).toBe(0);
    expect(() => new SubsequenceChannel({ newNormalCycles: -1 })).toThrow(/newNormalCycles/);
    expect(() => new SubsequenceChannel({ newNormalCycles: 1.5 })).toThrow(/newNormalCycles/);
  });
});

describe('SubsequenceChannel: a reference of training cycles', () => {
  const normal = beats(60, 64, 31).values;
  /** The highest score of each beat of `values` (64 readings a beat). */
  const perBeat = (ch: SubsequenceChannel, values: readonly number[]): number[] => {
    const out: number[] = [];
    for (let i = 0; i < values.length; i += 64) out.push(Math.max(...run(ch, values.slice(i, i + 64))));
    return out;
  };
  const distorted = (n: number, seed: number): number[] => {
    const out: number[] = [];
    for (let c = 0; c < n; c++) out.push(...beats(1, 64, seed + c, { at: 0, kind: 'distorted' }).values);
    return out;
  };

  it('finds normal neighbours again right after an event longer than its whole history', () => {
    const scores = (reference: number): number[] => {
      const ch = new SubsequenceChannel({ reference });
      ch.fit(normal);
      run(ch, beats(5, 64, 32).values);
      // 24 distorted beats (the history holds 16): no normal cycle is left in it afterwards.
      run(ch, distorted(24, 300));
      return perBeat(ch, beats(3, 64, 34).values);
    };
    // The first beat's windows still span the event; the second is normal again only with the reference.
    expect(scores(0)[1]).toBeGreaterThan(2.5);
    expect(scores(128)[1]).toBeLessThan(1.5);
  });

  it('keeps the reference in its state; a state without one (older) scores as a channel without one', () => {
    const ch = new SubsequenceChannel();
    ch.fit(normal);
    const state = JSON.parse(JSON.stringify(ch.toJSON())) as Record<string, unknown>;
    expect((state.reference as number[]).length).toBe(128);
    const test = [...beats(6, 64, 35).values, ...distorted(20, 400), ...beats(4, 64, 36).values];
    const restored = SubsequenceChannel.fromJSON(state);
    // The same up to rounding (a restored channel recomputes its products from the points).
    const a = run(restored, test);
    const b = run(ch, test);
    expect(Math.max(...a.map((s, i) => Math.abs(s - (b[i] as number))))).toBeLessThan(1e-9);
    const none = new SubsequenceChannel({ reference: 0 });
    none.fit(normal);
    const older = { ...state };
    delete older.reference;
    delete older.referenceRoughness;
    const noneRestored = SubsequenceChannel.fromJSON(JSON.parse(JSON.stringify(none.toJSON())));
    expect(run(SubsequenceChannel.fromJSON(older), test)).toEqual(run(noneRestored, test));
    expect(() => SubsequenceChannel.fromJSON({ ...state, reference: [1, 'x'] })).toThrow(/reference/);
    expect(() => SubsequenceChannel.fromJSON({ ...state, referenceRoughness: [] })).toThrow(/referenceRoughness/);
  });
});

describe('SubsequenceChannel asleep', () => {
  const train = beats(30, 80, 1).values;

  it('asleep, keeps the history and period checks an awake channel keeps, and fits to the same scores', () => {
    const awake = new SubsequenceChannel();
    const asleep = new SubsequenceChannel();
    asleep.sleep();
    // Unfitted on a beat train: the online period check finds the cycle in both.
    const online = beats(25, 80, 3).values;
    run(awake, online);
    expect(run(asleep, online).every((s) => s === 0)).toBe(true);
    expect(asleep.periodic).toBe(true);
    expect(asleep.period).toBe(awake.period);
    expect(asleep.decimation).toBe(awake.decimation);
    const a = awake.toJSON();
    const b = asleep.toJSON();
    expect(b.points).toEqual(a.points);
    expect(b.roughness).toEqual(a.roughness);
    expect([b.acc, b.accN, b.racc, b.prev, b.sinceCheck]).toEqual([a.acc, a.accN, a.racc, a.prev, a.sinceCheck]);
    // Fit wakes it; from then on it scores exactly as the channel that never slept.
    awake.fit(train);
    asleep.fit(train);
    expect(asleep.asleep).toBe(false);
    const test = beats(12, 80, 4, { at: 6, kind: 'distorted' }).values;
    const scores = run(awake, test);
    expect(Math.max(...scores)).toBeGreaterThan(1.5);
    expect(run(asleep, test)).toEqual(scores);
  });

  it('restored asleep from JSON, keeps the same history as when restored awake', () => {
    const ch = new SubsequenceChannel();
    ch.fit(train);
    run(ch, beats(5, 80, 5).values);
    const state = JSON.parse(JSON.stringify(ch.toJSON())) as unknown;
    const awake = SubsequenceChannel.fromJSON(state);
    const asleep = SubsequenceChannel.fromJSON(state, { asleep: true });
    expect(asleep.asleep).toBe(true);
    const more = beats(10, 80, 6).values;
    run(awake, more);
    run(asleep, more);
    expect(asleep.toJSON().points).toEqual(awake.toJSON().points);
  });
});

describe('SubsequenceChannel.adoptScaleOf', () => {
  it('takes the distance scale of a channel fitted on part of the same cycle, and so scores on that scale', () => {
    const { values } = beats(60, 40, 21);
    const part = new SubsequenceChannel();
    part.fit(values.slice(0, 1800));
    const whole = new SubsequenceChannel();
    whole.fit(values);
    const plain = SubsequenceChannel.fromJSON(whole.toJSON());
    expect(whole.toJSON().refs).not.toEqual(part.toJSON().refs);
    expect(whole.adoptScaleOf(part)).toBe(true);
    expect(whole.toJSON().refs).toEqual(part.toJSON().refs);
    // Every score is the same distance divided by the adopted scale instead of its own.
    const live = beats(12, 40, 22, { at: 6, kind: 'distorted' }).values;
    const adopted = run(whole, live);
    const own = run(plain, live);
    expect(adopted).not.toEqual(own);
    expect(argmax(adopted)).toBeGreaterThan(6 * 40 - 40);
    expect(argmax(adopted)).toBeLessThan(7 * 40 + 40);
  });

  it('refuses, changing nothing, a channel that found another cycle or has no scale', () => {
    const fast = new SubsequenceChannel();
    fast.fit(beats(60, 40, 23).values);
    const slow = new SubsequenceChannel();
    slow.fit(beats(30, 80, 24).values);
    const refs = fast.toJSON().refs;
    expect(fast.adoptScaleOf(slow)).toBe(false);
    expect(fast.toJSON().refs).toEqual(refs);
    expect(fast.adoptScaleOf(new SubsequenceChannel())).toBe(false);
    expect(fast.toJSON().refs).toEqual(refs);
  });
});
