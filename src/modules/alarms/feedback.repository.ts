import type { Kysely, Selectable } from 'kysely';
import type { AlarmSuppressionsTable, DB, FeedbackLabelsTable } from '../../db/schema.ts';

export type FeedbackLabelRow = Selectable<FeedbackLabelsTable>;
export type SuppressionRow = Selectable<AlarmSuppressionsTable>;

/** Feedback labels and alarm suppressions: the only code touching their tables. */
export function createFeedbackRepository(db: Kysely<DB>) {
  return {
    /** Stores a label; an alarm's earlier label (from earlier feedback) is replaced. */
    async insertLabel(l: Omit<FeedbackLabelRow, 'id'>): Promise<FeedbackLabelRow> {
      return db.transaction().execute(async (trx) => {
        if (l.alarm_id !== null) await trx.deleteFrom('feedback_labels').where('alarm_id', '=', l.alarm_id).where('user_id', '=', l.user_id).execute();
        const r = await trx.insertInto('feedback_labels').values(l).executeTakeFirstOrThrow();
        return { ...l, id: Number(r.insertId) };
      });
    },

    async deleteAlarmLabels(userId: number, alarmId: number): Promise<void> {
      await db.deleteFrom('feedback_labels').where('alarm_id', '=', alarmId).where('user_id', '=', userId).execute();
    },

    async labelsForSession(userId: number, sessionId: number): Promise<FeedbackLabelRow[]> {
      return db.selectFrom('feedback_labels').selectAll().where('user_id', '=', userId).where('session_id', '=', sessionId).orderBy('start_at').orderBy('id').execute();
    },

    /** Labels on sessions that ran the model, newest first. */
    async labelsForModel(userId: number, modelId: number, limit = 500): Promise<FeedbackLabelRow[]> {
      return db.selectFrom('feedback_labels').selectAll().where('user_id', '=', userId).where('model_id', '=', modelId).orderBy('id', 'desc').limit(limit).execute();
    },

    async insertSuppression(s: Omit<SuppressionRow, 'id'>): Promise<number> {
      const r = await db.insertInto('alarm_suppressions').values(s).executeTakeFirstOrThrow();
      return Number(r.insertId);
    },

    async listSuppressions(userId?: number): Promise<SuppressionRow[]> {
      let q = db.selectFrom('alarm_suppressions').selectAll();
      if (userId !== undefined) q = q.where('user_id', '=', userId);
      return q.orderBy('id').execute();
    },

    async deleteSuppression(userId: number, id: number): Promise<boolean> {
      const r = await db.deleteFrom('alarm_suppressions').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

export type FeedbackRepository = ReturnType<typeof createFeedbackRepository>;
