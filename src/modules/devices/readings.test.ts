import { describe, expect, it } from 'vitest';
import { parseMqttPayload, parseSerialLine, toReading } from './readings.ts';

describe('parseSerialLine', () => {
  it.each([
    ['3.21', 3.21],
    ['V:3.21', 3.21],
    ['V: 3.21\r', 3.21],
    ['3.21,123456', 3.21],
    ['-0.5', -0.5],
    ['  4  ', 4],
    ['.5', 0.5],
    ['1e-3', 0.001],
  ])('reads %j as %d', (line, v) => expect(parseSerialLine(line)).toBe(v));

  it.each(['', 'hello', '3.21abc', 'NaN', 'Infinity', 'V:', '1,2,3', '\u0000\u0001', '1e400'])('rejects %j', (line) =>
    expect(parseSerialLine(line)).toBeUndefined(),
  );
});

describe('toReading', () => {
  const now = 1_750_000_000_000;
  it('uses the arrival time when the device sends none, and accepts seconds, ms and ISO', () => {
    expect(toReading(1.5, undefined, now)).toEqual({ ts: now, value: 1.5 });
    expect(toReading(1.5, now / 1000 - 1, now)).toEqual({ ts: now - 1000, value: 1.5 });
    expect(toReading(1.5, now - 5, now)).toEqual({ ts: now - 5, value: 1.5 });
    expect(toReading(1.5, new Date(now - 10).toISOString(), now)).toEqual({ ts: now - 10, value: 1.5 });
  });
  it('refuses non-numbers, non-finite values and timestamps far in the future or past', () => {
    expect(toReading('1', undefined, now)).toBeUndefined();
    expect(toReading(Number.NaN, undefined, now)).toBeUndefined();
    expect(toReading(1, now + 3600_000, now)).toBeUndefined();
    expect(toReading(1, 12, now)).toBeUndefined();
    expect(toReading(1, 'yesterday', now)).toBeUndefined();
  });
});

describe('parseMqttPayload', () => {
  const now = 1_750_000_000_000;
  it('accepts a bare number, a JSON object with a token and a small batch', () => {
    expect(parseMqttPayload(Buffer.from('3.3'), now, 10)).toEqual({ readings: [{ ts: now, value: 3.3 }], token: undefined, invalid: 0 });
    expect(parseMqttPayload(Buffer.from('{"value":2,"ts":1750000000,"token":"t"}'), now, 10)).toEqual({
      readings: [{ ts: now, value: 2 }],
      token: 't',
      invalid: 0,
    });
    const batch = parseMqttPayload(Buffer.from('{"readings":[{"value":1},{"value":"x"},{"value":3}]}'), now, 10);
    expect(batch.readings.map((r) => r.value)).toEqual([1, 3]);
    expect(batch.invalid).toBe(1);
  });
  it('counts junk instead of throwing', () => {
    for (const junk of ['{', '[1,2]', 'null', 'abc', '', '{"value":null}']) {
      const r = parseMqttPayload(Buffer.from(junk), now, 10);
      expect(r.readings).toEqual([]);
      expect(r.invalid).toBeGreaterThan(0);
    }
  });
});
