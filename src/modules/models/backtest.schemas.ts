import { Type } from '@sinclair/typebox';

const Threshold = Type.Number({ minimum: 0, maximum: 1, description: "Alarm when the anomaly score is at or above it; default the model's threshold." });

export const BacktestBody = Type.Object(
  {
    recording_id: Type.Optional(Type.Integer({ minimum: 1, description: 'One of your recordings (its labelled segments are the anomalies).' })),
    session_id: Type.Optional(Type.Integer({ minimum: 1, description: 'One of your detection sessions (its logged readings; your alarm feedback gives the labels).' })),
    threshold: Type.Optional(Threshold),
    points: Type.Optional(Type.Integer({ minimum: 0, maximum: 5000, default: 500, description: 'Buckets of the downsampled scored series (0 = none).' })),
  },
  { additionalProperties: false },
);

const Metrics = Type.Object(
  {
    readings: Type.Integer(),
    normal_readings: Type.Integer(),
    hours: Type.Number(),
    alarms: Type.Integer({ description: 'Anomalous readings.' }),
    false_alarms: Type.Integer({ description: 'Alarms outside every labelled segment (and its 3 s grace), merged when closer than 2 s.' }),
    false_alarm_rate: Type.Number({ description: 'Alarms per normal reading.' }),
    false_alarms_per_hour: Type.Number(),
    events: Type.Optional(Type.Integer({ description: 'Labelled anomalous segments.' })),
    detected: Type.Optional(Type.Integer()),
    precision: Type.Optional(Type.Number()),
    recall: Type.Optional(Type.Number()),
    f1: Type.Optional(Type.Number()),
  },
  { $id: 'BacktestMetrics', title: 'BacktestMetrics', description: 'Event metrics (precision/recall/F1 only when there are labelled segments).' },
);
export const BacktestMetricsSchema = Metrics;

export const BacktestResultSchema = Type.Object(
  {
    model_id: Type.Integer(),
    threshold: Type.Number(),
    recording_id: Type.Union([Type.Integer(), Type.Null()]),
    session_id: Type.Union([Type.Integer(), Type.Null()]),
    labels: Type.Array(Type.Object({ start: Type.String({ format: 'date-time' }), end: Type.String({ format: 'date-time' }) }), { description: 'The anomalous segments scored against.' }),
    metrics: Type.Ref('BacktestMetrics'),
    alarms: Type.Array(Type.String({ format: 'date-time' }), { description: 'Start of each run of anomalous readings (at most 1,000).' }),
    series: Type.Array(Type.Array(Type.Number(), { minItems: 5, maxItems: 5 }), {
      description: 'Downsampled scored series: `[first ms, min value, max value, max anomaly score, anomalous readings]` per bucket of equal reading count.',
    }),
    duration_ms: Type.Integer(),
  },
  { $id: 'BacktestResult', title: 'BacktestResult' },
);

export const BacktestView = Type.Object({
  job: Type.Ref('TrainingJob'),
  result: Type.Union([Type.Ref('BacktestResult'), Type.Null()], { description: 'Set once the job succeeded.' }),
});

export const CompareQuery = Type.Object({
  ids: Type.String({ maxLength: 100, description: 'Model ids, comma-separated (1 to 5): presets and your own.' }),
  recording_id: Type.Optional(Type.Integer({ minimum: 1 })),
  session_id: Type.Optional(Type.Integer({ minimum: 1 })),
  threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: "One threshold for every model; default each model's own." })),
  points: Type.Optional(Type.Integer({ minimum: 0, maximum: 2000, default: 0, description: 'Buckets of each scored series (0 = metrics only).' })),
});

export const CompareResponse = Type.Object({
  recording_id: Type.Union([Type.Integer(), Type.Null()]),
  session_id: Type.Union([Type.Integer(), Type.Null()]),
  labels: Type.Integer({ description: 'Labelled anomalous segments in the data.' }),
  models: Type.Array(
    Type.Object({
      model_id: Type.Integer(),
      name: Type.String(),
      kind: Type.String(),
      is_preset: Type.Boolean(),
      threshold: Type.Number(),
      metrics: Type.Ref('BacktestMetrics'),
      series: Type.Optional(Type.Array(Type.Array(Type.Number()))),
      duration_ms: Type.Integer(),
    }),
  ),
});
