import { describe, expect, it } from 'vitest';
import { NAB_PROFILES, normalizeScore, optimizeThreshold, probationaryLength, rowWindows, scaledSigmoid, scoreFile, sweepFile, sweepThresholds } from './scorer.ts';

const std = NAB_PROFILES.standard;
const sig = (x: number): number => 2 / (1 + Math.exp(5 * x)) - 1;

/** 100 rows (probation 15), one window over rows 40..49. */
function file(scores: Record<number, number>, windows = [{ start: 40, end: 49 }]) {
  const s = new Array<number>(100).fill(0);
  for (const [i, v] of Object.entries(scores)) s[Number(i)] = v;
  return sweepFile(s, windows, std);
}

describe('NAB scorer', () => {
  it('uses min(floor(0.15·rows), 750) probationary rows', () => {
    expect(probationaryLength(100)).toBe(15);
    expect(probationaryLength(4032)).toBe(604);
    expect(probationaryLength(22_695)).toBe(750);
  });

  it('computes the scaled sigmoid, clamped to −1 from 3 on', () => {
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(-1)).toBeCloseTo(0.98661, 5);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.84828, 5);
    expect(scaledSigmoid(3)).toBe(-1);
  });

  it('rewards a detection at the window start with exactly tpWeight', () => {
    expect(scoreFile(file({ 40: 1 }), 0.5, std).score).toBeCloseTo(1, 12);
  });

  it('counts only the earliest detection in a window, scaled by its position', () => {
    // Row 45 of window 40..49 (width 10): position −(49−45+1)/10 = −0.5.
    const expected = sig(-0.5) / sig(-1);
    expect(scoreFile(file({ 45: 1 }), 0.5, std).score).toBeCloseTo(expected, 12);
    expect(scoreFile(file({ 45: 1, 48: 1 }), 0.5, std).score).toBeCloseTo(expected, 12);
  });

  it('charges fnWeight for a missed window and full fpWeight before any window', () => {
    expect(scoreFile(file({}), 0.5, std).score).toBe(-1);
    expect(scoreFile(file({ 20: 1 }), 0.5, std).score).toBeCloseTo(-1 - 0.11, 12);
  });

  it('weights a false positive after a window by its relative distance', () => {
    // Row 54: |49 − 54| / (10 − 1) = 5/9 past the window.
    const r = scoreFile(file({ 40: 1, 54: 1 }), 0.5, std);
    expect(r.score).toBeCloseTo(1 + 0.11 * sig(5 / 9), 12);
    expect(r).toMatchObject({ tp: 1, fp: 1, windowsDetected: 1 });
  });

  it('ignores detections in the probationary period', () => {
    expect(scoreFile(file({ 5: 1 }), 0.5, std).score).toBe(-1);
  });

  it('maps timestamp windows to rows', () => {
    expect(rowWindows([0, 10, 20, 30, 40], [[10, 30]])).toEqual([{ start: 1, end: 3 }]);
    expect(rowWindows([0, 10, 20, 30, 40], [[5, 35]])).toEqual([{ start: 1, end: 3 }]);
  });

  it('sweeps thresholds over the corpus and picks the best one', () => {
    const a = file({ 40: 0.9, 20: 0.6, 60: 0.3 });
    const b = file({ 42: 0.6, 70: 0.95 });
    const sweep = sweepThresholds([a, b], std);
    expect(sweep[0]).toEqual({ threshold: 1.1, score: -2 });
    for (const t of sweep) {
      const direct = scoreFile(a, t.threshold, std).score + scoreFile(b, t.threshold, std).score;
      expect(t.score).toBeCloseTo(direct, 12);
    }
    const best = optimizeThreshold([a, b], std);
    expect(best.threshold).toBe(0.6);
    expect(best.score).toBeCloseTo(Math.max(...sweep.map((t) => t.score)), 12);
  });

  it('normalises against the null and perfect detectors', () => {
    expect(normalizeScore(-2, -2, 2)).toBe(0);
    expect(normalizeScore(2, -2, 2)).toBe(100);
    expect(normalizeScore(0, -2, 2)).toBe(50);
  });
});
