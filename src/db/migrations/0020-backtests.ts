import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

/**
 * Backtests run as training jobs: a job gets a type, the session it scores (recordings are in
 * `recording_ids`), a threshold override, whether feedback labels join a retrain, and its result
 * (JSON: metrics and a downsampled scored series; MEDIUMTEXT on MySQL, whose TEXT stops at 64 KiB).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const big = db.getExecutor().adapter instanceof MysqlAdapter ? sql`mediumtext` : sql`text`;
  await db.schema.alterTable('training_jobs').addColumn('type', 'varchar(16)', (c) => c.notNull().defaultTo('train')).execute();
  await db.schema.alterTable('training_jobs').addColumn('session_id', 'integer').execute();
  await db.schema.alterTable('training_jobs').addColumn('threshold', 'double precision').execute();
  await db.schema.alterTable('training_jobs').addColumn('include_feedback', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('training_jobs').addColumn('result', big).execute();
  await db.schema.createIndex('training_jobs_type_idx').on('training_jobs').columns(['base_model_id', 'type', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const drop = db.schema.dropIndex('training_jobs_type_idx');
  await (db.getExecutor().adapter instanceof MysqlAdapter ? drop.on('training_jobs') : drop).execute();
  for (const c of ['result', 'include_feedback', 'threshold', 'session_id', 'type']) await db.schema.alterTable('training_jobs').dropColumn(c).execute();
}
