/**
 * Time-series CSV reading and writing, shared by the CLI and recording uploads.
 *
 * Input: a header row naming (case-insensitively) a `timestamp` and a `value` column; other
 * columns (e.g. NAB's `label`) are kept per row. Timestamps may be NAB-style
 * `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), ISO 8601, or epoch seconds / milliseconds.
 * Pure: no I/O. Feed lines one at a time with {@link createTimeseriesCsvParser} to stream, or
 * a whole text with {@link parseTimeseriesCsv}.
 * @module
 */

/** One good data row. `timestamp` is the text as read, so it can be written back unchanged. */
export interface TimeseriesCsvRow {
  /** 1-based line number in the input. */
  line: number;
  timestamp: string;
  /** Epoch milliseconds (UTC). */
  ts: number;
  value: number;
  /** Values of the other columns, present only when the file has any. */
  extra?: Record<string, string>;
}

export interface TimeseriesCsvRowError {
  /** 1-based line number in the input. */
  line: number;
  reason: string;
}

export interface ParseTimeseriesCsvOptions {
  /** Drop bad rows and keep going. Without it the caller is expected to fail when `errors` is not empty. */
  skipBad?: boolean;
  /** Rejects input with more data rows than this (file-level error). */
  maxRows?: number;
  /** How many row errors (and warnings) to keep in detail; `errorCount` counts them all (default 1000). */
  maxErrors?: number;
  /**
   * A row whose timestamp is earlier than the previous row's (a clock that steps back, as in NAB's
   * `machine_temperature_system_failure.csv`): `keep` (default) keeps it in file order and lists
   * it in `warnings`; `reject` makes it a bad row (for stores that need time order).
   */
  clockStepBack?: 'keep' | 'reject';
}

export interface ParseTimeseriesCsvResult {
  rows: TimeseriesCsvRow[];
  /** Bad rows, in line order, at most `maxErrors` of them. */
  errors: TimeseriesCsvRowError[];
  /** Total number of bad rows, including those not kept in `errors`. */
  errorCount: number;
  /** Names of the extra columns, as written in the header. */
  extraColumns: string[];
  /** Rows kept with a remark (a clock that steps back), at most `maxErrors` of them. */
  warnings: TimeseriesCsvRowError[];
  warningCount: number;
}

export const TIMESERIES_CSV_ERROR_CODES = ['missing-header', 'missing-column', 'too-many-rows'] as const;
export type TimeseriesCsvErrorCode = (typeof TIMESERIES_CSV_ERROR_CODES)[number];

/** A problem with the file as a whole (as opposed to one bad row). The message is safe to show. */
export class TimeseriesCsvError extends Error {
  constructor(
    readonly code: TimeseriesCsvErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TimeseriesCsvError';
  }
}

const NAB_TS = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const ISO_TS = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
/** Epoch values at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const EPOCH_MS_THRESHOLD = 1e11;

/**
 * Parses one timestamp to epoch milliseconds, or returns `undefined`.
 * Timestamps without a zone are read as UTC.
 */
export function parseTimestamp(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (NUMERIC.test(s)) {
    const n = Number(s);
    if (!Number.isFinite(n)) return undefined;
    return Math.abs(n) >= EPOCH_MS_THRESHOLD ? n : n * 1000;
  }
  const m = NAB_TS.exec(s);
  if (m) {
    const [, y, mo, d, h, mi, sec, frac] = m;
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = sec === undefined ? 0 : Number(sec);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
    const ms = frac === undefined ? 0 : Number(`0.${frac}`) * 1000;
    const t = Date.UTC(Number(y), month - 1, day, hour, minute, second) + ms;
    // Date.UTC rolls 2021-02-30 over to March; reject instead.
    if (new Date(t).getUTCDate() !== day) return undefined;
    return t;
  }
  if (ISO_TS.test(s)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s) || !s.includes(':') ? s : `${s}Z`;
    const t = Date.parse(zoned.replace(' ', 'T'));
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}

/** Splits one CSV line; handles double-quoted fields with `""` escapes. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

export interface TimeseriesCsvParser {
  /** Feeds the next line (without its line terminator). Throws {@link TimeseriesCsvError} on file-level problems. */
  line(text: string): void;
  /** Ends the input and returns the result; throws if no header was seen. */
  finish(): ParseTimeseriesCsvResult;
}

