/**
 * The CPU-heavy work on a recording's series, as pure functions: parsing and checking an upload,
 * stats, the stored file's text, the chart's downsampling and the labelled export. They run in the
 * recordings' worker thread (series.worker.ts) for big inputs, inline for small ones, and keep the
 * series columnar (`Float64Array` timestamps and values) so results cross threads by transfer.
 * @module
 */
import { parseTimeseriesCsv, TimeseriesCsvError, type TimeseriesCsvRow } from '../../lib/timeseries-csv.ts';
import type { RecordingStats } from './recordings.repository.ts';

/** Header of a stored recording file; each line below it is {@link storedCsvLine}. */
export const STORED_CSV_HEADER = 'timestamp,value\n';

/** One line of a stored recording file. */
export const storedCsvLine = (ts: number, value: number): string =>
  `${new Date(ts).toISOString()},${value}\n`;

const LABEL_VALUES = new Set(['1', 'true', 'yes', 'anomaly', 'anomalous']);

/** A series in columns: `ts[i]` (epoch ms) goes with `values[i]`. */
export interface SeriesColumns {
  ts: Float64Array;
  values: Float64Array;
}

export interface SeriesSummary {
  count: number;
  stats: RecordingStats | null;
  first: number | undefined;
  last: number | undefined;
}

/** Streaming min/max/mean/std and median sampling rate of a series (uploads and live recordings alike). */
export function createSeriesAccumulator() {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  let first: number | undefined;
  let last: number | undefined;
  const gaps: number[] = [];
  return {
    push(ts: number, value: number) {
      n++;
      const d = value - mean;
      mean += d / n;
      m2 += d * (value - mean);
      min = Math.min(min, value);
      max = Math.max(max, value);
      if (last !== undefined && gaps.length < 5000) gaps.push(ts - last);
      first ??= ts;
      last = ts;
    },
    get count() {
      return n;
    },
    result(): SeriesSummary {
      if (n === 0) return { count: 0, stats: null, first, last };
      gaps.sort((a, b) => a - b);
      const median = gaps.length > 0 ? (gaps[Math.floor(gaps.length / 2)] as number) : 0;
      const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
      return {
        count: n,
        stats: {
          min,
          max,
          mean: r4(mean),
          std: r4(n > 1 ? Math.sqrt(m2 / (n - 1)) : 0),
          sample_rate_hz: median > 0 ? r4(1000 / median) : 0,
        },
        first,
        last,
      };
    },
  };
}

export function summarize(s: SeriesColumns): SeriesSummary {
  const acc = createSeriesAccumulator();
  for (let i = 0; i < s.ts.length; i++) acc.push(s.ts[i] as number, s.values[i] as number);
  return acc.result();
}

function toColumns(rows: readonly TimeseriesCsvRow[]): SeriesColumns {
  const ts = new Float64Array(rows.length);
  const values = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as TimeseriesCsvRow;
    ts[i] = r.ts;
    values[i] = r.value;
  }
  return { ts, values };
}

/**
 * A stored recording file's readings. Bad rows (a live recording's half-written last line) are
 * skipped, as are rows earlier than the one before.
 * @throws {TimeseriesCsvError} when the text has no header.
 */
export function parseStoredSeries(text: string): SeriesColumns {
  return toColumns(parseTimeseriesCsv(text, { skipBad: true }).rows);
}

/** Min/max per bucket: keeps spikes visible in a chart of a few hundred points. */
export function downsampleColumns(s: SeriesColumns, points: number): SeriesColumns {
  const n = s.ts.length;
  if (n <= points) return { ts: s.ts.slice(), values: s.values.slice() };
  const buckets = Math.max(1, Math.floor(points / 2));
  const size = n / buckets;
  const ts = new Float64Array(buckets * 2);
  const values = new Float64Array(buckets * 2);
  let k = 0;
  const put = (i: number) => {
    ts[k] = s.ts[i] as number;
    values[k] = s.values[i] as number;
    k++;
  };
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(n, Math.floor((b + 1) * size));
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      const v = s.values[i] as number;
      if (v < (s.values[lo] as number)) lo = i;
      if (v > (s.values[hi] as number)) hi = i;
    }
    if (lo === hi) put(lo);
    else if ((s.ts[lo] as number) <= (s.ts[hi] as number)) {
      put(lo);
      put(hi);
    } else {
      put(hi);
      put(lo);
    }
  }
  return { ts: ts.slice(0, k), values: values.slice(0, k) };
}

/** `[ts, value]` pairs, the chart format of the API. */
export function seriesPairs(s: SeriesColumns): Array<[number, number]> {
  const out = new Array<[number, number]>(s.ts.length);
  for (let i = 0; i < s.ts.length; i++) out[i] = [s.ts[i] as number, s.values[i] as number];
  return out;
}

