import { createECDH, randomBytes } from 'node:crypto';
import { fromDbTime, toDbTime } from '../../db/time.ts';
import type { AppBus } from '../../events.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { AlarmView } from '../alarms/alarms.schemas.ts';
import type { ChannelRow, ChannelsRepository, DeliveryRow } from './channels.repository.ts';
import type { DestinationGuard } from './destination-guard.ts';
import type { MqttOut } from './mqtt-out.ts';
import type { NotificationQueue, NotifyJob } from './notification-queue.ts';
import { DeliveryError, type ChannelSender, type Notification, type NotificationEvent } from './notification.types.ts';
import type { ChannelCreate, ChannelPatch, ChannelView, PushSubscriptionInput } from './notifications.schemas.ts';

export interface NotificationsDeps {
  repo: ChannelsRepository;
  queue: NotificationQueue;
  bus: AppBus;
  clock: Clock;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  guard: DestinationGuard;
  senders: { webhook: ChannelSender; email?: ChannelSender; webPush?: ChannelSender };
  /** The VAPID public key browsers subscribe with (served publicly). */
  vapidPublicKey?: string;
  mqtt?: MqttOut;
  mqttTopics?: { prefix: string; discoveryPrefix: string };
  /** The digest settings of a device (from its alarm rules). */
  digestRules(userId: number, deviceId: number): { digest_threshold: number; digest_window_s: number };
  limits: { perUserPerMinute: number; perChannelPerMinute: number };
}

const CACHE_MS = 5000;

/**
 * Notification channels (webhook, e-mail, MQTT out) and the dispatcher that turns `alarm.*` bus events
 * into deliveries: rate-limited per user and per channel, folded into a digest when many alarms open
 * at once, and handed to a queue that retries with backoff. Nothing here runs on the reading path
 * except the MQTT state hook, which only hands a message to the MQTT client's buffer.
 */
