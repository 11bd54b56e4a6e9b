import { parseMqttPayload } from '../readings.ts';
import { mqttTopic, type MqttConnection } from './mqtt-connection.ts';
import type { Source, SourceSink } from './source.ts';

export interface MqttSourceOptions {
  connection: MqttConnection;
  deviceId: number;
  /** Checks a payload's token against the device's stored hash. */
  verifyToken(token: string): boolean;
  /** When the broker's ACL already authenticates publishers, payloads need no token. */
  trustBroker: boolean;
  maxBatch: number;
  now?: () => number;
}

/**
 * A networked device publishing to `vigil/<device_id>/readings`: a bare number, `{value, ts?}`
 * or `{readings: […]}`, with the device token as `token` unless the broker vouches for the publisher.
 */
export function createMqttSource(sink: SourceSink, opts: MqttSourceOptions): Source {
  const topic = mqttTopic(opts.deviceId);
  const now = opts.now ?? Date.now;
  let unsubscribe: (() => Promise<void>) | undefined;
  let verified: string | undefined;

  function onMessage(payload: Buffer) {
    const parsed = parseMqttPayload(payload, now(), opts.maxBatch);
    if (!opts.trustBroker) {
      const ok = parsed.token !== undefined && (parsed.token === verified || opts.verifyToken(parsed.token));
      if (!ok) {
        sink.invalid('mqtt payload without a valid device token');
        return;
      }
      verified = parsed.token;
    }
    for (let i = 0; i < parsed.invalid; i++) sink.invalid('mqtt payload is not a reading');
    for (const r of parsed.readings) sink.reading(r);
  }

  const source: Source = {
    port: topic,
    async start(signal) {
      signal.addEventListener('abort', () => void source.stop(), { once: true });
      try {
        unsubscribe = await opts.connection.subscribe(topic, onMessage, (connected, error) =>
          sink.status(connected ? { connected, message: `Subscribed to ${topic}` } : { connected, message: `MQTT broker unreachable`, error }),
        );
        sink.status({ connected: true, message: `Subscribed to ${topic}` });
      } catch (err) {
        sink.status({ connected: false, message: 'MQTT is not available', error: (err as Error).message });
      }
    },
    async stop() {
      const u = unsubscribe;
      unsubscribe = undefined;
      await u?.();
    },
  };
  return source;
}
