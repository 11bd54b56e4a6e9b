import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** Every client event carries an optional client timestamp (ms, s or ISO), which the server ignores. */
const Stamp = { timestamp: Type.Optional(Type.Unknown()) };
const Id = Type.Integer({ minimum: 1 });

export const Payloads = {
  get_status: Type.Object({ ...Stamp }),
  ping: Type.Object({ ...Stamp }),
  ws_login: Type.Object({ ...Stamp, username: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }),
  ws_get_models: Type.Object({ ...Stamp }),
  ws_select_model: Type.Object({ ...Stamp, model_id: Id }),
  select_model: Type.Object({ ...Stamp, model_id: Id, user_id: Type.Optional(Type.Unknown()), guest_mode: Type.Optional(Type.Unknown()) }),
  arduino_connect: Type.Object({ ...Stamp, device_id: Type.Optional(Id) }),
  arduino_disconnect: Type.Object({ ...Stamp }),
  start_detection: Type.Object({
    ...Stamp,
    model_id: Type.Optional(Id),
    device_id: Type.Optional(Id),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    duration_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 7 * 24 * 3600 })),
    max_readings: Type.Optional(Type.Integer({ minimum: 1 })),
    log: Type.Optional(Type.Boolean()),
  }),
  stop_detection: Type.Object({ ...Stamp, session_id: Type.Optional(Type.Union([Id, Type.String({ maxLength: 40 })])) }),
  update_threshold: Type.Object({ ...Stamp, threshold: Type.Number({ minimum: 0, maximum: 1 }), session_id: Type.Optional(Type.Union([Id, Type.String({ maxLength: 40 })])) }),
  get_session_history: Type.Object({ ...Stamp, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }),
  pause_data_collection: Type.Object({ ...Stamp }),
  resume_data_collection: Type.Object({ ...Stamp }),
  inject_anomaly: Type.Object({
    ...Stamp,
    kind: Type.Union(['spike', 'dip', 'level_shift', 'drift', 'noise', 'stuck', 'dropout'].map((k) => Type.Literal(k))),
    magnitude: Type.Optional(Type.Number({ minimum: -1000, maximum: 1000 })),
    readings: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  }),
} satisfies Record<string, TSchema>;

export type ClientEvent = keyof typeof Payloads;
export type Payload<E extends ClientEvent> = Static<(typeof Payloads)[E]>;

const checkers = Object.fromEntries(Object.entries(Payloads).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as {
  [E in ClientEvent]: ReturnType<typeof TypeCompiler.Compile<(typeof Payloads)[E]>>;
};

/** Id fields the mobile app may send as numeric strings (it types model ids as `string`). */
const ID_FIELDS = ['model_id', 'device_id'] as const;
const NUMERIC_ID = /^[1-9][0-9]{0,14}$/;

/** `{model_id: "12"}` becomes `{model_id: 12}`; anything else is left for the schema to judge. */
function coerceIds(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of ID_FIELDS) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string' && NUMERIC_ID.test(v.trim())) {
      out ??= { ...(value as Record<string, unknown>) };
      out[key] = Number(v.trim());
    }
  }
  return out ?? value;
}

/** Validates a client payload (absent = `{}`); returns the problems, or the typed payload. */
export function parsePayload<E extends ClientEvent>(event: E, raw: unknown): { ok: true; value: Payload<E> } | { ok: false; problems: string[] } {
  const value = coerceIds(raw === undefined || raw === null ? {} : raw);
  const checker = checkers[event];
  if (checker.Check(value)) return { ok: true, value: value as Payload<E> };
  const problems = [...checker.Errors(value)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
  return { ok: false, problems };
}
