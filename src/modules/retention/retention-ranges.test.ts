import { describe, expect, it } from 'vitest';
import { prunableRanges } from './retention-ranges.ts';

describe('prunableRanges', () => {
  it('prunes the whole range when no anomaly is near', () => {
    expect(prunableRanges(1, 100, [], 5)).toEqual([[1, 100]]);
    expect(prunableRanges(1, 100, [200], 5)).toEqual([[1, 100]]);
  });

  it('keeps each anomaly and its context on both sides, merging overlaps', () => {
    expect(prunableRanges(1, 100, [20, 24, 60], 3)).toEqual([
      [1, 16],
      [28, 56],
      [64, 100],
    ]);
  });

  it('keeps context reaching in from anomalies outside the range', () => {
    expect(prunableRanges(10, 50, [8, 53], 5)).toEqual([[14, 47]]);
  });

  it('prunes nothing when the kept context covers the range', () => {
    expect(prunableRanges(10, 20, [15], 10)).toEqual([]);
  });
});
