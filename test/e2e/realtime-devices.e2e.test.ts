import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { SerialPortMock } from 'serialport';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record, request, sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const SERIAL_PATH = '/dev/ttyVIGILMOCK0';

describe.each(testDialects())('devices and ingestion [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  const sockets: Socket[] = [];
  const ports: SerialPortMock[] = [];
  const open = async (token?: string) => {
    const s = await connectSocket(server.baseUrl, token ? { token } : {});
    sockets.push(s);
    await nextEvent(s, 'connection_confirmed');
    return s;
  };

  beforeAll(async () => {
    SerialPortMock.binding.reset();
    SerialPortMock.binding.createPort(SERIAL_PATH);
    server = await startTestServer(
      dialect,
      { SIMULATOR_RATE_HZ: '50', LOG_BATCH_SIZE: '25', LOG_FLUSH_MS: '50', MQTT_URL, SERIAL_PORT: SERIAL_PATH, DEVICE_RATE_LIMIT: '500', DEVICE_RATE_BURST: '2000', NOTIFY_ALLOW_HOSTS: '127.0.0.1' },
      {
        createSerialPort: (o) => {
          const p = new SerialPortMock(o);
          ports.push(p);
          return p;
        },
      },
    );
    api = httpClient(server.baseUrl);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await server?.stop();
    SerialPortMock.binding.reset();
  });

  describe('REST /devices', () => {
    it('creates, lists, updates and deletes own devices; tokens are shown once and stored hashed', async () => {
      const u = await registerUser(api, 'dev');
      const created = await api.post('/devices', { name: 'Line 1', kind: 'http' }, u.token);
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: 'Line 1', kind: 'http', shared: false, token: expect.stringMatching(/^vgd_/) });
      const list = await api.get('/devices', u.token);
      const mine = list.body.find((d: any) => d.id === created.body.id);
      expect(mine).toBeDefined();
      expect(mine).not.toHaveProperty('token');
      expect(list.body.some((d: any) => d.shared && d.kind === 'serial')).toBe(true);
      const stored = await server.app.database.db.selectFrom('devices').select('token_hash').where('id', '=', created.body.id).executeTakeFirstOrThrow();
      expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(stored.token_hash).not.toContain(created.body.token);

      const rotated = await api.patch(`/devices/${created.body.id}`, { rotate_token: true, name: 'Line 1b' }, u.token);
      expect(rotated.status).toBe(200);
      expect(rotated.body.token).not.toBe(created.body.token);
      const old = await api.request('POST', `/devices/${created.body.id}/readings`, { body: { readings: [{ value: 1 }] }, headers: { authorization: `Bearer ${created.body.token}` } });
      expect(old.status).toBe(401);

      const bad = await api.post('/devices', { name: 'x', kind: 'serial', config: { path: '/etc/passwd' } }, u.token);
      expect(bad.status).toBe(400);
      const other = await registerUser(api, 'dev2');
      expect((await api.patch(`/devices/${created.body.id}`, { name: 'mine now' }, other.token)).status).toBe(404);
      expect((await api.delete(`/devices/${created.body.id}`, other.token)).status).toBe(404);
      const shared = list.body.find((d: any) => d.shared);
      expect((await api.delete(`/devices/${shared.id}`, u.token)).status).toBe(403);
      expect((await api.delete(`/devices/${created.body.id}`, u.token)).status).toBe(204);
      expect((await api.get(`/devices/${created.body.id}`, u.token)).status).toBe(404);
    });
  });

  describe('HTTP ingestion', () => {
    it('authenticates by device token, fans a batch out to the socket and a session, and refuses oversize batches', async () => {
      const u = await registerUser(api, 'http');
      const dev = (await api.post('/devices', { name: 'Batcher', kind: 'http', is_default: true }, u.token)).body;
      const post = (body: unknown, token = dev.token) =>
        api.request('POST', `/devices/${dev.id}/readings`, { body, headers: { 'x-device-token': token } });

      const idle = await post({ readings: [{ value: 1 }] });
      expect(idle.status).toBe(202);
      expect(idle.body).toMatchObject({ received: 1, delivered: false });

      const s = await open(u.token);
      const seen = record(s, 'arduino_raw_data', 'arduino_data');
      const st = await request(s, 'arduino_connect', {}, 'arduino_status');
      expect(st).toMatchObject({ connected: true, port: 'http', device_id: dev.id });
      const started = await request(s, 'start_detection', {}, 'detection_status');
      expect(started.running).toBe(true);

      const now = Date.now();
      const readings = Array.from({ length: 200 }, (_, i) => ({ value: 3.3 + (i % 3) * 0.01, ts: now - (200 - i) * 10 }));
      const res = await post({ readings: [...readings, { value: 'x' } as any] });
      expect(res.status).toBe(400);
      const ok = await post({ readings: [...readings, { value: 1, ts: now + 3_600_000 }] });
      expect(ok.status).toBe(202);
      expect(ok.body).toMatchObject({ received: 201, accepted: 200, invalid: 1, rate_limited: 0, delivered: true });
      await eventually(() => seen.arduino_data!.length === 200);
      expect(seen.arduino_raw_data).toHaveLength(200);
      expect(seen.arduino_raw_data![0].timestamp).toBeCloseTo(readings[0]!.ts / 1000, 3);

      expect((await post({ readings: [{ value: 1 }] }, 'vgd_wrong')).status).toBe(401);
      expect((await api.request('POST', `/devices/${dev.id}/readings`, { body: { readings: [{ value: 1 }] } })).status).toBe(401);
      const tooMany = await post({ readings: Array.from({ length: 1001 }, () => ({ value: 1 })) });
      expect(tooMany.status).toBe(413);
      expect(tooMany.body.code).toBe('batch-too-large');

      const stop = await api.post('/detection/stop', { session_id: started.session_id }, u.token);
      expect(stop.body.final_analysis.total_predictions).toBe(200);
      const logs = await api.get(`/detection/sessions/${started.session_id}/logs?limit=1000`, u.token);
      expect(logs.body.logs).toHaveLength(200);
      expect(logs.body.logs[0].timestamp).toBe(new Date(readings[0]!.ts).toISOString());
    });

    it('rate-limits a flooding device without hurting another', async () => {
      const u = await registerUser(api, 'flood');
      const a = (await api.post('/devices', { name: 'Flood', kind: 'http' }, u.token)).body;
      const b = (await api.post('/devices', { name: 'Calm', kind: 'http' }, u.token)).body;
      const s = await open(u.token);
      const seen = record(s, 'arduino_raw_data');
      await request(s, 'arduino_connect', { device_id: a.id }, 'arduino_status');
      const s2 = await open(u.token);
      const seen2 = record(s2, 'arduino_raw_data');
      await request(s2, 'arduino_connect', { device_id: b.id }, 'arduino_status');
      const batch = { readings: Array.from({ length: 1000 }, (_, i) => ({ value: i })) };
      const results = [];
      for (let i = 0; i < 4; i++) {
        results.push((await api.request('POST', `/devices/${a.id}/readings`, { body: batch, headers: { 'x-device-token': a.token } })).body);
      }
      const dropped = results.reduce((n, r) => n + r.rate_limited, 0);
      expect(dropped).toBeGreaterThan(1000);
      const calm = await api.request('POST', `/devices/${b.id}/readings`, { body: { readings: [{ value: 1 }, { value: 2 }] }, headers: { 'x-device-token': b.token } });
      expect(calm.body).toMatchObject({ accepted: 2, rate_limited: 0 });
      await eventually(() => seen2.arduino_raw_data!.length === 2);
      expect(seen.arduino_raw_data!.length).toBeLessThanOrEqual(4000 - dropped);
    });
  });

  describe('MQTT (real broker)', () => {
    it('delivers readings published with the device token; ignores junk and token-less payloads; logs every scored reading', async () => {
      const u = await registerUser(api, 'mqtt');
      const dev = (await api.post('/devices', { name: 'ESP32', kind: 'mqtt' }, u.token)).body;
      expect(dev.mqtt_topic).toBe(`vigil/${dev.id}/readings`);
      const s = await open(u.token);
      const seen = record(s, 'arduino_raw_data', 'arduino_data');
      const st = await request(s, 'arduino_connect', { device_id: dev.id }, 'arduino_status');
      expect(st).toMatchObject({ device_id: dev.id, port: dev.mqtt_topic });
      await eventually(async () => (await api.get(`/devices/${dev.id}`, u.token)).body.status?.connected === true);
      const started = await request(s, 'start_detection', { device_id: dev.id }, 'detection_status');
      expect(started.running).toBe(true);

      const client = await mqtt.connectAsync(MQTT_URL);
      try {
        await client.publishAsync(dev.mqtt_topic, '3.3');
        await client.publishAsync(dev.mqtt_topic, JSON.stringify({ value: 3.3, token: 'vgd_forged' }));
        await client.publishAsync(dev.mqtt_topic, '{not json');
        await client.publishAsync(dev.mqtt_topic, Buffer.from([0xff, 0x00, 0x13]));
        for (let i = 0; i < 30; i++) {
          await client.publishAsync(dev.mqtt_topic, JSON.stringify({ value: 3.3 + (i % 2) * 0.01, ts: Date.now(), token: dev.token }));
        }
        await client.publishAsync(dev.mqtt_topic, JSON.stringify({ readings: [{ value: 3.31 }, { value: 3.32 }], token: dev.token }));
      } finally {
        await client.endAsync();
      }
      await eventually(() => seen.arduino_data!.length === 32);
      await sleep(200);
      expect(seen.arduino_raw_data).toHaveLength(32);
      expect(s.connected).toBe(true);

      const stop = await request(s, 'stop_detection', {}, 'detection_stopped');
      expect(stop.final_analysis.total_predictions).toBe(32);
      const page = await api.get(`/detection/sessions/${started.session_id}/logs?limit=100`, u.token);
      expect(page.body.logs).toHaveLength(32);
    });
  });

  describe('serial (serialport mock binding)', () => {
    it('reads lines in every firmware format, skips garbage, reports unplug and reconnects', async () => {
      const s = await open();
      const seen = record(s, 'arduino_raw_data', 'arduino_status');
      const st = await request(s, 'arduino_connect', {}, 'arduino_status');
      expect(st).toMatchObject({ port: SERIAL_PATH });
      await eventually(() => ports.at(-1)?.isOpen);
      const port = ports.at(-1)!;
      port.port!.emitData('3.21\r\nV:3.22\n3.');
      await sleep(30);
      port.port!.emitData('23\r\ngarbage!!\n\n3.24,123456\n');
      await eventually(() => seen.arduino_raw_data!.length === 4);
      expect(seen.arduino_raw_data!.map((r) => r.voltage)).toEqual([3.21, 3.22, 3.23, 3.24]);
      expect(Math.abs(seen.arduino_raw_data![0].timestamp * 1000 - Date.now())).toBeLessThan(2000);

      // Unplugged: the port disappears and closes with an error; the source retries with backoff.
      SerialPortMock.binding.reset();
      port.close(undefined, Object.assign(new Error('device unplugged'), { disconnected: true }));
      const down = await nextEvent(s, 'arduino_status', (p: any) => p.connected === false);
      expect(down).toMatchObject({ connected: false, error: expect.any(String) });
      await sleep(700);
      SerialPortMock.binding.createPort(SERIAL_PATH);
      const up = await nextEvent(s, 'arduino_status', (p: any) => p.connected === true, 15_000);
      expect(up.port).toBe(SERIAL_PATH);
      await eventually(() => ports.at(-1)?.isOpen && ports.at(-1) !== port);
      ports.at(-1)!.port!.emitData('4.5\n');
      await eventually(() => seen.arduino_raw_data!.some((r) => r.voltage === 4.5));
      expect(server.app.realtime.hub.stats().invalid).toBeGreaterThanOrEqual(1);
    });
  });

  describe('simulator', () => {
    it('injects an anomaly on demand that the session flags and alerts on', async () => {
      const u = await registerUser(api, 'sim');
      // SERIAL_PORT is set here, so without a device of their own the user would get the server's Arduino.
      const dev = (await api.post('/devices', { name: 'Sim', kind: 'simulator', config: { seed: 7, rate_hz: 100 }, is_default: true }, u.token)).body;
      // The user's webhook receives the alert too; its first attempt fails, the retry lands.
      const hooks: any[] = [];
      let calls = 0;
      const hookServer = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (calls++ === 0) {
            res.writeHead(503).end();
            return;
          }
          hooks.push(JSON.parse(body));
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
      const hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/alerts`;
      expect((await api.request('PUT', '/detection/webhook', { body: { url: hookUrl }, token: u.token })).status).toBe(200);
      const s = await open(u.token);
      const seen = record(s, 'arduino_data', 'anomaly_alert');
      await request(s, 'arduino_connect', {}, 'arduino_status');
      const started = await request(s, 'start_detection', {}, 'detection_status');
      // Let the detector warm up on normal data, then inject a dropout.
      await eventually(() => seen.arduino_data!.some((d) => d.ml_status.status === 'ml_ready'), 20_000);
      await sleep(500);
      const inj = await api.post(`/devices/${dev.id}/anomalies`, { kind: 'dropout', readings: 20 }, u.token);
      expect(inj.status).toBe(202);
      await eventually(() => seen.anomaly_alert!.length > 0, 10_000);
      expect(seen.anomaly_alert![0]).toMatchObject({ session_id: started.session_id, voltage: expect.any(Number), anomaly_score: expect.any(Number) });
      expect(seen.arduino_data!.some((d) => d.prediction.is_anomaly)).toBe(true);
      await eventually(() => hooks.length > 0, 10_000);
      expect(hooks[0]).toMatchObject({ event: 'anomaly', session_id: started.session_id, device_id: dev.id, anomaly_score: expect.any(Number) });
      hookServer.close();
      const other = await registerUser(api, 'sim2');
      expect((await api.post(`/devices/${dev.id}/anomalies`, { kind: 'spike' }, other.token)).status).toBe(404);
      await api.post('/detection/stop', {}, u.token);
    });
  });
});
