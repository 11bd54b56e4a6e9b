import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import {
  CreateDeviceBody,
  DeviceSchema,
  DeviceWithTokenSchema,
  InjectBody,
  ReadingsBody,
  ReadingsResponse,
  SerialPortInfoSchema,
  UpdateDeviceBody,
} from './devices.schemas.ts';
import type { DevicesService } from './devices.service.ts';

const tags = ['devices'];

/** The device token from `Authorization: Bearer <token>` or `X-Device-Token`. */
function deviceToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-device-token'];
  if (typeof header === 'string' && header) return header;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return m?.[1];
}

/** /devices: the signed-in user's devices, and HTTP ingestion authenticated by a device token. */
export async function registerDevicesRoutes(api: Api, deps: { devices: DevicesService; bodyLimit: number }) {
  api.addSchema(DeviceSchema);

  api.get(
    '/devices',
    { schema: { tags, summary: "Your devices, then the server's shared ones", response: { 200: Type.Array(Type.Ref('Device')), ...errors(401) } } },
    async (request) => deps.devices.list(request.user!.id),
  );

  api.get(
    '/devices/serial-ports',
    {
      schema: {
        tags,
        summary: "The server's serial ports, to pick a serial device's path",
        response: { 200: Type.Array(SerialPortInfoSchema), ...errors(401) },
      },
    },
    async () => deps.devices.serialPorts(),
  );

  api.get(
    '/devices/:id',
    { schema: { tags, summary: 'One device with its live status', params: IdParams, response: { 200: Type.Ref('Device'), ...errors(401, 404) } } },
    async (request) => deps.devices.get({ userId: request.user!.id }, request.params.id),
  );

  api.post(
    '/devices',
    {
      schema: {
        tags,
        summary: 'Register a device; mqtt and http devices get a token, shown once',
        body: CreateDeviceBody,
        response: { 201: Type.Union([DeviceWithTokenSchema, Type.Ref('Device')]), ...errors(400, 401) },
      },
    },
    async (request, reply) => reply.status(201).send(await deps.devices.create(request.user!.id, request.body)),
  );

  api.patch(
    '/devices/:id',
    {
      schema: {
        tags,
        summary: 'Rename, reconfigure, make default or rotate the token',
        params: IdParams,
        body: UpdateDeviceBody,
        response: { 200: Type.Union([DeviceWithTokenSchema, Type.Ref('Device')]), ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => deps.devices.update(request.user!.id, request.params.id, request.body),
  );

  api.delete(
    '/devices/:id',
    { schema: { tags, summary: 'Delete a device (its live sessions stop)', params: IdParams, response: { 204: { type: 'null' }, ...errors(401, 403, 404) } } },
    async (request, reply) => {
      await deps.devices.remove(request.user!.id, request.params.id);
      return reply.status(204).send();
    },
  );

  api.post(
    '/devices/:id/anomalies',
    {
      schema: {
        tags,
        summary: 'Inject an anomaly into one of your running simulators',
        params: IdParams,
        body: InjectBody,
        response: { 202: Type.Object({ injected: Type.String() }), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { kind, ...options } = request.body;
      await deps.devices.inject({ userId: request.user!.id }, request.params.id, kind, options);
      return reply.status(202).send({ injected: kind });
    },
  );

  api.post(
    '/devices/:id/readings',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: 'Push a batch of readings (device token in Authorization: Bearer or X-Device-Token)',
        params: IdParams,
        body: ReadingsBody,
        response: { 202: ReadingsResponse, ...errors(400, 401, 413, 503) },
      },
    },
    async (request, reply) => reply.status(202).send(await deps.devices.ingest(request.params.id, deviceToken(request), request.body.readings)),
  );
}
