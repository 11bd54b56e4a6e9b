import { AppError } from '../../lib/errors.ts';
import type { ModelsService } from './models.service.ts';
import type { ModelRow } from './models.repository.ts';
import type { TrainingJobsRepository } from './training-jobs.repository.ts';
import type { TrainingPool } from './training-pool.ts';
import type { TrainingRunner } from './training-runner.ts';
import { toJobView, type JobView, type TrainingService } from './training.service.ts';

export interface BacktestRequest {
  recording_id?: number;
  session_id?: number;
  threshold?: number;
  points?: number;
}

export interface BacktestSessions {
  /** Throws `session-not-found` for a session that is not the user's; resolves to its logged readings. */
  count(userId: number, sessionId: number): Promise<number>;
}

export interface BacktestRecordings {
  forTraining(userId: number, ids: readonly number[]): Promise<Array<{ id: number; samples: number }>>;
}

export interface BacktestServiceDeps {
  models: ModelsService;
  jobs: TrainingJobsRepository;
  training: TrainingService;
  runner: TrainingRunner;
  pool: TrainingPool;
  recordings: BacktestRecordings;
  sessions: BacktestSessions;
}

const MAX_COMPARE = 5;

/**
 * Backtests: a stored model scores one of the user's recordings or sessions, measured against its
 * labels. One model runs as a training-style job (queue, progress, cancel, result on the job);
 * a comparison of a few models runs at once on the same worker threads.
 */
export function createBacktestService(deps: BacktestServiceDeps) {
  /** Presets and the user's own models; anyone else's (public ones included) is not found. */
  async function usableModel(userId: number, id: number): Promise<ModelRow> {
    const m = await deps.models.visibleModel({ userId }, id);
    if (!m.isPreset && m.userId !== userId) throw new AppError('model-not-found');
    return m;
  }

  /** Checks the source is the user's and holds readings. */
  async function checkSource(userId: number, req: { recording_id?: number | undefined; session_id?: number | undefined }) {
    if ((req.recording_id === undefined) === (req.session_id === undefined)) throw new AppError('backtest-source-required');
    const n =
      req.recording_id !== undefined
        ? ((await deps.recordings.forTraining(userId, [req.recording_id]))[0]?.samples ?? 0)
        : await deps.sessions.count(userId, req.session_id as number);
    if (n === 0) throw new AppError('backtest-no-data', req.session_id !== undefined ? 'The session has no stored readings to backtest on.' : 'The recording has no readings.');
  }

  return {
    /** Queues a backtest job of one model; 202 with the job, result at `get`. */
    async start(userId: number, modelId: number, req: BacktestRequest): Promise<JobView> {
      const model = await usableModel(userId, modelId);
      await checkSource(userId, req);
      return deps.training.enqueue(userId, {
        type: 'backtest',
        baseModelId: model.id,
        name: model.name,
        materialType: model.materialType,
        description: null,
        kind: model.kind,
        params: req.points !== undefined ? { points: req.points } : {},
        recordingIds: req.recording_id !== undefined ? [req.recording_id] : [],
        evaluationRecordingId: null,
        sessionId: req.session_id ?? null,
        threshold: req.threshold ?? null,
      });
    },

    /** A backtest job of the user with its result once it succeeded. */
    async get(userId: number, jobId: number): Promise<{ job: JobView; result: unknown }> {
      const job = await deps.jobs.findById(jobId);
      if (!job || job.userId !== userId || job.type !== 'backtest') throw new AppError('training-job-not-found', 'No such backtest job.');
      return { job: toJobView(job), result: job.status === 'succeeded' ? ((await deps.jobs.result(jobId)) ?? null) : null };
    },

    /** Several models on the same data, side by side (run now, in the worker threads). */
    async compare(userId: number, q: { ids: string; recording_id?: number; session_id?: number; threshold?: number; points?: number }) {
      const parts = q.ids.split(',').map((s) => s.trim());
      const ids = parts.map(Number);
      if (parts.length === 0 || parts.length > MAX_COMPARE || ids.some((n) => !Number.isInteger(n) || n < 1) || new Set(ids).size !== ids.length) {
        throw new AppError('invalid-model-ids');
      }
      const models = [];
      for (const id of ids) models.push(await usableModel(userId, id));
      await checkSource(userId, q);
      const source = await deps.runner.backtestSource(userId, { recordingId: q.recording_id ?? null, sessionId: q.session_id ?? null });
      const rows = await Promise.all(
        models.map(async (m) => {
          const { text } = await deps.models.download({ userId }, m.id);
          const threshold = q.threshold ?? m.threshold;
          const r = await deps.pool.backtest({ jobId: 0, artifact: text, threshold, source, points: q.points ?? 0 }, () => undefined);
          if (r.type === 'error') throw new AppError(r.code === 'internal' ? 'internal' : r.code, r.message);
          return {
            model_id: m.id,
            name: m.name,
            kind: m.kind,
            is_preset: m.isPreset,
            threshold,
            metrics: r.metrics,
            ...((q.points ?? 0) > 0 && { series: r.series }),
            duration_ms: r.durationMs,
          };
        }),
      );
      return { recording_id: q.recording_id ?? null, session_id: q.session_id ?? null, labels: source.labels.length, models: rows };
    },
  };
}

export type BacktestService = ReturnType<typeof createBacktestService>;
