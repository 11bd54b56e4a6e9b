import { Type } from '@sinclair/typebox';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { AlarmRulesSchema } from './alarm-rules.ts';
import { AckBody, AlarmReading, AlarmSchema, AlarmsQuery, FeedbackBody } from './alarms.schemas.ts';
import type { AlarmsService } from './alarms.service.ts';
import type { FeedbackService } from './feedback.service.ts';

const tags = ['alarms'];

const RulesResponse = Type.Object({
  device_id: Type.Union([Type.Integer(), Type.Null()], { description: 'null: your defaults for every device.' }),
  rules: Type.Ref('AlarmRules', { description: 'The fields set at this level.' }),
  effective: Type.Unknown({ description: 'Server defaults, your defaults and the device rules combined.' }),
});

/** /alarms: your alarms (list, detail with readings, acknowledge, resolve, feedback) and the rules that raise them. */
const FeedbackLabel = Type.Object({
  id: Type.Integer(),
  session_id: Type.Integer(),
  device_id: Type.Union([Type.Integer(), Type.Null()]),
  model_id: Type.Union([Type.Integer(), Type.Null()]),
  alarm_id: Type.Union([Type.Integer(), Type.Null()]),
  kind: Type.Union([Type.Literal('normal'), Type.Literal('anomalous')]),
  source: Type.Union([Type.Literal('not_anomaly'), Type.Literal('confirmed'), Type.Literal('missed')]),
  signal: Type.Union([Type.String(), Type.Null()]),
  start: Type.String({ format: 'date-time' }),
  end: Type.String({ format: 'date-time' }),
  note: Type.Union([Type.String(), Type.Null()]),
});

