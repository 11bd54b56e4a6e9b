import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

/**
 * Every logged reading carries its session's sequence number, unique per session, so a row
 * written twice (journal replay after a crash, a takeover re-scoring readings since the last
 * checkpoint) is written once. Existing rows take their id, which is unique already.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('detection_logs')
    .addColumn('seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update detection_logs set seq = id`.execute(db);
  await db.schema.createIndex('detection_logs_session_seq_uq').on('detection_logs').columns(['session_id', 'seq']).unique().execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const drop = db.schema.dropIndex('detection_logs_session_seq_uq');
  await (db.getExecutor().adapter instanceof MysqlAdapter ? drop.on('detection_logs') : drop).execute();
  await db.schema.alterTable('detection_logs').dropColumn('seq').execute();
}
