import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.ts';
import { checkRules, defaultRules, deviationCounts, mergeRules, severityOf, silenceReason } from './alarm-rules.ts';

const base = defaultRules(60);

describe('alarm rules', () => {
  it('lays device rules over user defaults over server defaults', () => {
    const r = mergeRules(base, { min_readings: 3, direction: 'up' }, { min_readings: 5 });
    expect(r).toMatchObject({ min_readings: 5, direction: 'up', resolve_after_s: 60 });
  });

  it('ignores deviations below the absolute or relative minimum and on the unwatched side', () => {
    const r = mergeRules(base, { min_deviation: 0.5, min_deviation_pct: 20, direction: 'down' });
    expect(deviationCounts(r, 2, 3)).toBe(true);
    expect(deviationCounts(r, 2.7, 3)).toBe(false);
    expect(deviationCounts(r, 2.45, 3)).toBe(false);
    expect(deviationCounts(r, 4, 3)).toBe(false);
    expect(deviationCounts(r, 4, null)).toBe(true);
  });

  it('silences quiet hours across midnight in the given zone, and maintenance windows', () => {
    const r = mergeRules(base, { quiet_hours: { start: '22:00', end: '06:00', timezone: 'Europe/Berlin' } });
    expect(silenceReason(r, Date.parse('2026-01-15T22:30:00Z'))).toBe('quiet_hours');
    expect(silenceReason(r, Date.parse('2026-01-15T21:30:00Z'))).toBe('quiet_hours');
    // 05:30 UTC is 06:30 in Berlin: past the end of the quiet hours there.
    expect(silenceReason(r, Date.parse('2026-01-15T05:30:00Z'))).toBeNull();
    expect(silenceReason(r, Date.parse('2026-01-15T12:00:00Z'))).toBeNull();
    const m = mergeRules(base, { maintenance: [{ start: '2026-01-15T10:00:00Z', end: '2026-01-15T11:00:00Z' }] });
    expect(silenceReason(m, Date.parse('2026-01-15T10:30:00Z'))).toBe('maintenance');
    expect(silenceReason(m, Date.parse('2026-01-15T11:00:00Z'))).toBeNull();
  });

  it('grades severity by peak score and duration', () => {
    expect(severityOf(0.55, 1000)).toBe('minor');
    expect(severityOf(0.75, 1000)).toBe('major');
    expect(severityOf(0.55, 120_000)).toBe('major');
    expect(severityOf(0.95, 0)).toBe('critical');
    expect(severityOf(0.6, 600_000)).toBe('critical');
  });

  it('refuses unknown zones and windows that end before they start', () => {
    expect(() => checkRules({ quiet_hours: { start: '01:00', end: '02:00', timezone: 'Nowhere/Land' } })).toThrow(AppError);
    expect(() => checkRules({ maintenance: [{ start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' }] })).toThrow(/end must be after start/);
    expect(() => checkRules({ quiet_hours: { start: '01:00', end: '02:00' } })).not.toThrow();
  });
});
