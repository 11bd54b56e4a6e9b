import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

/**
 * Compact `detection_logs` rows (issue 14, bounded storage): the table is rebuilt without
 * `user_id`, `model_id` (both the session's) and `created_at` (write time, never read); the
 * explanation JSON is kept only for anomalous readings, the others keep their `signal` in a short
 * column of its own. Rows are listed by `(session_id, seq)` (the unique index from 0005), so the
 * `(session_id, id)` index gives way to `(session_id, timestamp)`, which time ranges (series,
 * retention, alarm context) need.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
  const bigId = mysql ? 'bigint' : 'integer';
  await db.schema
    .createTable('detection_logs_compact')
    .addColumn('id', bigId, (c) => c.primaryKey().autoIncrement())
    .addColumn('session_id', 'integer', (c) => c.notNull().references('detection_sessions.id').onDelete('cascade'))
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('timestamp', ts, (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('anomaly_score', 'double precision', (c) => c.notNull())
    .addColumn('is_anomaly', 'boolean', (c) => c.notNull())
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('signal', 'varchar(32)', (c) => c.notNull().defaultTo('none'))
    .addColumn('explanation', 'text')
    .execute();
  const signal = mysql
    ? sql`coalesce(case when json_valid(explanation) then json_unquote(json_extract(explanation, '$.signal')) end, 'none')`
    : sql`coalesce(case when json_valid(explanation) then json_extract(explanation, '$.signal') end, 'none')`;
  await sql`insert into detection_logs_compact (id, session_id, seq, timestamp, value, anomaly_score, is_anomaly, confidence, ${sql.ref('signal')}, explanation)
    select id, session_id, seq, timestamp, value, anomaly_score, is_anomaly, confidence, substr(${signal}, 1, 32), case when is_anomaly = 1 then explanation else null end
    from detection_logs`.execute(db);
  await db.schema.dropTable('detection_logs').execute();
  await db.schema.alterTable('detection_logs_compact').renameTo('detection_logs').execute();
  await db.schema.createIndex('detection_logs_session_seq_uq').on('detection_logs').columns(['session_id', 'seq']).unique().execute();
  await db.schema.createIndex('detection_logs_session_time_idx').on('detection_logs').columns(['session_id', 'timestamp']).execute();
  await db.schema.createIndex('detection_logs_session_anomaly_idx').on('detection_logs').columns(['session_id', 'is_anomaly', 'seq']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const mysql = db.getExecutor().adapter instanceof MysqlAdapter;
  const bigId = mysql ? 'bigint' : 'integer';
  await db.schema
    .createTable('detection_logs_wide')
    .addColumn('id', bigId, (c) => c.primaryKey().autoIncrement())
    .addColumn('session_id', 'integer', (c) => c.notNull().references('detection_sessions.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('model_id', 'integer', (c) => c.references('ml_models.id').onDelete('set null'))
    .addColumn('timestamp', ts, (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('anomaly_score', 'double precision', (c) => c.notNull())
    .addColumn('is_anomaly', 'boolean', (c) => c.notNull())
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('explanation', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`insert into detection_logs_wide (id, session_id, user_id, model_id, timestamp, value, anomaly_score, is_anomaly, confidence, explanation, created_at, seq)
    select l.id, l.session_id, s.user_id, s.model_id, l.timestamp, l.value, l.anomaly_score, l.is_anomaly, l.confidence, coalesce(l.explanation, json_object('signal', ${sql.ref('l.signal')})), l.timestamp, l.seq
    from detection_logs l join detection_sessions s on s.id = l.session_id`.execute(db);
  await db.schema.dropTable('detection_logs').execute();
  await db.schema.alterTable('detection_logs_wide').renameTo('detection_logs').execute();
  await db.schema.createIndex('detection_logs_session_idx').on('detection_logs').columns(['session_id', 'id']).execute();
  await db.schema.createIndex('detection_logs_session_anomaly_idx').on('detection_logs').columns(['session_id', 'is_anomaly', 'id']).execute();
  await db.schema.createIndex('detection_logs_session_seq_uq').on('detection_logs').columns(['session_id', 'seq']).unique().execute();
}
