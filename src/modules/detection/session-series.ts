import { dbTimeToMs, toDbTime } from '../../db/time.ts';
import { AppError } from '../../lib/errors.ts';
import type { DetectionRepository, SeriesBucket } from './detection.repository.ts';

/** One point of a downsampled series: the aggregates of the readings in `[t, t + bucket_ms)`. */
export interface SeriesPoint {
  /** Bucket start, epoch ms. */
  t: number;
  count: number;
  min: number;
  max: number;
  mean: number;
  anomaly_count: number;
  max_score: number;
}

export interface SessionSeries {
  session_id: number;
  from: string | null;
  to: string | null;
  /** Where the points come from: the raw logs, or the 1-minute or 1-hour rollups. */
  source: 'raw' | 'rollup_1m' | 'rollup_1h';
  bucket_ms: number;
  points: SeriesPoint[];
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Above this many raw rows in the range, minute rollups are read instead (the rows are estimated from them). */
export const RAW_ROWS_MAX = 200_000;

const roundUp = (x: number, step: number) => Math.ceil(x / step) * step;

/**
 * The min/max-downsampled series of a stored session: at most `points` buckets between `from` and
 * `to` (default: the session's logged span), each with count, min, max, mean, anomalies and the
 * highest score. Short ranges are aggregated from the raw logs in SQL; a range whose buckets are a
 * minute or longer (or that holds more than {@link RAW_ROWS_MAX} rows) reads the minute rollups,
 * an hour or longer the hour rollups, so a month-long session costs a few hundred rollup rows.
 */
export function createSessionSeries(deps: { repo: DetectionRepository; owned(userId: number, id: number): Promise<unknown> }) {
  const { repo } = deps;

  function parseTime(v: string | undefined, what: string): number | undefined {
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (!Number.isFinite(ms)) throw new AppError('invalid-time-range', `\`${what}\` is not a date-time.`);
    return ms;
  }

  function merge(into: Map<number, SeriesBucket>, b: SeriesBucket) {
    const x = into.get(b.index);
    if (!x) return void into.set(b.index, { ...b });
    x.n += b.n;
    x.sum += b.sum;
    x.min = Math.min(x.min, b.min);
    x.max = Math.max(x.max, b.max);
    x.anomalies += b.anomalies;
    x.maxScore = Math.max(x.maxScore, b.maxScore);
  }

  return {
    async series(userId: number, id: number, q: { points: number; from?: string; to?: string }): Promise<SessionSeries> {
      await deps.owned(userId, id);
      const qFrom = parseTime(q.from, 'from');
      const qTo = parseTime(q.to, 'to');
      if (qFrom !== undefined && qTo !== undefined && qFrom >= qTo) throw new AppError('invalid-time-range', '`from` must be before `to`.');
      const span = await repo.rollupSpan(id);
      const empty = (source: SessionSeries['source'] = 'raw'): SessionSeries => ({
        session_id: id,
        from: qFrom !== undefined ? new Date(qFrom).toISOString() : null,
        to: qTo !== undefined ? new Date(qTo).toISOString() : null,
        source,
        bucket_ms: 0,
        points: [],
      });
      if (!span) return empty();
      const fromMs = qFrom ?? dbTimeToMs(span.first);
      const toMs = qTo ?? dbTimeToMs(span.last) + MINUTE - 1;
      if (fromMs >= toMs) return empty();

      let width = Math.max(1, Math.ceil((toMs - fromMs + 1) / q.points));
      let source: SessionSeries['source'] = width >= HOUR ? 'rollup_1h' : width >= MINUTE ? 'rollup_1m' : 'raw';
      if (source === 'raw') {
        // At most `points` minutes: a cheap estimate of the raw rows in range.
        const rows = (await repo.listRollups(id, 60, toDbTime(Math.floor(fromMs / MINUTE) * MINUTE), toDbTime(toMs))).reduce((n, r) => n + r.n, 0);
        if (rows > RAW_ROWS_MAX) source = 'rollup_1m';
      }

      const buckets = new Map<number, SeriesBucket>();
      let base = fromMs;
      if (source === 'raw') {
        for (const b of await repo.rawBuckets(id, toDbTime(fromMs), toDbTime(toMs), width)) merge(buckets, { ...b, index: Math.min(b.index, q.points - 1) });
      } else {
        const res = source === 'rollup_1h' ? HOUR : MINUTE;
        base = Math.floor(fromMs / res) * res;
        width = roundUp(Math.ceil((toMs - base + 1) / q.points), res);
        for (const b of await repo.rollupBuckets(id, res / 1000, toDbTime(base), toDbTime(toMs), width)) merge(buckets, { ...b, index: Math.min(b.index, q.points - 1) });
      }
      const points = [...buckets.values()]
        .sort((a, b) => a.index - b.index)
        .map((b) => ({
          t: base + b.index * width,
          count: b.n,
          min: b.min,
          max: b.max,
          mean: b.sum / b.n,
          anomaly_count: b.anomalies,
          max_score: b.maxScore,
        }));
      return { session_id: id, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), source, bucket_ms: width, points };
    },
  };
}
