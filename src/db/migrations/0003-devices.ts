import { sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

const ts = sql`datetime(3)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('devices')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    // Null for the server's shared devices (the SERIAL_PORT Arduino, the demo simulator).
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'char(64)', (c) => c.unique())
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(0))
    .addColumn('system_key', 'varchar(32)', (c) => c.unique())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('devices_user_idx').on('devices').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('alert_webhooks')
    .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('alert_webhooks').ifExists().execute();
  await db.schema.dropTable('devices').ifExists().execute();
}
