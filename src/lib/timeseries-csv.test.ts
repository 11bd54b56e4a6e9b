import { describe, expect, it } from 'vitest';
import {
  createTimeseriesCsvParser,
  formatScoresCsv,
  parseTimeseriesCsv,
  parseTimestamp,
  SCORES_CSV_HEADER,
  TimeseriesCsvError,
} from './timeseries-csv.ts';

describe('parseTimestamp', () => {
  it('reads NAB timestamps as UTC, with optional fractional seconds', () => {
    expect(parseTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp('2014-04-01 00:00:01.250')).toBe(Date.UTC(2014, 3, 1, 0, 0, 1, 250));
  });

  it('reads ISO 8601 with and without a zone (no zone means UTC)', () => {
    expect(parseTimestamp('2024-05-06T07:08:09Z')).toBe(Date.UTC(2024, 4, 6, 7, 8, 9));
    expect(parseTimestamp('2024-05-06T07:08:09.5+02:00')).toBe(Date.UTC(2024, 4, 6, 5, 8, 9, 500));
    expect(parseTimestamp('2024-05-06T07:08:09')).toBe(Date.UTC(2024, 4, 6, 7, 8, 9));
  });

  it('tells epoch seconds from epoch milliseconds by magnitude', () => {
    expect(parseTimestamp('1700000000')).toBe(1_700_000_000_000);
    expect(parseTimestamp('1700000000.5')).toBe(1_700_000_000_500);
    expect(parseTimestamp('1700000000123')).toBe(1_700_000_000_123);
  });

  it('rejects garbage and impossible dates', () => {
    expect(parseTimestamp('yesterday')).toBeUndefined();
    expect(parseTimestamp('')).toBeUndefined();
    expect(parseTimestamp('2021-02-30 00:00:00')).toBeUndefined();
    expect(parseTimestamp('2021-13-01 00:00:00')).toBeUndefined();
  });
});