/** Rows flagged in a `label` column become anomalous segments (consecutive rows merge): `[start0, end0, start1, end1, …]`. */
function segmentsFromLabelColumn(rows: readonly TimeseriesCsvRow[]): Float64Array {
  const segments: number[] = [];
  let open: { start: number; end: number } | undefined;
  for (const r of rows) {
    const extra = r.extra ?? {};
    const key = Object.keys(extra).find((k) => k.toLowerCase() === 'label');
    const flagged = key !== undefined && LABEL_VALUES.has(String(extra[key]).trim().toLowerCase());
    if (flagged) {
      if (open) open.end = r.ts;
      else open = { start: r.ts, end: r.ts };
    } else if (open) {
      segments.push(open.start, open.end);
      open = undefined;
    }
  }
  if (open) segments.push(open.start, open.end);
  return Float64Array.from(segments);
}

export interface UploadOptions {
  skipBad: boolean;
  /** More data rows than this: `payload-too-large`. */
  maxRows: number;
  /** How many bad rows to list in `details`. */
  maxErrors: number;
}

/** An upload checked and ready to store, or why it is refused (an `AppError` code, message and details). */
export type UploadOutcome =
  | {
      ok: true;
      summary: SeriesSummary;
      /** Anomalous segments from a `label` column, `[start0, end0, …]` epoch ms. */
      segments: Float64Array;
      /** The stored file's content (UTF-8). */
      file: Uint8Array;
    }
  | {
      ok: false;
      code: 'invalid-csv' | 'payload-too-large';
      message: string;
      details?: Array<{ line: number; message: string }>;
    };

/**
 * Parses and checks an uploaded `timestamp,value[,label]` CSV, then computes what is stored: its
 * stats, its label segments and the file (`timestamp,value` in time order, ISO timestamps).
 */
export function prepareUpload(csv: string, opts: UploadOptions): UploadOutcome {
  let parsed;
  try {
    parsed = parseTimeseriesCsv(csv, {
      clockStepBack: 'reject',
      skipBad: opts.skipBad,
      maxRows: opts.maxRows,
      maxErrors: opts.maxErrors,
    });
  } catch (err) {
    if (err instanceof TimeseriesCsvError) {
      return {
        ok: false,
        code: err.code === 'too-many-rows' ? 'payload-too-large' : 'invalid-csv',
        message: err.message,
      };
    }
    throw err;
  }
  if (parsed.errorCount > 0 && !opts.skipBad) {
    return {
      ok: false,
      code: 'invalid-csv',
      message: `${parsed.errorCount} row(s) are not valid; fix them or send skip_bad=true.`,
      details: parsed.errors.map((e) => ({ line: e.line, message: e.reason })),
    };
  }
  if (parsed.rows.length === 0)
    return { ok: false, code: 'invalid-csv', message: 'The CSV has no data rows.' };
  // The parser refuses rows earlier than the previous one, so this is a check, not a sort.
  let rows = parsed.rows;
  for (let i = 1; i < rows.length; i++) {
    if ((rows[i] as TimeseriesCsvRow).ts < (rows[i - 1] as TimeseriesCsvRow).ts) {
      rows = [...rows].sort((a, b) => a.ts - b.ts);
      break;
    }
  }
  const series = toColumns(rows);
  const segments = segmentsFromLabelColumn(rows);
  const summary = summarize(series);
  return { ok: true, summary, segments, file: new TextEncoder().encode(formatStoredSeries(series)) };
}

/** A whole stored recording file. */
export function formatStoredSeries(s: SeriesColumns): string {
  const parts = new Array<string>(s.ts.length + 1);
  parts[0] = STORED_CSV_HEADER;
  for (let i = 0; i < s.ts.length; i++)
    parts[i + 1] = storedCsvLine(s.ts[i] as number, s.values[i] as number);
  return parts.join('');
}

/** Sorted, non-overlapping union of `[start0, end0, …]` segments. */
function mergeSegments(segments: Float64Array): Float64Array {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < segments.length; i += 2)
    pairs.push([segments[i] as number, segments[i + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [start, end] of pairs) {
    const n = out.length;
    if (n > 0 && start <= (out[n - 1] as number)) out[n - 1] = Math.max(out[n - 1] as number, end);
    else out.push(start, end);
  }
  return Float64Array.from(out);
}

/** Whether `ts` falls in one of the merged segments (both ends included). */
function inMerged(merged: Float64Array, ts: number): boolean {
  // The last segment starting at or before ts.
  let lo = 0;
  let hi = merged.length / 2 - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((merged[2 * mid] as number) <= ts) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found >= 0 && ts <= (merged[2 * found + 1] as number);
}

/** The export format: `timestamp,value,label`, label 1 inside an anomalous segment (`[start0, end0, …]`, ends included). */
export function formatExportCsv(s: SeriesColumns, segments: Float64Array): string {
  const merged = mergeSegments(segments);
  const parts = new Array<string>(s.ts.length + 1);
  parts[0] = 'timestamp,value,label\n';
  for (let i = 0; i < s.ts.length; i++) {
    const ts = s.ts[i] as number;
    parts[i + 1] = `${new Date(ts).toISOString()},${s.values[i]},${inMerged(merged, ts) ? 1 : 0}\n`;
  }
  return parts.join('');
}