/** An incremental parser: feed it lines (e.g. from `readline`) to parse files of millions of rows. */
export function createTimeseriesCsvParser(options: ParseTimeseriesCsvOptions = {}): TimeseriesCsvParser {
  const maxErrors = options.maxErrors ?? 1000;
  const maxRows = options.maxRows ?? Infinity;
  const rows: TimeseriesCsvRow[] = [];
  const errors: TimeseriesCsvRowError[] = [];
  let errorCount = 0;
  const warnings: TimeseriesCsvRowError[] = [];
  let warningCount = 0;
  const keepStepBack = (options.clockStepBack ?? 'keep') === 'keep';
  let lineNo = 0;
  let dataRows = 0;
  let header: { tsIdx: number; valueIdx: number; extra: Array<{ name: string; idx: number }>; width: number } | undefined;
  let lastTs = -Infinity;

  const fail = (line: number, reason: string): void => {
    errorCount++;
    if (errors.length < maxErrors) errors.push({ line, reason });
  };

  return {
    line(raw: string): void {
      lineNo++;
      let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') return;
      const fields = splitCsvLine(text);
      if (!header) {
        const names = fields.map((f) => f.trim().toLowerCase());
        const tsIdx = names.indexOf('timestamp');
        const valueIdx = names.indexOf('value');
        if (tsIdx < 0 && valueIdx < 0 && parseTimestamp(fields[0] ?? '') !== undefined) {
          throw new TimeseriesCsvError('missing-header', `line ${lineNo}: expected a header row "timestamp,value", found data.`);
        }
        const missing = [tsIdx < 0 ? 'timestamp' : '', valueIdx < 0 ? 'value' : ''].filter(Boolean);
        if (missing.length > 0) {
          throw new TimeseriesCsvError(
            'missing-column',
            `line ${lineNo}: header must name a ${missing.join(' and a ')} column (found: ${fields.join(',')}).`,
          );
        }
        const extra = fields
          .map((name, idx) => ({ name: name.trim(), idx }))
          .filter(({ idx }) => idx !== tsIdx && idx !== valueIdx);
        header = { tsIdx, valueIdx, extra, width: fields.length };
        return;
      }
      dataRows++;
      if (dataRows > maxRows) {
        throw new TimeseriesCsvError('too-many-rows', `more than ${maxRows} data rows.`);
      }
      const tsText = (fields[header.tsIdx] ?? '').trim();
      const valueText = (fields[header.valueIdx] ?? '').trim();
      if (tsText === '') return fail(lineNo, 'missing timestamp');
      const ts = parseTimestamp(tsText);
      if (ts === undefined) return fail(lineNo, `unparseable timestamp "${clip(tsText)}"`);
      if (valueText === '') return fail(lineNo, 'missing value');
      const value = NUMERIC.test(valueText) ? Number(valueText) : NaN;
      if (!Number.isFinite(value)) return fail(lineNo, `unparseable value "${clip(valueText)}"`);
      if (ts < lastTs) {
        const reason = `timestamp "${clip(tsText)}" is earlier than the previous row`;
        if (!keepStepBack) return fail(lineNo, reason);
        warningCount++;
        if (warnings.length < maxErrors) warnings.push({ line: lineNo, reason: `${reason}; kept in file order` });
      }
      lastTs = ts;
      const row: TimeseriesCsvRow = { line: lineNo, timestamp: tsText, ts, value };
      if (header.extra.length > 0) {
        const extra: Record<string, string> = {};
        for (const { name, idx } of header.extra) extra[name] = fields[idx] ?? '';
        row.extra = extra;
      }
      rows.push(row);
    },
    finish(): ParseTimeseriesCsvResult {
      if (!header) throw new TimeseriesCsvError('missing-header', 'empty input: expected a header row "timestamp,value".');
      return { rows, errors, errorCount, extraColumns: header.extra.map((e) => e.name), warnings, warningCount };
    },
  };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * Parses a whole `timestamp,value[,...]` CSV text.
 * Bad rows are left out of `rows` and listed in `errors` with their line numbers; unless
 * `skipBad` is set the caller should treat a non-empty `errors` as a failure.
 * @throws {TimeseriesCsvError} when the header is missing or incomplete, or `maxRows` is exceeded.
 */
export function parseTimeseriesCsv(text: string, options: ParseTimeseriesCsvOptions = {}): ParseTimeseriesCsvResult {
  const parser = createTimeseriesCsvParser(options);
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    parser.line(text.slice(start, end));
    start = end + 1;
  }
  return parser.finish();
}

/** One line of the scores CSV. */
export interface ScoreCsvRow {
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: boolean;
}

export const SCORES_CSV_HEADER = 'timestamp,value,anomaly_score,is_anomaly';

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Formats one scores row (without a line terminator); `is_anomaly` is written as 0/1. */
export function formatScoreCsvRow(row: ScoreCsvRow): string {
  const score = Number.isFinite(row.anomaly_score) ? Number(row.anomaly_score.toFixed(6)) : 0;
  return `${csvField(row.timestamp)},${row.value},${score},${row.is_anomaly ? 1 : 0}`;
}

/** Formats a whole scores CSV, header included, with a trailing newline. */
export function formatScoresCsv(rows: Iterable<ScoreCsvRow>): string {
  const lines = [SCORES_CSV_HEADER];
  for (const r of rows) lines.push(formatScoreCsvRow(r));
  return `${lines.join('\n')}\n`;
}