describe('parseTimeseriesCsv', () => {
  it('parses rows, a case-insensitive header, CRLF and a BOM, and keeps the timestamp text', () => {
    const text = '\uFEFFTimestamp,VALUE\r\n2014-04-01 00:00:00,1.5\r\n2014-04-01 00:00:05,2\r\n';
    const { rows, errors } = parseTimeseriesCsv(text);
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, timestamp: '2014-04-01 00:00:00', ts: Date.UTC(2014, 3, 1), value: 1.5 },
      { line: 3, timestamp: '2014-04-01 00:00:05', ts: Date.UTC(2014, 3, 1, 0, 0, 5), value: 2 },
    ]);
  });

  it('returns extra columns such as label per row, in any column order', () => {
    const { rows, extraColumns } = parseTimeseriesCsv('value,label,timestamp\n3.25,1,1700000000\n');
    expect(extraColumns).toEqual(['label']);
    expect(rows[0]).toMatchObject({ ts: 1_700_000_000_000, value: 3.25, extra: { label: '1' } });
  });

  it('reports bad rows with line numbers and reasons and leaves them out', () => {
    const text = [
      'timestamp,value',
      '1000,1',
      '1001,abc',
      ',2',
      '1002,',
      '999,3',
      '',
      '1003,4',
      'not-a-time,5',
    ].join('\n');
    const { rows, errors, errorCount } = parseTimeseriesCsv(text, { clockStepBack: 'reject' });
    expect(rows.map((r) => r.line)).toEqual([2, 8]);
    expect(errorCount).toBe(5);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 9]);
    expect(errors[0]?.reason).toMatch(/unparseable value "abc"/);
    expect(errors[1]?.reason).toMatch(/missing timestamp/);
    expect(errors[2]?.reason).toMatch(/missing value/);
    expect(errors[3]?.reason).toMatch(/earlier than the previous row/);
    expect(errors[4]?.reason).toMatch(/unparseable timestamp/);
  });

  it('keeps rows of a clock that steps back in file order, with a warning, by default', () => {
    const { rows, errors, warnings, warningCount } = parseTimeseriesCsv('timestamp,value\n1000,1\n1002,2\n999,3\n1001,4\n');
    expect(errors).toEqual([]);
    expect(rows.map((r) => r.value)).toEqual([1, 2, 3, 4]);
    expect(warningCount).toBe(1);
    expect(warnings).toEqual([{ line: 4, reason: expect.stringMatching(/earlier than the previous row; kept in file order/) as unknown as string }]);
  });

  it("reads a repeated hour like NAB's machine_temperature_system_failure.csv: one row per input row, in file order", () => {
    // 02:00..02:55 every 5 min, then the clock steps back to 02:00 and runs on to 03:55.
    const stamp = (m: number) => new Date(Date.UTC(2014, 0, 7, 2) + m * 60_000).toISOString().replace('T', ' ').slice(0, 19);
    const minutes = [...Array.from({ length: 12 }, (_, i) => i * 5), ...Array.from({ length: 24 }, (_, i) => i * 5)];
    const text = ['timestamp,value', ...minutes.map((m, i) => `${stamp(m)},${80 + i * 0.1}`)].join('\n');
    const { rows, errorCount, warningCount, warnings } = parseTimeseriesCsv(text);
    expect(errorCount).toBe(0);
    expect(rows).toHaveLength(36);
    expect(rows.map((r) => r.line)).toEqual(Array.from({ length: 36 }, (_, i) => i + 2));
    expect(rows[12]?.timestamp).toBe('2014-01-07 02:00:00');
    expect(warningCount).toBe(1);
    expect(warnings[0]?.line).toBe(14);
  });

  it('accepts repeated timestamps without a warning', () => {
    const { rows, warningCount, errorCount } = parseTimeseriesCsv('timestamp,value\n2014-03-09 03:00:00,1\n2014-03-09 03:00:00,2\n2014-03-09 03:05:00,3\n');
    expect(rows).toHaveLength(3);
    expect(warningCount + errorCount).toBe(0);
  });

  it('rejects NaN and Infinity values', () => {
    const { errors } = parseTimeseriesCsv('timestamp,value\n1,NaN\n2,Infinity\n3,1e999\n');
    expect(errors.map((e) => e.line)).toEqual([2, 3, 4]);
  });

  it('caps the detailed error list but counts every bad row', () => {
    const lines = ['timestamp,value', ...Array.from({ length: 50 }, (_, i) => `${i + 1},x`)];
    const { errors, errorCount } = parseTimeseriesCsv(lines.join('\n'), { maxErrors: 10 });
    expect(errors).toHaveLength(10);
    expect(errorCount).toBe(50);
  });

  it('fails on a missing header or column', () => {
    expect(() => parseTimeseriesCsv('1700000000,1\n')).toThrow(TimeseriesCsvError);
    expect(() => parseTimeseriesCsv('time,value\n1,1\n')).toThrow(/timestamp/);
    expect(() => parseTimeseriesCsv('')).toThrow(/empty input/);
  });

  it('fails when maxRows is exceeded', () => {
    const text = 'timestamp,value\n1,1\n2,2\n3,3\n';
    expect(parseTimeseriesCsv(text, { maxRows: 3 }).rows).toHaveLength(3);
    expect(() => parseTimeseriesCsv(text, { maxRows: 2 })).toThrow(expect.objectContaining({ code: 'too-many-rows' }));
  });

  it('handles quoted fields', () => {
    const { rows } = parseTimeseriesCsv('timestamp,value,note\n"2024-01-01T00:00:00Z","1.5","a, ""b"""\n');
    expect(rows[0]).toMatchObject({ value: 1.5, extra: { note: 'a, "b"' } });
  });

  it('parses a million rows through the incremental parser', () => {
    const parser = createTimeseriesCsvParser();
    parser.line('timestamp,value');
    for (let i = 0; i < 1_000_000; i++) parser.line(`${1_700_000_000_000 + i * 100},${(i % 1024) * 0.0048828125}`);
    const { rows, errorCount } = parser.finish();
    expect(rows).toHaveLength(1_000_000);
    expect(errorCount).toBe(0);
    expect(rows[999_999]).toMatchObject({ ts: 1_700_000_000_000 + 999_999 * 100 });
  });
});

describe('formatScoresCsv', () => {
  it('writes the header, timestamps as read, and is_anomaly as 0/1', () => {
    const out = formatScoresCsv([
      { timestamp: '2014-04-01 00:00:00', value: 1.5, anomaly_score: 0.1234567, is_anomaly: false },
      { timestamp: '1700000000', value: 2, anomaly_score: 0.9, is_anomaly: true },
    ]);
    expect(out).toBe(`${SCORES_CSV_HEADER}\n2014-04-01 00:00:00,1.5,0.123457,0\n1700000000,2,0.9,1\n`);
  });

  it('round-trips through the parser', () => {
    const input = 'timestamp,value\n2024-01-01T00:00:00.100Z,1.25\n2024-01-01T00:00:00.200Z,1.3\n';
    const { rows } = parseTimeseriesCsv(input);
    const out = formatScoresCsv(rows.map((r) => ({ ...r, anomaly_score: 0, is_anomaly: false })));
    const again = parseTimeseriesCsv(out);
    expect(again.rows.map((r) => [r.timestamp, r.value, r.extra])).toEqual([
      ['2024-01-01T00:00:00.100Z', 1.25, { anomaly_score: '0', is_anomaly: '0' }],
      ['2024-01-01T00:00:00.200Z', 1.3, { anomaly_score: '0', is_anomaly: '0' }],
    ]);
  });
});
