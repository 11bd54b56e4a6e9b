import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject, warmSession } from '../support/alarms.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, record, sleep } from '../support/realtime.ts';
import { traceCsv, uploadRecording } from '../support/recordings.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('backtests [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect, { LOG_BATCH_SIZE: '40', LOG_FLUSH_MS: '50', TRAINING_JOBS_PER_USER: '5' });
    api = httpClient(server.baseUrl);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => server?.stop());

  const finished = async (id: number, token: string) =>
    (await eventually(async () => {
      const r = await api.get(`/models/backtests/${id}`, token);
      return r.body.job?.status !== 'queued' && r.body.job?.status !== 'running' ? r : undefined;
    }, 60_000, 100))!;

  const presets = async (token: string) => ((await api.get('/api/models', token)).body as any[]).filter((m) => m.is_preset);

  it('scores a labelled recording as a job with progress over Socket.IO, and compare gives every model the same table', async () => {
    const u = await registerUser(api, 'bt');
    const rec = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 11, durationS: 240, normalS: 60, events: 3 }), { name: 'labelled' });
    expect(rec.status).toBe(201);
    expect(rec.body.labels.length).toBe(3);
    const [p1, p2, p3] = await presets(u.token);

    const socket = await connectSocket(server.baseUrl, { token: u.token });
    sockets.push(socket);
    const seen = record(socket, 'training_progress', 'backtest_completed');
    await eventually(() => socket.connected);

    const started = await api.post(`/models/${p1.id}/backtest`, { recording_id: rec.body.id, points: 100 }, u.token);
    expect(started.status).toBe(202);
    expect(started.body.job).toMatchObject({ type: 'backtest', base_model_id: p1.id, recording_ids: [rec.body.id], session_id: null, threshold: null });
    const done = await finished(started.body.job_id, u.token);
    expect(done.body.job.status).toBe('succeeded');
    const result = done.body.result;
    expect(result).toMatchObject({ model_id: p1.id, recording_id: rec.body.id, session_id: null, threshold: p1.threshold ?? expect.any(Number) });
    expect(result.labels).toHaveLength(3);
    expect(result.metrics).toMatchObject({ readings: rec.body.sample_count, events: 3, detected: expect.any(Number), precision: expect.any(Number), recall: expect.any(Number), f1: expect.any(Number) });
    expect(result.metrics.detected).toBeGreaterThan(0);
    expect(result.series.length).toBeGreaterThan(50);
    expect(result.series.length).toBeLessThanOrEqual(100);
    expect(result.series.reduce((n: number, b: number[]) => n + b[4]!, 0)).toBe(result.metrics.alarms);
    await eventually(() => seen.backtest_completed!.find((e) => e.job_id === started.body.job_id));
    expect(seen.training_progress!.filter((e) => e.job_id === started.body.job_id).length).toBeGreaterThan(2);

    // The model's card keeps its training history: backtests are not training jobs of it.
    const jobs = (await api.get(`/models/jobs`, u.token)).body as any[];
    expect(jobs.find((j) => j.id === started.body.job_id)?.type).toBe('backtest');

    // A threshold no score reaches: no alarms at all.
    const strict = await api.post(`/models/${p1.id}/backtest`, { recording_id: rec.body.id, threshold: 1 }, u.token);
    const strictDone = await finished(strict.body.job_id, u.token);
    expect(strictDone.body.result.metrics).toMatchObject({ alarms: 0, detected: 0, recall: 0 });
    expect(strictDone.body.result.threshold).toBe(1);

    const cmp = await api.get(`/models/compare?ids=${p1.id},${p2.id},${p3.id}&recording_id=${rec.body.id}`, u.token);
    expect(cmp.status).toBe(200);
    expect(cmp.body).toMatchObject({ recording_id: rec.body.id, session_id: null, labels: 3 });
    expect(cmp.body.models.map((m: any) => m.model_id)).toEqual([p1.id, p2.id, p3.id]);
    // Same model, same data, same threshold: the comparison row is the backtest's metrics.
    expect(cmp.body.models[0].metrics).toEqual(result.metrics);
    for (const m of cmp.body.models) expect(m.metrics).toMatchObject({ readings: rec.body.sample_count, events: 3 });
    expect(cmp.body.models[0].series).toBeUndefined();
  }, 180_000);

  it('refuses bad input with codes and keeps every user to presets, their own models and their own data', async () => {
    const a = await registerUser(api, 'bta');
    const b = await registerUser(api, 'btb');
    const rec = await uploadRecording(server.baseUrl, a.token, traceCsv({ seed: 12, durationS: 60, normalS: 20, events: 1 }));
    const [p1] = await presets(a.token);
    const artifact = await api.get(`/models/${p1.id}/download`, a.token);
    const mine = await server.app.services.models.upload(a.id, { artifactText: JSON.stringify(artifact.body), name: 'A model', materialType: 'steel', description: null });
    expect((await api.patch(`/models/${mine.id}`, { visibility: 'public' }, a.token)).status).toBe(200);

    const cases: Array<[string, unknown, number, string]> = [
      [`/models/${p1.id}/backtest`, { recording_id: rec.body.id, session_id: 1 }, 400, 'backtest-source-required'],
      [`/models/${p1.id}/backtest`, {}, 400, 'backtest-source-required'],
      [`/models/${p1.id}/backtest`, { recording_id: rec.body.id, threshold: 2 }, 400, 'validation-failed'],
      [`/models/${p1.id}/backtest`, { recording_id: rec.body.id, extra: 1 }, 400, 'validation-failed'],
      [`/models/999999/backtest`, { recording_id: rec.body.id }, 404, 'model-not-found'],
    ];
    for (const [url, body, status, code] of cases) {
      const r = await api.post(url, body, a.token);
      expect({ url, body, status: r.status, code: r.body.code }).toEqual({ url, body, status, code });
    }
    // B: A's recording is not found, A's model (even public) is not found, A's job is not found.
    expect((await api.post(`/models/${p1.id}/backtest`, { recording_id: rec.body.id }, b.token)).body.code).toBe('recording-not-found');
    const bRec = await uploadRecording(server.baseUrl, b.token, traceCsv({ seed: 13, durationS: 60 }));
    const other = await api.post(`/models/${mine.id}/backtest`, { recording_id: bRec.body.id }, b.token);
    expect([other.status, other.body.code]).toEqual([404, 'model-not-found']);
    const aJob = await api.post(`/models/${mine.id}/backtest`, { recording_id: rec.body.id }, a.token);
    expect(aJob.status).toBe(202);
    expect((await api.get(`/models/backtests/${aJob.body.job_id}`, b.token)).status).toBe(404);
    expect((await finished(aJob.body.job_id, a.token)).body.job.status).toBe('succeeded');
    expect((await api.get(`/models/compare?ids=${p1.id},${mine.id}&recording_id=${bRec.body.id}`, b.token)).body.code).toBe('model-not-found');
    expect((await api.get(`/models/compare?ids=${p1.id}&recording_id=${rec.body.id}`, b.token)).body.code).toBe('recording-not-found');
    expect((await api.post(`/models/${p1.id}/backtest`, { recording_id: 1 }, undefined)).status).toBe(401);

    for (const ids of ['abc', '1,1', '1,2,3,4,5,6', '0', '']) {
      const r = await api.get(`/models/compare?ids=${ids}&recording_id=${rec.body.id}`, a.token);
      expect({ ids, status: r.status, code: r.body.code }).toEqual({ ids, status: 400, code: 'invalid-model-ids' });
    }
    expect((await api.get(`/models/compare?ids=${p1.id}`, a.token)).body.code).toBe('backtest-source-required');
  }, 120_000);

  it("backtests a session's logged readings, and another user's session is not found", async () => {
    const u = await registerUser(api, 'bts');
    const other = await registerUser(api, 'bto');
    const s = await warmSession(server.baseUrl, api, u, { seed: 21 });
    sockets.push(s.socket);
    await inject(api, u.token, s.deviceId, 'spike', 5);
    await sleep(1500);
    expect((await api.post('/detection/stop', { session_id: s.sessionId }, u.token)).status).toBe(200);
    const logged = await eventually(async () => {
      const r = await api.get(`/detection/sessions/${s.sessionId}`, u.token);
      return r.body.total_predictions > 0 ? r.body : undefined;
    });
    const [p1] = await presets(u.token);
    const started = await api.post(`/models/${p1.id}/backtest`, { session_id: s.sessionId }, u.token);
    expect(started.status).toBe(202);
    const done = await finished(started.body.job_id, u.token);
    expect(done.body.job.status).toBe('succeeded');
    expect(done.body.result).toMatchObject({ session_id: s.sessionId, recording_id: null, labels: [] });
    expect(done.body.result.metrics.readings).toBe(logged.total_predictions);
    expect(done.body.result.metrics.alarms).toBeGreaterThan(0);

    const stolen = await api.post(`/models/${p1.id}/backtest`, { session_id: s.sessionId }, other.token);
    expect([stolen.status, stolen.body.code]).toEqual([404, 'session-not-found']);
  }, 120_000);
});
