/** Rollup resolutions, in seconds: one row per session per minute and per hour. */
export const ROLLUP_RESOLUTIONS = [60, 3600] as const;
export type RollupResolution = (typeof ROLLUP_RESOLUTIONS)[number];

/** What a batch of logged readings adds to one rollup bucket. */
export interface RollupDelta {
  session_id: number;
  bucket_s: RollupResolution;
  /** Stored time (`YYYY-MM-DD HH:MM:SS.fff`) of the bucket's first instant. */
  bucket_start: string;
  n: number;
  value_sum: number;
  value_min: number;
  value_max: number;
  anomaly_count: number;
  max_score: number;
}

/** A rollup row's key, and how a delta merges into the stored row (the repository's upsert). */
export const ROLLUP_KEY = ['session_id', 'bucket_s', 'bucket_start'] as const;
export const ROLLUP_MERGES = { n: 'add', value_sum: 'add', value_min: 'min', value_max: 'max', anomaly_count: 'add', max_score: 'max' } as const;

export interface RollupInput {
  session_id: number;
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: number;
}

/** The bucket of a stored time: a prefix of `YYYY-MM-DD HH:MM:SS.fff` (the migration's backfill does the same). */
export function bucketStart(timestamp: string, bucketS: RollupResolution): string {
  return bucketS === 60 ? `${timestamp.slice(0, 16)}:00.000` : `${timestamp.slice(0, 13)}:00:00.000`;
}

/** Folds a batch of rows into one delta per (session, resolution, bucket): one upsert each, not one per reading. */
export function rollUp(rows: Iterable<RollupInput>): RollupDelta[] {
  const out = new Map<string, RollupDelta>();
  for (const r of rows) {
    for (const bucket_s of ROLLUP_RESOLUTIONS) {
      const bucket_start = bucketStart(r.timestamp, bucket_s);
      const key = `${r.session_id}|${bucket_s}|${bucket_start}`;
      const d = out.get(key);
      if (!d) {
        out.set(key, {
          session_id: r.session_id,
          bucket_s,
          bucket_start,
          n: 1,
          value_sum: r.value,
          value_min: r.value,
          value_max: r.value,
          anomaly_count: r.is_anomaly ? 1 : 0,
          max_score: r.anomaly_score,
        });
        continue;
      }
      d.n++;
      d.value_sum += r.value;
      if (r.value < d.value_min) d.value_min = r.value;
      if (r.value > d.value_max) d.value_max = r.value;
      if (r.is_anomaly) d.anomaly_count++;
      if (r.anomaly_score > d.max_score) d.max_score = r.anomaly_score;
    }
  }
  return [...out.values()];
}
