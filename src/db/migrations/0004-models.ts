import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ml_models').addColumn('preset_key', 'varchar(64)').execute();
  await db.schema
    .alterTable('ml_models')
    .addColumn('origin', 'varchar(16)', (c) => c.notNull().defaultTo('trained'))
    .execute();
  await db.schema.createIndex('ml_models_preset_key_idx').on('ml_models').column('preset_key').unique().execute();

  await db.schema
    .createTable('recordings')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('device_id', 'integer')
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('source', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('sample_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_samples', 'integer')
    .addColumn('duration_s', 'integer')
    .addColumn('first_ts', ts)
    .addColumn('last_ts', ts)
    .addColumn('stats', 'text', (c) => c.notNull())
    .addColumn('file_path', 'varchar(512)', (c) => c.notNull())
    .addColumn('file_size', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('started_at', ts, (c) => c.notNull())
    .addColumn('ended_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recordings_user_idx').on('recordings').columns(['user_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('recordings_status_idx').on('recordings').column('status').execute();

  await db.schema
    .createTable('recording_labels')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('recording_id', 'integer', (c) => c.notNull().references('recordings.id').onDelete('cascade'))
    .addColumn('start_at', ts, (c) => c.notNull())
    .addColumn('end_at', ts, (c) => c.notNull())
    .addColumn('note', 'varchar(200)')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('recording_labels_recording_idx').on('recording_labels').columns(['recording_id', 'start_at']).execute();

  await db.schema
    .createTable('training_jobs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('model_id', 'integer', (c) => c.references('ml_models.id').onDelete('set null'))
    .addColumn('base_model_id', 'integer', (c) => c.references('ml_models.id').onDelete('set null'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('material_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('recording_ids', 'text', (c) => c.notNull())
    .addColumn('evaluation_recording_id', 'integer', (c) => c.references('recordings.id').onDelete('set null'))
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('progress', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('stage', 'varchar(100)', (c) => c.notNull())
    .addColumn('queue', 'varchar(16)', (c) => c.notNull())
    .addColumn('runner', 'varchar(100)')
    .addColumn('error_code', 'varchar(64)')
    .addColumn('error', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('started_at', ts)
    .addColumn('finished_at', ts)
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('training_jobs_user_idx').on('training_jobs').columns(['user_id', 'status']).execute();
  await db.schema.createIndex('training_jobs_status_idx').on('training_jobs').columns(['status', 'queue']).execute();
  await db.schema.createIndex('training_jobs_model_idx').on('training_jobs').column('model_id').execute();
  await db.schema.createIndex('training_jobs_base_model_idx').on('training_jobs').column('base_model_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['training_jobs', 'recording_labels', 'recordings']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  const drop = db.schema.dropIndex('ml_models_preset_key_idx');
  await (db.getExecutor().adapter instanceof MysqlAdapter ? drop.on('ml_models') : drop).execute();
  await db.schema.alterTable('ml_models').dropColumn('origin').execute();
  await db.schema.alterTable('ml_models').dropColumn('preset_key').execute();
}
