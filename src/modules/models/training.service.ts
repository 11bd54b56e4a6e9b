import type { Logger } from 'pino';
import { createDetector, DEFAULT_DETECTOR_KIND, describeDetectors, DetectorError, legacyKindMessage, retiredKindMessage, TRAINABLE_DETECTOR_KINDS } from '../../detectors/index.ts';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { ModelsService } from './models.service.ts';
import type { TrainingJobRow, TrainingJobsRepository } from './training-jobs.repository.ts';
import type { TrainingQueue } from './training-queue.ts';
import type { TrainingRunner } from './training-runner.ts';

export interface TrainingRecordings {
  forTraining(userId: number, ids: readonly number[]): Promise<Array<{ id: number; samples: number }>>;
}

export interface TrainRequest {
  name: string;
  material_type: string;
  description?: string | null;
  kind?: string;
  recording_ids: number[];
  evaluation_recording_id?: number | null;
  params?: Record<string, unknown>;
}

export interface RetrainRequest {
  /** Also learn from the alarm feedback on sessions that ran this model. */
  include_feedback?: boolean;
  recording_ids?: number[];
  evaluation_recording_id?: number | null;
  params?: Record<string, unknown>;
}

export interface JobView {
  id: number;
  status: TrainingJobRow['status'];
  progress: number;
  stage: string;
  kind: string;
  name: string;
  material_type: string;
  params: Record<string, unknown>;
  recording_ids: number[];
  evaluation_recording_id: number | null;
  model_id: number | null;
  base_model_id: number | null;
  queue: 'local' | 'bullmq';
  type: 'train' | 'backtest';
  session_id: number | null;
  threshold: number | null;
  include_feedback: boolean;
  error: { code: string; message: string } | null;
  notes: string[];
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface TrainingServiceDeps {
  jobs: TrainingJobsRepository;
  models: ModelsService;
  recordings: TrainingRecordings;
  queue: TrainingQueue;
  runner: TrainingRunner;
  bus: AppBus;
  clock: Clock;
  logger: Logger;
  jobsPerUser: number;
  /** Fraction of normal data held out for metrics (the worker uses the same). */
  holdoutFraction?: number;
  onStop?: () => Promise<void>;
}

export function toJobView(j: TrainingJobRow): JobView {
  return {
    id: j.id,
    status: j.status,
    progress: j.progress,
    stage: j.stage,
    kind: j.kind,
    name: j.name,
    material_type: j.materialType,
    params: j.params,
    recording_ids: j.recordingIds,
    evaluation_recording_id: j.evaluationRecordingId,
    model_id: j.modelId,
    base_model_id: j.baseModelId,
    queue: j.queue,
    type: j.type,
    session_id: j.sessionId,
    threshold: j.threshold,
    include_feedback: j.includeFeedback,
    error: j.errorCode ? { code: j.errorCode, message: j.error ?? '' } : null,
    notes: j.notes,
    created_at: fromDbTime(j.createdAt),
    started_at: j.startedAt && fromDbTime(j.startedAt),
    finished_at: j.finishedAt && fromDbTime(j.finishedAt),
  };
}

/** Training jobs: validation, the per-user limit, enqueueing, status, cancellation and retraining. */
export function createTrainingService(deps: TrainingServiceDeps) {
  const { jobs, queue, bus } = deps;
  const now = () => toDbTime(deps.clock.now());
  const holdout = deps.holdoutFraction ?? 0.2;

  async function owned(userId: number, jobId: number): Promise<TrainingJobRow> {
    const j = await jobs.findById(jobId);
    if (!j || j.userId !== userId) throw new AppError('training-job-not-found');
    return j;
  }

  /** Checks kind, params and data size before anything is queued. */
  async function validate(userId: number, kind: string, params: Record<string, unknown>, recordingIds: number[], evaluationId: number | null) {
    const legacy = legacyKindMessage(kind);
    if (legacy) throw new AppError('unknown-detector-kind', legacy);
    if (!describeDetectors().some((d) => d.kind === kind)) {
      const available = describeDetectors().filter((d) => TRAINABLE_DETECTOR_KINDS.includes(d.kind));
      throw new AppError('unknown-detector-kind', retiredKindMessage(kind) ?? `Unknown or unavailable detector kind "${kind}". Available: ${available.map((d) => d.kind).join(', ')}.`);
    }
    let minimum: number;
    try {
      minimum = createDetector(kind, { params }).minFitSamples;
    } catch (err) {
      if (err instanceof DetectorError) throw new AppError('invalid-detector-params', err.message, { details: err.details });
      throw err;
    }
    const unique = [...new Set(recordingIds)];
    const recs = await deps.recordings.forTraining(userId, unique);
    if (evaluationId !== null) await deps.recordings.forTraining(userId, [evaluationId]);
    const total = recs.reduce((a, r) => a + r.samples, 0);
    const usable = Math.floor(total * (1 - holdout));
    if (usable < minimum) {
      throw new AppError(
        'insufficient-training-data',
        `A ${kind} model needs at least ${Math.ceil(minimum / (1 - holdout))} readings (${minimum} to fit plus ${Math.round(holdout * 100)}% held out); the recordings have ${total}.`,
        { details: { minimum: Math.ceil(minimum / (1 - holdout)), got: total } },
      );
    }
    return unique;
  }

  async function enqueue(userId: number, job: Omit<Parameters<TrainingJobsRepository['insert']>[0], 'userId' | 'queue' | 'now'>): Promise<JobView> {
    if ((await jobs.countActive(userId)) >= deps.jobsPerUser) {
      throw new AppError('training-limit-reached', `At most ${deps.jobsPerUser} training job(s) may be queued or running per account; wait or cancel one.`);
    }
    const id = await jobs.insert({ ...job, userId, queue: queue.kind, now: now() });
    // Two requests at once may both pass the check above: the later job row gives way.
    if ((await jobs.countActiveBefore(userId, id)) >= deps.jobsPerUser) {
      await jobs.delete(id);
      throw new AppError('training-limit-reached', `At most ${deps.jobsPerUser} training job(s) may be queued or running per account; wait or cancel one.`);
    }
    bus.emit('training.progressed', { jobId: id, userId, status: 'queued', progress: 0, stage: 'queued' });
    try {
      await queue.enqueue(id);
    } catch (err) {
      await deps.runner.fail((await jobs.findById(id))!, 'internal', 'The job could not be queued.');
      throw new AppError('internal', undefined, { cause: err });
    }
    return toJobView((await jobs.findById(id))!);
  }

  return {
    /** Queues a prepared job (training or backtest) under the per-user limit. */
    enqueue,

    async train(userId: number, req: TrainRequest): Promise<JobView> {
      const kind = req.kind ?? DEFAULT_DETECTOR_KIND;
      const params = req.params ?? {};
      const evaluationId = req.evaluation_recording_id ?? null;
      const recordingIds = await validate(userId, kind, params, req.recording_ids, evaluationId);
      return enqueue(userId, {
        baseModelId: null,
        name: req.name,
        materialType: req.material_type,
        description: req.description ?? null,
        kind,
        params,
        recordingIds,
        evaluationRecordingId: evaluationId,
      });
    },

    async retrain(userId: number, modelId: number, req: RetrainRequest): Promise<JobView> {
      const model = await deps.models.ownedModel(userId, modelId);
      const previous = (await jobs.listForModel(modelId)).find((j) => j.status === 'succeeded');
      const recordingIds = req.recording_ids ?? previous?.recordingIds;
      if (!recordingIds || recordingIds.length === 0) {
        throw new AppError('validation-failed', 'This model was not trained here; name the recording_ids to retrain it on.');
      }
      const params = req.params ?? (previous?.params ?? {});
      const evaluationId = req.evaluation_recording_id !== undefined ? req.evaluation_recording_id : (previous?.evaluationRecordingId ?? null);
      const ids = await validate(userId, model.kind, params, recordingIds, evaluationId);
      return enqueue(userId, {
        baseModelId: model.id,
        name: model.name,
        materialType: model.materialType,
        description: model.description,
        kind: model.kind,
        params,
        recordingIds: ids,
        evaluationRecordingId: evaluationId,
        includeFeedback: req.include_feedback ?? false,
      });
    },

    async get(userId: number, jobId: number): Promise<JobView> {
      return toJobView(await owned(userId, jobId));
    },

    async list(userId: number): Promise<JobView[]> {
      return (await jobs.listForUser(userId)).map(toJobView);
    },

    async cancel(userId: number, jobId: number): Promise<JobView> {
      const job = await owned(userId, jobId);
      if (job.status !== 'queued' && job.status !== 'running') throw new AppError('training-job-finished', `The job has already ${job.status}.`);
      await deps.runner.fail(job, 'training-cancelled', 'The job was cancelled.', 'cancelled');
      await queue.cancel(jobId);
      return toJobView((await jobs.findById(jobId))!);
    },

    /**
     * Start-up: the in-process queue cannot resume, so its interrupted jobs are marked failed.
     * BullMQ resumes stalled jobs itself; only jobs the queue no longer holds are failed.
     */
    async start(): Promise<void> {
      const message = 'The server restarted while the job was queued or running.';
      let stale: TrainingJobRow[] = [];
      if (queue.kind === 'local') {
        stale = await jobs.failActive('local', 'training-interrupted', message, now());
      } else {
        for (const j of await jobs.listActive('bullmq')) {
          if (await queue.holds(j.id)) continue;
          if (await jobs.finish(j.id, { status: 'failed', stage: 'interrupted', errorCode: 'training-interrupted', error: message, now: now() })) stale.push(j);
        }
      }
      for (const j of stale) bus.emit('training.failed', { jobId: j.id, userId: j.userId, code: 'training-interrupted', message });
      if (stale.length > 0) deps.logger.warn({ jobs: stale.map((j) => j.id) }, 'training jobs interrupted by a restart marked failed');
      await queue.start();
    },

    async stop(): Promise<void> {
      await queue.stop();
      await deps.onStop?.();
    },
  };
}

export type TrainingService = ReturnType<typeof createTrainingService>;
