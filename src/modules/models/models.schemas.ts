import { Type } from '@sinclair/typebox';

export const ModelCardRef = Type.Ref('ModelCard');
export const ModelCardList = Type.Array(ModelCardRef);

export const ModelSummarySchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  material_type: Type.String(),
  is_preset: Type.Boolean(),
  kind: Type.String(),
  threshold: Type.Number(),
});

const Metrics = Type.Record(Type.String(), Type.Number());

export const ModelDetailSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    material_type: Type.String(),
    is_preset: Type.Boolean(),
    accuracy: Type.Union([Type.Number(), Type.Null()]),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
    kind: Type.String(),
    owner_id: Type.Union([Type.Integer(), Type.Null()]),
    visibility: Type.Union([Type.Literal('private'), Type.Literal('public')]),
    origin: Type.String({ description: '`preset`, `trained` or `uploaded`.' }),
    threshold: Type.Number(),
    params: Type.Record(Type.String(), Type.Unknown()),
    metrics: Type.Object({
      training: Metrics,
      evaluation: Type.Union([Metrics, Type.Null()], {
        description: 'Held-out metrics: false_alarm_rate, and precision/recall/f1 when labelled data was evaluated.',
      }),
    }),
    file_size: Type.Integer(),
    checksum: Type.String({ description: 'SHA-256 of the artifact file.' }),
    recording_ids: Type.Array(Type.Integer()),
    jobs: Type.Array(
      Type.Object({
        id: Type.Integer(),
        status: Type.String(),
        role: Type.Union([Type.Literal('produced'), Type.Literal('retrain')]),
        created_at: Type.String({ format: 'date-time' }),
        finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      }),
    ),
    selected: Type.Boolean({ description: 'Whether this is the viewer’s selected model.' }),
  },
  { $id: 'ModelDetail', title: 'ModelDetail' },
);

export const PatchModelBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    visibility: Type.Optional(Type.Union([Type.Literal('private'), Type.Literal('public')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const SelectResponse = Type.Object({ message: Type.String(), model: ModelSummarySchema });

export const UploadFields = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    material_type: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const UploadResponse = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  material_type: Type.String(),
  file_path: Type.String({ description: 'Relative to the data folder.' }),
  kind: Type.String(),
  message: Type.String(),
});
