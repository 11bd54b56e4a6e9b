import type { Kysely, Selectable } from 'kysely';
import type { DB, DetectionLogsTable } from '../../db/schema.ts';
import { skipDuplicates } from '../../db/dialect.ts';
import { fromDbBool } from '../../db/time.ts';

export interface SessionRow {
  id: number;
  userId: number;
  modelId: number | null;
  modelName: string | null;
  deviceId: number | null;
  status: string;
  threshold: number;
  startedAt: string;
  endedAt: string | null;
  totalPredictions: number;
  anomalyCount: number;
  finalAnalysis: string | null;
}

/** One `detection_logs` row as the log writer buffers it. */
export type LogInsert = Omit<Selectable<DetectionLogsTable>, 'id'>;

export interface LogRow {
  id: number;
  timestamp: string;
  value: number;
  anomalyScore: number;
  isAnomaly: boolean;
  confidence: number;
  explanation: string | null;
}

/** Rows per INSERT statement: well under SQLite's 32,766 and MySQL's 65,535 bound parameters. */
const INSERT_CHUNK = 1000;

export function createDetectionRepository(db: Kysely<DB>) {
  const sessionColumns = [
    'detection_sessions.id',
    'detection_sessions.user_id',
    'detection_sessions.model_id',
    'ml_models.name as model_name',
    'detection_sessions.device_id',
    'detection_sessions.status',
    'detection_sessions.threshold',
    'detection_sessions.started_at',
    'detection_sessions.ended_at',
    'detection_sessions.total_predictions',
    'detection_sessions.anomaly_count',
    'detection_sessions.final_analysis',
  ] as const;
  const baseSessions = () =>
    db.selectFrom('detection_sessions').leftJoin('ml_models', 'ml_models.id', 'detection_sessions.model_id').select(sessionColumns);
  type Raw = Awaited<ReturnType<ReturnType<typeof baseSessions>['executeTakeFirstOrThrow']>>;
  const toSession = (r: Raw): SessionRow => ({
    id: r.id,
    userId: r.user_id,
    modelId: r.model_id,
    modelName: r.model_name,
    deviceId: r.device_id,
    status: r.status,
    threshold: r.threshold,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    totalPredictions: Number(r.total_predictions),
    anomalyCount: Number(r.anomaly_count),
    finalAnalysis: r.final_analysis,
  });

  return {
    async insertSession(s: { userId: number; modelId: number; deviceId: number; threshold: number; now: string }): Promise<number> {
      const res = await db
        .insertInto('detection_sessions')
        .values({
          user_id: s.userId,
          model_id: s.modelId,
          device_id: s.deviceId,
          status: 'running',
          threshold: s.threshold,
          started_at: s.now,
          total_predictions: 0,
          anomaly_count: 0,
          created_at: s.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async finishSession(
      id: number,
      f: { status: string; endedAt: string; threshold: number; totalPredictions: number; anomalyCount: number; finalAnalysis: string },
    ): Promise<void> {
      await db
        .updateTable('detection_sessions')
        .set({
          status: f.status,
          ended_at: f.endedAt,
          threshold: f.threshold,
          total_predictions: f.totalPredictions,
          anomaly_count: f.anomalyCount,
          final_analysis: f.finalAnalysis,
        })
        .where('id', '=', id)
        .execute();
    },

    async findSession(id: number): Promise<SessionRow | undefined> {
      const r = await baseSessions().where('detection_sessions.id', '=', id).executeTakeFirst();
      return r && toSession(r);
    },

    /** Newest first; `beforeId` is the keyset cursor. */
    async listSessions(userId: number, page: { limit: number; beforeId?: number }): Promise<SessionRow[]> {
      let q = baseSessions().where('detection_sessions.user_id', '=', userId);
      if (page.beforeId !== undefined) q = q.where('detection_sessions.id', '<', page.beforeId);
      const rows = await q.orderBy('detection_sessions.id', 'desc').limit(page.limit).execute();
      return rows.map(toSession);
    },

    /** Sessions whose row says `running` (of one user when given), oldest first. */
    async listRunning(userId?: number): Promise<SessionRow[]> {
      let q = baseSessions().where('detection_sessions.status', '=', 'running');
      if (userId !== undefined) q = q.where('detection_sessions.user_id', '=', userId);
      const rows = await q.orderBy('detection_sessions.id', 'asc').execute();
      return rows.map(toSession);
    },

    /** Sessions left `running` by a process that died: closed with the counts their logs prove. */
    async closeOrphans(now: string): Promise<number> {
      const orphans = await db.selectFrom('detection_sessions').select('id').where('status', '=', 'running').execute();
      for (const { id } of orphans) {
        const c = await db
          .selectFrom('detection_logs')
          .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('is_anomaly').as('a')])
          .where('session_id', '=', id)
          .executeTakeFirstOrThrow();
        await db
          .updateTable('detection_sessions')
          .set({ status: 'interrupted', ended_at: now, total_predictions: Number(c.n), anomaly_count: Number(c.a ?? 0) })
          .where('id', '=', id)
          .where('status', '=', 'running')
          .execute();
      }
      return orphans.length;
    },

    /** Idempotent: a row whose (session_id, seq) is stored already is skipped. */
    async insertLogs(rows: readonly LogInsert[]): Promise<void> {
      if (rows.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await skipDuplicates(db, trx.insertInto('detection_logs').values(rows.slice(i, i + INSERT_CHUNK)), 'seq').execute();
        }
      });
    },

    /** The highest sequence number logged for the session (0 when none). */
    async maxSeq(sessionId: number): Promise<number> {
      const r = await db.selectFrom('detection_logs').select((eb) => eb.fn.max('seq').as('m')).where('session_id', '=', sessionId).executeTakeFirst();
      return Number(r?.m ?? 0);
    },

    /** Rows of a session (only anomalies, only up to a sequence number when asked). */
    async countLogs(sessionId: number, anomaliesOnly = false, maxSeq?: number): Promise<number> {
      let q = db.selectFrom('detection_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('session_id', '=', sessionId);
      if (anomaliesOnly) q = q.where('is_anomaly', '=', 1);
      if (maxSeq !== undefined) q = q.where('seq', '<=', maxSeq);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },

    /** In id order; `afterId` is the keyset cursor. */
    async listLogs(sessionId: number, page: { limit: number; afterId?: number; anomaliesOnly?: boolean }): Promise<LogRow[]> {
      let q = db
        .selectFrom('detection_logs')
        .select(['id', 'timestamp', 'value', 'anomaly_score', 'is_anomaly', 'confidence', 'explanation'])
        .where('session_id', '=', sessionId);
      if (page.anomaliesOnly) q = q.where('is_anomaly', '=', 1);
      if (page.afterId !== undefined) q = q.where('id', '>', page.afterId);
      const rows = await q.orderBy('id', 'asc').limit(page.limit).execute();
      return rows.map((r) => ({
        id: Number(r.id),
        timestamp: r.timestamp,
        value: r.value,
        anomalyScore: r.anomaly_score,
        isAnomaly: fromDbBool(r.is_anomaly),
        confidence: r.confidence,
        explanation: r.explanation,
      }));
    },

    async getWebhook(userId: number): Promise<string | undefined> {
      const r = await db.selectFrom('alert_webhooks').select('url').where('user_id', '=', userId).executeTakeFirst();
      return r?.url;
    },

    async setWebhook(userId: number, url: string | null, now: string): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('alert_webhooks').where('user_id', '=', userId).execute();
        if (url !== null) await trx.insertInto('alert_webhooks').values({ user_id: userId, url, created_at: now, updated_at: now }).execute();
      });
    },
  };
}

export type DetectionRepository = ReturnType<typeof createDetectionRepository>;
