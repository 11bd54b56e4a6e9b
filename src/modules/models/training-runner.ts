import type { Logger } from 'pino';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError, isAppError } from '../../lib/errors.ts';
import { toDbTime } from '../../db/time.ts';
import type { ModelsService } from './models.service.ts';
import type { TrainingSource } from './training.messages.ts';
import type { TrainingPool } from './training-pool.ts';
import type { TrainingJobRow, TrainingJobsRepository } from './training-jobs.repository.ts';

/** Why a running job's signal was aborted. */
export const ABORT_CANCEL = 'cancel';
export const ABORT_SHUTDOWN = 'shutdown';

/** What the runner needs from recordings: the owner's files and labels. */
export interface TrainingData {
  forTraining(userId: number, ids: readonly number[]): Promise<Array<{ id: number; file: string; labels: Array<{ start: number; end: number }> }>>;
}

/** A session's logged readings (time order) and its labelled anomalous segments, for backtests. */
export interface SessionData {
  /** Throws `session-not-found` for a session that is not the user's. */
  forBacktest(userId: number, sessionId: number): Promise<{ readings: { ts: Float64Array; values: Float64Array }; labels: Array<{ start: number; end: number }> }>;
}

/** Buckets of a backtest's scored series unless the job says otherwise. */
export const BACKTEST_POINTS = 500;

/** Alarm feedback as training data (see the alarms feature's feedback service). */
export interface FeedbackData {
  forTraining(
    userId: number,
    modelId: number,
  ): Promise<{ windows: Array<{ readings: { ts: Float64Array; values: Float64Array }; labels: Array<{ start: number; end: number }> }>; sessions: Array<{ readings: { ts: Float64Array; values: Float64Array }; labels: Array<{ start: number; end: number }> }> }>;
}

export interface TrainingRunnerDeps {
  /** Sessions to backtest on (absent: session backtests fail). */
  sessions?: SessionData;
  /** Feedback labels for retrains with `include_feedback` (absent: none). */
  feedback?: FeedbackData;
  jobs: TrainingJobsRepository;
  models: ModelsService;
  data: TrainingData;
  pool: TrainingPool;
  bus: AppBus;
  clock: Clock;
  logger: Logger;
  /** Identifies this process in `training_jobs.runner`. */
  runnerId: string;
  holdoutFraction?: number;
}

const DB_PROGRESS_INTERVAL_MS = 500;

/**
 * Executes one job by id: queued → running → succeeded | failed | cancelled. The queues (local
 * or BullMQ) decide when; this decides what, owning every database write and bus event.
 */
