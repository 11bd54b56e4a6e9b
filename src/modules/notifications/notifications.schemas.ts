import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, maxLength: 100 });

export const ChannelCreateBody = Type.Union(
  [
    Type.Object({ kind: Type.Literal('webhook'), name: Name, url: Type.String({ minLength: 8, maxLength: 2000, description: 'http(s) URL; private, loopback, link-local and metadata addresses are refused unless allow-listed.' }), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('email'), name: Name, to: Type.String({ format: 'email', maxLength: 254 }), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('mqtt'), name: Name, enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  ],
  { description: 'A webhook (signed JSON POSTs), an e-mail address (SMTP_URL) or MQTT out (MQTT_URL, with Home Assistant discovery).' },
);
export type ChannelCreate = Static<typeof ChannelCreateBody>;

export const ChannelPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    enabled: Type.Optional(Type.Boolean()),
    url: Type.Optional(Type.String({ minLength: 8, maxLength: 2000 })),
    to: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
    rotate_secret: Type.Optional(Type.Boolean({ description: 'Webhook: issue a new signing secret (shown once in the answer).' })),
  },
  { additionalProperties: false },
);
export type ChannelPatch = Static<typeof ChannelPatchBody>;

export const ChannelSchema = Type.Object(
  {
    id: Type.Integer(),
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('email'), Type.Literal('mqtt')]),
    name: Type.String(),
    enabled: Type.Boolean(),
    url: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    topics: Type.Optional(Type.Object({ state: Type.String(), alarms: Type.String(), discovery: Type.String() })),
    secret: Type.Optional(Type.String({ description: 'Webhook signing secret: shown only when created or rotated.' })),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'NotificationChannel', title: 'NotificationChannel' },
);
export type ChannelView = Static<typeof ChannelSchema>;

export const DeliverySchema = Type.Object({
  id: Type.Integer(),
  alarm_id: Type.Union([Type.Integer(), Type.Null()]),
  channel_id: Type.Integer(),
  event: Type.String(),
  status: Type.Union(['pending', 'retrying', 'sent', 'failed', 'rate_limited'].map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  response_status: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
