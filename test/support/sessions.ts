import type { App } from '../../src/app.ts';
import { toDbTime } from '../../src/db/time.ts';
import { createDetectionRepository, type LogInsert } from '../../src/modules/detection/detection.repository.ts';

/** A stored session of `userId` (on a preset model), written straight through the detection repository. */
export async function createStoredSession(app: App, userId: number, startedAt: number, status = 'stopped', deviceId = 1): Promise<number> {
  const repo = createDetectionRepository(app.database.db);
  const model = await app.database.db.selectFrom('ml_models').select('id').where('is_preset', '=', 1).executeTakeFirstOrThrow();
  const id = await repo.insertSession({ userId, modelId: model.id, deviceId, threshold: 0.5, now: toDbTime(startedAt) });
  if (status !== 'running') await app.database.db.updateTable('detection_sessions').set({ status }).where('id', '=', id).execute();
  return id;
}

/**
 * Log rows of a synthetic reading stream: a slow sine with a spike every `anomalyEvery` rows
 * (anomalous, score 0.95); `seq` continues from `firstSeq`.
 */
export function syntheticLogs(o: { sessionId: number; userId: number; start: number; stepMs: number; count: number; firstSeq?: number; anomalyEvery?: number }): LogInsert[] {
  const rows: LogInsert[] = [];
  const first = o.firstSeq ?? 1;
  for (let i = 0; i < o.count; i++) {
    const seq = first + i;
    const anomalous = o.anomalyEvery !== undefined && seq % o.anomalyEvery === 0;
    const t = o.start + i * o.stepMs;
    rows.push({
      session_id: o.sessionId,
      seq,
      user_id: o.userId,
      model_id: null,
      timestamp: toDbTime(t),
      value: anomalous ? 9 + (seq % 7) : 2.5 + Math.sin(seq / 50) + ((seq * 7919) % 100) / 1000,
      anomaly_score: anomalous ? 0.95 : ((seq * 104729) % 400) / 1000,
      is_anomaly: anomalous ? 1 : 0,
      confidence: 0.8,
      explanation: JSON.stringify({ signal: anomalous ? 'spike' : 'none', method: 'auto:point', ...(anomalous && { contributions: [{ name: 'point', weight: 1 }] }) }),
      created_at: toDbTime(t),
    });
  }
  return rows;
}

/** Writes rows through the real write path (idempotent insert + rollups), in batches like the log writer. */
export async function writeLogs(app: App, rows: readonly LogInsert[], batch = 500): Promise<void> {
  const repo = createDetectionRepository(app.database.db);
  for (let i = 0; i < rows.length; i += batch) await repo.insertLogs(rows.slice(i, i + batch));
}
