import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from './source.ts';

type Handler = (payload: Buffer) => void;
type StatusListener = (connected: boolean, error?: string) => void;

/**
 * One shared MQTT client for every mqtt device of this process, connected on the first
 * subscription and ended when the last one leaves. mqtt.js reconnects by itself and re-subscribes.
 *
 * Subscriptions are QoS 1 and a message is acknowledged (PUBACK) only once what it caused is
 * durable (`durable`, the detection log journal): a crash before that makes the broker send it
 * again. With a stable `clientId` the broker session is persistent (clean: false), so the broker
 * also keeps QoS 1 messages that arrive while Vigil is disconnected.
 */
export function createMqttConnection(opts: { url: string | undefined; logger: Logger; clientId?: string | undefined; durable?: () => Promise<void> }) {
  let client: MqttClient | undefined;
  const handlers = new Map<string, Handler>();
  const statusListeners = new Set<StatusListener>();

  function ensure(): MqttClient {
    if (client) return client;
    if (!opts.url) throw new Error('MQTT_URL is not configured');
    const c = mqtt.connect(opts.url, {
      clientId: opts.clientId ?? `vigil-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: opts.clientId === undefined,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      resubscribe: true,
    });
    c.on('message', (topic, payload) => handlers.get(topic)?.(payload));
    // Runs after the 'message' handlers (which scored and journaled the readings); the PUBACK waits for it.
    c.handleMessage = (_packet, callback) => {
      if (!opts.durable) return callback();
      opts.durable().then(
        () => callback(),
        (err: unknown) => {
          opts.logger.warn({ err }, 'mqtt message not acknowledged: readings not durable');
          callback(err as Error);
        },
      );
    };
    c.on('connect', () => {
      opts.logger.info({ url: opts.url }, 'mqtt connected');
      for (const l of statusListeners) l(true);
    });
    c.on('close', () => {
      for (const l of statusListeners) l(false, 'broker connection lost');
    });
    c.on('error', (err) => opts.logger.warn({ err: err.message }, 'mqtt error'));
    client = c;
    return c;
  }

  return {
    get connected(): boolean {
      return client?.connected ?? false;
    },
    /** Subscribes to one topic; resolves once the broker acknowledged (or rejects). */
    async subscribe(topic: string, handler: Handler, onStatus: StatusListener): Promise<() => Promise<void>> {
      const c = ensure();
      handlers.set(topic, handler);
      statusListeners.add(onStatus);
      await c.subscribeAsync(topic, { qos: 1 });
      return async () => {
        handlers.delete(topic);
        statusListeners.delete(onStatus);
        if (client?.connected) await client.unsubscribeAsync(topic).catch(() => undefined);
        if (handlers.size === 0) await this.close();
      };
    },
    async close(): Promise<void> {
      const c = client;
      client = undefined;
      if (c) await c.endAsync(true).catch(() => undefined);
    },
  };
}

export type MqttConnection = ReturnType<typeof createMqttConnection>;

/** The topic a device publishes its readings to. */
export const mqttTopic = (deviceId: number) => `vigil/${deviceId}/readings`;
