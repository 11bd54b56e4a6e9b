import webpush from 'web-push';
import type { AlarmView } from '../alarms/alarms.schemas.ts';
import type { DestinationGuard } from './destination-guard.ts';
import { DeliveryError, describeAlarm, type ChannelSender, type Notification } from './notification.types.ts';
import { guardedPost } from './webhook.sender.ts';

/** What the dashboard's service worker receives (decrypted) in a push event. */
export interface PushPayload {
  event: Notification['event'];
  title: string;
  body: string;
  /** Where a click on the notification leads (a dashboard path). */
  url: string;
  /** Notifications with the same tag replace each other (one per alarm). */
  tag: string;
  alarm?: Pick<AlarmView, 'id' | 'device_id' | 'session_id' | 'signal' | 'severity' | 'state'>;
  /** A digest's alarm ids (at most 50, to stay under the push services' 4 KB limit). */
  alarm_ids?: number[];
}

const TITLES: Record<Notification['event'], string> = {
  alarm_opened: 'Alarm',
  alarm_renotify: 'Still unacknowledged',
  alarm_resolved: 'Resolved',
  alarm_digest: 'Alarms',
  test: 'Vigil test',
};

/** The small JSON a push carries: enough to show the notification and open the alarm. */
export function pushPayload(n: Notification, deliveryId: number): PushPayload {
  if (n.event === 'test') return { event: 'test', title: TITLES.test, body: 'Browser notifications from Vigil work.', url: '/app/live', tag: `vigil-test-${deliveryId}` };
  if (n.alarm) {
    const a = n.alarm;
    return {
      event: n.event,
      title: `${TITLES[n.event]}: ${a.severity} ${a.signal} on device ${a.device_id}`,
      body: describeAlarm(a),
      url: `/app/sessions/${a.session_id}?alarm=${a.id}`,
      tag: `vigil-alarm-${a.id}`,
      alarm: { id: a.id, device_id: a.device_id, session_id: a.session_id, signal: a.signal, severity: a.severity, state: a.state },
    };
  }
  const alarms = n.alarms ?? [];
  return {
    event: n.event,
    title: `${alarms.length} alarms opened at once`,
    body: alarms
      .slice(0, 5)
      .map((a) => `#${a.id} ${a.severity} ${a.signal} on device ${a.device_id}`)
      .join('\n'),
    url: '/app/live',
    tag: `vigil-digest-${deliveryId}`,
    alarm_ids: alarms.slice(0, 50).map((a) => a.id),
  };
}

/**
 * Delivers notifications to browser push subscriptions (Web Push with VAPID, RFC 8030/8291/8292).
 * `web-push` only builds the request (encrypted aes128gcm body, VAPID JWT); it is sent through the
 * same guarded HTTP client as webhooks. A 404/410 means the browser dropped the subscription: the
 * error is final and marked `gone`, and the dispatcher removes the channel.
 */
export function createWebPushSender(deps: { guard: DestinationGuard; timeoutMs: number; vapid: { publicKey: string; privateKey: string; subject: string } }): ChannelSender {
  return {
    async send(channel, n, deliveryId) {
      const endpoint = String(channel.config.endpoint ?? '');
      const keys = channel.config.keys as { p256dh: string; auth: string };
      let details: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        details = webpush.generateRequestDetails({ endpoint, keys }, JSON.stringify(pushPayload(n, deliveryId)), {
          vapidDetails: deps.vapid,
          TTL: n.event === 'test' ? 600 : 24 * 3600,
          urgency: n.event === 'alarm_opened' || n.event === 'alarm_renotify' || n.event === 'alarm_digest' ? 'high' : 'normal',
          contentEncoding: 'aes128gcm',
        });
      } catch (err) {
        throw new DeliveryError(`push request could not be built: ${err instanceof Error ? err.message : String(err)}`, true);
      }
      const headers: Record<string, string> = { 'user-agent': 'vigil-alarms' };
      for (const [k, v] of Object.entries(details.headers)) headers[k.toLowerCase()] = String(v);
      const status = await guardedPost(deps.guard, details.endpoint, details.body ?? Buffer.alloc(0), headers, deps.timeoutMs, 'push endpoint');
      if (status >= 200 && status < 300) return { status };
      if (status === 404 || status === 410) throw new DeliveryError(`push service answered ${status}: the subscription is gone, channel removed`, true, status, true);
      throw new DeliveryError(`push service answered ${status}`, status < 500 && status !== 429 && status !== 408, status);
    },
  };
}
