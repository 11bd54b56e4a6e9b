import { describe, expect, it } from 'vitest';
import { finiteOrNull, isFiniteNumber, isFiniteOrNull, stateRecord } from './state.ts';

describe('channel state checks', () => {
  it('accepts finite numbers only, and null where a time may be unset', () => {
    expect([0, -1.5, 1e300].every(isFiniteNumber)).toBe(true);
    expect([Number.NaN, Infinity, '1', null, undefined].some(isFiniteNumber)).toBe(false);
    expect(isFiniteOrNull(null)).toBe(true);
    expect(isFiniteOrNull(Number.NaN)).toBe(false);
  });

  it('saves an unset time as null and a set one as itself', () => {
    expect(finiteOrNull(Number.NEGATIVE_INFINITY)).toBeNull();
    expect(finiteOrNull(Number.NaN)).toBeNull();
    expect(finiteOrNull(1_700_000_000_000)).toBe(1_700_000_000_000);
  });

  it('refuses a state that is not a plain object', () => {
    for (const bad of [null, [], 3, 'x']) expect(() => stateRecord(bad)).toThrow('must be an object');
    expect(stateRecord({ a: 1 })).toEqual({ a: 1 });
  });
});
