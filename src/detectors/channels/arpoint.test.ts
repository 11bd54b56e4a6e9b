import { describe, expect, it } from 'vitest';
import { Rng } from '../random.ts';
import { ArPoint } from './arpoint.ts';

// The channel as the default detector sets it up: 16 steps, a bar of 5.5 spreads and 1.2 times the
// largest training error. 10 Hz: a 2.5 s cycle with a harmonic, a mains hum aliased to 1.1 Hz (about 9 readings per
// cycle) at twice the noise, and 5 mV of Gaussian noise.
const NOISE = 0.005;
function signal(n: number, seed: number, from = 0): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const t = i / 10;
    return 2.5 + 0.2 * Math.sin((2 * Math.PI * t) / 2.5) + 0.05 * Math.sin((4 * Math.PI * t) / 2.5) + 2 * NOISE * Math.sin(2 * Math.PI * 1.1 * t) + NOISE * rng.normal();
  });
}
const fitted = (order = 16, minZ = 5.5, factor = 1.2): ArPoint => {
  const normal = signal(3000, 1);
  const channel = ArPoint.fit(normal.slice(0, 2250), normal, 100, Number.NaN, order, minZ, factor);
  if (!channel) throw new Error('no fit');
  channel.prime(normal, 2999 * 100);
  return channel;
};
/** The |z| of each reading of `values`, continuing the training clock. */
const zs = (channel: ArPoint, values: readonly number[], from = 3000): number[] => values.map((v, k) => channel.push((from + k) * 100, v));

describe('ArPoint: the autoregressive point channel', () => {
  it('predicts a cycle with an aliased hum to within its noise: a rolling median could not', () => {
    const channel = fitted();
    const live = zs(channel, signal(2000, 2, 3000));
    const sorted = [...live].sort((a, b) => a - b);
    // Spreads of the prediction error: the median |z| of Gaussian noise is 0.67.
    expect(sorted[1000]).toBeGreaterThan(0.5);
    expect(sorted[1000]).toBeLessThan(0.9);
    expect(live.filter((z) => z >= channel.bar).length).toBe(0);
    // The cycle swings 0.5 V, a hundred times the noise: the error is the noise's, not the cycle's.
    expect(channel.bar).toBeGreaterThanOrEqual(5.5);
    expect(channel.bar).toBeLessThan(8);
  });

  it('sets the bar at the larger of its floor and a multiple of the largest training error', () => {
    expect(fitted(16, 3, 1.2).bar).toBeGreaterThan(3);
    const high = fitted(16, 3, 3);
    expect(high.bar).toBeCloseTo(3 * (fitted(16, 3, 1).bar), 9);
  });

  it('finds a spike of 12 noise sigmas, and the reading after it is judged against the prediction, not the spike', () => {
    const channel = fitted();
    const live = signal(400, 2, 3000);
    for (const k of [200, 201]) live[k] = (live[k] as number) + 12 * NOISE;
    const z = zs(channel, live);
    expect(z[200]).toBeGreaterThanOrEqual(channel.bar);
    expect(z[201]).toBeGreaterThanOrEqual(channel.bar);
    // Back in its band: the spike entered the history as predicted.
    expect(z[202]).toBeLessThan(4);
    expect(Math.max(...z.slice(203))).toBeLessThan(channel.bar);
  });

  it('after a step longer than a spike, waits for its history to hold readings again before it speaks', () => {
    const channel = fitted();
    const live = signal(400, 2, 3000).map((v, k) => (k >= 200 ? v + 0.1 : v));
    const z = zs(channel, live);
    // Three readings imputed (200–202), the fourth judged (still beyond), then quiet until the 17
    // readings of its history (16 steps) are all readings again; its steps then follow the new level.
    expect(z.slice(200, 204).every((x) => x >= channel.bar)).toBe(true);
    expect(z.slice(204, 220).every((x) => x === 0)).toBe(true);
    expect(z[220]).toBeGreaterThan(0);
    expect(Math.max(...z.slice(220))).toBeLessThan(channel.bar);
  });

  it('never runs away when outliers keep coming, and forgets its history after a gap', () => {
    const channel = fitted();
    const rng = new Rng(7);
    const live = signal(600, 2, 3000).map((v, k) => (k % 5 === 0 ? v + (rng.next() < 0.5 ? -1 : 1) * 0.5 : v));
    const z = zs(channel, live);
    expect(z.every(Number.isFinite)).toBe(true);
    expect(Math.max(...z)).toBeLessThan(1000);
    const after = channel.push(3600 * 100 + 10_000, 2.5);
    expect(after).toBe(0);
    expect(channel.toJSON().history).toHaveLength(1);
  });

  it('judges a stream its prediction fits less well than the training part on its grown error', () => {
    const channel = fitted();
    // The same cycle with three times the noise: at first readings are beyond the bar.
    const rng = new Rng(9);
    const live = signal(3000, 2, 3000).map((v) => v + 3 * NOISE * rng.normal());
    const z = zs(channel, live);
    const beyond = (from: number, to: number): number => z.slice(from, to).filter((x) => x >= channel.bar).length;
    expect(beyond(0, 300)).toBeGreaterThanOrEqual(5);
    expect(beyond(2000, 3000)).toBeLessThanOrEqual(2);
    // Its slow average of the error has grown to over twice the training part's.
    expect(channel.toJSON().level).toBeGreaterThan(2 * channel.toJSON().base);
  });

  it('saves and restores exactly, and refuses a malformed state naming the field', () => {
    const channel = fitted();
    const live = signal(300, 2, 3000);
    live[100] = (live[100] as number) + 0.2;
    zs(channel, live.slice(0, 101));
    const saved = JSON.parse(JSON.stringify(channel.toJSON())) as ReturnType<ArPoint['toJSON']>;
    const restored = ArPoint.fromJSON(saved);
    expect(zs(restored, live.slice(101), 3101)).toEqual(zs(channel, live.slice(101), 3101));
    expect(() => ArPoint.fromJSON({ ...saved, imputed: 5 })).toThrow(/imputed/);
    expect(() => ArPoint.fromJSON({ ...saved, coef: [1] })).toThrow(/coef/);
    expect(() => ArPoint.fromJSON({ ...saved, history: new Array(18).fill(0) })).toThrow(/history/);
    expect(() => ArPoint.fromJSON({ ...saved, scale: 0 })).toThrow(/scale/);
    expect(() => ArPoint.fromJSON({ ...saved, sinceImputed: 18 })).toThrow(/sinceImputed/);
    expect(() => ArPoint.fromJSON({ ...saved, base: 0 })).toThrow(/base/);
    expect(() => ArPoint.fromJSON({ ...saved, level: -1 })).toThrow(/level/);
  });

  it('fits nothing on too few readings or an unknown interval', () => {
    const few = signal(200, 1);
    expect(ArPoint.fit(few, few, 100, Number.NaN, 16, 5.5, 1.2)).toBeUndefined();
    const many = signal(3000, 1);
    expect(ArPoint.fit(many, many, 0, Number.NaN, 16, 5.5, 1.2)).toBeUndefined();
  });
});
