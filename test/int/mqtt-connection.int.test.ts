import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { createMqttConnection, shardOfTopic } from '../../src/modules/devices/sources/mqtt-connection.ts';

// A real Mosquitto (started by .ci/run); the durable step is the only stand-in (a slow journal).
const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

describe('MQTT connections: acknowledgement waits overlap across clients', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('spreads topics over its clients, always the same one per topic', () => {
    const spread = new Set(Array.from({ length: 64 }, (_, i) => shardOfTopic(`vigil/${i}/readings`, 8)));
    expect(spread.size).toBe(8);
    expect(shardOfTopic('vigil/42/readings', 8)).toBe(shardOfTopic('vigil/42/readings', 8));
  });

  it.each([1, 8])('with %i client(s): each client acknowledges one message at a time, several overlap their waits', async (connections) => {
    // Each durable() takes 30 ms, like a journal fsync on a slow disk; we count how many wait at once.
    let waiting = 0;
    let most = 0;
    const durable = async (): Promise<void> => {
      waiting++;
      most = Math.max(most, waiting);
      await new Promise((r) => setTimeout(r, 30));
      waiting--;
    };
    const conn = createMqttConnection({ url: MQTT_URL, logger: silent, connections, persisted: durable });
    cleanup.push(() => conn.close());
    const ns = randomBytes(4).toString('hex');
    const topics = Array.from({ length: 16 }, (_, i) => `vigil-test/${ns}/${i}/readings`);
    let received = 0;
    for (const t of topics) await conn.subscribe(t, () => received++, () => undefined);
    expect(conn.clientsInUse).toBe(Math.min(connections, new Set(topics.map((t) => shardOfTopic(t, connections))).size));
    const pub = await mqtt.connectAsync(MQTT_URL, { clientId: `vigil-test-pub-${ns}` });
    cleanup.push(() => pub.endAsync(true));
    await Promise.all(topics.flatMap((t) => Array.from({ length: 5 }, (_, k) => pub.publishAsync(t, JSON.stringify({ value: k }), { qos: 1 }))));
    const deadline = Date.now() + 20_000;
    while (received < topics.length * 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received).toBe(topics.length * 5);
    // One client acknowledges one message at a time; several overlap their waits.
    if (connections === 1) expect(most).toBe(1);
    else expect(most).toBeGreaterThan(1);
  });

  it('waits for nothing on a QoS 0 message (it is never redelivered)', async () => {
    // A journal that never answers: QoS 1 messages would stall one at a time, QoS 0 ones must not.
    let asked = 0;
    const persisted = () => {
      asked++;
      return new Promise<void>(() => undefined);
    };
    const conn = createMqttConnection({ url: MQTT_URL, logger: silent, connections: 1, persisted });
    cleanup.push(() => conn.close());
    const topic = `vigil-test/${randomBytes(4).toString('hex')}/readings`;
    let received = 0;
    await conn.subscribe(topic, () => received++, () => undefined);
    const pub = await mqtt.connectAsync(MQTT_URL, { clientId: `vigil-test-pub-${randomBytes(4).toString('hex')}` });
    cleanup.push(() => pub.endAsync(true));
    for (let k = 0; k < 20; k++) await pub.publishAsync(topic, JSON.stringify({ value: k }), { qos: 0 });
    const deadline = Date.now() + 10_000;
    while (received < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect({ received, asked }).toEqual({ received: 20, asked: 0 });
  });
});
