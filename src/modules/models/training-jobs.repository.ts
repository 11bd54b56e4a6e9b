import type { Kysely, Selectable } from 'kysely';
import type { DB, TrainingJobsTable } from '../../db/schema.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobType = 'train' | 'backtest';
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running'];

export interface TrainingJobRow {
  id: number;
  userId: number;
  modelId: number | null;
  baseModelId: number | null;
  name: string;
  materialType: string;
  description: string | null;
  kind: string;
  params: Record<string, unknown>;
  recordingIds: number[];
  evaluationRecordingId: number | null;
  status: JobStatus;
  progress: number;
  stage: string;
  queue: 'local' | 'bullmq';
  runner: string | null;
  errorCode: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  type: JobType;
  sessionId: number | null;
  threshold: number | null;
  includeFeedback: boolean;
  /** What the fit said about the training data (empty when nothing). */
  notes: string[];
}

export interface NewTrainingJob {
  userId: number;
  baseModelId: number | null;
  name: string;
  materialType: string;
  description: string | null;
  kind: string;
  params: Record<string, unknown>;
  recordingIds: number[];
  evaluationRecordingId: number | null;
  queue: 'local' | 'bullmq';
  now: string;
  type?: JobType;
  sessionId?: number | null;
  threshold?: number | null;
  includeFeedback?: boolean;
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Every column but `result` (which can be large; read with `result(id)`). */
const columns = [
  'id', 'user_id', 'model_id', 'base_model_id', 'name', 'material_type', 'description', 'kind', 'params', 'recording_ids',
  'evaluation_recording_id', 'status', 'progress', 'stage', 'queue', 'runner', 'error_code', 'error', 'created_at', 'started_at',
  'finished_at', 'updated_at', 'type', 'session_id', 'threshold', 'include_feedback', 'notes',
] as const;

function toJob(r: Omit<Selectable<TrainingJobsTable>, 'result'>): TrainingJobRow {
  return {
    id: r.id,
    userId: r.user_id,
    modelId: r.model_id,
    baseModelId: r.base_model_id,
    name: r.name,
    materialType: r.material_type,
    description: r.description,
    kind: r.kind,
    params: parseJson(r.params, {}),
    recordingIds: parseJson(r.recording_ids, []),
    evaluationRecordingId: r.evaluation_recording_id,
    status: r.status as JobStatus,
    progress: r.progress,
    stage: r.stage,
    queue: r.queue === 'bullmq' ? 'bullmq' : 'local',
    runner: r.runner,
    errorCode: r.error_code,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    type: r.type === 'backtest' ? 'backtest' : 'train',
    sessionId: r.session_id,
    threshold: r.threshold,
    includeFeedback: r.include_feedback === 1 || (r.include_feedback as unknown) === true,
    notes: parseNotes(r.notes),
  };
}

/** The stored notes column: strings only, whatever the column holds. */
function parseNotes(text: string | null): string[] {
  if (text === null) return [];
  const v = parseJson<unknown>(text, []);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function createTrainingJobsRepository(db: Kysely<DB>) {
  return {
    async insert(j: NewTrainingJob): Promise<number> {
      const res = await db
        .insertInto('training_jobs')
        .values({
          user_id: j.userId,
          base_model_id: j.baseModelId,
          name: j.name,
          material_type: j.materialType,
          description: j.description,
          kind: j.kind,
          params: JSON.stringify(j.params),
          recording_ids: JSON.stringify(j.recordingIds),
          evaluation_recording_id: j.evaluationRecordingId,
          status: 'queued',
          progress: 0,
          stage: 'queued',
          queue: j.queue,
          type: j.type ?? 'train',
          session_id: j.sessionId ?? null,
          threshold: j.threshold ?? null,
          include_feedback: j.includeFeedback ? 1 : 0,
          created_at: j.now,
          updated_at: j.now,
        })
        .executeTakeFirstOrThrow();
      return Number(res.insertId);
    },

    async findById(id: number): Promise<TrainingJobRow | undefined> {
      const r = await db.selectFrom('training_jobs').select(columns).where('id', '=', id).executeTakeFirst();
      return r && toJob(r);
    },

    /** A finished backtest's stored result (parsed), or undefined. */
    async result(id: number): Promise<unknown> {
      const r = await db.selectFrom('training_jobs').select('result').where('id', '=', id).executeTakeFirst();
      return r?.result ? parseJson<unknown>(r.result, undefined) : undefined;
    },

    async countActive(userId: number): Promise<number> {
      const r = await db
        .selectFrom('training_jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('status', 'in', [...ACTIVE_STATUSES])
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    /** Jobs per status (every status present, zero included). */
    async countByStatus(): Promise<Record<JobStatus, number>> {
      const rows = await db
        .selectFrom('training_jobs')
        .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      const out = Object.fromEntries(JOB_STATUSES.map((st) => [st, 0])) as Record<JobStatus, number>;
      for (const r of rows) if (r.status in out) out[r.status as JobStatus] = Number(r.n);
      return out;
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom('training_jobs').where('id', '=', id).execute();
    },

    /** Active jobs of the user created before `jobId` (to settle concurrent submissions). */
    async countActiveBefore(userId: number, jobId: number): Promise<number> {
      const r = await db
        .selectFrom('training_jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('id', '<', jobId)
        .where('status', 'in', [...ACTIVE_STATUSES])
        .executeTakeFirst();
      return Number(r?.n ?? 0);
    },

    async listForUser(userId: number, limit = 50): Promise<TrainingJobRow[]> {
      const rows = await db.selectFrom('training_jobs').select(columns).where('user_id', '=', userId).orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toJob);
    },

    /** Jobs that produced the model or retrained it, newest first. */
    async listForModel(modelId: number): Promise<TrainingJobRow[]> {
      const rows = await db
        .selectFrom('training_jobs')
        .select(columns)
        .where((eb) => eb.or([eb('model_id', '=', modelId), eb('base_model_id', '=', modelId)]))
        .where('type', '=', 'train')
        .orderBy('id', 'desc')
        .limit(50)
        .execute();
      return rows.map(toJob);
    },

    /** queued → running; false when the job is no longer queued (cancelled meanwhile). */
    async markRunning(id: number, runner: string, now: string): Promise<boolean> {
      const r = await db
        .updateTable('training_jobs')
        .set({ status: 'running', stage: 'starting', runner, started_at: now, updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async setProgress(id: number, progress: number, stage: string, now: string): Promise<void> {
      await db
        .updateTable('training_jobs')
        .set({ progress, stage, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute();
    },

    /** Moves an active job to a final state; false if it had already finished. */
    async finish(
      id: number,
      f: { status: 'succeeded' | 'failed' | 'cancelled'; stage: string; modelId?: number; errorCode?: string; error?: string; result?: unknown; notes?: readonly string[]; now: string },
    ): Promise<boolean> {
      const r = await db
        .updateTable('training_jobs')
        .set({
          status: f.status,
          stage: f.stage,
          ...(f.status === 'succeeded' && { progress: 1 }),
          ...(f.modelId !== undefined && { model_id: f.modelId }),
          ...(f.result !== undefined && { result: JSON.stringify(f.result) }),
          ...(f.notes !== undefined && f.notes.length > 0 && { notes: JSON.stringify(f.notes) }),
          error_code: f.errorCode ?? null,
          error: f.error ?? null,
          finished_at: f.now,
          updated_at: f.now,
        })
        .where('id', '=', id)
        .where('status', 'in', [...ACTIVE_STATUSES])
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    async listActive(queue: 'local' | 'bullmq'): Promise<TrainingJobRow[]> {
      const rows = await db.selectFrom('training_jobs').select(columns).where('queue', '=', queue).where('status', 'in', [...ACTIVE_STATUSES]).execute();
      return rows.map(toJob);
    },

    /** Marks every active job of a queue failed (start-up after a crash or restart); returns them. */
    async failActive(queue: 'local' | 'bullmq', errorCode: string, error: string, now: string): Promise<TrainingJobRow[]> {
      const rows = await db
        .selectFrom('training_jobs')
        .select(columns)
        .where('queue', '=', queue)
        .where('status', 'in', [...ACTIVE_STATUSES])
        .execute();
      if (rows.length === 0) return [];
      await db
        .updateTable('training_jobs')
        .set({ status: 'failed', stage: 'interrupted', error_code: errorCode, error, finished_at: now, updated_at: now })
        .where('id', 'in', rows.map((r) => r.id))
        .where('status', 'in', [...ACTIVE_STATUSES])
        .execute();
      return rows.map(toJob);
    },
  };
}

export type TrainingJobsRepository = ReturnType<typeof createTrainingJobsRepository>;
