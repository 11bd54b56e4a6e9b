import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject, warmSession } from '../support/alarms.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, record, sleep } from '../support/realtime.ts';
import { traceCsv, uploadRecording } from '../support/recordings.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('alarm feedback as labels [%s]', (dialect) => {
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

  const job = async (path: string, token: string) =>
    (await eventually(async () => {
      const r = await api.get(path, token);
      const j = r.body.job ?? r.body;
      return j.status !== 'queued' && j.status !== 'running' ? r.body : undefined;
    }, 60_000, 100))!;

  it('not_anomaly labels the segment normal and suppresses that signal up to that magnitude live; missed and confirmed label anomalies the session backtest scores against', async () => {
    const u = await registerUser(api, 'fb');
    const other = await registerUser(api, 'fbo');
    expect((await api.request('PUT', '/alarms/rules', { body: { resolve_after_s: 1 }, token: u.token })).status).toBe(200);
    const s = await warmSession(server.baseUrl, api, u, { seed: 31 });
    sockets.push(s.socket);
    const t0 = Date.now();

    await api.post(`/devices/${s.deviceId}/anomalies`, { kind: 'spike', readings: 3, magnitude: 2 }, u.token);
    const a1 = await eventually(() => s.seen.alarm_opened![0], 10_000);
    const fb = await api.post(`/alarms/${a1.id}/feedback`, { feedback: 'not_anomaly', suppress: true, note: 'door slammed' }, u.token);
    expect(fb.status).toBe(200);
    expect(fb.body).toMatchObject({ id: a1.id, feedback: 'not_anomaly' });
    const sup = (await api.get('/alarms/suppressions', u.token)).body.suppressions;
    expect(sup).toEqual([expect.objectContaining({ device_id: s.deviceId, signal: a1.signal, alarm_id: a1.id })]);
    await eventually(() => s.seen.alarm_resolved!.find((a) => a.id === a1.id), 10_000);
    await sleep(300);

    // The same signal, smaller: suppressed (nothing opens); much bigger: alarms again.
    const opened = s.seen.alarm_opened!.length;
    await api.post(`/devices/${s.deviceId}/anomalies`, { kind: 'spike', readings: 3, magnitude: 1 }, u.token);
    await sleep(2000);
    expect(s.seen.alarm_opened!.slice(opened)).toEqual([]);
    await inject(api, u.token, s.deviceId, 'spike', 3);
    await api.post(`/devices/${s.deviceId}/anomalies`, { kind: 'spike', readings: 3, magnitude: 8 }, u.token);
    const a2 = await eventually(() => s.seen.alarm_opened!.slice(opened)[0], 10_000);
    expect((await api.post(`/alarms/${a2.id}/feedback`, { feedback: 'confirmed' }, u.token)).body.feedback).toBe('confirmed');

    // Missed: a range of the session, validated.
    const from = new Date(t0 - 3000).toISOString();
    const to = new Date(t0 - 1000).toISOString();
    const bad: Array<[unknown, number, string]> = [
      [{ feedback: 'missed', from: to, to: from }, 400, 'invalid-time-range'],
      [{ feedback: 'missed', from: '2001-01-01T00:00:00Z', to: '2001-01-01T00:01:00Z' }, 400, 'invalid-time-range'],
      [{ feedback: 'missed' }, 400, 'invalid-time-range'],
      [{ feedback: 'confirmed', suppress: true }, 400, 'validation-failed'],
      [{ note: 'no kind' }, 400, 'validation-failed'],
      [{ feedback: 'bogus' }, 400, 'validation-failed'],
    ];
    for (const [body, status, code] of bad) {
      const r = await api.post(`/alarms/${a1.id}/feedback`, body, u.token);
      expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status, code });
    }
    expect((await api.post(`/alarms/${a1.id}/feedback`, { feedback: 'missed', from, to }, u.token)).status).toBe(200);

    const labels = (await api.get(`/alarms/labels?session_id=${s.sessionId}`, u.token)).body.labels;
    expect(labels).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'normal', source: 'not_anomaly', alarm_id: a1.id, note: 'door slammed', start: a1.opened_at }),
        expect.objectContaining({ kind: 'anomalous', source: 'confirmed', alarm_id: a2.id }),
        expect.objectContaining({ kind: 'anomalous', source: 'missed', alarm_id: null, start: from, end: to }),
      ]),
    );
    expect(labels).toHaveLength(3);

    // Another user sees none of it.
    expect((await api.get(`/alarms/labels?session_id=${s.sessionId}`, other.token)).status).toBe(404);
    expect((await api.post(`/alarms/${a1.id}/feedback`, { feedback: 'not_anomaly' }, other.token)).status).toBe(404);
    expect((await api.delete(`/alarms/suppressions/${sup[0].id}`, other.token)).status).toBe(404);

    // The session's backtest scores against the anomalous labels: the missed range and the confirmed alarm.
    expect((await api.post('/detection/stop', { session_id: s.sessionId }, u.token)).status).toBe(200);
    const preset = ((await api.get('/api/models', u.token)).body as any[]).find((m) => m.is_preset);
    const bt = await api.post(`/models/${preset.id}/backtest`, { session_id: s.sessionId }, u.token);
    const done = await job(`/models/backtests/${bt.body.job_id}`, u.token);
    expect(done.job.status).toBe('succeeded');
    expect(done.result.labels).toHaveLength(2);
    expect(done.result.labels).toContainEqual({ start: from, end: to });
    expect(done.result.metrics.events).toBe(2);

    expect((await api.delete(`/alarms/suppressions/${sup[0].id}`, u.token)).status).toBe(204);
    expect((await api.get('/alarms/suppressions', u.token)).body.suppressions).toEqual([]);
  }, 120_000);

  it('POST /detection/sessions/:id/feedback marks a missed range on a session that raised no alarm, owner-checked, and the backtest scores against it', async () => {
    const u = await registerUser(api, 'fbs');
    const other = await registerUser(api, 'fbso');
    const s = await warmSession(server.baseUrl, api, u, { seed: 33 });
    sockets.push(s.socket);
    const t0 = Date.now();
    await sleep(1500);
    expect(s.seen.alarm_opened).toEqual([]);
    const from = new Date(t0 - 2000).toISOString();
    const to = new Date(t0 - 500).toISOString();
    const url = `/detection/sessions/${s.sessionId}/feedback`;

    const bad: Array<[unknown, number, string]> = [
      [{ kind: 'missed', from: to, to: from }, 400, 'invalid-time-range'],
      [{ kind: 'missed', from: '2001-01-01T00:00:00Z', to: '2001-01-01T00:01:00Z' }, 400, 'invalid-time-range'],
      [{ kind: 'missed', from }, 400, 'validation-failed'],
      [{ kind: 'not_anomaly', from, to }, 400, 'validation-failed'],
      [{ kind: 'missed', from: 'yesterday', to }, 400, 'validation-failed'],
      [{ kind: 'missed', from, to, extra: 1 }, 400, 'validation-failed'],
    ];
    for (const [body, status, code] of bad) {
      const r = await api.post(url, body, u.token);
      expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status, code });
    }
    expect((await api.post(url, { kind: 'missed', from, to }, other.token)).body.code).toBe('session-not-found');
    expect((await api.post('/detection/sessions/999999/feedback', { kind: 'missed', from, to }, u.token)).status).toBe(404);
    expect((await api.post(url, { kind: 'missed', from, to })).status).toBe(401);

    const r = await api.post(url, { kind: 'missed', from, to, note: 'bearing noise I heard' }, u.token);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ id: expect.any(Number), session_id: s.sessionId, device_id: s.deviceId, model_id: expect.any(Number), alarm_id: null, kind: 'anomalous', source: 'missed', signal: null, start: from, end: to, note: 'bearing noise I heard' });
    expect((await api.get(`/alarms/labels?session_id=${s.sessionId}`, u.token)).body.labels).toEqual([r.body]);
    expect((await api.get(`/alarms/labels?session_id=${s.sessionId}`, other.token)).status).toBe(404);

    expect((await api.post('/detection/stop', { session_id: s.sessionId }, u.token)).status).toBe(200);
    const preset = ((await api.get('/api/models', u.token)).body as any[]).find((m) => m.is_preset);
    const bt = await api.post(`/models/${preset.id}/backtest`, { session_id: s.sessionId }, u.token);
    const done = await job(`/models/backtests/${bt.body.job_id}`, u.token);
    expect(done.job.status).toBe('succeeded');
    expect(done.result.labels).toEqual([{ start: from, end: to }]);
  }, 90_000);

  it('retrains with include_feedback: false alarms become normal training data and labelled sessions are measured on', async () => {
    const u = await registerUser(api, 'fbr');
    const rec = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 41, durationS: 120 }), { name: 'normal' });
    const trained = await api.post('/models/train', { name: 'Mine', material_type: 'steel', kind: 'robust', recording_ids: [rec.body.id] }, u.token);
    expect(trained.status).toBe(202);
    const first = await job(`/models/jobs/${trained.body.job_id}`, u.token);
    expect(first.status).toBe('succeeded');
    const modelId = first.model_id as number;

    // A session on the model: it was trained at another level, so it alarms; the user says "not an anomaly".
    const dev = (await api.post('/devices', { name: 'Sim', kind: 'simulator', config: { seed: 42, rate_hz: 100 } }, u.token)).body;
    const socket = await connectSocket(server.baseUrl, { token: u.token });
    sockets.push(socket);
    const seen = record(socket, 'alarm_opened');
    const started = await api.post('/detection/start', { device_id: dev.id, model_id: modelId }, u.token);
    expect(started.status).toBe(201);
    const alarm = await eventually(() => seen.alarm_opened![0], 20_000);
    expect(alarm.model_id).toBe(modelId);
    await sleep(1000);
    expect((await api.post(`/alarms/${alarm.id}/feedback`, { feedback: 'not_anomaly' }, u.token)).status).toBe(200);
    expect((await api.post('/detection/stop', { session_id: started.body.session_id }, u.token)).status).toBe(200);
    await sleep(300);

    const plain = await api.post(`/models/${modelId}/retrain`, {}, u.token);
    const plainJob = await job(`/models/jobs/${plain.body.job_id}`, u.token);
    expect(plainJob).toMatchObject({ status: 'succeeded', include_feedback: false });
    const before = (await api.get(`/models/${modelId}`, u.token)).body.metrics;
    expect(before.training.feedback_windows).toBeUndefined();

    const withFb = await api.post(`/models/${modelId}/retrain`, { include_feedback: true }, u.token);
    expect(withFb.status).toBe(202);
    expect(withFb.body.job.include_feedback).toBe(true);
    const fbJob = await job(`/models/jobs/${withFb.body.job_id}`, u.token);
    expect(fbJob.status).toBe('succeeded');
    const after = (await api.get(`/models/${modelId}`, u.token)).body.metrics;
    expect(after.training.feedback_windows).toBe(1);
    expect(after.training.samples).toBeGreaterThan(before.training.samples);
    expect(after.evaluation.feedback_sessions).toBe(1);
  }, 120_000);
});
