import { Type, type Static } from '@sinclair/typebox';
import { SIGNALS } from '../../detectors/index.ts';
import { AppError } from '../../lib/errors.ts';

const Hhmm = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'Local time `HH:MM`.' });

/**
 * Every rule field, all optional: a device's rules are laid over the user's defaults, which are
 * laid over the server's. Validated as a JSON body (unknown fields are refused).
 */
export const AlarmRulesSchema = Type.Object(
  {
    min_readings: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Raise only after this many anomalous readings…' })),
    window_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: '…within this many seconds.' })),
    min_duration_s: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400, description: 'Raise only once anomalies have lasted this long (0 = at once).' })),
    min_deviation: Type.Optional(Type.Number({ minimum: 0, description: 'Ignore readings closer than this (in the reading unit) to the expected value.' })),
    min_deviation_pct: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000, description: 'Ignore readings closer than this percentage of the expected value.' })),
    direction: Type.Optional(Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('both')], { description: 'Which side of the expected value counts.' })),
    disabled_signals: Type.Optional(Type.Array(Type.Union(SIGNALS.map((s) => Type.Literal(s))), { uniqueItems: true, description: 'Signals that never raise an alarm.' })),
    quiet_hours: Type.Optional(
      Type.Union([
        Type.Null(),
        Type.Object(
          { start: Hhmm, end: Hhmm, timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone, default UTC.' })) },
          { additionalProperties: false },
        ),
      ]),
    ),
    maintenance: Type.Optional(
      Type.Array(
        Type.Object(
          { start: Type.String({ format: 'date-time' }), end: Type.String({ format: 'date-time' }), note: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
        { maxItems: 50, description: 'Windows in which alarms are recorded and marked but not notified.' },
      ),
    ),
    resolve_after_s: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400, description: 'An alarm resolves by itself after this many quiet seconds.' })),
    renotify_minutes: Type.Optional(Type.Number({ minimum: 0, maximum: 10_080, description: 'Notify again while unacknowledged, every N minutes (0 = never).' })),
    digest_threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'More openings than this within the digest window become one digest.' })),
    digest_window_s: Type.Optional(Type.Number({ minimum: 1, maximum: 3600 })),
  },
  { additionalProperties: false, $id: 'AlarmRules', title: 'AlarmRules' },
);

export type PartialRules = Static<typeof AlarmRulesSchema>;
export type Rules = Required<Omit<PartialRules, 'quiet_hours'>> & { quiet_hours: { start: string; end: string; timezone?: string } | null };

export function defaultRules(resolveAfterS: number): Rules {
  return {
    min_readings: 1,
    window_s: 60,
    min_duration_s: 0,
    min_deviation: 0,
    min_deviation_pct: 0,
    direction: 'both',
    disabled_signals: [],
    quiet_hours: null,
    maintenance: [],
    resolve_after_s: resolveAfterS,
    renotify_minutes: 0,
    digest_threshold: 5,
    digest_window_s: 60,
  };
}

/** Server defaults, then the user's defaults, then the device's rules. */
export function mergeRules(base: Rules, ...layers: Array<PartialRules | undefined>): Rules {
  let out = base;
  for (const l of layers) if (l) out = { ...out, ...(Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as Partial<Rules>) };
  return out;
}

/** Checks what a schema cannot: windows that end before they start, unknown time zones. */
export function checkRules(r: PartialRules): void {
  const problems: string[] = [];
  if (r.quiet_hours?.timezone) {
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone: r.quiet_hours.timezone });
    } catch {
      problems.push(`quiet_hours.timezone: unknown time zone ${JSON.stringify(r.quiet_hours.timezone)}`);
    }
  }
  if (r.quiet_hours && r.quiet_hours.start === r.quiet_hours.end) problems.push('quiet_hours: start and end must differ');
  r.maintenance?.forEach((w, i) => {
    if (!(Date.parse(w.end) > Date.parse(w.start))) problems.push(`maintenance/${i}: end must be after start`);
  });
  if (problems.length > 0) throw new AppError('invalid-alarm-rules', `Invalid alarm rules: ${problems.join('; ')}.`, { details: problems });
}

function minutesIn(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Why an alarm opened at `at` is not notified (quiet hours, maintenance), or null. */
export function silenceReason(r: Rules, at: number): 'maintenance' | 'quiet_hours' | null {
  for (const w of r.maintenance) if (at >= Date.parse(w.start) && at < Date.parse(w.end)) return 'maintenance';
  if (r.quiet_hours) {
    const m = minutesIn(r.quiet_hours.timezone ?? 'UTC', at);
    const start = hhmm(r.quiet_hours.start);
    const end = hhmm(r.quiet_hours.end);
    const inside = start < end ? m >= start && m < end : m >= start || m < end;
    if (inside) return 'quiet_hours';
  }
  return null;
}

/** Whether a reading's deviation from the expected value is big enough, and on the watched side. */
export function deviationCounts(r: Rules, value: number, expected: number | null): boolean {
  if (expected === null || !Number.isFinite(expected)) return true;
  const d = value - expected;
  if (r.direction === 'up' && d < 0) return false;
  if (r.direction === 'down' && d > 0) return false;
  const abs = Math.abs(d);
  if (abs < r.min_deviation) return false;
  if (r.min_deviation_pct > 0 && expected !== 0 && (abs / Math.abs(expected)) * 100 < r.min_deviation_pct) return false;
  return true;
}

export const SEVERITIES = ['minor', 'major', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Severity from the peak score and how long the alarm has lasted. */
export function severityOf(peakScore: number, durationMs: number): Severity {
  let points = peakScore >= 0.9 ? 2 : peakScore >= 0.7 ? 1 : 0;
  if (durationMs >= 300_000) points += 2;
  else if (durationMs >= 60_000) points += 1;
  return SEVERITIES[Math.min(2, points)]!;
}
