import type { AlarmView } from '../alarms/alarms.schemas.ts';

export const NOTIFICATION_EVENTS = ['alarm_opened', 'alarm_renotify', 'alarm_resolved', 'alarm_digest', 'test'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** What one channel is asked to deliver. */
export interface Notification {
  event: NotificationEvent;
  /** The alarm (absent for digests and tests). */
  alarm?: AlarmView;
  /** A digest's alarms. */
  alarms?: AlarmView[];
}

/** A reading around an alarm, for messages that show the values. */
export interface NearbyReading {
  timestamp: string;
  value: number;
  anomaly_score: number;
  is_anomaly: boolean;
}

/**
 * A failed attempt; `final` ones (refused destination, 4xx) are not retried. `gone`: the
 * destination says it no longer exists (a push subscription answered 404/410), so the channel is removed.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly final: boolean,
    readonly status: number | null = null,
    readonly gone = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** One kind of channel: delivers a notification or throws a DeliveryError. */
export interface ChannelSender {
  send(channel: { id: number; userId: number; config: Record<string, unknown>; secret: string | null }, n: Notification, deliveryId: number): Promise<{ status: number | null }>;
}

/** One line per alarm, for subjects and digests. */
export function describeAlarm(a: AlarmView): string {
  return `${a.severity} ${a.signal} alarm on device ${a.device_id} (session ${a.session_id}): peak ${a.peak_value}${a.peak_expected !== null ? ` (expected ${a.peak_expected})` : ''}, score ${a.peak_score.toFixed(2)}, ${a.anomaly_count} anomalous reading(s)`;
}
