import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Reading } from '../../../detectors/index.ts';
import { parseMqttPayload } from '../readings.ts';
import type { Logger } from './source.ts';

/** What the intake needs to know about a device. */
export interface IntakeDevice {
  kind: string;
  tokenHash: string | null;
}

/** The cluster-wide lease on the intake (Redis): one process at a time holds it. */
export interface IntakeLease {
  /** This process's id (the lease's value, and the payload of the intake client's will). */
  holder: string;
  /** Takes the lease if it is free, or held by `from` (a holder whose connection the broker saw die). */
  acquire(from?: string): Promise<boolean>;
  /** False when this process no longer holds it. */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface MqttIntakeDeps {
  url: string;
  /** The broker session every holder uses (clean: false): messages wait there between holders. */
  clientId: string;
  /** Where the intake client's will is published, and a stopping holder says it let go. */
  controlTopic: string;
  lease: IntakeLease;
  /** How often the lease is renewed (holder) or tried (the others), ms. */
  checkMs: number;
  lookup(deviceId: number): Promise<IntakeDevice | undefined>;
  tokenMatches(token: string, hash: string | null): boolean;
  /** When the broker's ACL already authenticates publishers, payloads need no token. */
  trustBroker: boolean;
  maxBatch: number;
  /**
   * Appends a message's readings to the device's stream and records `mark` (which message it was)
   * in the same transaction; resolves once Redis holds both.
   */
  append(deviceId: number, readings: readonly Reading[], mark: string): Promise<unknown>;
  /** Whether a message with this mark was appended lately. */
  appended(mark: string): Promise<boolean>;
  /** Counts payloads (or readings) that were not valid readings of an mqtt device. */
  invalid(deviceId: number, count: number): void;
  logger: Logger;
  /** How long a device lookup (kind, token hash) is reused, ms. */
  cacheMs?: number;
  now?: () => number;
}

interface IncomingPacket {
  topic: string;
  payload: Buffer | string;
  messageId?: number | undefined;
  dup?: boolean;
}
type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

const TOPIC = /^vigil\/(\d{1,15})\/readings$/;
const CACHE_MAX = 10_000;

/**
 * MQTT intake of a cluster (REDIS_URL and MQTT_URL, decision 0008). One process at a time (a Redis
 * lease) holds the cluster's broker session, a persistent one (clean: false, one client id for the
 * deployment) subscribed to `vigil/+/readings` with QoS 1: it checks each message's device and
 * token, appends the readings to the device's Redis Stream (in the order received) and acknowledges
 * (PUBACK) each only once Redis holds it. Session owners follow the streams. When the holder dies or stops, the broker
 * keeps the messages in the session, in order, until the next holder connects: the broker publishes
 * the holder's will (or the stopping holder says so) and another process takes the lease at once.
 * A message redelivered after a holder died between its append and its PUBACK is recognised by its
 * mark (packet id and payload hash, kept with the append among the last 256) and not appended twice.
 */
export function createMqttIntake(deps: MqttIntakeDeps) {
  const { logger, lease } = deps;
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? 5000;
  const random = Math.random().toString(16).slice(2, 8);
  const devices = new Map<number, { at: number; device: Promise<IntakeDevice | undefined>; verified?: string }>();
  const counts = { messages: 0, readings: 0, invalid: 0, redelivered: 0 };
  let control: MqttClient | undefined;
  let intake: MqttClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let checking: Promise<void> | undefined;
  let leaving = false;

  function cached(deviceId: number) {
    const t = now();
    let c = devices.get(deviceId);
    if (!c || t - c.at > cacheMs) {
      if (devices.size >= CACHE_MAX) devices.clear();
      c = { at: t, device: deps.lookup(deviceId) };
      // A failed lookup is asked again on the next message.
      c.device.catch(() => devices.delete(deviceId));
      devices.set(deviceId, c);
    }
    return c;
  }

  function invalid(deviceId: number, n: number) {
    counts.invalid += n;
    deps.invalid(deviceId, n);
  }

  /** Checks a message; resolves with its append issued (not awaited), or undefined when there is nothing to append. */
  async function prepare(packet: IncomingPacket): Promise<{ appending: Promise<unknown> } | undefined> {
    const m = TOPIC.exec(packet.topic);
    if (!m) return undefined;
    const deviceId = Number(m[1]);
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    counts.messages++;
    const entry = cached(deviceId);
    const device = await entry.device;
    if (device?.kind !== 'mqtt') return void invalid(deviceId, 1);
    const parsed = parseMqttPayload(payload, now(), deps.maxBatch);
    if (!deps.trustBroker) {
      const token = parsed.token;
      const ok = token !== undefined && (token === entry.verified || deps.tokenMatches(token, device.tokenHash));
      if (!ok) return void invalid(deviceId, 1);
      entry.verified = token;
    }
    if (parsed.invalid > 0) invalid(deviceId, parsed.invalid);
    if (parsed.readings.length === 0) return undefined;
    const mark = `${packet.messageId ?? 0}:${createHash('sha1').update(packet.topic).update('\n').update(payload).digest('base64')}`;
    // Sent again by the broker: the previous holder may have appended it before dying unacknowledged.
    if (packet.dup && (await deps.appended(mark))) {
      counts.redelivered++;
      return undefined;
    }
    counts.readings += parsed.readings.length;
    return { appending: deps.append(deviceId, parsed.readings, mark) };
  }

  /**
   * Messages are checked one after the other and their appends issued in the order they came (one
   * Redis connection: Redis runs them in that order), without waiting for one append before the
   * next is issued. Resolves once the message's readings are in Redis.
   */
  let chain: Promise<unknown> = Promise.resolve();
  function accept(packet: IncomingPacket): Promise<void> {
    const step = chain.then(() => prepare(packet));
    chain = step.catch(() => undefined);
    return step.then(async (r) => {
      await r?.appending;
    });
  }

  function connectIntake(): MqttClient {
    const c = mqtt.connect(deps.url, {
      clientId: deps.clientId,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      // The broker notices a dead holder's connection and tells the other processes at once.
      will: { topic: deps.controlTopic, payload: Buffer.from(lease.holder), qos: 1, retain: false },
    });
    // The PUBACK of a message is sent once its readings are in Redis. mqtt.js hands over the next
    // message only after the previous one's PUBACK is sent (one Redis round trip, plus the event
    // loop's delay, per message: under load 10-100 ms, fewer than 100 messages/s). So the PUBACK is
    // held back here instead: mqtt.js goes on at once, and the PUBACK goes out when the append is
    // done. Without that hook (another mqtt.js), each message waits for its append.
    const send = (c as unknown as { _sendPacket?: SendPacket })._sendPacket;
    const held = new Map<number, Promise<void>>();
    if (typeof send === 'function') {
      (c as unknown as { _sendPacket: SendPacket })._sendPacket = (packet, cb, ...rest) => {
        const appended = packet.cmd === 'puback' && packet.messageId !== undefined ? held.get(packet.messageId) : undefined;
        if (!appended) return send.call(c, packet, cb, ...rest);
        held.delete(packet.messageId!);
        cb?.();
        // A PUBACK for a connection that is gone is not sent: the broker sends that message again.
        appended.then(() => c.connected && send.call(c, packet, undefined, ...rest)).catch(() => undefined);
      };
    }
    c.handleMessage = (packet, callback) => {
      // Leaving: neither appended nor acknowledged: the broker sends it to the next holder.
      if (leaving) return;
      const p = accept(packet);
      handling.add(p);
      void p.finally(() => handling.delete(p)).catch(() => undefined);
      const failed = (err: unknown) => logger.warn({ err, topic: packet.topic }, 'mqtt message not acknowledged: readings not appended to the device stream');
      if (typeof send === 'function' && packet.qos === 1 && packet.messageId !== undefined) {
        held.set(
          packet.messageId,
          p.catch((err: unknown) => {
            failed(err);
            // Not acknowledged: the broker sends it again once the client reconnects.
            c.stream.destroy();
            throw err;
          }),
        );
        callback();
        return;
      }
      p.then(
        () => callback(),
        (err: unknown) => {
          failed(err);
          callback(err as Error);
        },
      );
    };
    c.on('connect', (ack) => {
      logger.info({ url: deps.url, sessionPresent: ack.sessionPresent }, 'mqtt intake connected');
      if (!ack.sessionPresent) {
        c.subscribeAsync('vigil/+/readings', { qos: 1 }).catch((err: unknown) => logger.warn({ err }, 'mqtt intake subscription failed'));
      }
    });
    // Taken over by another process (the broker closes this connection): stop here before reconnecting.
    c.on('close', () => void check());
    c.on('error', (err) => logger.warn({ err: err.message }, 'mqtt intake error'));
    return c;
  }

  const handling = new Set<Promise<void>>();

  async function dropIntake(): Promise<void> {
    const c = intake;
    intake = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }

  async function runCheck(from?: string): Promise<void> {
    if (stopped) return;
    if (intake) {
      if (!(await lease.renew())) {
        logger.warn({}, 'mqtt intake lease lost: another process holds the intake');
        await dropIntake();
      }
      return;
    }
    if (await lease.acquire(from)) {
      if (stopped) return void (await lease.release());
      logger.info({ from }, 'mqtt intake taken');
      intake = connectIntake();
    }
  }

  function check(from?: string): Promise<void> {
    checking ??= runCheck(from)
      .catch((err: unknown) => logger.warn({ err }, 'mqtt intake lease check failed'))
      .finally(() => (checking = undefined));
    return checking;
  }

  return {
    counts,
    /** True while this process holds the intake. */
    get holding(): boolean {
      return intake !== undefined;
    },
    async start(): Promise<void> {
      control = mqtt.connect(deps.url, { clientId: `vigil-${process.pid}-${random}-control`, clean: true, reconnectPeriod: 1000, connectTimeout: 5000 });
      control.on('connect', () => {
        control?.subscribeAsync(deps.controlTopic, { qos: 1 }).catch((err: unknown) => logger.warn({ err }, 'mqtt intake control subscription failed'));
      });
      control.on('message', (_topic, payload) => {
        const from = payload.toString();
        if (from !== lease.holder) void check(from);
      });
      control.on('error', (err) => logger.warn({ err: err.message }, 'mqtt intake control error'));
      timer = setInterval(() => void check(), deps.checkMs);
      await check();
    },
    /**
     * Lets go of the intake: the client disconnects without unsubscribing (the broker keeps the
     * session and its messages), then the lease is freed and the other processes are told.
     * Messages already handed to this process are appended and acknowledged first.
     */
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await checking;
      const c = intake;
      intake = undefined;
      if (c) {
        // A message being appended is finished first: redelivered to the next holder before its
        // append landed, it would be appended twice. Messages not yet handled are sent again.
        leaving = true;
        while (handling.size > 0) await Promise.allSettled([...handling]);
        // A clean DISCONNECT after the last PUBACKs went out (a broker that does not answer is not waited for long).
        let t: NodeJS.Timeout | undefined;
        await Promise.race([c.endAsync(false), new Promise((r) => (t = setTimeout(r, 1000)))]).catch(() => undefined);
        clearTimeout(t);
        if (!c.disconnected) await c.endAsync(true).catch(() => undefined);
        await lease.release().catch(() => undefined);
        await control?.publishAsync(deps.controlTopic, lease.holder, { qos: 1 }).catch(() => undefined);
      }
      await control?.endAsync(true).catch(() => undefined);
      control = undefined;
    },
  };
}

export type MqttIntake = ReturnType<typeof createMqttIntake>;
