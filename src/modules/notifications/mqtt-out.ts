import mqtt, { type MqttClient } from 'mqtt';
import type { AlarmView } from '../alarms/alarms.schemas.ts';
import type { DetectionScoredEvent } from '../detection/detection.types.ts';
import { DeliveryError, type ChannelSender } from './notification.types.ts';

export interface MqttOutOptions {
  url: string;
  /** Topic prefix: `<prefix>/<device_id>/state` and `<prefix>/<device_id>/alarms`. */
  prefix: string;
  /** Home Assistant discovery prefix (`homeassistant`). */
  discoveryPrefix: string;
  /** At most one state message per device per this many ms. */
  stateIntervalMs: number;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

type Expecting = { expected?: number; lower?: number; upper?: number };

/**
 * MQTT out: a retained `<prefix>/<device>/state` (last score, expected value and band, open alarm),
 * `<prefix>/<device>/alarms` for alarm events, and Home Assistant discovery configs (a binary sensor
 * "anomaly" and a sensor "anomaly score" per device). Publishing hands the message to mqtt.js's
 * buffer and never waits for the broker.
 */
export function createMqttOut(opts: MqttOutOptions) {
  let client: MqttClient | undefined;
  const lastState = new Map<number, number>();
  const announced = new Set<number>();
  const openAlarm = new Map<number, Pick<AlarmView, 'id' | 'signal' | 'severity' | 'state' | 'opened_at'>>();

  function ensure(): MqttClient {
    if (client) return client;
    client = mqtt.connect(opts.url, { clientId: `vigil-out-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 1000, connectTimeout: 5000 });
    client.on('connect', () => opts.logger.info({ url: opts.url }, 'mqtt out connected'));
    client.on('error', (err) => opts.logger.warn({ err: err.message }, 'mqtt out error'));
    return client;
  }

  const stateTopic = (deviceId: number) => `${opts.prefix}/${deviceId}/state`;
  const alarmsTopic = (deviceId: number) => `${opts.prefix}/${deviceId}/alarms`;
  const publish = (topic: string, payload: unknown, retain: boolean) => {
    ensure().publish(topic, JSON.stringify(payload), { qos: 0, retain }, (err) => {
      if (err) opts.logger.warn({ err: err.message, topic }, 'mqtt out publish failed');
    });
  };

  /** Home Assistant MQTT discovery: the device's two entities appear in Home Assistant by themselves. */
  function announce(deviceId: number) {
    if (announced.has(deviceId)) return;
    announced.add(deviceId);
    const device = { identifiers: [`vigil_${deviceId}`], name: `Vigil device ${deviceId}`, manufacturer: 'Vigil' };
    const base = { state_topic: stateTopic(deviceId), device };
    publish(
      `${opts.discoveryPrefix}/binary_sensor/vigil_${deviceId}/anomaly/config`,
      { ...base, name: 'anomaly', unique_id: `vigil_${deviceId}_anomaly`, device_class: 'problem', value_template: "{{ 'ON' if value_json.open_alarm else 'OFF' }}" },
      true,
    );
    publish(
      `${opts.discoveryPrefix}/sensor/vigil_${deviceId}/anomaly_score/config`,
      { ...base, name: 'anomaly score', unique_id: `vigil_${deviceId}_anomaly_score`, state_class: 'measurement', value_template: '{{ value_json.score }}' },
      true,
    );
  }

  function state(e: DetectionScoredEvent, force = false) {
    const t = performance.now();
    const last = lastState.get(e.deviceId);
    if (!force && last !== undefined && t - last < opts.stateIntervalMs) return;
    lastState.set(e.deviceId, t);
    announce(e.deviceId);
    const s = e.score as typeof e.score & Expecting;
    publish(
      stateTopic(e.deviceId),
      {
        device_id: e.deviceId,
        session_id: e.sessionId,
        timestamp: new Date(e.reading.ts).toISOString(),
        value: e.reading.value,
        score: s.anomaly_score,
        is_anomaly: s.is_anomaly,
        signal: s.signal,
        expected: s.expected ?? null,
        band: s.lower !== undefined && s.upper !== undefined ? { lower: s.lower, upper: s.upper } : null,
        open_alarm: openAlarm.get(e.deviceId) ?? null,
      },
      true,
    );
  }

  const sender: ChannelSender = {
    async send(channel, n) {
      const c = ensure();
      const alarms = n.alarms ?? (n.alarm ? [n.alarm] : []);
      if (n.event === 'test') {
        await c.publishAsync(`${opts.prefix}/channels/${channel.id}/test`, JSON.stringify({ event: 'test', sent_at: new Date().toISOString() }), { qos: 1 }).catch((err: Error) => {
          throw new DeliveryError(err.message, false);
        });
        return { status: null };
      }
      for (const a of alarms) {
        await c.publishAsync(alarmsTopic(a.device_id), JSON.stringify({ event: n.event, alarm: a }), { qos: 1 }).catch((err: Error) => {
          throw new DeliveryError(err.message, false);
        });
      }
      return { status: null };
    },
  };

  return {
    sender,
    /** A scored reading of a user with an MQTT channel: the device's retained state (throttled). */
    state,
    /** Keeps the `open_alarm` of a device's state current (and publishes it now). */
    alarmChanged(a: AlarmView) {
      if (a.state === 'resolved') {
        if (openAlarm.get(a.device_id)?.id === a.id) openAlarm.delete(a.device_id);
      } else openAlarm.set(a.device_id, { id: a.id, signal: a.signal, severity: a.severity, state: a.state, opened_at: a.opened_at });
    },
    async close() {
      const c = client;
      client = undefined;
      if (c) await c.endAsync().catch(() => undefined);
    },
  };
}

export type MqttOut = ReturnType<typeof createMqttOut>;
