import { Type } from '@sinclair/typebox';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { JobSchema, RetrainBody, TrainAccepted, TrainBody } from './training.schemas.ts';
import type { JobView, TrainingService } from './training.service.ts';

const tags = ['training'];
const JobRef = Type.Ref('TrainingJob');
const accepted = (job: JobView) => ({ job_id: job.id, status: job.status, message: 'Training job queued.', job });

/** Training jobs: start, retrain, follow, cancel. Progress is also pushed over Socket.IO. */
export async function registerTrainingRoutes(api: Api, deps: { training: TrainingService }) {
  const { training } = deps;
  api.addSchema(JobSchema);

  api.post(
    '/models/train',
    {
      schema: {
        tags,
        summary: 'Train a model on your recordings in the background',
        description:
          'Answers 202 with the job; follow it with GET /models/jobs/:id or the `training_progress`, `training_completed` and `training_failed` socket events.',
        body: TrainBody,
        response: { 202: TrainAccepted, ...errors(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => reply.status(202).send(accepted(await training.train(request.user!.id, request.body))),
  );

  api.post(
    '/models/:id/retrain',
    {
      schema: {
        tags,
        summary: 'Retrain your model (same kind; by default on the same recordings); replaces it on success',
        params: IdParams,
        body: Type.Optional(RetrainBody),
        response: { 202: TrainAccepted, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => reply.status(202).send(accepted(await training.retrain(request.user!.id, request.params.id, request.body ?? {}))),
  );

  api.get(
    '/models/jobs',
    { schema: { tags, summary: 'Your training jobs, newest first', response: { 200: Type.Array(JobRef), ...errors(401) } } },
    async (request) => training.list(request.user!.id),
  );

  api.get(
    '/models/jobs/:id',
    { schema: { tags, summary: 'A training job: status, progress 0..1, stage, error, model', params: IdParams, response: { 200: JobRef, ...errors(400, 401, 404) } } },
    async (request) => training.get(request.user!.id, request.params.id),
  );

  api.delete(
    '/models/jobs/:id',
    {
      schema: {
        tags,
        summary: 'Cancel a queued or running job (its worker thread is stopped)',
        params: IdParams,
        response: { 200: JobRef, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => training.cancel(request.user!.id, request.params.id),
  );
}
