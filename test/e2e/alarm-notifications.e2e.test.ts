import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { SMTPServer } from 'smtp-server';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject, warmSession } from '../support/alarms.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

interface Hook {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: any;
}

/** A webhook receiver on 127.0.0.1; `failNext` answers 503 to the next n requests. */
async function hookReceiver() {
  const hooks: Hook[] = [];
  let failNext = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      hooks.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { hooks, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/vigil`, fail: (n: number) => (failNext = n), close: () => server.close() };
}

/** Checks `X-Vigil-Signature: t=…,v1=…` as a receiver would. */
function verify(h: Hook, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(h.headers['x-vigil-signature']));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${h.raw}`).digest('hex');
  return expected === m[2] && Math.abs(Date.now() / 1000 - Number(m[1])) < 300;
}

describe.each(testDialects())('alarm notifications [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  let smtp: SMTPServer;
  const mails: Array<{ to: string; data: string }> = [];
  const prefix = `vigil-test-${randomBytes(4).toString('hex')}`;
  const discovery = `ha-test-${randomBytes(4).toString('hex')}`;
  const sockets: Socket[] = [];
  let sub: MqttClient;
  const messages: Array<{ topic: string; payload: any; retain: boolean }> = [];

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), data });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    server = await startTestServer(dialect, {
      LOG_BATCH_SIZE: '40',
      LOG_FLUSH_MS: '50',
      ALARM_TICK_MS: '100',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MQTT_URL,
      MQTT_OUT_PREFIX: prefix,
      MQTT_DISCOVERY_PREFIX: discovery,
      MQTT_STATE_INTERVAL_MS: '200',
      NOTIFY_ALLOW_HOSTS: '127.0.0.1',
      NOTIFY_RETRY_MS: '100',
    });
    api = httpClient(server.baseUrl);
    sub = await mqtt.connectAsync(MQTT_URL, { clientId: `${prefix}-sub` });
    sub.on('message', (topic, payload, packet) => messages.push({ topic, payload: JSON.parse(payload.toString()), retain: packet.retain }));
    await sub.subscribeAsync([`${prefix}/#`, `${discovery}/#`]);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => {
    await sub?.endAsync();
    await server?.stop();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  });

  it('refuses private, loopback, link-local and metadata webhook destinations', async () => {
    const u = await registerUser(api, 'ssrf');
    const post = (url: string) => api.post('/notifications/channels', { kind: 'webhook', name: 'x', url }, u.token);
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://192.168.0.10:8080/', 'http://[::1]:8000/', 'http://0.0.0.0/', 'http://127.0.0.2/', 'http://[::ffff:169.254.169.254]/', 'http://100.100.100.200/']) {
      const r = await post(url);
      expect(r.status, url).toBe(400);
      expect(r.body.code, url).toBe('destination-not-allowed');
    }
    expect((await post('ftp://example.com/x')).body.code).toBe('invalid-channel');
    expect((await post('http://user:pw@127.0.0.1/')).body.code).toBe('invalid-channel');
    expect((await api.get('/notifications/channels', u.token)).body.channels).toEqual([]);
  });

  it('notifies by signed webhook (with retries), e-mail and MQTT with Home Assistant discovery, and logs each delivery', async () => {
    const hook = await hookReceiver();
    const u = await registerUser(api, 'notify');
    const other = await registerUser(api, 'other');
    const wh = await api.post('/notifications/channels', { kind: 'webhook', name: 'ops hook', url: hook.url }, u.token);
    expect(wh.status).toBe(201);
    expect(wh.body).toMatchObject({ kind: 'webhook', url: hook.url, enabled: true, secret: expect.stringMatching(/^whsec_/) });
    const secret = wh.body.secret as string;
    expect((await api.get('/notifications/channels', u.token)).body.channels[0].secret).toBeUndefined();
    const mail = await api.post('/notifications/channels', { kind: 'email', name: 'ops mail', to: 'ops@example.test' }, u.token);
    expect(mail.status).toBe(201);
    const mq = await api.post('/notifications/channels', { kind: 'mqtt', name: 'home assistant' }, u.token);
    expect(mq.status).toBe(201);
    expect(mq.body.topics.state).toBe(`${prefix}/<device_id>/state`);

    // "Send a test" reaches the receiver, signed.
    expect((await api.post(`/notifications/channels/${wh.body.id}/test`, undefined, u.token)).status).toBe(202);
    const test = (await eventually(() => hook.hooks.find((h) => h.body.event === 'test'), 10_000))!;
    expect(verify(test, secret)).toBe(true);
    expect(verify(test, 'whsec_wrong')).toBe(false);
    expect((await api.post(`/notifications/channels/${mail.body.id}/test`, undefined, u.token)).status).toBe(202);
    await eventually(() => mails.some((m) => m.to === 'ops@example.test' && m.data.includes('test message')), 10_000);

    // The other user can neither see nor use these channels.
    expect((await api.post(`/notifications/channels/${wh.body.id}/test`, undefined, other.token)).status).toBe(404);
    expect((await api.request('PATCH', `/notifications/channels/${wh.body.id}`, { body: { enabled: false }, token: other.token })).body.code).toBe('channel-not-found');
    expect((await api.get(`/notifications/channels/${wh.body.id}/deliveries`, other.token)).status).toBe(404);
    expect((await api.get('/notifications/channels', other.token)).body.channels).toEqual([]);

    // An alarm: the first webhook attempt fails (503) and the retry lands.
    await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 2, digest_threshold: 100 }, token: u.token });
    const s = await warmSession(server.baseUrl, api, u);
    sockets.push(s.socket);
    await eventually(() => messages.some((m) => m.topic === `${prefix}/${s.deviceId}/state` && m.payload.score !== undefined), 10_000);
    hook.fail(1);
    await inject(api, u.token, s.deviceId, 'dropout', 30);
    const opened = await eventually(() => s.seen.alarm_opened![0], 10_000);
    const delivered = (await eventually(() => hook.hooks.find((h) => h.body.event === 'alarm_opened' && h.body.alarm.id === opened.id), 15_000))!;
    expect(verify(delivered, secret)).toBe(true);
    expect(delivered.headers['x-vigil-event']).toBe('alarm_opened');
    expect(delivered.body.alarm).toMatchObject({ id: opened.id, device_id: s.deviceId, session_id: s.sessionId, signal: opened.signal });

    const email = (await eventually(() => mails.find((m) => m.data.includes(`Alarm #${opened.id}`)), 10_000))!;
    expect(email.to).toBe('ops@example.test');
    expect(email.data).toContain('Readings around the peak');
    expect(email.data).toContain('text/html');

    // MQTT: retained state with the open alarm, the alarm event, and the discovery configs.
    await eventually(() => messages.some((m) => m.topic === `${prefix}/${s.deviceId}/alarms` && m.payload.event === 'alarm_opened' && m.payload.alarm.id === opened.id), 10_000);
    await eventually(() => messages.some((m) => m.topic === `${prefix}/${s.deviceId}/state` && m.payload.open_alarm?.id !== undefined), 10_000);
    const binary = messages.find((m) => m.topic === `${discovery}/binary_sensor/vigil_${s.deviceId}/anomaly/config`);
    const sensor = messages.find((m) => m.topic === `${discovery}/sensor/vigil_${s.deviceId}/anomaly_score/config`);
    expect(binary?.payload).toMatchObject({ name: 'anomaly', state_topic: `${prefix}/${s.deviceId}/state`, device_class: 'problem', unique_id: `vigil_${s.deviceId}_anomaly` });
    expect(sensor?.payload).toMatchObject({ name: 'anomaly score', state_topic: `${prefix}/${s.deviceId}/state`, value_template: '{{ value_json.score }}' });
    // Retained: a new subscriber gets the last state at once.
    const late = await mqtt.connectAsync(MQTT_URL, { clientId: `${prefix}-late` });
    const retained = new Promise<any>((resolve) => late.on('message', (_t, p, packet) => packet.retain && resolve(JSON.parse(p.toString()))));
    await late.subscribeAsync(`${prefix}/${s.deviceId}/state`);
    expect(await retained).toMatchObject({ device_id: s.deviceId, score: expect.any(Number), value: expect.any(Number) });
    await late.endAsync();

    const log = await eventually(async () => {
      const r = await api.get(`/alarms/${opened.id}/deliveries`, u.token);
      const byChannel = (id: number) => r.body.deliveries.find((d: any) => d.channel_id === id && d.event === 'alarm_opened');
      return byChannel(wh.body.id)?.status === 'sent' && byChannel(mail.body.id)?.status === 'sent' && byChannel(mq.body.id)?.status === 'sent' ? r.body.deliveries : undefined;
    }, 10_000);
    expect(log.find((d: any) => d.channel_id === wh.body.id && d.event === 'alarm_opened')).toMatchObject({ attempts: 2, response_status: 204 });
    expect((await api.get(`/alarms/${opened.id}/deliveries`, other.token)).body.deliveries).toEqual([]);

    // Resolution is notified too; then the state shows no open alarm.
    await api.post('/detection/stop', { session_id: s.sessionId }, u.token);
    await eventually(() => hook.hooks.some((h) => h.body.event === 'alarm_resolved' && h.body.alarm.id === opened.id), 10_000);
    hook.close();
  });

  it('sends a digest instead of a storm, and never notifies silenced alarms', async () => {
    const hook = await hookReceiver();
    const u = await registerUser(api, 'digest');
    await api.post('/notifications/channels', { kind: 'webhook', name: 'hook', url: hook.url }, u.token);
    await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 1, digest_threshold: 1, digest_window_s: 3 }, token: u.token });
    const s = await warmSession(server.baseUrl, api, u, { seed: 3 });
    sockets.push(s.socket);
    // Two incidents in a row: each opens at least one alarm, both within the digest window.
    await inject(api, u.token, s.deviceId, 'dropout', 20);
    await eventually(() => s.seen.alarm_opened!.length >= 1, 10_000);
    await eventually(() => s.seen.alarm_resolved!.length >= 1, 10_000);
    // A second dropout, not a spike: `auto` folds an averaging channel's alarm within 25 s of an
    // incident into it (decision 0014, `episode`), and this short spike's only alarm was the swing channel's.
    await inject(api, u.token, s.deviceId, 'dropout', 20);
    await eventually(() => s.seen.alarm_opened!.length >= 2, 10_000);
    const openedInWindow = s.seen.alarm_opened!.length;
    const digest = (await eventually(() => hook.hooks.find((h) => h.body.event === 'alarm_digest'), 10_000))!;
    const single = hook.hooks.filter((h) => h.body.event === 'alarm_opened');
    expect(single).toHaveLength(1);
    expect(digest.body.alarms.length).toBeGreaterThanOrEqual(openedInWindow - 1);

    // A maintenance window: the alarm is recorded and marked, nobody is notified.
    const now = Date.now();
    await api.request('PUT', `/alarms/rules/devices/${s.deviceId}`, { body: { maintenance: [{ start: new Date(now - 1000).toISOString(), end: new Date(now + 600_000).toISOString() }] }, token: u.token });
    await new Promise((r) => setTimeout(r, 3500));
    const before = hook.hooks.length;
    const count = s.seen.alarm_opened!.length;
    await inject(api, u.token, s.deviceId, 'dropout', 20);
    const silent = (await eventually(() => s.seen.alarm_opened!.slice(count).find((a) => a.silenced === 'maintenance'), 10_000))!;
    await new Promise((r) => setTimeout(r, 4000));
    expect(hook.hooks.slice(before).some((h) => h.body.alarm?.id === silent.id || h.body.alarms?.some((a: any) => a.id === silent.id))).toBe(false);
    await api.post('/detection/stop', {}, u.token);
    hook.close();
  });
});
