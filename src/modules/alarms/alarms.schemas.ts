import { Type, type Static } from '@sinclair/typebox';
import { SIGNALS } from '../../detectors/index.ts';

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()]);

export const AlarmStates = ['open', 'acknowledged', 'resolved'] as const;
export type AlarmState = (typeof AlarmStates)[number];

/** One alarm as the API, the sockets and the channels show it. */
export const AlarmSchema = Type.Object(
  {
    id: Type.Integer(),
    device_id: Type.Integer(),
    session_id: Type.Integer(),
    model_id: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.String({ description: `One of ${SIGNALS.join(', ')}.` }),
    severity: Type.Union([Type.Literal('minor'), Type.Literal('major'), Type.Literal('critical')]),
    state: Type.Union(AlarmStates.map((s) => Type.Literal(s))),
    opened_at: Type.String({ format: 'date-time' }),
    last_seen_at: Type.String({ format: 'date-time' }),
    resolved_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    resolved_by: Type.Union([Type.Literal('auto'), Type.Literal('user'), Type.Literal('session'), Type.Null()]),
    peak_score: Type.Number(),
    peak_value: Type.Number(),
    peak_expected: Nullable(Type.Number({ description: "The default detector's expected value at the peak, when it gives one." })),
    peak_at: Type.String({ format: 'date-time' }),
    anomaly_count: Type.Integer(),
    silenced: Type.Union([Type.Literal('quiet_hours'), Type.Literal('maintenance'), Type.Null()], { description: 'Recorded but not notified, and why.' }),
    acknowledged_by: Type.Union([Type.Integer(), Type.Null()]),
    acknowledged_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    note: Type.Union([Type.String(), Type.Null()]),
    feedback: Type.Union([Type.Literal('not_anomaly'), Type.Literal('confirmed'), Type.Null()]),
  },
  { $id: 'Alarm', title: 'Alarm' },
);
export type AlarmView = Static<typeof AlarmSchema>;

export const AlarmsQuery = Type.Object({
  state: Type.Optional(Type.Union([...AlarmStates.map((s) => Type.Literal(s)), Type.Literal('active')], { description: '`active` = open or acknowledged.' })),
  device_id: Type.Optional(Type.Integer({ minimum: 1 })),
  session_id: Type.Optional(Type.Integer({ minimum: 1 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Alarms opened at or after this time.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const AlarmReading = Type.Object({
  timestamp: Type.String({ format: 'date-time' }),
  value: Type.Number(),
  anomaly_score: Type.Number(),
  is_anomaly: Type.Boolean(),
});

export const AckBody = Type.Object({ note: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

export const FeedbackBody = Type.Object(
  {
    feedback: Type.Optional(
      Type.Union([Type.Literal('not_anomaly'), Type.Literal('confirmed'), Type.Literal('missed')], {
        description:
          '`not_anomaly`: a false alarm (its time segment becomes a labelled normal segment); `confirmed`: a real one (an anomalous segment); `missed`: mark `from`..`to` of the alarm\'s session as anomalous.',
      }),
    ),
    kind: Type.Optional(Type.Union([Type.Literal('not_anomaly'), Type.Literal('confirmed'), Type.Literal('missed')], { description: 'Same as `feedback` (older spelling).' })),
    note: Type.Optional(Type.String({ maxLength: 500 })),
    suppress: Type.Optional(
      Type.Boolean({ description: 'With `not_anomaly`: stop alarming on this signal on this device at up to this alarm\'s deviation from the expected value (its peak score when it had none).' }),
    ),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'With `missed`: start of the range.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'With `missed`: end of the range.' })),
    start: Type.Optional(Type.String({ format: 'date-time', description: 'Same as `from`.' })),
    end: Type.Optional(Type.String({ format: 'date-time', description: 'Same as `to`.' })),
  },
  { additionalProperties: false },
);
export type FeedbackInput = Static<typeof FeedbackBody>;
