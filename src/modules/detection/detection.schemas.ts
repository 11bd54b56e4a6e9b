import { Type } from '@sinclair/typebox';

const SessionIdSchema = Type.Union([Type.Integer(), Type.String()]);

export const FinalAnalysisSchema = Type.Object(
  {
    is_anomalous: Type.Boolean({ description: 'The run as a whole: at least 2 % and 3 readings anomalous.' }),
    summary: Type.String(),
    total_predictions: Type.Integer(),
    anomaly_count: Type.Integer(),
    anomaly_percentage: Type.Number({ description: '0..100, one decimal.' }),
    confidence: Type.Number({ description: 'Mean per-reading confidence, 0..1.' }),
  },
  { $id: 'FinalAnalysis', title: 'FinalAnalysis' },
);

export const LiveSessionSchema = Type.Object(
  {
    session_id: SessionIdSchema,
    device_id: Type.Integer(),
    model_id: Type.Integer(),
    model_name: Type.String(),
    threshold: Type.Number(),
    started_at: Type.String({ format: 'date-time' }),
    total_predictions: Type.Integer(),
    anomaly_count: Type.Integer(),
    log: Type.Boolean(),
    paused: Type.Boolean(),
    ml_status: Type.Object({
      window_progress: Type.Number(),
      window_size: Type.Integer(),
      current_window: Type.Integer(),
      status: Type.String(),
      method: Type.String(),
    }),
  },
  { $id: 'LiveSession', title: 'LiveSession' },
);

export const SessionSummarySchema = Type.Object(
  {
    id: Type.Integer(),
    session_id: Type.Integer(),
    device_id: Type.Union([Type.Integer(), Type.Null()]),
    model_id: Type.Union([Type.Integer(), Type.Null()]),
    model_name: Type.Union([Type.String(), Type.Null()]),
    status: Type.String({ description: 'running, stopped, auto_stopped, interrupted or failed' }),
    threshold: Type.Number(),
    started_at: Type.String({ format: 'date-time' }),
    ended_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    duration_s: Type.Union([Type.Number(), Type.Null()]),
    total_predictions: Type.Integer(),
    anomaly_count: Type.Integer(),
    anomaly_percentage: Type.Number(),
    final_analysis: Type.Union([Type.Ref('FinalAnalysis'), Type.Null()]),
  },
  { $id: 'SessionSummary', title: 'SessionSummary' },
);

export const StartBody = Type.Object(
  {
    model_id: Type.Optional(Type.Integer({ minimum: 1, description: 'Default: your selected model, else the default preset.' })),
    device_id: Type.Optional(Type.Integer({ minimum: 1, description: 'Default: your default device, the server Arduino or a simulator.' })),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    duration_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 7 * 24 * 3600, description: 'Auto-stop after this long.' })),
    max_readings: Type.Optional(Type.Integer({ minimum: 1, description: 'Auto-stop after this many scored readings.' })),
    log: Type.Optional(Type.Boolean({ default: true, description: 'Write every scored reading to detection_logs.' })),
  },
  { additionalProperties: false },
);

export const StopBody = Type.Union([
  Type.Object({ session_id: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
  Type.Null(),
]);

export const StopResponse = Type.Object({
  running: Type.Literal(false),
  stopped: Type.Array(Type.Object({ session_id: SessionIdSchema, final_analysis: Type.Ref('FinalAnalysis') })),
  final_analysis: Type.Union([Type.Ref('FinalAnalysis'), Type.Null()], { description: 'Of the last stopped session.' }),
});

export const StatusResponse = Type.Object({
  running: Type.Boolean(),
  sessions: Type.Array(Type.Ref('LiveSession')),
});

export const SessionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 40 })),
});

export const LogsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 40 })),
  anomalies_only: Type.Optional(Type.Boolean({ default: false })),
});

export const LogsResponse = Type.Object({
  logs: Type.Array(
    Type.Object({
      id: Type.Integer(),
      timestamp: Type.String({ format: 'date-time' }),
      value: Type.Number(),
      anomaly_score: Type.Number(),
      is_anomaly: Type.Boolean(),
      confidence: Type.Number(),
      explanation: Type.Unknown(),
    }),
  ),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const WebhookBody = Type.Object(
  { url: Type.Union([Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), Type.Null()]) },
  { additionalProperties: false },
);
export const WebhookResponse = Type.Object({ url: Type.Union([Type.String(), Type.Null()]) });

export const SeriesQuery = Type.Object({
  points: Type.Optional(Type.Integer({ minimum: 2, maximum: 5000, default: 500, description: 'Most buckets to return.' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Default: the first logged minute.' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: the end of the last logged minute.' })),
});

export const SeriesResponse = Type.Object({
  session_id: Type.Integer(),
  from: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  to: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  source: Type.Union([Type.Literal('raw'), Type.Literal('rollup_1m'), Type.Literal('rollup_1h')], {
    description: 'raw logs (short ranges), or the 1-minute / 1-hour rollups (long ranges, and after raw logs passed retention).',
  }),
  bucket_ms: Type.Integer({ description: 'Width of each bucket.' }),
  points: Type.Array(
    Type.Object({
      t: Type.Integer({ description: 'Bucket start, epoch ms.' }),
      count: Type.Integer(),
      min: Type.Number(),
      max: Type.Number(),
      mean: Type.Number(),
      anomaly_count: Type.Integer(),
      max_score: Type.Number(),
    }),
    { description: 'Only buckets holding readings, in time order; at most `points`.' },
  ),
});
