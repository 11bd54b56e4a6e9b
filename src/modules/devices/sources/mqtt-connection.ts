import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from './source.ts';

type Handler = (payload: Buffer) => void;
type StatusListener = (connected: boolean, error?: string) => void;

/**
 * One shared MQTT client for every mqtt device of this process, connected on the first
 * subscription and ended when the last one leaves. mqtt.js reconnects by itself and re-subscribes.
 */
export function createMqttConnection(opts: { url: string | undefined; logger: Logger; clientId?: string }) {
  let client: MqttClient | undefined;
  const handlers = new Map<string, Handler>();
  const statusListeners = new Set<StatusListener>();

  function ensure(): MqttClient {
    if (client) return client;
    if (!opts.url) throw new Error('MQTT_URL is not configured');
    const c = mqtt.connect(opts.url, {
      clientId: opts.clientId ?? `vigil-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      resubscribe: true,
    });
    c.on('message', (topic, payload) => handlers.get(topic)?.(payload));
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
      await c.subscribeAsync(topic, { qos: 0 });
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
