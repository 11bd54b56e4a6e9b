import { Type } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const NullableIso = Type.Union([Iso, Type.Null()]);

export const LabelSchema = Type.Object(
  {
    start: Iso,
    end: Iso,
    note: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
  },
  { additionalProperties: false },
);

export const RecordingSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    source: Type.Union([Type.Literal('upload'), Type.Literal('device')]),
    status: Type.Union([Type.Literal('recording'), Type.Literal('complete'), Type.Literal('failed')]),
    device_id: Type.Union([Type.Integer(), Type.Null()]),
    sample_count: Type.Integer(),
    max_samples: Type.Union([Type.Integer(), Type.Null()]),
    duration_s: Type.Union([Type.Integer(), Type.Null()]),
    first_ts: NullableIso,
    last_ts: NullableIso,
    stats: Type.Union([
      Type.Object({ min: Type.Number(), max: Type.Number(), mean: Type.Number(), std: Type.Number(), sample_rate_hz: Type.Number() }),
      Type.Null(),
    ]),
    labels: Type.Array(Type.Object({ start: Iso, end: Iso, note: Type.Union([Type.String(), Type.Null()]) }), {
      description: 'Segments marked anomalous; used to measure precision, recall and F1.',
    }),
    error: Type.Union([Type.String(), Type.Null()]),
    started_at: Iso,
    ended_at: NullableIso,
    created_at: Iso,
  },
  { $id: 'Recording', title: 'Recording' },
);

export const RecordingWithSeries = Type.Intersect([
  Type.Ref('Recording'),
  Type.Object({
    series: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), {
      description: 'Downsampled [epoch ms, value] pairs for a chart (min and max of each bucket).',
    }),
  }),
]);

export const StartRecordingBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    device_id: Type.Integer({ minimum: 1 }),
    duration: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600, description: 'Seconds; stops by itself after this.' })),
    max_samples: Type.Optional(Type.Integer({ minimum: 1, description: 'Stops by itself after this many readings.' })),
  },
  { additionalProperties: false },
);

export const LabelsBody = Type.Object({ labels: Type.Array(LabelSchema, { maxItems: 10_000 }) }, { additionalProperties: false });

export const SeriesQuery = Type.Object({
  points: Type.Optional(Type.Integer({ minimum: 10, maximum: 10_000, default: 500, description: 'Chart points (about).' })),
});

export const UploadRecordingFields = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    skip_bad: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);
