import type { Reading } from '../../detectors/index.ts';

/** Largest magnitude accepted as a sensor value; anything beyond is junk, not a measurement. */
export const MAX_ABS_VALUE = 1e9;
/** Device timestamps may lag (buffered uploads) by this much, and lead the server clock by a little. */
export const MAX_PAST_MS = 7 * 24 * 3600 * 1000;
export const MAX_FUTURE_MS = 60 * 1000;

/**
 * Parses one serial line as the firmware prints it: `3.21`, `V:3.21` (any short label) or
 * `3.21,<ms>` (the Arduino's `millis()`, which is not wall-clock time and is ignored).
 * Returns undefined for garbage.
 */
export function parseSerialLine(line: string): number | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  const m = /^(?:[A-Za-z_]{1,16}\s*[:=]\s*)?([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s*[,;\t ]\s*\d+(?:\.\d+)?)?$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) && Math.abs(v) <= MAX_ABS_VALUE ? v : undefined;
}

/** Unix ms from a device timestamp: ms, seconds (< 1e11) or an ISO string. */
export function toEpochMs(ts: unknown): number | undefined {
  if (typeof ts === 'number' && Number.isFinite(ts)) return ts < 1e11 ? ts * 1000 : ts;
  if (typeof ts === 'string' && ts.length <= 40) {
    const n = Date.parse(ts);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/** Validates a raw value and optional device timestamp into a Reading, or undefined. */
export function toReading(value: unknown, ts: unknown, now: number): Reading | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_ABS_VALUE) return undefined;
  if (ts === undefined || ts === null) return { ts: now, value };
  const ms = toEpochMs(ts);
  if (ms === undefined || ms > now + MAX_FUTURE_MS || ms < now - MAX_PAST_MS) return undefined;
  return { ts: Math.round(ms), value };
}

export interface ParsedMqttPayload {
  readings: Reading[];
  token: string | undefined;
  invalid: number;
}

/**
 * An MQTT payload: a bare number (`3.21`), `{value, ts?, token?}`, or
 * `{readings: [{value, ts?}…], token?}` for a small batch.
 */
export function parseMqttPayload(payload: Buffer, now: number, maxReadings: number): ParsedMqttPayload {
  const out: ParsedMqttPayload = { readings: [], token: undefined, invalid: 0 };
  if (payload.length === 0 || payload.length > 256 * 1024) return { ...out, invalid: 1 };
  const text = payload.toString('utf8').trim();
  const bare = parseSerialLine(text);
  if (bare !== undefined && !text.startsWith('{')) {
    out.readings.push({ ts: now, value: bare });
    return out;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...out, invalid: 1 };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ...out, invalid: 1 };
  const o = json as Record<string, unknown>;
  if (typeof o.token === 'string') out.token = o.token;
  const items = Array.isArray(o.readings) ? o.readings.slice(0, maxReadings) : [o];
  if (Array.isArray(o.readings) && o.readings.length > maxReadings) out.invalid += o.readings.length - maxReadings;
  for (const item of items) {
    const r = typeof item === 'object' && item !== null ? toReading((item as Record<string, unknown>).value, (item as Record<string, unknown>).ts, now) : undefined;
    if (r) out.readings.push(r);
    else out.invalid++;
  }
  return out;
}
