import { describe, it, expect } from 'vitest';
import { FEATURE_COUNT, F, WindowFeatures, featureRecord } from './features.ts';
import { Rng } from './random.ts';

function q(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function naive(xs: number[], ts: number[], run: number): Record<string, number> {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const dev = xs.map((x) => x - mean);
  const m2 = dev.reduce((a, d) => a + d * d, 0) / n;
  const m3 = dev.reduce((a, d) => a + d ** 3, 0) / n;
  const m4 = dev.reduce((a, d) => a + d ** 4, 0) / n;
  const std = Math.sqrt(m2);
  const s = [...xs].sort((a, b) => a - b);
  const diffs = xs.slice(1).map((x, i) => x - xs[i]!);
  const dm = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const diffStd = Math.sqrt(diffs.reduce((a, d) => a + (d - dm) ** 2, 0) / diffs.length);
  let crossings = 0;
  let peaks = 0;
  for (let i = 1; i < n; i++) if (dev[i]! >= 0 !== dev[i - 1]! >= 0) crossings++;
  for (let i = 1; i < n - 1; i++) if (xs[i]! > xs[i - 1]! && xs[i]! >= xs[i + 1]! && xs[i]! > mean) peaks++;
  const xm = (n - 1) / 2;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (i - xm) * (xs[i]! - mean);
    sxx += (i - xm) ** 2;
  }
  let ac = 0;
  for (let i = 1; i < n; i++) ac += dev[i]! * dev[i - 1]!;
  const median = q(s, 0.5);
  const iqr = q(s, 0.75) - q(s, 0.25);
  const scale = iqr > 0 ? iqr / 1.349 : std;
  return {
    mean,
    std,
    min: s[0]!,
    max: s[n - 1]!,
    range: s[n - 1]! - s[0]!,
    median,
    q25: q(s, 0.25),
    q75: q(s, 0.75),
    iqr,
    skewness: m2 > 0 ? m3 / m2 ** 1.5 : 0,
    kurtosis: m2 > 0 ? m4 / m2 ** 2 - 3 : 0,
    cv: std / Math.abs(mean),
    zero_crossings: crossings,
    peak_count: peaks,
    slope: sxy / sxx,
    diff_std: diffStd,
    last_z: Math.max(-50, Math.min(50, (xs[n - 1]! - median) / scale)),
    autocorr_lag1: ac / (m2 * n),
    last_diff_z: Math.max(-50, Math.min(50, (diffs[diffs.length - 1]! - dm) / diffStd)),
    repeat_run: run,
    gap_ratio: (ts[n - 1]! - ts[n - 2]!) / ((ts[n - 1]! - ts[0]!) / (n - 1)),
    last_value: xs[n - 1]!,
  };
}

describe('WindowFeatures', () => {
  it('matches a naive computation at every step of a long stream', () => {
    const rng = new Rng(5);
    const w = new WindowFeatures(50);
    const xs: number[] = [];
    const ts: number[] = [];
    let t = 1_700_000_000_000;
    const out = new Float64Array(FEATURE_COUNT);
    for (let i = 0; i < 400; i++) {
      t += 100 + (i % 37 === 0 ? 250 : 0);
      const v = 2.5 + 0.1 * Math.sin(i / 7) + 0.02 * rng.normal() + (i === 200 ? 1 : 0);
      xs.push(v);
      ts.push(t);
      w.push({ ts: t, value: v });
      if (xs.length < 50) {
        expect(w.ready).toBe(false);
        continue;
      }
      const got = featureRecord(w.compute(out));
      const want = naive(xs.slice(-50), ts.slice(-50), 1);
      for (const [k, v2] of Object.entries(want)) expect(got[k], k).toBeCloseTo(v2, 9);
    }
  });

  it('counts the trailing run of identical (stuck) readings', () => {
    const w = new WindowFeatures(10);
    for (let i = 0; i < 6; i++) w.push({ ts: i, value: i });
    for (let i = 6; i < 20; i++) w.push({ ts: i, value: 3 });
    const f = w.compute();
    expect(f[F.repeat_run]).toBe(10);
    expect(f[F.std]).toBe(0);
    expect(f[F.last_z]).toBe(0);
  });

  it('flags a spike in the last reading with a large robust z', () => {
    const rng = new Rng(9);
    const w = new WindowFeatures(50);
    for (let i = 0; i < 60; i++) w.push({ ts: i * 100, value: 1 + 0.01 * rng.normal() });
    w.push({ ts: 6000, value: 1.5 });
    expect(w.compute()[F.last_z]).toBeGreaterThan(10);
  });

  it('restores from a snapshot and then computes the same features', () => {
    const rng = new Rng(2);
    const a = new WindowFeatures(20);
    for (let i = 0; i < 35; i++) a.push({ ts: i * 100, value: rng.normal() });
    const b = new WindowFeatures(20);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    a.push({ ts: 3500, value: 0.3 });
    b.push({ ts: 3500, value: 0.3 });
    expect(Array.from(b.compute())).toEqual(Array.from(a.compute()));
  });

  it('rebaseTo moves the window up to a resumed stream, so the pause is no gap', () => {
    const rng = new Rng(4);
    const w = new WindowFeatures(20);
    for (let i = 0; i < 30; i++) w.push({ ts: i * 100, value: rng.normal() });
    const paused = new WindowFeatures(20);
    paused.restore(JSON.parse(JSON.stringify(w.snapshot())));
    paused.push({ ts: 3_600_000, value: 0.1 });
    expect(paused.compute()[F.gap_ratio]).toBeGreaterThan(10);
    w.rebaseTo(3_600_000);
    w.push({ ts: 3_600_000, value: 0.1 });
    expect(w.compute()[F.gap_ratio]).toBeCloseTo(1, 9);
    expect(w.snapshot().ts.slice(-2)).toEqual([3_600_000 - 100, 3_600_000]);
  });
});
