import { fromDbTime, toDbTime } from '../../db/time.ts';
import { AppError } from '../../lib/errors.ts';
import type { SessionRow } from './detection.repository.ts';
import type { FinalAnalysis } from './detection.types.ts';
import { finalAnalysis } from './final-analysis.ts';
import type { SessionContext } from './live-session.ts';

export interface SessionSummary {
  session_id: number;
  id: number;
  device_id: number | null;
  model_id: number | null;
  model_name: string | null;
  status: string;
  threshold: number;
  started_at: string;
  ended_at: string | null;
  duration_s: number | null;
  total_predictions: number;
  anomaly_count: number;
  anomaly_percentage: number;
  final_analysis: FinalAnalysis | null;
}

/** Stored sessions read back: history, one session's summary, its logs (JSON pages and CSV), webhooks. */
export function createSessionSummaries(ctx: SessionContext) {
  const { deps, live } = ctx;
  const { repo, clock } = deps;

  /** A stored session's summary; a session live on this process shows its live counters. */
  function summary(r: SessionRow): SessionSummary {
    const l = live.get(r.id);
    let fa: FinalAnalysis | null = null;
    if (r.finalAnalysis) {
      try {
        const { stop_reason: _r, ...rest } = JSON.parse(r.finalAnalysis) as FinalAnalysis & { stop_reason?: string };
        fa = rest;
      } catch {
        fa = null;
      }
    }
    const total = l ? l.total : r.totalPredictions;
    const anomalies = l ? l.anomalies : r.anomalyCount;
    if (l) fa = finalAnalysis(l.total, l.anomalies, l.confidenceSum);
    const started = fromDbTime(r.startedAt);
    const ended = r.endedAt ? fromDbTime(r.endedAt) : null;
    return {
      session_id: r.id,
      id: r.id,
      device_id: r.deviceId,
      model_id: r.modelId,
      model_name: r.modelName,
      status: r.status,
      threshold: l ? l.detector.threshold : r.threshold,
      started_at: started,
      ended_at: ended,
      duration_s: ended ? Math.round((Date.parse(ended) - Date.parse(started)) / 100) / 10 : null,
      total_predictions: total,
      anomaly_count: anomalies,
      anomaly_percentage: total > 0 ? Math.round((anomalies / total) * 1000) / 10 : 0,
      final_analysis: fa,
    };
  }

  async function ownedRow(userId: number, id: number): Promise<SessionRow> {
    const r = await repo.findSession(id);
    if (!r || r.userId !== userId) throw new AppError('session-not-found');
    return r;
  }

  return {
    summary,

    async history(userId: number, page: { limit: number; cursor?: string }) {
      const beforeId = page.cursor !== undefined ? Number(page.cursor) : undefined;
      if (beforeId !== undefined && !(Number.isInteger(beforeId) && beforeId > 0)) throw new AppError('validation-failed', 'Invalid cursor.');
      const rows = await repo.listSessions(userId, { limit: page.limit + 1, ...(beforeId !== undefined && { beforeId }) });
      const more = rows.length > page.limit;
      const items = rows.slice(0, page.limit).map(summary);
      return { sessions: items, next_cursor: more ? String(items[items.length - 1]!.id) : null };
    },

    async get(userId: number, id: number): Promise<SessionSummary> {
      return summary(await ownedRow(userId, id));
    },

    async logs(userId: number, id: number, q: { limit: number; cursor?: string; anomalies_only?: boolean }) {
      await ownedRow(userId, id);
      const afterSeq = q.cursor !== undefined ? Number(q.cursor) : undefined;
      if (afterSeq !== undefined && !(Number.isInteger(afterSeq) && afterSeq >= 0)) throw new AppError('validation-failed', 'Invalid cursor.');
      const rows = await repo.listLogs(id, { limit: q.limit + 1, ...(afterSeq !== undefined && { afterSeq }), anomaliesOnly: q.anomalies_only ?? false });
      const more = rows.length > q.limit;
      const logs = rows.slice(0, q.limit).map((r) => ({
        id: r.id,
        timestamp: fromDbTime(r.timestamp),
        value: r.value,
        anomaly_score: r.anomalyScore,
        is_anomaly: r.isAnomaly,
        confidence: r.confidence,
        // Normal readings keep their signal only (decision 0016); anomalies their whole explanation.
        explanation: r.explanation ? (JSON.parse(r.explanation) as unknown) : { signal: r.signal },
      }));
      return { logs, next_cursor: more ? String(rows[q.limit - 1]!.seq) : null };
    },

    /** The session's log as CSV, page by page (never the whole log in memory). */
    async *logsCsv(userId: number, id: number, anomaliesOnly = false): AsyncGenerator<string> {
      await ownedRow(userId, id);
      yield 'timestamp,value,anomaly_score,is_anomaly,confidence,signal\n';
      let afterSeq: number | undefined;
      for (;;) {
        const rows = await repo.listLogs(id, { limit: 2000, ...(afterSeq !== undefined && { afterSeq }), anomaliesOnly });
        if (rows.length === 0) return;
        let chunk = '';
        for (const r of rows) chunk += `${fromDbTime(r.timestamp)},${r.value},${r.anomalyScore},${r.isAnomaly ? 1 : 0},${r.confidence},${r.signal}\n`;
        yield chunk;
        afterSeq = rows[rows.length - 1]!.seq;
      }
    },

    async getWebhook(userId: number): Promise<string | null> {
      return (await repo.getWebhook(userId)) ?? null;
    },

    async setWebhook(userId: number, url: string | null): Promise<void> {
      await repo.setWebhook(userId, url, toDbTime(clock.now()));
      for (const s of live.values()) if (s.owner.userId === userId) s.webhook = url ?? undefined;
    },
  };
}

export type SessionSummaries = ReturnType<typeof createSessionSummaries>;
