import { Type } from '@sinclair/typebox';
import { errors, IdParams } from '../../http/schemas.ts';
import type { Api } from '../../http/types.ts';
import { AppError } from '../../lib/errors.ts';
import { ChannelCreateBody, ChannelPatchBody, ChannelSchema, DeliverySchema } from './notifications.schemas.ts';
import type { NotificationsService } from './notifications.service.ts';

const tags = ['notifications'];
const Deliveries = Type.Object({ deliveries: Type.Array(DeliverySchema) });

/** /notifications/channels: where alarms reach you (webhook, e-mail, MQTT, browser push), each with "send a test" and a delivery log. */
export async function registerNotificationsRoutes(api: Api, deps: { notifications: NotificationsService }) {
  const { notifications } = deps;
  api.addSchema(ChannelSchema);

  api.get(
    '/notifications/web-push/key',
    {
      config: { auth: 'none' },
      schema: {
        tags,
        summary: "The server's VAPID public key: the browser's `applicationServerKey` when it subscribes to push",
        response: { 200: Type.Object({ public_key: Type.String({ description: 'Uncompressed P-256 public key, base64url (87 characters).' }) }), ...errors(409) },
      },
    },
    async () => {
      const key = notifications.vapidPublicKey();
      if (!key) throw new AppError('channel-unavailable', 'Web Push is not configured on this server.');
      return { public_key: key };
    },
  );

  api.get(
    '/notifications/channels',
    { schema: { tags, summary: 'Your notification channels', response: { 200: Type.Object({ channels: Type.Array(Type.Ref('NotificationChannel')) }), ...errors(401) } } },
    async (request) => ({ channels: await notifications.list(request.user!.id) }),
  );

  api.post(
    '/notifications/channels',
    {
      schema: {
        tags,
        summary: "Add a channel; a webhook's signing secret is in this answer only",
        body: ChannelCreateBody,
        response: { 201: Type.Ref('NotificationChannel'), ...errors(400, 401, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await notifications.create(request.user!.id, request.body)),
  );

  api.patch(
    '/notifications/channels/:id',
    { schema: { tags, summary: 'Rename, enable/disable, change the destination or rotate the secret', params: IdParams, body: ChannelPatchBody, response: { 200: Type.Ref('NotificationChannel'), ...errors(400, 401, 404) } } },
    async (request) => notifications.update(request.user!.id, request.params.id, request.body),
  );

  api.delete(
    '/notifications/channels/:id',
    { schema: { tags, summary: 'Remove a channel', params: IdParams, response: { 204: Type.Null(), ...errors(401, 404) } } },
    async (request, reply) => {
      await notifications.remove(request.user!.id, request.params.id);
      return reply.status(204).send(null);
    },
  );

  api.post(
    '/notifications/channels/:id/test',
    { schema: { tags, summary: 'Send a test message through the channel (see its deliveries for the outcome)', params: IdParams, response: { 202: Type.Object({ delivery_id: Type.Integer() }), ...errors(401, 404) } } },
    async (request, reply) => reply.status(202).send(await notifications.test(request.user!.id, request.params.id)),
  );

  api.get(
    '/notifications/channels/:id/deliveries',
    { schema: { tags, summary: "The channel's latest deliveries", params: IdParams, response: { 200: Deliveries, ...errors(401, 404) } } },
    async (request) => notifications.deliveries(request.user!.id, { channelId: request.params.id }),
  );

  api.get(
    '/alarms/:id/deliveries',
    { schema: { tags: ['alarms', ...tags], summary: "The alarm's notification deliveries (every channel, every attempt counted)", params: IdParams, response: { 200: Deliveries, ...errors(401) } } },
    async (request) => notifications.deliveries(request.user!.id, { alarmId: request.params.id }),
  );
}