export function createNotificationsService(deps: NotificationsDeps) {
  const { repo, queue, bus, clock, logger } = deps;
  const now = () => toDbTime(clock.now());
  const channelsCache = new Map<number, { rows: ChannelRow[]; at: number }>();
  const mqttUsers = new Set<number>();
  const sent = new Map<string, number[]>();
  const digests = new Map<number, { start: number; count: number; held: AlarmView[]; timer: NodeJS.Timeout | undefined }>();
  const unsubs: Array<() => void> = [];
  let mqttRefresh: NodeJS.Timeout | undefined;

  const config = (r: ChannelRow) => JSON.parse(r.config) as Record<string, unknown>;

  function view(r: ChannelRow, secret?: string): ChannelView {
    const c = config(r);
    return {
      id: r.id,
      kind: r.kind as ChannelView['kind'],
      name: r.name,
      enabled: r.enabled === 1 || (r.enabled as unknown) === true,
      ...(r.kind === 'webhook' && { url: String(c.url) }),
      ...(r.kind === 'email' && { to: String(c.to) }),
      ...(r.kind === 'web_push' && { endpoint: String(c.endpoint) }),
      ...(r.kind === 'mqtt' &&
        deps.mqttTopics && {
          topics: { state: `${deps.mqttTopics.prefix}/<device_id>/state`, alarms: `${deps.mqttTopics.prefix}/<device_id>/alarms`, discovery: `${deps.mqttTopics.discoveryPrefix}/+/vigil_<device_id>/+/config` },
        }),
      ...(secret !== undefined && { secret }),
      created_at: fromDbTime(r.created_at),
    };
  }

  async function channelsOf(userId: number): Promise<ChannelRow[]> {
    const c = channelsCache.get(userId);
    if (c && Date.now() - c.at < CACHE_MS) return c.rows;
    const rows = await repo.listByUser(userId);
    channelsCache.set(userId, { rows, at: Date.now() });
    return rows;
  }

  async function changed(userId: number) {
    channelsCache.delete(userId);
    const rows = await repo.listByUser(userId);
    if (rows.some((r) => r.kind === 'mqtt' && r.enabled === 1)) mqttUsers.add(userId);
    else mqttUsers.delete(userId);
  }

  async function owned(userId: number, id: number): Promise<ChannelRow> {
    const r = await repo.find(id);
    if (!r || r.user_id !== userId) throw new AppError('channel-not-found');
    return r;
  }

  function allow(key: string, max: number): boolean {
    const t = Date.now();
    const list = (sent.get(key) ?? []).filter((x) => t - x < 60_000);
    if (list.length >= max) {
      sent.set(key, list);
      return false;
    }
    list.push(t);
    sent.set(key, list);
    return true;
  }

  /** Queues one notification to every enabled channel of the user (rate limits applied and logged). */
  async function dispatch(userId: number, n: Notification, only?: ChannelRow): Promise<number[]> {
    const targets = only ? [only] : (await channelsOf(userId)).filter((c) => c.enabled === 1 && (c.kind !== 'email' || deps.senders.email));
    const alarmId = n.alarm?.id ?? null;
    const ids: number[] = [];
    for (const c of targets) {
      const limited = !only && (!allow(`u:${userId}`, deps.limits.perUserPerMinute) || !allow(`c:${c.id}`, deps.limits.perChannelPerMinute));
      const id = await repo.insertDelivery({ user_id: userId, alarm_id: alarmId, channel_id: c.id, event: n.event, status: limited ? 'rate_limited' : 'pending' }, now());
      ids.push(id);
      if (limited) {
        logger.warn({ userId, channelId: c.id, event: n.event }, 'notification rate-limited');
        continue;
      }
      await queue.add({ deliveryId: id, channelId: c.id, notification: n });
    }
    return ids;
  }

  /** Openings beyond the digest threshold within the window are held and sent as one digest. */
  function opened(userId: number, alarm: AlarmView) {
    const rules = deps.digestRules(userId, alarm.device_id);
    const t = Date.now();
    let d = digests.get(userId);
    if (!d || t - d.start >= rules.digest_window_s * 1000) {
      if (d?.timer) clearTimeout(d.timer);
      d = { start: t, count: 0, held: [], timer: undefined };
      digests.set(userId, d);
    }
    d.count++;
    if (d.count <= rules.digest_threshold) return void dispatch(userId, { event: 'alarm_opened', alarm }).catch(report);
    d.held.push(alarm);
    const cur = d;
    cur.timer ??= setTimeout(() => {
      digests.delete(userId);
      if (cur.held.length > 0) dispatch(userId, { event: 'alarm_digest', alarms: cur.held }).catch(report);
    }, Math.max(0, cur.start + rules.digest_window_s * 1000 - t));
  }

  const report = (err: unknown) => logger.error({ err }, 'notification could not be queued');

  function senderOf(kind: string): ChannelSender | undefined {
    if (kind === 'webhook') return deps.senders.webhook;
    if (kind === 'email') return deps.senders.email;
    if (kind === 'mqtt') return deps.mqtt?.sender;
    if (kind === 'web_push') return deps.senders.webPush;
    return undefined;
  }

  async function run(job: NotifyJob, attempt: number, last: boolean): Promise<void> {
    const c = await repo.find(job.channelId);
    const sender = c ? senderOf(c.kind) : undefined;
    if (!c || !sender) {
      await repo.updateDelivery(job.deliveryId, { status: 'failed', attempts: attempt, response_status: null, error: 'channel removed or not configured' }, now());
      return;
    }
    try {
      const r = await sender.send({ id: c.id, userId: c.user_id, config: config(c), secret: c.secret }, job.notification, job.deliveryId);
      await repo.updateDelivery(job.deliveryId, { status: 'sent', attempts: attempt, response_status: r.status, error: null }, now());
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError(err instanceof Error ? err.message : String(err), false);
      const done = last || e.final;
      await repo.updateDelivery(job.deliveryId, { status: done ? 'failed' : 'retrying', attempts: attempt, response_status: e.status, error: e.message.slice(0, 500) }, now());
      if (done) logger.warn({ channelId: c.id, deliveryId: job.deliveryId, err: e.message }, 'notification failed');
      if (e.gone) {
        await repo.delete(c.id);
        await changed(c.user_id);
        logger.info({ channelId: c.id, userId: c.user_id, status: e.status }, 'push subscription gone: channel removed');
      }
      throw e;
    }
  }

  function deliveryView(r: DeliveryRow) {
    return {
      id: r.id,
      alarm_id: r.alarm_id,
      channel_id: r.channel_id,
      event: r.event,
      status: r.status as 'sent',
      attempts: r.attempts,
      response_status: r.response_status,
      error: r.error,
      created_at: fromDbTime(r.created_at),
      updated_at: fromDbTime(r.updated_at),
    };
  }

  async function loadMqttUsers() {
    const ids = await repo.usersWithKind('mqtt');
    mqttUsers.clear();
    for (const id of ids) mqttUsers.add(id);
  }

  /** Checks a browser's subscription: the endpoint through the destination guard, the keys as RFC 8291 wants them. */
  async function pushConfig(sub: PushSubscriptionInput): Promise<Record<string, unknown>> {
    const bad = (message: string) => new AppError('invalid-subscription', message);
    let u: URL;
    try {
      u = new URL(sub.endpoint);
    } catch {
      throw bad('`subscription.endpoint` is not a URL.');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad('`subscription.endpoint` must be an https URL.');
    const b64url = /^[A-Za-z0-9_-]+={0,2}$/;
    if (!b64url.test(sub.keys.p256dh) || !b64url.test(sub.keys.auth)) throw bad('`subscription.keys` must be base64url.');
    const p256dh = Buffer.from(sub.keys.p256dh, 'base64url');
    const auth = Buffer.from(sub.keys.auth, 'base64url');
    if (auth.length !== 16) throw bad(`\`subscription.keys.auth\` must be 16 bytes (got ${auth.length}).`);
    if (p256dh.length !== 65 || p256dh[0] !== 4) throw bad(`\`subscription.keys.p256dh\` must be an uncompressed P-256 point of 65 bytes (got ${p256dh.length}).`);
    try {
      // Not on the curve: computing a shared secret with it fails, as a send would later.
      const probe = createECDH('prime256v1');
      probe.generateKeys();
      probe.computeSecret(p256dh);
    } catch {
      throw bad('`subscription.keys.p256dh` is not a point on the P-256 curve.');
    }
    await deps.guard.checkUrl(sub.endpoint, 'push endpoint');
    return { endpoint: sub.endpoint, keys: { p256dh: p256dh.toString('base64url'), auth: auth.toString('base64url') } };
  }

  return {
    /** The VAPID public key the browser subscribes with (`applicationServerKey`), or undefined without Web Push. */
    vapidPublicKey(): string | undefined {
      return deps.senders.webPush ? deps.vapidPublicKey : undefined;
    },

    async start(): Promise<void> {
      await queue.start(run);
      if (deps.mqtt) {
        await loadMqttUsers();
        mqttRefresh = setInterval(() => void loadMqttUsers().catch(report), 30_000);
        mqttRefresh.unref();
      }
      const mqtt = deps.mqtt;
      unsubs.push(
        bus.on('alarm.opened', (e) => {
          mqtt?.alarmChanged(e.alarm);
          if (e.alarm.silenced === null) opened(e.userId, e.alarm);
        }),
        bus.on('alarm.renotify', (e) => void dispatch(e.userId, { event: 'alarm_renotify', alarm: e.alarm }).catch(report)),
        bus.on('alarm.updated', (e) => mqtt?.alarmChanged(e.alarm)),
        bus.on('alarm.resolved', (e) => {
          mqtt?.alarmChanged(e.alarm);
          if (e.alarm.silenced === null) void dispatch(e.userId, { event: 'alarm_resolved', alarm: e.alarm }).catch(report);
        }),
      );
      if (mqtt) {
        unsubs.push(
          bus.on('detection.scored', (e) => {
            if (e.owner.userId !== null && mqttUsers.has(e.owner.userId)) mqtt.state(e);
          }),
        );
      }
    },

    async stop(): Promise<void> {
      for (const u of unsubs.splice(0)) u();
      if (mqttRefresh) clearInterval(mqttRefresh);
      for (const d of digests.values()) if (d.timer) clearTimeout(d.timer);
      await queue.close();
      await deps.mqtt?.close();
    },

    async list(userId: number): Promise<ChannelView[]> {
      return (await repo.listByUser(userId)).map((r) => view(r));
    },

    async create(userId: number, input: ChannelCreate): Promise<ChannelView> {
      let cfg: Record<string, unknown>;
      let secret: string | null = null;
      if (input.kind === 'webhook') {
        await deps.guard.checkUrl(input.url);
        cfg = { url: input.url };
        secret = `whsec_${randomBytes(24).toString('base64url')}`;
      } else if (input.kind === 'email') {
        if (!deps.senders.email) throw new AppError('channel-unavailable', 'E-mail is not configured on this server (SMTP_URL).');
        cfg = { to: input.to };
      } else if (input.kind === 'web_push') {
        if (!deps.senders.webPush) throw new AppError('channel-unavailable', 'Web Push is not configured on this server.');
        cfg = await pushConfig(input.subscription);
        // A browser keeps its endpoint across page loads: registering it again updates its channel.
        const same = (await repo.listByUser(userId)).find((r) => r.kind === 'web_push' && config(r).endpoint === cfg.endpoint);
        if (same) {
          await repo.update(same.id, { config: JSON.stringify(cfg), name: input.name, enabled: input.enabled ?? true }, now());
          await changed(userId);
          return view((await repo.find(same.id))!);
        }
      } else {
        if (!deps.mqtt) throw new AppError('channel-unavailable', 'MQTT out is not configured on this server (MQTT_URL).');
        cfg = {};
      }
      const row = await repo.insert({ user_id: userId, kind: input.kind, name: input.name, config: JSON.stringify(cfg), secret, enabled: input.enabled ?? true }, now());
      await changed(userId);
      return view(row, secret ?? undefined);
    },

    async update(userId: number, id: number, patch: ChannelPatch): Promise<ChannelView> {
      const r = await owned(userId, id);
      const cfg = config(r);
      if (patch.url !== undefined) {
        if (r.kind !== 'webhook') throw new AppError('invalid-channel', '`url` applies to webhooks only.');
        await deps.guard.checkUrl(patch.url);
        cfg.url = patch.url;
      }
      if (patch.to !== undefined) {
        if (r.kind !== 'email') throw new AppError('invalid-channel', '`to` applies to e-mail channels only.');
        cfg.to = patch.to;
      }
      if (patch.rotate_secret && r.kind !== 'webhook') throw new AppError('invalid-channel', 'Only webhooks have a secret.');
      const secret = patch.rotate_secret ? `whsec_${randomBytes(24).toString('base64url')}` : undefined;
      await repo.update(id, { config: JSON.stringify(cfg), ...(patch.name !== undefined && { name: patch.name }), ...(patch.enabled !== undefined && { enabled: patch.enabled }), ...(secret && { secret }) }, now());
      await changed(userId);
      return view((await repo.find(id))!, secret);
    },

    async remove(userId: number, id: number): Promise<void> {
      await owned(userId, id);
      await repo.delete(id);
      await changed(userId);
    },

    /** "Send a test": queues a test message to one channel (no rate limit, logged like any delivery). */
    async test(userId: number, id: number): Promise<{ delivery_id: number }> {
      const r = await owned(userId, id);
      const [deliveryId] = await dispatch(userId, { event: 'test' as NotificationEvent }, r);
      return { delivery_id: deliveryId! };
    },

    async deliveries(userId: number, f: { alarmId?: number; channelId?: number; limit?: number }) {
      if (f.channelId !== undefined) await owned(userId, f.channelId);
      const rows = await repo.listDeliveries({ userId, limit: f.limit ?? 50, ...(f.alarmId !== undefined && { alarmId: f.alarmId }), ...(f.channelId !== undefined && { channelId: f.channelId }) });
      return { deliveries: rows.map(deliveryView) };
    },
  };
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;