export function createTrainingRunner(deps: TrainingRunnerDeps) {
  const { jobs, bus, logger } = deps;
  const now = () => toDbTime(deps.clock.now());

  async function fail(job: TrainingJobRow, code: string, message: string, status: 'failed' | 'cancelled' = 'failed'): Promise<void> {
    const changed = await jobs.finish(job.id, { status, stage: status, errorCode: code, error: message, now: now() });
    if (changed) bus.emit('training.failed', { jobId: job.id, userId: job.userId, code, message });
  }

  async function run(jobId: number, signal: AbortSignal): Promise<void> {
    const job = await jobs.findById(jobId);
    if (!job || (job.status !== 'queued' && job.status !== 'running')) return;
    if (!(await jobs.markRunning(job.id, deps.runnerId, now()))) return;
    bus.emit('training.progressed', { jobId: job.id, userId: job.userId, status: 'running', progress: 0, stage: 'starting' });
    if (job.type === 'backtest') return runBacktest(job, signal);

    let sources: TrainingSource[];
    let evaluation: TrainingSource | undefined;
    let feedback: { windows: number; sessions: TrainingSource[] } | undefined;
    try {
      const toSource = (r: { id: number; file: string; labels: Array<{ start: number; end: number }> }): TrainingSource => ({
        recordingId: r.id,
        file: r.file,
        labels: r.labels,
      });
      sources = (await deps.data.forTraining(job.userId, job.recordingIds)).map(toSource);
      if (job.evaluationRecordingId !== null) evaluation = (await deps.data.forTraining(job.userId, [job.evaluationRecordingId])).map(toSource)[0];
      if (job.includeFeedback && deps.feedback && job.baseModelId !== null) {
        const fb = await deps.feedback.forTraining(job.userId, job.baseModelId);
        // False alarms (with context) are normal training data; labelled sessions are measured on.
        sources.push(...fb.windows.map((w) => ({ recordingId: 0, readings: w.readings, labels: w.labels })));
        feedback = { windows: fb.windows.length, sessions: fb.sessions.map((s) => ({ recordingId: 0, readings: s.readings, labels: s.labels })) };
      }
    } catch (err) {
      await fail(job, isAppError(err) ? err.code : 'internal', err instanceof Error ? err.message : 'The training data cannot be read.');
      return;
    }

    const progress = progressWriter(job);
    const onProgress = progress.onProgress;

    let result;
    try {
      result = await deps.pool.run(
        {
          jobId: job.id,
          kind: job.kind,
          params: job.params,
          seed: job.id,
          sources,
          ...(evaluation && { evaluation }),
          ...(feedback && feedback.sessions.length > 0 && { feedback: feedback.sessions }),
          holdoutFraction: deps.holdoutFraction ?? 0.2,
        },
        onProgress,
        signal,
      );
    } catch (err) {
      await progress.flushed();
      await failedRun(job, signal, err);
      return;
    }
    await progress.flushed();
    if (result.type === 'error') {
      await fail(job, result.code, result.message);
      return;
    }
    // Cancelled while the worker was finishing: keep the cancellation.
    const current = await jobs.findById(job.id);
    if (!current || current.status !== 'running') return;

    try {
      const metrics = { training: { ...result.fit, samples: result.samples, duration_ms: result.durationMs, ...prefixed('holdout_', result.holdout), ...(feedback && { feedback_windows: feedback.windows }) }, evaluation: result.evaluation ? { ...result.evaluation } : { ...result.holdout } };
      const model = await deps.models.storeTrained(job, { artifactText: result.artifact, kind: result.kind, threshold: result.threshold, metrics, accuracy: result.accuracy });
      const changed = await jobs.finish(job.id, { status: 'succeeded', stage: 'done', modelId: model.id, notes: result.notes, now: now() });
      if (!changed) return;
      bus.emit('training.progressed', { jobId: job.id, userId: job.userId, status: 'running', progress: 1, stage: 'done' });
      bus.emit('training.completed', {
        jobId: job.id,
        userId: job.userId,
        modelId: model.id,
        modelName: model.name,
        accuracy: model.accuracy,
        metrics: numeric(metrics.evaluation),
        notes: result.notes,
      });
      logger.info({ jobId: job.id, modelId: model.id, kind: result.kind, durationMs: result.durationMs }, 'training job succeeded');
    } catch (err) {
      logger.error({ err, jobId: job.id }, 'storing the trained model failed');
      await fail(job, 'internal', 'The trained model could not be stored.');
    }
  }

  /** Progress goes to the bus at once and to the job row at most every 500 ms. */
  function progressWriter(job: TrainingJobRow) {
    let lastWrite = 0;
    let writing: Promise<void> = Promise.resolve();
    return {
      onProgress(p: { progress: number; stage: string }) {
        bus.emit('training.progressed', { jobId: job.id, userId: job.userId, status: 'running', progress: p.progress, stage: p.stage });
        const t = Date.now();
        if (t - lastWrite < DB_PROGRESS_INTERVAL_MS) return;
        lastWrite = t;
        writing = writing
          .then(() => jobs.setProgress(job.id, p.progress, p.stage.slice(0, 100), now()))
          .catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'training progress not saved'));
      },
      flushed: () => writing,
    };
  }

  async function failedRun(job: TrainingJobRow, signal: AbortSignal, err: unknown): Promise<void> {
    if (signal.aborted) {
      if (signal.reason === ABORT_SHUTDOWN) await fail(job, 'training-interrupted', 'The server stopped while the job was running.');
      else await fail(job, 'training-cancelled', 'The job was cancelled.', 'cancelled');
      return;
    }
    logger.error({ err, jobId: job.id }, 'training worker crashed');
    await fail(job, 'internal', 'The training worker failed.');
  }

  /** The readings to score with their labels, exactly as the owner may see them. */
  async function backtestSource(userId: number, source: { recordingId?: number | null; sessionId?: number | null }): Promise<TrainingSource> {
    if (source.sessionId != null) {
      if (!deps.sessions) throw new AppError('session-not-found');
      const s = await deps.sessions.forBacktest(userId, source.sessionId);
      return { recordingId: 0, readings: s.readings, labels: s.labels };
    }
    const r = (await deps.data.forTraining(userId, [source.recordingId as number]))[0]!;
    return { recordingId: r.id, file: r.file, labels: r.labels };
  }

  async function backtestInput(userId: number, modelId: number, source: { recordingId?: number | null; sessionId?: number | null }) {
    const { text, model } = await deps.models.download({ userId }, modelId);
    return { artifact: text, model, source: await backtestSource(userId, source) };
  }

  async function runBacktest(job: TrainingJobRow, signal: AbortSignal): Promise<void> {
    let input: Awaited<ReturnType<typeof backtestInput>>;
    try {
      input = await backtestInput(job.userId, job.baseModelId as number, { recordingId: job.recordingIds[0] ?? null, sessionId: job.sessionId });
    } catch (err) {
      await fail(job, isAppError(err) ? err.code : 'internal', err instanceof Error ? err.message : 'The backtest data cannot be read.');
      return;
    }
    const threshold = job.threshold ?? input.model.threshold;
    const points = typeof job.params.points === 'number' ? job.params.points : BACKTEST_POINTS;
    const progress = progressWriter(job);
    let result;
    try {
      result = await deps.pool.backtest({ jobId: job.id, artifact: input.artifact, threshold, source: input.source, points }, progress.onProgress, signal);
    } catch (err) {
      await progress.flushed();
      await failedRun(job, signal, err);
      return;
    }
    await progress.flushed();
    if (result.type === 'error') {
      await fail(job, result.code, result.message);
      return;
    }
    const payload = {
      model_id: input.model.id,
      threshold,
      recording_id: job.sessionId === null ? (job.recordingIds[0] ?? null) : null,
      session_id: job.sessionId,
      labels: input.source.labels.map((l) => ({ start: new Date(l.start).toISOString(), end: new Date(l.end).toISOString() })),
      metrics: result.metrics,
      alarms: result.alarms.map((t) => new Date(t).toISOString()),
      series: result.series,
      duration_ms: result.durationMs,
    };
    if (!(await jobs.finish(job.id, { status: 'succeeded', stage: 'done', result: payload, now: now() }))) return;
    bus.emit('training.progressed', { jobId: job.id, userId: job.userId, status: 'running', progress: 1, stage: 'done' });
    bus.emit('backtest.completed', { jobId: job.id, userId: job.userId, modelId: input.model.id, metrics: numeric(result.metrics) });
    logger.info({ jobId: job.id, modelId: input.model.id, readings: result.metrics.readings, durationMs: result.durationMs }, 'backtest job succeeded');
  }

  return { run, fail, backtestSource };
}

function prefixed(prefix: string, m: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[`${prefix}${k}`] = v;
  return out;
}

function numeric(m: object): Record<string, number> {
  return prefixed('', m);
}

export type TrainingRunner = ReturnType<typeof createTrainingRunner>;
