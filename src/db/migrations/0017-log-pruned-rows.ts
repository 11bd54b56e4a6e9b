import type { Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

/**
 * `detection_sessions.logs_pruned_rows`: how many of the session's raw log rows retention deleted
 * (normal readings only), so counts taken from the logs (takeover, status of a session another
 * process runs, orphans closed at start) stay whole after retention.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('detection_sessions')
    .addColumn('logs_pruned_rows', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('detection_sessions').dropColumn('logs_pruned_rows').execute();
}
