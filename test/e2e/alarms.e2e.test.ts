import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject, warmSession } from '../support/alarms.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually, request, sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('alarms [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect, { LOG_BATCH_SIZE: '40', LOG_FLUSH_MS: '50', ALERT_INTERVAL: '0', ALARM_TICK_MS: '100' });
    api = httpClient(server.baseUrl);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => server?.stop());

  const session = async (user: { token: string }, seed = 7) => {
    const s = await warmSession(server.baseUrl, api, user, { seed });
    sockets.push(s.socket);
    return s;
  };

  it('opens one alarm per session and signal, counts every anomaly into it, and resolves it after the quiet period', async () => {
    const u = await registerUser(api, 'alarm');
    expect((await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 1 }, token: u.token })).status).toBe(200);
    const s = await session(u);
    await inject(api, u.token, s.deviceId, 'dropout', 30);
    const opened = await eventually(() => s.seen.alarm_opened![0], 10_000);
    expect(opened).toMatchObject({ session_id: s.sessionId, device_id: s.deviceId, state: 'open', anomaly_count: expect.any(Number), peak_score: expect.any(Number), severity: expect.stringMatching(/^(minor|major|critical)$/), silenced: null });
    expect(opened.model_id).toEqual(expect.any(Number));
    const resolved = await eventually(() => s.seen.alarm_resolved!.find((a) => a.id === opened.id), 10_000);
    expect(resolved).toMatchObject({ state: 'resolved', resolved_by: 'auto', resolved_at: expect.any(String) });
    await sleep(300);

    // One open alarm per signal at a time: openings of one signal never overlap.
    const list = await api.get(`/alarms?session_id=${s.sessionId}&limit=100`, u.token);
    expect(list.status).toBe(200);
    const bySignal = new Map<string, any[]>();
    for (const a of list.body.alarms) bySignal.set(a.signal, [...(bySignal.get(a.signal) ?? []), a]);
    for (const group of bySignal.values()) {
      const sorted = group.sort((a, b) => Date.parse(a.opened_at) - Date.parse(b.opened_at));
      for (let i = 1; i < sorted.length; i++) expect(Date.parse(sorted[i].opened_at)).toBeGreaterThan(Date.parse(sorted[i - 1].resolved_at ?? sorted[i - 1].last_seen_at) - 1);
    }
    expect(s.seen.alarm_opened!.length).toBe(list.body.alarms.length);

    // Every anomalous reading of the session is counted in exactly one alarm (default rules filter nothing).
    await api.post('/detection/stop', { session_id: s.sessionId }, u.token);
    await server.app.services.alarms.drain();
    const logs = await api.get(`/detection/sessions/${s.sessionId}/logs?anomalies_only=true&limit=1000`, u.token);
    const after = await api.get(`/alarms?session_id=${s.sessionId}&limit=100`, u.token);
    expect(after.body.alarms.every((a: any) => a.state === 'resolved')).toBe(true);
    expect(after.body.alarms.reduce((n: number, a: any) => n + a.anomaly_count, 0)).toBe(logs.body.logs.length);

    const detail = await api.get(`/alarms/${opened.id}`, u.token);
    expect(detail.status).toBe(200);
    expect(detail.body.readings.length).toBeGreaterThan(10);
    expect(detail.body.readings.some((r: any) => r.is_anomaly)).toBe(true);
    expect(detail.body.peak_value).toBe(detail.body.readings.find((r: any) => r.timestamp === detail.body.peak_at)?.value ?? detail.body.peak_value);
  });

  it('follows the rules: direction and N-within-M hold alarms back, maintenance marks them, and changes apply to the running session', async () => {
    const u = await registerUser(api, 'rules');
    const s = await session(u, 11);
    // A spike goes up: with direction "down" it alerts on the socket but raises no alarm (and the
    // small wobbles after it stay under the minimum deviation).
    const put = await api.request('PUT', `/alarms/rules/devices/${s.deviceId}`, { body: { direction: 'down', min_deviation: 0.3, resolve_after_s: 1 }, token: u.token });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ device_id: s.deviceId, rules: { direction: 'down' }, effective: { direction: 'down', min_readings: 1 } });
    await inject(api, u.token, s.deviceId, 'spike', 2);
    await eventually(() => s.seen.anomaly_alert!.length > 0, 10_000);
    await sleep(1000);
    expect(s.seen.alarm_opened).toHaveLength(0);

    // N within M: 500 anomalous readings within 60 s are never reached by 20.
    await api.request('PUT', `/alarms/rules/devices/${s.deviceId}`, { body: { min_readings: 500, window_s: 60, resolve_after_s: 1 }, token: u.token });
    s.seen.anomaly_alert!.length = 0;
    await sleep(1500);
    await inject(api, u.token, s.deviceId, 'dropout', 20);
    await eventually(() => s.seen.anomaly_alert!.length > 0, 10_000);
    await sleep(1000);
    expect(s.seen.alarm_opened).toHaveLength(0);

    // In a maintenance window the alarm is recorded and marked silenced.
    const now = Date.now();
    await api.request('PUT', `/alarms/rules/devices/${s.deviceId}`, {
      body: { min_readings: 3, window_s: 10, resolve_after_s: 1, maintenance: [{ start: new Date(now - 60_000).toISOString(), end: new Date(now + 600_000).toISOString(), note: 'pump swap' }] },
      token: u.token,
    });
    await sleep(1500);
    await inject(api, u.token, s.deviceId, 'dropout', 20);
    const opened = await eventually(() => s.seen.alarm_opened![0], 10_000);
    expect(opened).toMatchObject({ silenced: 'maintenance', session_id: s.sessionId });
    expect(opened.anomaly_count).toBeGreaterThanOrEqual(3);
    await api.post('/detection/stop', { session_id: s.sessionId }, u.token);
  });

  it('refuses invalid rules with clear 400s', async () => {
    const u = await registerUser(api, 'badrules');
    const put = (body: unknown) => api.request('PUT', '/alarms/rules', { body, token: u.token });
    const tz = await put({ quiet_hours: { start: '22:00', end: '06:00', timezone: 'Mars/Olympus' } });
    expect(tz.status).toBe(400);
    expect(tz.body).toMatchObject({ code: 'invalid-alarm-rules', message: expect.stringContaining('time zone') });
    const back = await put({ maintenance: [{ start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' }] });
    expect(back.body.code).toBe('invalid-alarm-rules');
    expect((await put({ min_readings: 0 })).body.code).toBe('validation-failed');
    expect((await put({ loudness: 11 })).body.code).toBe('validation-failed');
    expect((await put({ direction: 'sideways' })).status).toBe(400);
    expect((await put({ quiet_hours: { start: '22:00', end: '06:00', timezone: 'Europe/Berlin' }, disabled_signals: ['drift'] })).status).toBe(200);
    const got = await api.get('/alarms/rules', u.token);
    expect(got.body.rules).toEqual({ quiet_hours: { start: '22:00', end: '06:00', timezone: 'Europe/Berlin' }, disabled_signals: ['drift'] });
    const other = await registerUser(api, 'other');
    const dev = (await api.post('/devices', { name: 'Mine', kind: 'simulator' }, u.token)).body;
    expect((await api.request('PUT', `/alarms/rules/devices/${dev.id}`, { body: { min_readings: 2 }, token: other.token })).status).toBe(404);
  });

  it('acknowledges and takes feedback over REST and Socket.IO, and keeps two users apart', async () => {
    const u = await registerUser(api, 'ack');
    const other = await registerUser(api, 'snoop');
    await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 30 }, token: u.token });
    const s = await session(u, 5);
    const spy = await warmSession(server.baseUrl, api, other, { seed: 9 });
    sockets.push(spy.socket);
    await inject(api, u.token, s.deviceId, 'dropout', 30);
    const a = await eventually(() => s.seen.alarm_opened![0], 10_000);

    // The other user sees nothing of it and can do nothing with it.
    expect((await api.get(`/alarms/${a.id}`, other.token)).status).toBe(404);
    expect((await api.post(`/alarms/${a.id}/ack`, {}, other.token)).body.code).toBe('alarm-not-found');
    expect((await api.post(`/alarms/${a.id}/resolve`, {}, other.token)).status).toBe(404);
    expect((await api.post(`/alarms/${a.id}/feedback`, { kind: 'confirmed' }, other.token)).status).toBe(404);
    expect((await api.get('/alarms', other.token)).body.alarms.every((x: any) => x.id !== a.id)).toBe(true);
    const theirs = await request(spy.socket, 'alarm_ack', { alarm_id: a.id }, 'alarm_action_result');
    expect(theirs).toMatchObject({ success: false, code: 'alarm-not-found' });
    expect(spy.seen.alarm_opened!.some((x) => x.id === a.id)).toBe(false);

    const acked = await api.post(`/alarms/${a.id}/ack`, { note: 'on it' }, u.token);
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ state: 'acknowledged', acknowledged_by: u.id, note: 'on it' });
    await eventually(() => s.seen.alarm_updated!.some((x) => x.id === a.id && x.state === 'acknowledged'));

    const fb = await request(s.socket, 'alarm_feedback', { alarm_id: a.id, kind: 'confirmed', note: 'real dropout' }, 'alarm_action_result');
    expect(fb).toMatchObject({ event: 'alarm_feedback', success: true, alarm: { id: a.id, feedback: 'confirmed', note: 'real dropout' } });
    const bad = await request(s.socket, 'alarm_feedback', { alarm_id: a.id, kind: 'bogus' }, 'alarm_action_result');
    expect(bad).toMatchObject({ success: false, code: 'invalid-payload' });
    const listed = await request(s.socket, 'get_alarms', { state: 'active' }, 'alarms_list');
    expect(listed.alarms.map((x: any) => x.id)).toContain(a.id);

    const res = await request(s.socket, 'alarm_resolve', { alarm_id: a.id }, 'alarm_action_result');
    expect(res).toMatchObject({ success: true, alarm: { state: 'resolved', resolved_by: 'user' } });
    await eventually(() => s.seen.alarm_resolved!.some((x) => x.id === a.id));
    expect((await api.post(`/alarms/${a.id}/ack`, {}, u.token)).body.code).toBe('alarm-resolved');

    // Keyset pages of the list neither repeat nor skip.
    const first = await api.get('/alarms?limit=1', u.token);
    expect(first.body.alarms).toHaveLength(1);
    if (first.body.next_cursor) {
      const second = await api.get(`/alarms?limit=1&cursor=${first.body.next_cursor}`, u.token);
      expect(second.body.alarms[0]?.id).not.toBe(first.body.alarms[0].id);
    }
    expect((await api.get('/alarms?cursor=nonsense!', u.token)).body.code).toBe('invalid-cursor');
    await api.post('/detection/stop', {}, u.token);
    await api.post('/detection/stop', {}, other.token);
  });
});
