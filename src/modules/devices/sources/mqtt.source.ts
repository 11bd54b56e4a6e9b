import { parseMqttPayload } from '../readings.ts';
import type { FollowReadings } from './http.source.ts';
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
  /**
   * With REDIS_URL: the device's Redis Stream, which the cluster's MQTT intake fills
   * (mqtt-intake.ts, tokens checked there); the source follows it instead of subscribing.
   */
  follow?: FollowReadings;
}

/**
 * A networked device publishing to `vigil/<device_id>/readings`: a bare number, `{value, ts?}`
 * or `{readings: […]}`, with the device token as `token` unless the broker vouches for the publisher.
 */
export function createMqttSource(sink: SourceSink, opts: MqttSourceOptions): Source {
  const topic = mqttTopic(opts.deviceId);
  const now = opts.now ?? Date.now;
  let unsubscribe: (() => Promise<void>) | undefined;
  let unfollow: (() => void) | undefined;
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
      if (opts.follow) {
        // As for HTTP devices, a Redis that cannot be followed fails the opening (no silent session).
        unfollow = await opts.follow(opts.deviceId, (e) => {
          for (const r of e.readings) sink.reading(r, e.id);
        });
        sink.status({ connected: true, message: `Following ${topic} through Redis` });
        return;
      }
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
      unfollow?.();
      unfollow = undefined;
      const u = unsubscribe;
      unsubscribe = undefined;
      await u?.();
    },
  };
  return source;
}
