import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { BacktestBody, BacktestMetricsSchema, BacktestResultSchema, BacktestView, CompareQuery, CompareResponse } from './backtest.schemas.ts';
import type { BacktestService } from './backtest.service.ts';
import { TrainAccepted } from './training.schemas.ts';

const tags = ['backtests'];

/** Backtests of stored models on stored data, and side-by-side comparisons. */
export async function registerBacktestRoutes(api: Api, deps: { backtests: BacktestService }) {
  const { backtests } = deps;
  api.addSchema(BacktestMetricsSchema);
  api.addSchema(BacktestResultSchema);

  api.post(
    '/models/:id/backtest',
    {
      schema: {
        tags,
        summary: 'Score one of your recordings or sessions with a preset or your model, in the background',
        description:
          'Answers 202 with a training-style job (`type: backtest`): follow it with GET /models/backtests/:id (result: event metrics against the labels and a downsampled scored series) or the `training_progress`, `backtest_completed` and `training_failed` socket events. Counts towards `TRAINING_JOBS_PER_USER`; cancel with DELETE /models/jobs/:id.',
        params: IdParams,
        body: BacktestBody,
        response: { 202: TrainAccepted, ...errors(400, 401, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const job = await backtests.start(request.user!.id, request.params.id, request.body);
      return reply.status(202).send({ job_id: job.id, status: job.status, message: 'Backtest queued.', job });
    },
  );

  api.get(
    '/models/backtests/:id',
    {
      schema: { tags, summary: 'A backtest job: status, progress, and its result once it succeeded', params: IdParams, response: { 200: BacktestView, ...errors(400, 401, 404) } },
    },
    async (request) => backtests.get(request.user!.id, request.params.id),
  );

  api.get(
    '/models/compare',
    {
      schema: {
        tags,
        summary: 'Several models (presets and yours) scored on the same recording or session, side by side',
        description: 'Runs now on the training worker threads (no job) and answers when every model is scored; metrics as in a backtest.',
        querystring: CompareQuery,
        response: { 200: CompareResponse, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => backtests.compare(request.user!.id, request.query),
  );
}
