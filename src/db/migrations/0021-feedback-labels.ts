import { sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

/**
 * Alarm feedback as labels on sessions (`normal` for a false alarm, `anomalous` for a confirmed
 * alarm or a missed range), and the suppressions a false alarm can ask for.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('feedback_labels')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('session_id', 'integer', (c) => c.notNull())
    .addColumn('device_id', 'integer')
    .addColumn('model_id', 'integer')
    .addColumn('alarm_id', 'integer')
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('source', 'varchar(16)', (c) => c.notNull())
    .addColumn('signal', 'varchar(32)')
    .addColumn('start_at', ts, (c) => c.notNull())
    .addColumn('end_at', ts, (c) => c.notNull())
    .addColumn('note', 'varchar(500)')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('feedback_labels_session_idx').on('feedback_labels').columns(['user_id', 'session_id', 'start_at']).execute();
  await db.schema.createIndex('feedback_labels_model_idx').on('feedback_labels').columns(['user_id', 'model_id']).execute();
  await db.schema.createIndex('feedback_labels_alarm_idx').on('feedback_labels').column('alarm_id').execute();

  await db.schema
    .createTable('alarm_suppressions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('device_id', 'integer', (c) => c.notNull())
    .addColumn('signal', 'varchar(32)', (c) => c.notNull())
    .addColumn('max_deviation', 'double precision')
    .addColumn('max_score', 'double precision', (c) => c.notNull())
    .addColumn('alarm_id', 'integer')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alarm_suppressions_owner_idx').on('alarm_suppressions').columns(['user_id', 'device_id', 'signal']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alarm_suppressions').execute();
  await db.schema.dropTable('feedback_labels').execute();
}
