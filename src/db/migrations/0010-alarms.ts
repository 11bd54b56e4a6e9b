import { sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('alarms')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('device_id', 'integer', (c) => c.notNull())
    .addColumn('session_id', 'integer', (c) => c.notNull())
    .addColumn('model_id', 'integer')
    .addColumn('signal', 'varchar(32)', (c) => c.notNull())
    .addColumn('severity', 'varchar(16)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('opened_at', ts, (c) => c.notNull())
    .addColumn('last_seen_at', ts, (c) => c.notNull())
    .addColumn('resolved_at', ts)
    .addColumn('resolved_by', 'varchar(16)')
    .addColumn('peak_score', 'double precision', (c) => c.notNull())
    .addColumn('peak_value', 'double precision', (c) => c.notNull())
    .addColumn('peak_expected', 'double precision')
    .addColumn('peak_at', ts, (c) => c.notNull())
    .addColumn('anomaly_count', 'integer', (c) => c.notNull())
    .addColumn('silenced', 'varchar(16)')
    .addColumn('acknowledged_by', 'integer')
    .addColumn('acknowledged_at', ts)
    .addColumn('note', 'varchar(500)')
    .addColumn('feedback', 'varchar(16)')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alarms_user_idx').on('alarms').columns(['user_id', 'opened_at', 'id']).execute();
  await db.schema.createIndex('alarms_session_idx').on('alarms').columns(['session_id', 'signal', 'state']).execute();
  await db.schema.createIndex('alarms_state_idx').on('alarms').columns(['state', 'user_id']).execute();

  await db.schema
    .createTable('alarm_rules')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // 0 = the user's defaults for every device.
    .addColumn('device_id', 'integer', (c) => c.notNull())
    .addColumn('rules', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alarm_rules_owner_idx').on('alarm_rules').columns(['user_id', 'device_id']).unique().execute();

  await db.schema
    .createTable('notification_channels')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('secret', 'varchar(200)')
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('notification_channels_user_idx').on('notification_channels').columns(['user_id', 'kind']).execute();

  await db.schema
    .createTable('alarm_deliveries')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('alarm_id', 'integer')
    .addColumn('channel_id', 'integer', (c) => c.notNull())
    .addColumn('event', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('response_status', 'integer')
    .addColumn('error', 'varchar(500)')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alarm_deliveries_alarm_idx').on('alarm_deliveries').columns(['alarm_id', 'id']).execute();
  await db.schema.createIndex('alarm_deliveries_channel_idx').on('alarm_deliveries').columns(['channel_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alarm_deliveries').execute();
  await db.schema.dropTable('notification_channels').execute();
  await db.schema.dropTable('alarm_rules').execute();
  await db.schema.dropTable('alarms').execute();
}