const SessionFeedbackBody = Type.Object(
  {
    kind: Type.Literal('missed', { description: '`missed`: the range was anomalous but raised no alarm.' }),
    from: Type.String({ format: 'date-time', description: 'Start of the range (must overlap the session).' }),
    to: Type.String({ format: 'date-time', description: 'End of the range, after `from`.' }),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

const Suppression = Type.Object({
  id: Type.Integer(),
  device_id: Type.Integer(),
  signal: Type.String(),
  max_deviation: Type.Union([Type.Number(), Type.Null()], { description: 'Readings within this of the expected value are not alarmed on (null: `max_score` applies).' }),
  max_score: Type.Number(),
  alarm_id: Type.Union([Type.Integer(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});

export async function registerAlarmsRoutes(api: Api, deps: { alarms: AlarmsService; feedback: FeedbackService }) {
  const { alarms, feedback } = deps;

  api.get(
    '/alarms/labels',
    {
      schema: {
        tags,
        summary: "A session's labels from your alarm feedback (normal: false alarms; anomalous: confirmed alarms and missed ranges)",
        querystring: Type.Object({ session_id: Type.Integer({ minimum: 1 }) }),
        response: { 200: Type.Object({ labels: Type.Array(FeedbackLabel) }), ...errors(400, 401, 404) },
      },
    },
    async (request) => ({ labels: await feedback.labels(request.user!.id, request.query.session_id) }),
  );

  api.post(
    '/detection/sessions/:id/feedback',
    {
      schema: {
        tags: ['detection', ...tags],
        summary: 'Mark a time range of your session as a missed anomaly (no alarm needed): stored as an anomalous label, like `missed` alarm feedback',
        params: IdParams,
        body: SessionFeedbackBody,
        response: { 201: FeedbackLabel, ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => reply.status(201).send(await feedback.sessionFeedback(request.user!.id, request.params.id, request.body)),
  );

  api.get(
    '/alarms/suppressions',
    { schema: { tags, summary: 'Your suppressions (from `not_anomaly` feedback with `suppress: true`), applied live', response: { 200: Type.Object({ suppressions: Type.Array(Suppression) }), ...errors(401) } } },
    async (request) => ({ suppressions: await feedback.suppressions(request.user!.id) }),
  );

  api.delete(
    '/alarms/suppressions/:id',
    { schema: { tags, summary: 'Drop a suppression: the signal alarms again from the next reading', params: IdParams, response: { 204: Type.Null(), ...errors(401, 404) } } },
    async (request, reply) => {
      await feedback.deleteSuppression(request.user!.id, request.params.id);
      return reply.status(204).send(null);
    },
  );
  api.addSchema(AlarmSchema);
  api.addSchema(AlarmRulesSchema);

  api.get(
    '/alarms',
    {
      schema: {
        tags,
        summary: 'Your alarms, newest first (keyset pagination)',
        querystring: AlarmsQuery,
        response: { 200: Type.Object({ alarms: Type.Array(Type.Ref('Alarm')), next_cursor: Type.Union([Type.String(), Type.Null()]) }), ...errors(400, 401) },
      },
    },
    async (request) => alarms.list(request.user!.id, request.query),
  );

  api.get(
    '/alarms/rules',
    { schema: { tags, summary: 'Your default alarm rules (for every device)', response: { 200: RulesResponse, ...errors(401) } } },
    async (request) => alarms.getRules(request.user!.id, 0),
  );

  api.put(
    '/alarms/rules',
    {
      schema: {
        tags,
        summary: 'Replace your default alarm rules; running sessions use them from their next reading',
        body: Type.Ref('AlarmRules'),
        response: { 200: RulesResponse, ...errors(400, 401) },
      },
    },
    async (request) => alarms.putRules(request.user!.id, 0, request.body as never),
  );

  api.get(
    '/alarms/rules/devices/:id',
    { schema: { tags, summary: "A device's alarm rules (over your defaults)", params: IdParams, response: { 200: RulesResponse, ...errors(401, 403, 404) } } },
    async (request) => alarms.getRules(request.user!.id, request.params.id),
  );

  api.put(
    '/alarms/rules/devices/:id',
    {
      schema: {
        tags,
        summary: "Replace a device's alarm rules; running sessions use them from their next reading",
        params: IdParams,
        body: Type.Ref('AlarmRules'),
        response: { 200: RulesResponse, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => alarms.putRules(request.user!.id, request.params.id, request.body as never),
  );

  api.delete(
    '/alarms/rules/devices/:id',
    { schema: { tags, summary: "Drop a device's own rules (your defaults apply again)", params: IdParams, response: { 204: Type.Null(), ...errors(401, 403, 404) } } },
    async (request, reply) => {
      await alarms.deleteRules(request.user!.id, request.params.id);
      return reply.status(204).send(null);
    },
  );

  api.get(
    '/alarms/:id',
    {
      schema: {
        tags,
        summary: 'One alarm with the readings around it (a minute either side)',
        params: IdParams,
        response: { 200: Type.Intersect([Type.Ref('Alarm'), Type.Object({ readings: Type.Array(AlarmReading) })]), ...errors(401, 404) },
      },
    },
    async (request) => alarms.get(request.user!.id, request.params.id),
  );

  api.post(
    '/alarms/:id/ack',
    { schema: { tags, summary: 'Acknowledge an open alarm (stops re-notification)', params: IdParams, body: Type.Optional(AckBody), response: { 200: Type.Ref('Alarm'), ...errors(400, 401, 404, 409) } } },
    async (request) => alarms.acknowledge(request.user!.id, request.params.id, request.body?.note),
  );

  api.post(
    '/alarms/:id/resolve',
    { schema: { tags, summary: 'Resolve an alarm by hand', params: IdParams, body: Type.Optional(AckBody), response: { 200: Type.Ref('Alarm'), ...errors(400, 401, 404) } } },
    async (request) => alarms.resolve(request.user!.id, request.params.id, request.body?.note),
  );

  api.post(
    '/alarms/:id/feedback',
    {
      schema: {
        tags,
        summary: 'Say whether the alarm was real: not_anomaly (labelled normal, optional suppression), confirmed, or missed (a time range)',
        params: IdParams,
        body: FeedbackBody,
        response: { 200: Type.Ref('Alarm'), ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => alarms.feedback(request.user!.id, request.params.id, request.body),
  );
}
