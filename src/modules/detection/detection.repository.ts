import type { Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';
import { bucketIndex, bulkInsert, skipDuplicates, upsertMerging } from '../../db/dialect.ts';
import { fromDbBool } from '../../db/time.ts';
import { ROLLUP_KEY, ROLLUP_MERGES, rollUp, type RollupDelta } from './rollups.ts';

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

/** One scored reading as the log writer buffers (and journals) it; the repository decides how it is stored. */
export interface LogInsert {
  session_id: number;
  seq: number;
  user_id: number;
  model_id: number | null;
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: number;
  confidence: number;
  explanation: string | null;
  created_at: string;
  /** Set on a row that may be stored already (re-scored after a takeover): its batch is checked before the insert. */
  rescored?: boolean;
}

/** One downsampling bucket: its index (from the query's start) and the aggregates of its readings. */
export interface SeriesBucket {
  index: number;
  n: number;
  sum: number;
  min: number;
  max: number;
  anomalies: number;
  maxScore: number;
}

/** One stored rollup row. */
export interface RollupRow {
  bucketStart: string;
  n: number;
  sum: number;
  min: number;
  max: number;
  anomalies: number;
  maxScore: number;
}

export interface LogRow {
  id: number;
  seq: number;
  timestamp: string;
  value: number;
  anomalyScore: number;
  isAnomaly: boolean;
  confidence: number;
  signal: string;
  /** Stored for anomalous readings only. */
  explanation: string | null;
}

/** Rows per INSERT statement: well under SQLite's 32,766 and MySQL's 65,535 bound parameters. */
const INSERT_CHUNK = 1000;

const SIGNAL_PREFIX = '{"signal":"';

/** The signal named in an explanation (`none` when it names none). */
function signalOf(explanation: string | null): string {
  if (!explanation) return 'none';
  // The log writer's explanations start with the signal (session-logging.ts): no parse needed.
  if (explanation.startsWith(SIGNAL_PREFIX)) {
    const end = explanation.indexOf('"', SIGNAL_PREFIX.length);
    const s = explanation.slice(SIGNAL_PREFIX.length, end);
    if (end > SIGNAL_PREFIX.length && !s.includes('\\')) return s.slice(0, 32);
  }
  try {
    const s = (JSON.parse(explanation) as { signal?: unknown }).signal;
    return typeof s === 'string' && s.length > 0 ? s.slice(0, 32) : 'none';
  } catch {
    return 'none';
  }
}

/** The compact stored form of a log row (0016): no user/model/write time; the explanation only for anomalies. */
function compactRow(r: LogInsert) {
  return {
    session_id: r.session_id,
    seq: r.seq,
    timestamp: r.timestamp,
    value: r.value,
    anomaly_score: r.anomaly_score,
    is_anomaly: r.is_anomaly,
    confidence: r.confidence,
    signal: signalOf(r.explanation),
    explanation: r.is_anomaly ? r.explanation : null,
  };
}

/** The (session, seq) pairs of `rows` already stored: one query of per-session seq ranges on the unique index. */
async function storedSeqs(trx: Kysely<DB>, rows: readonly LogInsert[]): Promise<Set<string>> {
  const ranges = new Map<number, { lo: number; hi: number }>();
  for (const r of rows) {
    const x = ranges.get(r.session_id);
    if (!x) ranges.set(r.session_id, { lo: r.seq, hi: r.seq });
    else {
      if (r.seq < x.lo) x.lo = r.seq;
      if (r.seq > x.hi) x.hi = r.seq;
    }
  }
  const found = new Set<string>();
  const all = [...ranges];
  for (let i = 0; i < all.length; i += 300) {
    const part = all.slice(i, i + 300);
    const hits = await trx
      .selectFrom('detection_logs')
      .select(['session_id', 'seq'])
      .where((eb) => eb.or(part.map(([sid, x]) => eb.and([eb('session_id', '=', sid), eb('seq', '>=', x.lo), eb('seq', '<=', x.hi)]))))
      .execute();
    for (const h of hits) found.add(`${h.session_id}|${Number(h.seq)}`);
  }
  return found;
}

/** One aggregate row of `rollupBuckets` / `rawBuckets` (databases return sums and counts as strings or bigints). */
function toSeriesBucket(r: { b: unknown; n: unknown; s: unknown; lo: unknown; hi: unknown; a: unknown; ms: unknown }): SeriesBucket {
  return { index: Number(r.b), n: Number(r.n), sum: Number(r.s), min: Number(r.lo), max: Number(r.hi), anomalies: Number(r.a), maxScore: Number(r.ms) };
}

export function createDetectionRepository(db: Kysely<DB>) {
  // The live path's two writes per log batch, compiled once (issue 15: Kysely's builder was ~6 % of the main thread at 1,000 devices).
  const insertLogRows = bulkInsert((rows: ReadonlyArray<ReturnType<typeof compactRow>>) => skipDuplicates(db, db.insertInto('detection_logs').values(rows), 'seq'));
  const upsertRollups = bulkInsert((rows: readonly RollupDelta[]) => upsertMerging(db, db.insertInto('detection_rollups').values(rows), ROLLUP_KEY, ROLLUP_MERGES));
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
          .set((eb) => ({ status: 'interrupted', ended_at: now, total_predictions: eb('logs_pruned_rows', '+', Number(c.n)), anomaly_count: Number(c.a ?? 0) }))
          .where('id', '=', id)
          .where('status', '=', 'running')
          .execute();
      }
      return orphans.length;
    },

    /**
     * Idempotent: a row whose (session_id, seq) is stored already is skipped. The rows' rollups
     * are updated in the same transaction, one upsert per bucket, from the rows not stored before
     * (so a replayed batch counts once). With `fresh` the caller vouches that no row can be stored
     * yet (a live session's first write of rows it scored first), which saves the check's query.
     */
    async insertLogs(rows: readonly LogInsert[], opts: { fresh?: boolean } = {}): Promise<void> {
      if (rows.length === 0) return;
      await db.transaction().execute(async (trx) => {
        const stored = opts.fresh ? new Set<string>() : await storedSeqs(trx, rows);
        const fresh = stored.size === 0 ? rows : rows.filter((r) => !stored.has(`${r.session_id}|${r.seq}`));
        for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
          await trx.executeQuery(insertLogRows(fresh.slice(i, i + INSERT_CHUNK).map(compactRow)));
        }
        const deltas = rollUp(fresh);
        for (let i = 0; i < deltas.length; i += INSERT_CHUNK) await trx.executeQuery(upsertRollups(deltas.slice(i, i + INSERT_CHUNK)));
      });
    },

    /** The highest sequence number logged for the session (0 when none). */
    async maxSeq(sessionId: number): Promise<number> {
      const r = await db.selectFrom('detection_logs').select((eb) => eb.fn.max('seq').as('m')).where('session_id', '=', sessionId).executeTakeFirst();
      return Number(r?.m ?? 0);
    },

    /** Rows of a session (only anomalies, only up to a sequence number when asked). */
    /** Logged rows of the session (up to `maxSeq`), those retention deleted included (it deletes normal rows only, below the live seqs). */
    async countLogs(sessionId: number, anomaliesOnly = false, maxSeq?: number): Promise<number> {
      let q = db.selectFrom('detection_logs').select((eb) => eb.fn.countAll<number>().as('n')).where('session_id', '=', sessionId);
      if (anomaliesOnly) q = q.where('is_anomaly', '=', 1);
      if (maxSeq !== undefined) q = q.where('seq', '<=', maxSeq);
      const n = Number((await q.executeTakeFirstOrThrow()).n);
      if (anomaliesOnly) return n;
      const s = await db.selectFrom('detection_sessions').select('logs_pruned_rows').where('id', '=', sessionId).executeTakeFirst();
      return n + Number(s?.logs_pruned_rows ?? 0);
    },

    /** In reading (seq) order; `afterSeq` is the keyset cursor. */
    async listLogs(sessionId: number, page: { limit: number; afterSeq?: number; anomaliesOnly?: boolean }): Promise<LogRow[]> {
      let q = db
        .selectFrom('detection_logs')
        .select(['id', 'seq', 'timestamp', 'value', 'anomaly_score', 'is_anomaly', 'confidence', 'signal', 'explanation'])
        .where('session_id', '=', sessionId);
      if (page.anomaliesOnly) q = q.where('is_anomaly', '=', 1);
      if (page.afterSeq !== undefined) q = q.where('seq', '>', page.afterSeq);
      const rows = await q.orderBy('seq', 'asc').limit(page.limit).execute();
      return rows.map((r) => ({
        id: Number(r.id),
        seq: Number(r.seq),
        timestamp: r.timestamp,
        value: r.value,
        anomalyScore: r.anomaly_score,
        isAnomaly: fromDbBool(r.is_anomaly),
        confidence: r.confidence,
        signal: r.signal,
        explanation: r.explanation,
      }));
    },

    /** The session's rollups of one resolution with `bucket_start` in [from, to], in time order. */
    async listRollups(sessionId: number, bucketS: number, from: string, to: string): Promise<RollupRow[]> {
      const rows = await db
        .selectFrom('detection_rollups')
        .select(['bucket_start', 'n', 'value_sum', 'value_min', 'value_max', 'anomaly_count', 'max_score'])
        .where('session_id', '=', sessionId)
        .where('bucket_s', '=', bucketS)
        .where('bucket_start', '>=', from)
        .where('bucket_start', '<=', to)
        .orderBy('bucket_start', 'asc')
        .execute();
      return rows.map((r) => ({
        bucketStart: r.bucket_start,
        n: Number(r.n),
        sum: Number(r.value_sum),
        min: Number(r.value_min),
        max: Number(r.value_max),
        anomalies: Number(r.anomaly_count),
        maxScore: Number(r.max_score),
      }));
    },

    /** The session's rollups of one resolution in [from, to] merged in SQL into `widthMs` buckets from `from`. */
    async rollupBuckets(sessionId: number, bucketS: number, from: string, to: string, widthMs: number): Promise<SeriesBucket[]> {
      const idx = bucketIndex(db, 'bucket_start', from, widthMs);
      const rows = await db
        .selectFrom('detection_rollups')
        .select((eb) => [
          idx.as('b'),
          eb.fn.sum<number>('n').as('n'),
          eb.fn.sum<number>('value_sum').as('s'),
          eb.fn.min('value_min').as('lo'),
          eb.fn.max('value_max').as('hi'),
          eb.fn.sum<number>('anomaly_count').as('a'),
          eb.fn.max('max_score').as('ms'),
        ])
        .where('session_id', '=', sessionId)
        .where('bucket_s', '=', bucketS)
        .where('bucket_start', '>=', from)
        .where('bucket_start', '<=', to)
        .groupBy(idx)
        .orderBy(idx)
        .execute();
      return rows.map(toSeriesBucket);
    },

    /** First and last minute bucket of the session's rollups (its logged time span), when it has any. */
    async rollupSpan(sessionId: number): Promise<{ first: string; last: string } | undefined> {
      const r = await db
        .selectFrom('detection_rollups')
        .select((eb) => [eb.fn.min('bucket_start').as('first'), eb.fn.max('bucket_start').as('last')])
        .where('session_id', '=', sessionId)
        .where('bucket_s', '=', 60)
        .executeTakeFirst();
      return r?.first && r.last ? { first: String(r.first), last: String(r.last) } : undefined;
    },

    /** Raw logs in [from, to] downsampled in SQL: one aggregate row per `widthMs` bucket from `from`. */
    async rawBuckets(sessionId: number, from: string, to: string, widthMs: number): Promise<SeriesBucket[]> {
      const idx = bucketIndex(db, 'timestamp', from, widthMs);
      const rows = await db
        .selectFrom('detection_logs')
        .select((eb) => [
          idx.as('b'),
          eb.fn.countAll<number>().as('n'),
          eb.fn.sum<number>('value').as('s'),
          eb.fn.min('value').as('lo'),
          eb.fn.max('value').as('hi'),
          eb.fn.sum<number>('is_anomaly').as('a'),
          eb.fn.max('anomaly_score').as('ms'),
        ])
        .where('session_id', '=', sessionId)
        .where('timestamp', '>=', from)
        .where('timestamp', '<=', to)
        .groupBy(idx)
        .orderBy(idx)
        .execute();
      return rows.map(toSeriesBucket);
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
