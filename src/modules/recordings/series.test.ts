import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../detectors/random.ts';
import {
  createSeriesAccumulator,
  downsampleColumns,
  formatExportCsv,
  formatStoredSeries,
  parseStoredSeries,
  prepareUpload,
  seriesPairs,
  summarize,
  type SeriesColumns,
} from './series.ts';
import { computeSeriesTask, runSeriesTask, transferablesOf } from './series.worker.ts';

const opts = { skipBad: false, maxRows: 1000, maxErrors: 50 };
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.UTC(2024, 0, 1);

function columns(pairs: Array<[number, number]>): SeriesColumns {
  return { ts: Float64Array.from(pairs.map((p) => p[0])), values: Float64Array.from(pairs.map((p) => p[1])) };
}

function randomSeries(n: number, seed: number): SeriesColumns {
  const rng = new Rng(seed);
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) pairs.push([T0 + i * 100, Math.round(rng.normal() * 1000) / 100]);
  return columns(pairs);
}

/** The chart downsampling as it was before it moved to columns (arrays of readings). */
function referenceDownsample(
  readings: Array<{ ts: number; value: number }>,
  points: number,
): Array<[number, number]> {
  if (readings.length <= points) return readings.map((r) => [r.ts, r.value]);
  const buckets = Math.max(1, Math.floor(points / 2));
  const size = readings.length / buckets;
  const out: Array<[number, number]> = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(readings.length, Math.floor((b + 1) * size));
    let lo = readings[from]!;
    let hi = lo;
    for (let i = from + 1; i < to; i++) {
      const r = readings[i]!;
      if (r.value < lo.value) lo = r;
      if (r.value > hi.value) hi = r;
    }
    if (lo === hi) out.push([lo.ts, lo.value]);
    else if (lo.ts <= hi.ts) out.push([lo.ts, lo.value], [hi.ts, hi.value]);
    else out.push([hi.ts, hi.value], [lo.ts, lo.value]);
  }
  return out;
}

describe('prepareUpload', () => {
  it('computes stats, label segments and the stored file (ISO timestamps, time order)', () => {
    const csv =
      'value,timestamp,label\n1,1704067200,0\n2,1704067201,1\n3,1704067202,yes\n9,1704067203,0\n5,1704067204,anomaly\n';
    const out = prepareUpload(csv, opts);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.summary).toEqual({
      count: 5,
      first: T0,
      last: T0 + 4000,
      stats: { min: 1, max: 9, mean: 4, std: 3.1623, sample_rate_hz: 1 },
    });
    expect([...out.segments]).toEqual([T0 + 1000, T0 + 2000, T0 + 4000, T0 + 4000]);
    expect(new TextDecoder().decode(out.file)).toBe(
      `timestamp,value\n${[1, 2, 3, 9, 5].map((v, i) => `${iso(T0 + i * 1000)},${v}\n`).join('')}`,
    );
  });

  it('answers invalid-csv with the line and reason of every bad row (up to maxErrors)', () => {
    const csv =
      'timestamp,value\n2024-01-01T00:00:00Z,1.5\nnot a time,1.6\n2024-01-01T00:00:02Z,abc\n2023-12-31T23:59:59Z,2\n2024-01-01T00:00:03Z,1.7\n';
    expect(prepareUpload(csv, opts)).toEqual({
      ok: false,
      code: 'invalid-csv',
      message: '3 row(s) are not valid; fix them or send skip_bad=true.',
      details: [
        { line: 3, message: 'unparseable timestamp "not a time"' },
        { line: 4, message: 'unparseable value "abc"' },
        { line: 5, message: 'timestamp "2023-12-31T23:59:59Z" is earlier than the previous row' },
      ],
    });
    const limited = prepareUpload(csv, { ...opts, maxErrors: 1 });
    expect(!limited.ok && limited.details).toEqual([
      { line: 3, message: 'unparseable timestamp "not a time"' },
    ]);
  });

  it('skips bad rows with skipBad', () => {
    const csv = 'timestamp,value\n2024-01-01T00:00:00Z,1.5\nnot a time,1.6\n2024-01-01T00:00:03Z,1.7\n';
    const out = prepareUpload(csv, { ...opts, skipBad: true });
    expect(out.ok && out.summary.count).toBe(2);
  });

  it('refuses files without the columns or data rows (invalid-csv) and with too many rows (payload-too-large)', () => {
    expect(prepareUpload('a,b\n1,2\n', opts)).toMatchObject({
      ok: false,
      code: 'invalid-csv',
      message: expect.stringMatching(/timestamp and a value/),
    });
    expect(prepareUpload('', opts)).toMatchObject({
      ok: false,
      code: 'invalid-csv',
      message: expect.stringMatching(/empty input/),
    });
    expect(prepareUpload('timestamp,value\n', opts)).toEqual({
      ok: false,
      code: 'invalid-csv',
      message: 'The CSV has no data rows.',
    });
    expect(prepareUpload('timestamp,value\nx,1\n', { ...opts, skipBad: true })).toEqual({
      ok: false,
      code: 'invalid-csv',
      message: 'The CSV has no data rows.',
    });
    const rows = Array.from({ length: 4 }, (_, i) => `${1704067200 + i},1`).join('\n');
    expect(prepareUpload(`timestamp,value\n${rows}\n`, { ...opts, maxRows: 3 })).toEqual({
      ok: false,
      code: 'payload-too-large',
      message: 'more than 3 data rows.',
    });
  });
});

