import { type Kysely } from 'kysely';

// Frozen in time: this file must never import application code.

/**
 * What a training job's fit had to say about its data (JSON array of sentences; e.g. a model fitted
 * on a short recording), shown with the job.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('training_jobs').addColumn('notes', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('training_jobs').dropColumn('notes').execute();
}
