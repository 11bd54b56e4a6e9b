import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { KnownStates } from './states.ts';

const LSB = 5 / 1024;
const q = (v: number): number => Math.round(v / LSB) * LSB;

/** A relay's output: `levels` in turn at random, each held `minS`–`maxS` s at 10 Hz, noise 0.01 V, 10-bit; `rc` readings of RC edge. */
function relay(n: number, seed: number, levels = [0.4, 3.2], minS = 30, maxS = 90, rc = 0): number[] {
  const rng = new Rng(seed);
  const hold = (): number => Math.round((minS + rng.next() * (maxS - minS)) * 10);
  let state = 0;
  let left = hold();
  let x = levels[0] as number;
  return Array.from({ length: n }, () => {
    if (--left <= 0) {
      let s = state;
      while (s === state) s = Math.floor(rng.next() * levels.length);
      state = s;
      left = hold();
    }
    const target = levels[state] as number;
    x = rc > 0 ? x + (target - x) / rc : target;
    return q(x + 0.01 * rng.normal());
  });
}

describe('KnownStates', () => {
  it("learns a relay's two levels, and its three", () => {
    const two = KnownStates.fit(relay(6000, 1), LSB)?.toJSON();
    expect(two?.bands).toHaveLength(2);
    expect(two?.levels[0]).toBeCloseTo(0.4, 1);
    expect(two?.levels[1]).toBeCloseTo(3.2, 1);
    expect(two?.transition).toBe(0);
    expect(KnownStates.fit(relay(9000, 2, [0.4, 1.8, 3.2]), LSB)?.toJSON().bands).toHaveLength(3);
  });

  it('finds none in signals that do not sit at separate levels', () => {
    const rng = new Rng(3);
    let w = 0;
    const wander = Array.from({ length: 6000 }, () => q(2.5 + (w += 0.002 * rng.normal()) + 0.01 * rng.normal()));
    const sine = Array.from({ length: 6000 }, (_, i) => q(2.5 + Math.sin((2 * Math.PI * i) / 200) + 0.01 * rng.normal()));
    const twoCodes = Array.from({ length: 6000 }, (_, i) => (i % 2 === 0 ? 512 : 513) * LSB);
    // Two levels every 5 readings: a square wave, no relay (the shape channel's).
    const square = Array.from({ length: 6000 }, (_, i) => q((Math.floor(i / 5) % 2 === 0 ? 0.4 : 3.2) + 0.01 * rng.normal()));
    // One switch: a level shift, not a signal seen going back and forth.
    const shift = Array.from({ length: 6000 }, (_, i) => q((i < 3000 ? 0.4 : 3.2) + 0.01 * rng.normal()));
    for (const values of [wander, sine, twoCodes, square, shift]) expect(KnownStates.fit(values, LSB)).toBeUndefined();
    // A glitch to 0 V now and then is no state of its own.
    const glitchy = relay(6000, 4).map((v, i) => (i % 500 === 7 ? 0 : v));
    expect(KnownStates.fit(glitchy, LSB)?.toJSON().bands).toHaveLength(2);
  });

  it("allows a switch's edge as long as training's, between the states only", () => {
    const train = relay(6000, 5, [0.4, 3.2], 30, 90, 5);
    const states = KnownStates.fit(train, LSB) as KnownStates;
    const edge = states.toJSON().transition;
    expect(edge).toBeGreaterThan(3);
    expect(edge).toBeLessThan(20);
    // Continue from a reading in the low state.
    while (!states.push(0.4)) {
      /* until the edge in progress, if any, is over */
    }
    expect(states.residual).toBeCloseTo(0.4 - (states.toJSON().levels[0] as number), 9);
    // An edge up as long as training's longest is known; one reading more between the states is not.
    for (let i = 0; i < edge; i++) expect(states.push(1.8)).toBe(true);
    expect(states.push(1.8)).toBe(false);
    // Off the low state's level: the distance from the state it was last in.
    expect(states.residual).toBeCloseTo(1.8 - (states.toJSON().levels[0] as number), 9);
    expect(states.push(3.2)).toBe(true);
    // Beyond every state is never an edge.
    expect(states.push(4.5)).toBe(false);
    expect(states.residual).toBeCloseTo(4.5 - (states.toJSON().levels[1] as number), 9);
  });

  it('says when a run between the states came back to the state it left (a dip), unless training held such runs', () => {
    const train = relay(6000, 5, [0.4, 3.2], 30, 90, 5);
    const states = KnownStates.fit(train, LSB) as KnownStates;
    expect(states.toJSON().bounces).toBe(0);
    const dip = [0.4, 0.4, 0.9, 0.8, 0.41, 0.4].map((v) => (states.push(v), states.bounced));
    expect(dip).toEqual([false, false, false, false, true, false]);
    // An edge that reaches the other state is a switch; one beyond the states is no edge, and its return no dip.
    expect([0.9, 2, 3.2].map((v) => (states.push(v), states.bounced))).toEqual([false, false, false]);
    expect([5, 3.2].map((v) => (states.push(v), states.bounced))).toEqual([false, false]);
    // A relay whose training part dipped so now and then: a dip is its normal.
    const dipping = train.map((v, i) => (i % 700 === 350 && v < 1 ? 0.9 : v));
    const used = KnownStates.fit(dipping, LSB) as KnownStates;
    expect(used.toJSON().bounces).toBeGreaterThan(0);
    expect([0.4, 0.9, 0.4].map((v) => (used.push(v), used.bounced))).toEqual([false, false, false]);
  });

  it('makes a level it never saw a state once the signal has sat there for 100 readings; not a ramp, not a level next to a state', () => {
    const rng = new Rng(7);
    const states = KnownStates.fit(relay(6000, 1), LSB) as KnownStates;
    const at = (level: number, n: number): boolean[] => Array.from({ length: n }, () => states.push(q(level + 0.01 * rng.normal())));
    const third = at(1.8, 150);
    expect(third.indexOf(true)).toBe(99);
    expect(third.slice(99).every(Boolean)).toBe(true);
    expect(states.count).toBe(3);
    expect(states.reference).toBeCloseTo(1.8, 1);
    // Back at 0.4 V, and at 1.8 V again: known at once.
    at(0.4, 50);
    expect(at(1.8, 5)).toEqual([true, true, true, true, true]);
    // A slow ramp between 2.2 V and 2.6 V is no level, however long.
    const ramp = Array.from({ length: 600 }, (_, i) => states.push(q(2.2 + (0.4 * i) / 600 + 0.01 * rng.normal())));
    expect(ramp.some(Boolean)).toBe(false);
    // 0.55 V lies 9 spreads from the 0.4 V state's band: no state of its own.
    expect(at(0.55, 300).some(Boolean)).toBe(false);
    expect(states.count).toBe(3);
  });

  it('resumes a run towards a new level from its saved state', () => {
    const rng = new Rng(8);
    const states = KnownStates.fit(relay(6000, 1), LSB) as KnownStates;
    const values = Array.from({ length: 150 }, () => q(1.8 + 0.01 * rng.normal()));
    for (const v of values.slice(0, 60)) states.push(v);
    const copy = KnownStates.fromJSON(JSON.parse(JSON.stringify(states.toJSON())));
    expect(values.slice(60).map((v) => copy.push(v))).toEqual(values.slice(60).map((v) => states.push(v)));
    expect(copy.toJSON()).toEqual(states.toJSON());
  });

  it('stands in for an edge with the last residuals in a state, not one value', () => {
    const states = KnownStates.fit(relay(6000, 5, [0.4, 3.2], 30, 90, 5), LSB) as KnownStates;
    const level = states.toJSON().levels[0] as number;
    const inState = [0.39, 0.41, 0.4, 0.42, 0.38, 0.4, 0.41, 0.39];
    for (const v of inState) states.push(v);
    const during = [1, 1.5, 2, 2.5].map((v) => {
      states.push(v);
      return states.residual;
    });
    expect(during).toEqual([0.39, 0.41, 0.4, 0.38].map((v) => v - level));
    expect(states.moved).toBe(true);
    states.push(2.5);
    expect(states.moved).toBe(false);
  });

  it('round-trips its state and refuses a malformed one', () => {
    const states = KnownStates.fit(relay(6000, 1), LSB) as KnownStates;
    for (const v of [0.41, 1.2, 3.19]) states.push(v);
    const copy = KnownStates.fromJSON(JSON.parse(JSON.stringify(states.toJSON())));
    const next = [3.2, 0.5, 5, 0.4];
    expect(next.map((v) => [copy.push(v), copy.residual])).toEqual(next.map((v) => [states.push(v), states.residual]));
    const good = states.toJSON();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ bands: [[0, 1]] }, /bands/],
      [{ bands: [[1, 0], [2, 3]] }, /bands/],
      [{ bands: [[0, 2], [1, 3]] }, /bands/],
      [{ levels: [0.4] }, /levels/],
      [{ levels: [9, 3.2] }, /levels/],
      [{ last: 2 }, /last/],
      [{ lastValue: 'x' }, /lastValue/],
      [{ recent: Array(9).fill(0) }, /recent/],
      [{ transition: 51 }, /transition/],
      [{ outside: -1 }, /outside/],
      [{ between: 1 }, /between/],
      [{ bounces: 0.5 }, /bounces/],
      [{ noise: 0 }, /noise/],
      [{ run: [1, 2] }, /run/],
      [{ run: [0, 1, 1, 1, 0] }, /run/],
      [{ run: [3, 2, 1, 1, 0] }, /run/],
    ];
    for (const [change, message] of bad) expect(() => KnownStates.fromJSON({ ...good, ...change })).toThrow(message);
  });
});
