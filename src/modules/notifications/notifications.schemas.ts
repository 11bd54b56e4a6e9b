import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ minLength: 1, maxLength: 100 });

/** A browser's `PushSubscription.toJSON()`, checked field by field in the service (clear `invalid-subscription` codes). */
export const PushSubscriptionSchema = Type.Object(
  {
    endpoint: Type.String({ minLength: 1, maxLength: 2000, description: "The push service URL the browser gave; private and loopback hosts are refused unless allow-listed (NOTIFY_ALLOW_HOSTS)." }),
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    keys: Type.Object(
      {
        p256dh: Type.String({ minLength: 1, maxLength: 200, description: "The browser's P-256 public key, base64url (65 bytes, uncompressed)." }),
        auth: Type.String({ minLength: 1, maxLength: 100, description: 'The 16-byte authentication secret, base64url.' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type PushSubscriptionInput = Static<typeof PushSubscriptionSchema>;

export const ChannelCreateBody = Type.Union(
  [
    Type.Object({ kind: Type.Literal('webhook'), name: Name, url: Type.String({ minLength: 8, maxLength: 2000, description: 'http(s) URL; private, loopback, link-local and metadata addresses are refused unless allow-listed.' }), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('email'), name: Name, to: Type.String({ format: 'email', maxLength: 254 }), enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('mqtt'), name: Name, enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
    Type.Object(
      {
        kind: Type.Literal('web_push'),
        name: Name,
        subscription: PushSubscriptionSchema,
        enabled: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      "A webhook (signed JSON POSTs), an e-mail address (SMTP_URL), MQTT out (MQTT_URL, with Home Assistant discovery) or a browser's push subscription (Web Push with VAPID; the same endpoint registered again updates its channel).",
  },
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
    kind: Type.Union([Type.Literal('webhook'), Type.Literal('email'), Type.Literal('mqtt'), Type.Literal('web_push')]),
    name: Type.String(),
    enabled: Type.Boolean(),
    url: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    endpoint: Type.Optional(Type.String({ description: "Web Push: the subscription's push service URL (the dashboard compares it with its own subscription)." })),
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
