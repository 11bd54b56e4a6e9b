import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

/**
 * Per-session rollups of the detection logs, one row per session, resolution (60 s or 3600 s) and
 * bucket: count, sum, min and max of the values, anomalies and the highest score. Kept much longer
 * than the raw rows (retention), read by the series endpoint for long ranges. Existing logs are
 * rolled up here once; new rows are rolled up as they are written.
 *
 * `detection_sessions.logs_pruned_seq`: the retention job's watermark (raw rows up to this
 * sequence number have been pruned), so a pass never rescans what it already pruned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
  await db.schema
    .createTable('detection_rollups')
    .addColumn('session_id', 'integer', (c) => c.notNull().references('detection_sessions.id').onDelete('cascade'))
    .addColumn('bucket_s', 'integer', (c) => c.notNull())
    .addColumn('bucket_start', ts, (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('value_sum', 'double precision', (c) => c.notNull())
    .addColumn('value_min', 'double precision', (c) => c.notNull())
    .addColumn('value_max', 'double precision', (c) => c.notNull())
    .addColumn('anomaly_count', 'integer', (c) => c.notNull())
    .addColumn('max_score', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('detection_rollups_pk', ['session_id', 'bucket_s', 'bucket_start'])
    .execute();

  await db.schema
    .alterTable('detection_sessions')
    .addColumn('logs_pruned_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();

  // Timestamps are 'YYYY-MM-DD HH:MM:SS.fff' in both dialects: a bucket is a prefix of it.
  for (const [bucketS, prefix, suffix] of [
    [60, 16, ':00.000'],
    [3600, 13, ':00:00.000'],
  ] as const) {
    const bucket = mysql ? sql`concat(substr(timestamp, 1, ${sql.lit(prefix)}), ${sql.lit(suffix)})` : sql`substr(timestamp, 1, ${sql.lit(prefix)}) || ${sql.lit(suffix)}`;
    await sql`insert into detection_rollups (session_id, bucket_s, bucket_start, n, value_sum, value_min, value_max, anomaly_count, max_score)
      select session_id, ${sql.lit(bucketS)}, ${bucket}, count(*), sum(value), min(value), max(value), sum(is_anomaly), max(anomaly_score)
      from detection_logs group by session_id, ${bucket}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('detection_rollups').ifExists().execute();
  await db.schema.alterTable('detection_sessions').dropColumn('logs_pruned_seq').execute();
}
