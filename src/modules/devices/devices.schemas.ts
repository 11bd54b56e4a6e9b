import { Type, type Static } from '@sinclair/typebox';
import { ANOMALY_KINDS } from './sources/simulator.source.ts';

export const DEVICE_KINDS = ['simulator', 'serial', 'mqtt', 'http'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Settings every kind accepts. */
const commonConfig = {
  log_retention_days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 36_500, description: "Days this device's raw detection logs are kept (default LOG_RETENTION_DAYS)." }),
  ),
};

export const SimulatorConfig = Type.Object(
  {
    ...commonConfig,
    rate_hz: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Readings per second (default SIMULATOR_RATE_HZ).' })),
    level: Type.Optional(Type.Number({ minimum: -1000, maximum: 1000, description: 'Baseline volts (default 3.3).' })),
    noise: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Noise standard deviation in volts (default 0.02).' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Makes the values reproducible.' })),
  },
  { additionalProperties: false },
);

export const SerialConfig = Type.Object(
  {
    ...commonConfig,
    path: Type.String({
      pattern: '^(/dev/tty[A-Za-z0-9._-]+|/dev/serial/by-id/[A-Za-z0-9._:-]+|/dev/pts/[0-9]+|COM[0-9]{1,3})$',
      description: 'A serial device of the server, e.g. /dev/ttyACM0 or COM3.',
    }),
    baud_rate: Type.Optional(Type.Integer({ minimum: 300, maximum: 4_000_000, default: 9600 })),
  },
  { additionalProperties: false },
);

export const EmptyConfig = Type.Object({ ...commonConfig }, { additionalProperties: false });

const DeviceConfig = Type.Union([SimulatorConfig, SerialConfig, EmptyConfig]);

/** Every kind's settings are flat, so a request's config holds scalars only (a nested value is a 400 at any depth, checked without recursion). */
const ConfigInput = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]), {
  description: 'Kind-specific settings (see the README); values are numbers, strings or booleans.',
});

export const CreateDeviceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union(DEVICE_KINDS.map((k) => Type.Literal(k))),
    config: Type.Optional(ConfigInput),
    is_default: Type.Optional(Type.Boolean({ description: 'Used by arduino_connect and by /detection/start without device_id.' })),
  },
  { additionalProperties: false },
);
export type CreateDeviceInput = Static<typeof CreateDeviceBody>;

export const UpdateDeviceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    config: Type.Optional(ConfigInput),
    is_default: Type.Optional(Type.Boolean()),
    rotate_token: Type.Optional(Type.Boolean({ description: 'Issue a new token; the old one stops working.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDeviceInput = Static<typeof UpdateDeviceBody>;

export const DeviceSchema = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    kind: Type.String(),
    config: Type.Record(Type.String(), Type.Unknown()),
    is_default: Type.Boolean(),
    shared: Type.Boolean({ description: 'A server device (SERIAL_PORT, demo simulator) anyone signed in may use.' }),
    mqtt_topic: Type.Optional(Type.String()),
    status: Type.Union([
      Type.Object({ connected: Type.Boolean(), message: Type.String(), port: Type.String(), error: Type.Optional(Type.String()) }),
      Type.Null(),
    ]),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Device', title: 'Device' },
);

export const DeviceWithTokenSchema = Type.Intersect([
  Type.Ref('Device'),
  Type.Object({ token: Type.String({ description: 'Shown once: store it on the device. Only its hash is kept.' }) }),
]);

export const ReadingsBody = Type.Object(
  {
    readings: Type.Array(
      Type.Object(
        {
          value: Type.Number(),
          ts: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 40 })], { description: 'Unix ms, Unix s or ISO 8601; default: arrival time.' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export const ReadingsResponse = Type.Object({
  received: Type.Integer(),
  accepted: Type.Integer({ description: 'Readings delivered to live sessions and sockets.' }),
  invalid: Type.Integer(),
  rate_limited: Type.Integer(),
  delivered: Type.Boolean({ description: 'False when nobody listens to the device right now (readings are not stored).' }),
});

export const InjectBody = Type.Object(
  {
    kind: Type.Union(ANOMALY_KINDS.map((k) => Type.Literal(k))),
    magnitude: Type.Optional(Type.Number({ minimum: -1000, maximum: 1000 })),
    readings: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);

export { DeviceConfig };

export const SerialPortInfoSchema = Type.Object({
  path: Type.String({ description: 'Use as `config.path` of a serial device.' }),
  manufacturer: Type.Union([Type.String(), Type.Null()]),
  serial_number: Type.Union([Type.String(), Type.Null()]),
  vendor_id: Type.Union([Type.String(), Type.Null()]),
  product_id: Type.Union([Type.String(), Type.Null()]),
});
