import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from './source.ts';

type Handler = (payload: Buffer) => void;
type StatusListener = (connected: boolean, error?: string) => void;

interface Shard {
  client: MqttClient | undefined;
  handlers: Map<string, Handler>;
  listeners: Set<StatusListener>;
}

/** How long acknowledgements may chain within one event-loop turn before the rest wait for the next. */
const TURN_BUDGET_MS = 5;

/** The connection a topic uses: a stable hash of the topic (FNV-1a), so a device always uses the same one. */
export function shardOfTopic(topic: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

/**
 * The MQTT clients for the mqtt devices of this process: `connections` clients (default 32), each
 * device's topic always on the same one, each connected on its first subscription and ended when
 * its last one leaves. mqtt.js reconnects by itself and re-subscribes.
 *
 * Subscriptions are QoS 1 and a QoS 1 message is acknowledged (PUBACK) only once what it caused
 * survives a crash of this process (`persisted`: its rows are written to the detection log
 * journal, decision 0019), so a crash before that makes the broker send it again. The journal
 * syncs to disk at most every `LOG_JOURNAL_FSYNC_MS`: a power loss can lose the messages
 * acknowledged in that window. mqtt.js handles one incoming message per client at a time until
 * its acknowledgement; waiting for an fdatasync per message capped one client at ~900 readings/s,
 * a journal write (page cache, grouped with the other clients' waits) costs far less. A QoS 0
 * message is never redelivered, so it waits for nothing. With a stable `clientId` each client's
 * broker session is persistent (clean: false, client id `<clientId>-<n>`), so the broker also
 * keeps QoS 1 messages that arrive while Vigil is disconnected; keep `connections` unchanged
 * between restarts, or the messages a session kept are not collected.
 */
export function createMqttConnection(opts: { url: string | undefined; logger: Logger; clientId?: string | undefined; connections?: number; persisted?: () => Promise<void> }) {
  const count = Math.max(1, Math.floor(opts.connections ?? 32));
  const shards: Shard[] = Array.from({ length: count }, () => ({ client: undefined, handlers: new Map(), listeners: new Set() }));
  const random = Math.random().toString(16).slice(2, 8);
  // Acknowledging at once lets mqtt.js run the next buffered message in the same turn; a backlog
  // then chained message after message for seconds without giving timers a turn. So within one
  // event-loop turn, acknowledgements run at once for TURN_BUDGET_MS, later ones on the next turn.
  let turnStart = -1;
  const inBudget = () => {
    const now = performance.now();
    if (turnStart < 0) {
      turnStart = now;
      setImmediate(() => void (turnStart = -1));
    }
    return now - turnStart < TURN_BUDGET_MS;
  };

  function ensure(shard: Shard, index: number): MqttClient {
    if (shard.client) return shard.client;
    if (!opts.url) throw new Error('MQTT_URL is not configured');
    const c = mqtt.connect(opts.url, {
      clientId: opts.clientId !== undefined ? `${opts.clientId}-${index}` : `vigil-${process.pid}-${random}-${index}`,
      clean: opts.clientId === undefined,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      resubscribe: true,
    });
    c.on('message', (topic, payload) => shard.handlers.get(topic)?.(payload));
    // Runs after the 'message' handlers (which scored and journaled the readings); the PUBACK waits for it.
    c.handleMessage = (packet, callback) => {
      if (!opts.persisted || packet.qos === 0) return callback();
      opts.persisted().then(
        () => (inBudget() ? callback() : setImmediate(callback)),
        (err: unknown) => {
          opts.logger.warn({ err }, 'mqtt message not acknowledged: readings not journaled');
          callback(err as Error);
        },
      );
    };
    c.on('connect', () => {
      opts.logger.info({ url: opts.url, connection: index }, 'mqtt connected');
      for (const l of shard.listeners) l(true);
    });
    c.on('close', () => {
      for (const l of shard.listeners) l(false, 'broker connection lost');
    });
    c.on('error', (err) => opts.logger.warn({ err: err.message, connection: index }, 'mqtt error'));
    shard.client = c;
    return c;
  }

  async function end(shard: Shard): Promise<void> {
    const c = shard.client;
    shard.client = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }

  return {
    /** True when every client in use is connected (false when none is). */
    get connected(): boolean {
      const used = shards.filter((s) => s.client);
      return used.length > 0 && used.every((s) => s.client?.connected === true);
    },
    /** Clients in use (connected or connecting), for stats and tests. */
    get clientsInUse(): number {
      return shards.filter((s) => s.client).length;
    },
    /** Subscribes to one topic; resolves once the broker acknowledged (or rejects). */
    async subscribe(topic: string, handler: Handler, onStatus: StatusListener): Promise<() => Promise<void>> {
      const index = shardOfTopic(topic, count);
      const shard = shards[index] as Shard;
      const c = ensure(shard, index);
      shard.handlers.set(topic, handler);
      shard.listeners.add(onStatus);
      await c.subscribeAsync(topic, { qos: 1 });
      return async () => {
        shard.handlers.delete(topic);
        shard.listeners.delete(onStatus);
        if (shard.client?.connected) await shard.client.unsubscribeAsync(topic).catch(() => undefined);
        if (shard.handlers.size === 0) await end(shard);
      };
    },
    async close(): Promise<void> {
      await Promise.all(shards.map((s) => end(s)));
    },
  };
}

export type MqttConnection = ReturnType<typeof createMqttConnection>;

/** The topic a device publishes its readings to. */
export const mqttTopic = (deviceId: number) => `vigil/${deviceId}/readings`;
