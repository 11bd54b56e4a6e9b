import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

function isMysql(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof MysqlAdapter;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const mysql = isMysql(db);
  const bigId = mysql ? 'bigint' : 'integer';

  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('username', 'varchar(32)', (c) => c.notNull())
    .addColumn('username_key', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('email', 'varchar(254)', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('display_name', 'varchar(64)')
    .addColumn('bio', 'varchar(500)')
    .addColumn('selected_model_id', 'integer')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('family_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .addColumn('revoked_at', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('refresh_tokens_user_idx').on('refresh_tokens').column('user_id').execute();
  await db.schema.createIndex('refresh_tokens_family_idx').on('refresh_tokens').column('family_id').execute();

  await db.schema
    .createTable('ml_models')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('material_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('is_preset', 'boolean', (c) => c.notNull().defaultTo(0))
    .addColumn('visibility', 'varchar(16)', (c) => c.notNull().defaultTo('private'))
    .addColumn('accuracy', 'double precision')
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('metrics', 'text', (c) => c.notNull())
    .addColumn('file_path', 'varchar(512)', (c) => c.notNull())
    .addColumn('file_size', 'integer', (c) => c.notNull())
    .addColumn('checksum', 'char(64)', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ml_models_user_idx').on('ml_models').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('ml_models_preset_idx').on('ml_models').columns(['is_preset', 'id']).execute();

  await db.schema
    .createTable('detection_sessions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('model_id', 'integer', (c) => c.references('ml_models.id').onDelete('set null'))
    .addColumn('device_id', 'integer')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('started_at', ts, (c) => c.notNull())
    .addColumn('ended_at', ts)
    .addColumn('total_predictions', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('anomaly_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('final_analysis', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('detection_sessions_user_idx')
    .on('detection_sessions')
    .columns(['user_id', 'started_at', 'id'])
    .execute();

  await db.schema
    .createTable('detection_logs')
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
    .execute();
  await db.schema.createIndex('detection_logs_session_idx').on('detection_logs').columns(['session_id', 'id']).execute();
  await db.schema
    .createIndex('detection_logs_session_anomaly_idx')
    .on('detection_logs')
    .columns(['session_id', 'is_anomaly', 'id'])
    .execute();

  await db.schema
    .createTable('posts')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('session_id', 'integer', (c) => c.references('detection_sessions.id').onDelete('set null'))
    .addColumn('model_id', 'integer', (c) => c.references('ml_models.id').onDelete('set null'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('posts_created_idx').on('posts').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('posts_user_idx').on('posts').columns(['user_id', 'created_at', 'id']).execute();

  await db.schema
    .createTable('follows')
    .addColumn('follower_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('followed_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('follows_pk', ['follower_id', 'followed_id'])
    .execute();
  await db.schema.createIndex('follows_followed_idx').on('follows').columns(['followed_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['follows', 'posts', 'detection_logs', 'detection_sessions', 'ml_models', 'refresh_tokens', 'users']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
