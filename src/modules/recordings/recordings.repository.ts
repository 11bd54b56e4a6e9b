import type { Kysely, Selectable } from 'kysely';
import type { DB, RecordingsTable } from '../../db/schema.ts';

export type RecordingStatus = 'recording' | 'complete' | 'failed';

export interface RecordingStats {
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Median sampling rate, readings per second. */
  sample_rate_hz: number;
}

export interface RecordingRow {
  id: number;
  userId: number;
  deviceId: number | null;
  name: string;
  source: 'upload' | 'device';
  status: RecordingStatus;
  sampleCount: number;
  maxSamples: number | null;
  durationS: number | null;
  firstTs: string | null;
  lastTs: string | null;
  stats: RecordingStats | null;
  filePath: string;
  fileSize: number;
  error: string | null;
  startedAt: string;
  endedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface LabelRow {
  id: number;
  recordingId: number;
  startAt: string;
  endAt: string;
  note: string | null;
}

function toRecording(r: Selectable<RecordingsTable>): RecordingRow {
  let stats: RecordingStats | null = null;
  try {
    stats = JSON.parse(r.stats) as RecordingStats | null;
  } catch {
    stats = null;
  }
  return {
    id: r.id,
    userId: r.user_id,
    deviceId: r.device_id,
    name: r.name,
    source: r.source === 'device' ? 'device' : 'upload',
    status: r.status as RecordingStatus,
    sampleCount: r.sample_count,
    maxSamples: r.max_samples,
    durationS: r.duration_s,
    firstTs: r.first_ts,
    lastTs: r.last_ts,
    stats,
    filePath: r.file_path,
    fileSize: r.file_size,
    error: r.error,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface RecordingPatch {
  status?: RecordingStatus;
  sampleCount?: number;
  firstTs?: string | null;
  lastTs?: string | null;
  stats?: RecordingStats | null;
  fileSize?: number;
  error?: string | null;
  endedAt?: string | null;
  name?: string;
}

export function createRecordingsRepository(db: Kysely<DB>) {
  return {
    async insert(r: {
      userId: number;
      deviceId: number | null;
      name: string;
      source: 'upload' | 'device';
      status: RecordingStatus;
      sampleCount: number;
      maxSamples: number | null;
      durationS: number | null;
      firstTs: string | null;
      lastTs: string | null;
      stats: RecordingStats | null;
      filePath: string;
      fileSize: number;
      startedAt: string;
      endedAt: string | null;
      now: string;
    }): Promise<number> {
      const res = await db
        .insertInto('recordings')
        .values({
          user_id: r.userId,
          device_id: r.deviceId,
          name: r.name,
          source: r.source,
          status: r.status,
          sample_count: r.sampleCount,
          max_samples: r.maxSamples,
          duration_s: r.durationS,
          first_ts: r.firstTs,
          last_ts: r.lastTs,
          stats: JSON.stringify(r.stats),
          file_path: r.filePath,
          file_size: r.fileSize,
          started_at: r.startedAt,
          ended_at: r.endedAt,
          created_at: r.now,
          updated_at: r.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findById(id: number): Promise<RecordingRow | undefined> {
      const r = await db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toRecording(r);
    },

    async listForUser(userId: number): Promise<RecordingRow[]> {
      const rows = await db.selectFrom('recordings').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(500).execute();
      return rows.map(toRecording);
    },

    async listByStatus(status: RecordingStatus): Promise<RecordingRow[]> {
      const rows = await db.selectFrom('recordings').selectAll().where('status', '=', status).execute();
      return rows.map(toRecording);
    },

    async update(id: number, p: RecordingPatch, now: string): Promise<void> {
      await db
        .updateTable('recordings')
        .set({
          ...(p.status !== undefined && { status: p.status }),
          ...(p.sampleCount !== undefined && { sample_count: p.sampleCount }),
          ...(p.firstTs !== undefined && { first_ts: p.firstTs }),
          ...(p.lastTs !== undefined && { last_ts: p.lastTs }),
          ...(p.stats !== undefined && { stats: JSON.stringify(p.stats) }),
          ...(p.fileSize !== undefined && { file_size: p.fileSize }),
          ...(p.error !== undefined && { error: p.error }),
          ...(p.endedAt !== undefined && { ended_at: p.endedAt }),
          ...(p.name !== undefined && { name: p.name }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom('recordings').where('id', '=', id).execute();
    },

    async labels(recordingId: number): Promise<LabelRow[]> {
      const rows = await db.selectFrom('recording_labels').selectAll().where('recording_id', '=', recordingId).orderBy('start_at').orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, recordingId: r.recording_id, startAt: r.start_at, endAt: r.end_at, note: r.note }));
    },

    async replaceLabels(recordingId: number, labels: ReadonlyArray<{ startAt: string; endAt: string; note: string | null }>, now: string): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('recording_labels').where('recording_id', '=', recordingId).execute();
        if (labels.length > 0) {
          await tx
            .insertInto('recording_labels')
            .values(labels.map((l) => ({ recording_id: recordingId, start_at: l.startAt, end_at: l.endAt, note: l.note, created_at: now })))
            .execute();
        }
      });
    },
  };
}

export type RecordingsRepository = ReturnType<typeof createRecordingsRepository>;
