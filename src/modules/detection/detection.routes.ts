import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import {
  FinalAnalysisSchema,
  LiveSessionSchema,
  LogsQuery,
  LogsResponse,
  SessionSummarySchema,
  SeriesQuery,
  SeriesResponse,
  SessionsQuery,
  StartBody,
  StatusResponse,
  StopBody,
  StopResponse,
  WebhookBody,
  WebhookResponse,
} from './detection.schemas.ts';
import type { DetectionService } from './detection.service.ts';

const tags = ['detection'];

/** /detection: start, stop and watch your sessions; history, logs and CSV export. */
export async function registerDetectionRoutes(api: Api, deps: { detection: DetectionService }) {
  const { detection } = deps;
  api.addSchema(FinalAnalysisSchema);
  api.addSchema(LiveSessionSchema);
  api.addSchema(SessionSummarySchema);

  api.post(
    '/detection/start',
    {
      schema: {
        tags,
        summary: 'Start a detection session on a device with a model',
        body: StartBody,
        response: { 201: Type.Intersect([Type.Ref('LiveSession'), Type.Object({ running: Type.Literal(true), message: Type.String() })]), ...errors(400, 401, 403, 404, 409, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const s = await detection.start({ userId: request.user!.id }, request.body);
      return reply.status(201).send({ ...s, running: true as const, message: `Detection started with ${s.model_name}.` });
    },
  );

  api.post(
    '/detection/stop',
    {
      schema: {
        tags,
        summary: 'Stop one session (session_id) or all of yours; returns each final analysis',
        body: StopBody,
        response: { 200: StopResponse, ...errors(400, 401, 404, 503) },
      },
    },
    async (request) => {
      const stopped = await detection.stop({ userId: request.user!.id }, request.body?.session_id ?? undefined);
      return { running: false as const, stopped, final_analysis: stopped.at(-1)?.final_analysis ?? null };
    },
  );

  api.get(
    '/detection/status',
    { schema: { tags, summary: 'Your live sessions with their counters', response: { 200: StatusResponse, ...errors(401) } } },
    async (request) => {
      const sessions = await detection.status({ userId: request.user!.id });
      return { running: sessions.length > 0, sessions };
    },
  );

  api.get(
    '/detection/sessions',
    {
      schema: {
        tags,
        summary: 'Your sessions, newest first (keyset pagination)',
        querystring: SessionsQuery,
        response: { 200: Type.Object({ sessions: Type.Array(Type.Ref('SessionSummary')), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
      },
    },
    async (request) => detection.history(request.user!.id, { limit: request.query.limit ?? 20, ...(request.query.cursor !== undefined && { cursor: request.query.cursor }) }),
  );

  api.get(
    '/detection/sessions/:id',
    { schema: { tags, summary: 'One session with its final analysis', params: IdParams, response: { 200: Type.Ref('SessionSummary'), ...errors(401, 404) } } },
    async (request) => detection.get(request.user!.id, request.params.id),
  );

  api.get(
    '/detection/sessions/:id/logs',
    {
      schema: {
        tags,
        summary: 'Scored readings of a session in order (anomalies_only to filter)',
        params: IdParams,
        querystring: LogsQuery,
        response: { 200: LogsResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      return detection.logs(request.user!.id, request.params.id, {
        limit: q.limit ?? 100,
        ...(q.cursor !== undefined && { cursor: q.cursor }),
        anomalies_only: q.anomalies_only ?? false,
      });
    },
  );

  api.get(
    '/detection/sessions/:id/series',
    {
      schema: {
        tags,
        summary: "A session's min/max-downsampled series for charts (raw logs for short ranges, rollups for long ones)",
        params: IdParams,
        querystring: SeriesQuery,
        response: { 200: SeriesResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      return detection.series(request.user!.id, request.params.id, {
        points: q.points ?? 500,
        ...(q.from !== undefined && { from: q.from }),
        ...(q.to !== undefined && { to: q.to }),
      });
    },
  );

  api.get(
    '/detection/sessions/:id/logs.csv',
    {
      schema: {
        tags,
        summary: 'The whole log as CSV, streamed',
        params: IdParams,
        querystring: Type.Object({ anomalies_only: Type.Optional(Type.Boolean({ default: false })) }),
        response: { 200: Type.String({ description: 'text/csv' }), ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const gen = detection.logsCsv(request.user!.id, request.params.id, request.query.anomalies_only ?? false);
      // Pull the header first so a missing session is a 404, not a broken stream.
      const first = await gen.next();
      async function* rest() {
        if (!first.done) yield first.value;
        yield* gen;
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="session-${request.params.id}.csv"`)
        // A stream is sent as is (the string schema documents the body; it is not serialised).
        .send(Readable.from(rest()) as unknown as string);
    },
  );

  api.get(
    '/detection/webhook',
    { schema: { tags, summary: 'Your alert webhook URL', response: { 200: WebhookResponse, ...errors(401) } } },
    async (request) => ({ url: await detection.getWebhook(request.user!.id) }),
  );

  api.put(
    '/detection/webhook',
    {
      schema: {
        tags,
        summary: 'Set (or clear with null) the URL that receives a POST for each anomaly alert',
        body: WebhookBody,
        response: { 200: WebhookResponse, ...errors(400, 401) },
      },
    },
    async (request) => {
      await detection.setWebhook(request.user!.id, request.body.url);
      return { url: request.body.url };
    },
  );
}
