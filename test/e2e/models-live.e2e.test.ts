import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('recording from a device and training with live progress [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect, { DEVICE_RATE_LIMIT: '5000', DEVICE_RATE_BURST: '5000' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('goes from a new account to a selected model trained on a simulator recording, progress pushed over Socket.IO', async () => {
    const u = await registerUser(api);
    const device = await api.post('/devices', { name: 'bench sim', kind: 'simulator', config: { rate_hz: 400, seed: 7 } }, u.token);
    expect(device.status).toBe(201);

    const started = await api.post('/recordings', { name: 'normal run', device_id: device.body.id, max_samples: 1200 }, u.token);
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ source: 'device', status: 'recording', device_id: device.body.id });
    const rec = await eventually(async () => {
      const r = await api.get(`/recordings/${started.body.id}`, u.token);
      return r.body.status === 'complete' ? r.body : null;
    }, 20_000);
    expect(rec.sample_count).toBe(1200);
    expect(rec.series.length).toBeGreaterThan(50);
    expect((await api.post(`/recordings/${rec.id}/stop`, undefined, u.token)).body.code).toBe('recording-not-active');

    const socket = await connectSocket(server.baseUrl, { token: u.token });
    sockets.push(socket);
    const seen = record(socket, 'training_progress', 'training_completed', 'training_failed');
    const completed = nextEvent(socket, 'training_completed', () => true, 30_000);
    const job = await api.post('/models/train', { name: 'From the device', material_type: 'aluminium', kind: 'robust', recording_ids: [rec.id] }, u.token);
    expect(job.status).toBe(202);
    const done = await completed;
    expect(done).toMatchObject({ job_id: job.body.job_id });
    expect(seen.training_progress!.length).toBeGreaterThan(1);
    expect(seen.training_failed).toEqual([]);

    const final = await api.get(`/models/jobs/${job.body.job_id}`, u.token);
    expect(final.body.status).toBe('succeeded');
    const sel = await api.post(`/models/${final.body.model_id}/select`, undefined, u.token);
    expect(sel.body).toMatchObject({ model: { id: final.body.model_id } });
    const card = (await api.get('/api/models', u.token)).body.find((c: any) => c.id === final.body.model_id);
    expect(card).toMatchObject({ name: 'From the device', is_preset: false, accuracy: expect.any(Number) });
  });

  it('documents the models, recordings and training routes in the generated OpenAPI', async () => {
    const doc = await api.get('/docs/json');
    expect(doc.status).toBe(200);
    for (const p of ['/models/train', '/models/jobs/{id}', '/models/{id}/select', '/api/models/upload', '/api/guest/models', '/recordings/upload', '/recordings/{id}']) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
  });

  it('stops a device recording on request and keeps what it captured', async () => {
    const u = await registerUser(api);
    const device = await api.post('/devices', { name: 'sim', kind: 'simulator', config: { rate_hz: 100, seed: 3 } }, u.token);
    const started = await api.post('/recordings', { name: 'short', device_id: device.body.id, duration: 60 }, u.token);
    expect(started.status).toBe(201);
    await eventually(async () => {
      const r = await api.get(`/recordings/${started.body.id}`, u.token);
      return r.body.series.length >= 20;
    });
    const stopped = await api.post(`/recordings/${started.body.id}/stop`, undefined, u.token);
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe('complete');
    expect(stopped.body.sample_count).toBeGreaterThanOrEqual(20);
    const csv = await api.get(`/recordings/${started.body.id}/export`, u.token);
    expect(csv.body.trim().split('\n').length).toBe(stopped.body.sample_count + 1);

    const other = await registerUser(api);
    const theirs = await api.post('/recordings', { name: 'steal', device_id: device.body.id, max_samples: 10 }, other.token);
    expect(theirs.status).toBe(404);
  });
});
