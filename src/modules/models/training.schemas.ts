import { Type } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const Params = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.Number(), Type.Boolean()]), {
  description: "The kind's parameters (see `vigil detectors`); unknown names are refused.",
  maxProperties: 50,
});
const RecordingIds = Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 50 });

export const TrainBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    material_type: Type.String({ minLength: 1, maxLength: 64 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Detector kind; default `auto`.' })),
    recording_ids: RecordingIds,
    evaluation_recording_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    params: Type.Optional(Params),
  },
  { additionalProperties: false },
);

export const RetrainBody = Type.Object(
  {
    include_feedback: Type.Optional(
      Type.Boolean({
        description:
          'Also learn from your alarm feedback on sessions that ran this model: false alarms (with 30 s either side) become normal training data, and the labelled sessions are measured on (`feedback_sessions` in the evaluation metrics).',
      }),
    ),
    recording_ids: Type.Optional(RecordingIds),
    evaluation_recording_id: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    params: Type.Optional(Params),
  },
  { additionalProperties: false },
);

export const JobSchema = Type.Object(
  {
    id: Type.Integer(),
    status: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
    progress: Type.Number({ minimum: 0, maximum: 1 }),
    stage: Type.String(),
    kind: Type.String(),
    name: Type.String(),
    material_type: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
    recording_ids: Type.Array(Type.Integer()),
    evaluation_recording_id: Type.Union([Type.Integer(), Type.Null()]),
    model_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The model the job produced (or retrained).' }),
    base_model_id: Type.Union([Type.Integer(), Type.Null()]),
    queue: Type.Union([Type.Literal('local'), Type.Literal('bullmq')]),
    type: Type.Union([Type.Literal('train'), Type.Literal('backtest')], { description: '`backtest`: scores a recording or session with `base_model_id` (result at GET /models/backtests/:id).' }),
    session_id: Type.Union([Type.Integer(), Type.Null()], { description: "A backtest's session." }),
    threshold: Type.Union([Type.Number(), Type.Null()], { description: "A backtest's threshold override." }),
    include_feedback: Type.Boolean({ description: 'A retrain that also learns from your alarm feedback.' }),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
    notes: Type.Array(Type.String(), {
      description: 'What the fit said about the training data once the job succeeded, e.g. that the recording was short and more of it would teach the model more of the normal signal; empty when nothing.',
    }),
    created_at: Iso,
    started_at: Type.Union([Iso, Type.Null()]),
    finished_at: Type.Union([Iso, Type.Null()]),
  },
  { $id: 'TrainingJob', title: 'TrainingJob' },
);

export const TrainAccepted = Type.Object({
  job_id: Type.Integer(),
  status: Type.String(),
  message: Type.String(),
  job: Type.Ref('TrainingJob'),
});