describe('series columns', () => {
  it('reads a stored file back, skipping a half-written last line', () => {
    const s = randomSeries(50, 3);
    const text = formatStoredSeries(s);
    const back = parseStoredSeries(`${text}2024-01-01T00:0`);
    expect(back.ts).toEqual(s.ts);
    expect(back.values).toEqual(s.values);
  });

  it('summarizes exactly as the live recording accumulator does', () => {
    const s = randomSeries(7000, 4);
    const acc = createSeriesAccumulator();
    for (let i = 0; i < s.ts.length; i++) acc.push(s.ts[i]!, s.values[i]!);
    expect(summarize(s)).toEqual(acc.result());
    expect(summarize(columns([]))).toEqual({ count: 0, stats: null, first: undefined, last: undefined });
  });

  it.each([
    [10, 500],
    [500, 500],
    [501, 500],
    [100_003, 500],
    [9_999, 10],
  ])('downsamples %i readings to about %i points like the array version', (n, points) => {
    const s = randomSeries(n, n);
    const readings = Array.from(s.ts, (ts, i) => ({ ts, value: s.values[i]! }));
    const out = downsampleColumns(s, points);
    expect(seriesPairs(out)).toEqual(referenceDownsample(readings, points));
    expect(out.ts.length).toBeLessThanOrEqual(Math.max(points, 2));
  });

  it('exports timestamp,value,label with label 1 inside any segment, ends included (overlapping and unordered segments)', () => {
    const s = randomSeries(2000, 5);
    const rng = new Rng(9);
    const segs: number[] = [];
    for (let i = 0; i < 40; i++) {
      const start = T0 + rng.int(2000) * 100;
      segs.push(start, start + rng.int(30) * 100);
    }
    const segments = Float64Array.from(segs);
    const expected = Array.from(s.ts, (ts, i) => {
      let inside = false;
      for (let k = 0; k < segs.length; k += 2) if (ts >= segs[k]! && ts <= segs[k + 1]!) inside = true;
      return `${iso(ts)},${s.values[i]},${inside ? 1 : 0}\n`;
    });
    expect(formatExportCsv(s, segments)).toBe(`timestamp,value,label\n${expected.join('')}`);
    expect(formatExportCsv(columns([[T0, 1]]), new Float64Array())).toBe(
      `timestamp,value,label\n${iso(T0)},1,0\n`,
    );
  });
});

describe('series tasks (the worker entry, called directly)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-series-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores an accepted upload where asked and returns only typed arrays to move', () => {
    const store = path.join(dir, 'u1', 'rec.csv.tmp');
    const bytes = new TextEncoder().encode('\uFEFFtimestamp,value,label\n1704067200,1,1\n1704067201,2,0\n');
    const result = runSeriesTask({ type: 'upload', input: { data: bytes }, store, ...opts });
    expect(result).toMatchObject({ type: 'upload', outcome: { ok: true, summary: { count: 2 } } });
    expect(result.type === 'upload' && result.outcome.ok && [...result.outcome.segments]).toEqual([T0, T0]);
    expect(readFileSync(store, 'utf8')).toBe(`timestamp,value\n${iso(T0)},1\n${iso(T0 + 1000)},2\n`);
    expect(transferablesOf(result)).toHaveLength(1);
  });

  it('writes nothing for a refused upload', () => {
    const store = path.join(dir, 'u2', 'rec.csv.tmp');
    const result = runSeriesTask({
      type: 'upload',
      input: { data: 'timestamp,value\nnope,1\n' },
      store,
      ...opts,
    });
    expect(result).toMatchObject({
      type: 'upload',
      outcome: { ok: false, code: 'invalid-csv', details: [{ line: 2 }] },
    });
    expect(existsSync(store)).toBe(false);
    expect(
      computeSeriesTask(
        { type: 'upload', input: { data: '' }, store, ...opts, skipBad: true },
        'timestamp,value\nnope,1\n',
      ).store,
    ).toBeUndefined();
  });

  it('reads stored files for the chart, the export and the summary; a missing file is unreadable', () => {
    const file = path.join(dir, 'stored.csv');
    const s = randomSeries(3000, 6);
    writeFileSync(file, formatStoredSeries(s));
    const chart = runSeriesTask({ type: 'chart', input: { file }, points: 100 });
    expect(chart.type === 'chart' && seriesPairs(chart)).toEqual(seriesPairs(downsampleColumns(s, 100)));
    expect(transferablesOf(chart)).toHaveLength(2);
    const exported = runSeriesTask({
      type: 'export',
      input: { file },
      segments: Float64Array.of(T0, T0 + 100),
    });
    const csv = exported.type === 'export' ? new TextDecoder().decode(exported.csv) : '';
    expect(csv.split('\n').slice(0, 4)).toEqual([
      'timestamp,value,label',
      `${iso(T0)},${s.values[0]},1`,
      `${iso(T0 + 100)},${s.values[1]},1`,
      `${iso(T0 + 200)},${s.values[2]},0`,
    ]);
    expect(runSeriesTask({ type: 'summary', input: { file } })).toEqual({
      type: 'summary',
      summary: summarize(s),
    });
    expect(
      runSeriesTask({ type: 'chart', input: { file: path.join(dir, 'missing.csv') }, points: 100 }),
    ).toEqual({ type: 'unreadable' });
  });
});
