import { Type, type TSchema } from '@sinclair/typebox';

export const ErrorSchema = Type.Object(
  {
    code: Type.String({ description: 'Stable machine-readable code, e.g. `invalid-credentials`.' }),
    message: Type.String({ description: 'Human-readable message.' }),
    error: Type.String({ description: 'Same as `message`, for seed-era clients.' }),
    details: Type.Optional(Type.Unknown()),
    request_id: Type.Optional(Type.String()),
  },
  { $id: 'Error', title: 'Error' },
);

const errorRef = Type.Ref('Error');

/** Error responses for the given statuses, for a route's `response` schema. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorRef]));
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const IsoDate = Type.String({ format: 'date-time' });
