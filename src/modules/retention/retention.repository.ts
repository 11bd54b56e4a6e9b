import { sql, type Kysely } from 'kysely';
import type { DB } from '../../db/schema.ts';

export interface RetentionSession {
  id: number;
  /** The device's config JSON (per-device `log_retention_days`), when the device still exists. */
  deviceConfig: string | null;
  /** Raw rows up to this seq were pruned by an earlier pass. */
  prunedSeq: number;
}

/** Data access of the retention job: which sessions to visit, and batch deletes by seq range. */
export function createRetentionRepository(db: Kysely<DB>) {
  return {
    /** Sessions that started before `before` (only they can hold rows past retention), oldest first. */
    async sessionsStartedBefore(before: string): Promise<RetentionSession[]> {
      const rows = await db
        .selectFrom('detection_sessions as s')
        .leftJoin('devices as d', 'd.id', 's.device_id')
        .select(['s.id', 's.logs_pruned_seq', 'd.config'])
        .where('s.started_at', '<', before)
        .orderBy('s.id')
        .execute();
      return rows.map((r) => ({ id: r.id, deviceConfig: r.config ?? null, prunedSeq: Number(r.logs_pruned_seq) }));
    },

    /** The seq of the session's newest row older than `cutoff` (one probe of the (session, timestamp) index). */
    async lastSeqBefore(sessionId: number, cutoff: string): Promise<number | undefined> {
      const r = await db
        .selectFrom('detection_logs')
        .select('seq')
        .where('session_id', '=', sessionId)
        .where('timestamp', '<', cutoff)
        .orderBy('timestamp', 'desc')
        .limit(1)
        .executeTakeFirst();
      return r ? Number(r.seq) : undefined;
    },

    /** The session's smallest seq above `after` (skips gaps in one probe of the unique index). */
    async firstSeqAfter(sessionId: number, after: number): Promise<number | undefined> {
      const r = await db.selectFrom('detection_logs').select('seq').where('session_id', '=', sessionId).where('seq', '>', after).orderBy('seq').limit(1).executeTakeFirst();
      return r ? Number(r.seq) : undefined;
    },

    /** Seqs of the session's anomalous rows in [lo, hi]. */
    async anomalySeqs(sessionId: number, lo: number, hi: number): Promise<number[]> {
      const rows = await db
        .selectFrom('detection_logs')
        .select('seq')
        .where('session_id', '=', sessionId)
        .where('is_anomaly', '=', 1)
        .where('seq', '>=', lo)
        .where('seq', '<=', hi)
        .orderBy('seq')
        .execute();
      return rows.map((r) => Number(r.seq));
    },

    /**
     * Deletes (or, with `dryRun`, counts) the session's normal rows older than `cutoff` whose seq
     * lies in one of `ranges` (the time test also protects rows whose device clock ran backwards).
     * One statement per range: with several ranges OR-ed, SQLite's planner chose the
     * (session, timestamp) index and read every row of the session past the cutoff for each batch
     * (1.8 s per 5,000-row batch on a 100,000-row session); one range is a seek on
     * (session, is_anomaly, seq).
     */
    async pruneRanges(sessionId: number, cutoff: string, ranges: ReadonlyArray<readonly [number, number]>, dryRun: boolean): Promise<number> {
      let n = 0;
      for (const [lo, hi] of ranges) {
        const where = sql<boolean>`session_id = ${sessionId} and is_anomaly = 0 and seq >= ${lo} and seq <= ${hi} and ${sql.ref('timestamp')} < ${cutoff}`;
        if (dryRun) {
          const r = await db.selectFrom('detection_logs').select((eb) => eb.fn.countAll<number>().as('n')).where(where).executeTakeFirstOrThrow();
          n += Number(r.n);
        } else {
          const r = await db.deleteFrom('detection_logs').where(where).executeTakeFirst();
          n += Number(r.numDeletedRows);
        }
      }
      return n;
    },

    /** Deletes one batch and moves the session's watermark (and pruned-row count) in one transaction. */
    async pruneBatch(sessionId: number, cutoff: string, ranges: ReadonlyArray<readonly [number, number]>, hi: number): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const n = await createRetentionRepository(trx).pruneRanges(sessionId, cutoff, ranges, false);
        await trx
          .updateTable('detection_sessions')
          .set((eb) => ({ logs_pruned_seq: hi, logs_pruned_rows: eb('logs_pruned_rows', '+', n) }))
          .where('id', '=', sessionId)
          .execute();
        return n;
      });
    },

    /** Deletes (or counts) the session's rollups whose bucket starts before `cutoff`. */
    async pruneRollups(sessionId: number, cutoff: string, dryRun: boolean): Promise<number> {
      if (dryRun) {
        const r = await db
          .selectFrom('detection_rollups')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('session_id', '=', sessionId)
          .where('bucket_start', '<', cutoff)
          .executeTakeFirstOrThrow();
        return Number(r.n);
      }
      const r = await db.deleteFrom('detection_rollups').where('session_id', '=', sessionId).where('bucket_start', '<', cutoff).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type RetentionRepository = ReturnType<typeof createRetentionRepository>;
