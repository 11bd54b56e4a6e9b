import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { generateTrace } from '../../src/bench/synthetic/index.ts';
import { createDetector } from '../../src/detectors/index.ts';
import { traceCsv, uploadRecording } from '../support/recordings.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Api = ReturnType<typeof httpClient>;

async function waitForJob(api: Api, token: string, jobId: number, until: (job: any) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.get(`/models/jobs/${jobId}`, token);
    if (res.status !== 200) throw new Error(`job ${jobId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stuck: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const finished = (j: any) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

async function uploadModelFile(baseUrl: string, token: string, text: string) {
  const form = new FormData();
  form.append('name', 'Round trip');
  form.append('material_type', 'steel');
  form.append('description', 're-uploaded');
  form.append('model_file', new Blob([text], { type: 'application/json' }), 'model.json');
  const res = await fetch(`${baseUrl}/api/models/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}

async function startOn(db: TestDatabase, secret: string, env: Record<string, string> = {}): Promise<{ app: App; api: Api; baseUrl: string }> {
  const config = loadConfig({
    dotenv: false,
    env: { DATABASE_URL: db.url, DATA_DIR: db.dataDir, JWT_SECRET: secret, LOG_LEVEL: 'silent', LOG_PRETTY: 'false', AUTH_RATE_LIMIT_PER_IP: '1000', ...env },
  });
  const app = await createApp({ config, logger: createLogger(config.log) });
  const baseUrl = await app.listen(0, '127.0.0.1');
  return { app, api: httpClient(baseUrl), baseUrl };
}

describe.each(testDialects())('training jobs over HTTP [%s]', (dialect) => {
  let server: TestServer;
  let api: Api;

  beforeAll(async () => {
    server = await startTestServer(dialect, { TRAINING_WORKERS: '2', TRAINING_JOBS_PER_USER: '2' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  async function userWithData(minutes = 5) {
    const u = await registerUser(api);
    const normal = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 11, durationS: minutes * 60 }), { name: 'normal' });
    const labelled = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 12, durationS: 600, normalS: 120, events: 4 }), { name: 'labelled' });
    expect(normal.status).toBe(201);
    expect(labelled.status).toBe(201);
    return { ...u, normalId: normal.body.id as number, labelledId: labelled.body.id as number };
  }

  it('goes from recordings to a selected, trained model with metrics, and round-trips its artifact', async () => {
    const u = await userWithData();
    const events: Array<{ name: string; payload: any }> = [];
    const offs = (['training.progressed', 'training.completed', 'training.failed'] as const).map((name) =>
      server.app.bus.on(name, (payload) => void (payload.userId === u.id && events.push({ name, payload }))),
    );
    const res = await api.post(
      '/models/train',
      { name: 'Bench A', material_type: 'steel', description: 'first', kind: 'robust', recording_ids: [u.normalId], evaluation_recording_id: u.labelledId },
      u.token,
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ job_id: expect.any(Number), job: { kind: 'robust', queue: 'local' } });
    expect(['queued', 'running']).toContain(res.body.status);
    const job = await waitForJob(api, u.token, res.body.job_id, finished);
    offs.forEach((off) => off());
    expect(job).toMatchObject({ status: 'succeeded', progress: 1, model_id: expect.any(Number), error: null, notes: [] });

    const progressed = events.filter((e) => e.name === 'training.progressed').map((e) => e.payload.progress);
    expect(progressed.length).toBeGreaterThan(2);
    expect(progressed).toEqual([...progressed].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ name: 'training.completed', payload: { jobId: job.id, modelId: job.model_id } });

    const detail = await api.get(`/models/${job.model_id}`, u.token);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ name: 'Bench A', kind: 'robust', is_preset: false, origin: 'trained', recording_ids: [u.normalId] });
    expect(detail.body.metrics.evaluation).toMatchObject({ precision: expect.any(Number), recall: expect.any(Number), f1: expect.any(Number), false_alarm_rate: expect.any(Number) });
    expect(detail.body.metrics.training).toMatchObject({ samples: expect.any(Number), holdout_false_alarm_rate: expect.any(Number) });
    expect(detail.body.accuracy).toBe(detail.body.metrics.evaluation.f1);
    expect(detail.body.jobs).toEqual([expect.objectContaining({ id: job.id, status: 'succeeded', role: 'produced' })]);
    const cards = await api.get('/api/models', u.token);
    expect(cards.body.find((c: any) => c.id === job.model_id)).toMatchObject({ is_preset: false, accuracy: detail.body.accuracy });

    expect((await api.post(`/models/${job.model_id}/select`, undefined, u.token)).status).toBe(200);
    expect((await api.get('/auth/me', u.token)).body.selected_model_id).toBe(job.model_id);
    const { detector } = await server.app.services.modelRuntime.loadForSession({ userId: u.id }, job.model_id);
    expect(detector.kind).toBe('robust');

    const dl = await fetch(`${server.baseUrl}/models/${job.model_id}/download`, { headers: { authorization: `Bearer ${u.token}` } });
    const text = await dl.text();
    expect(dl.headers.get('x-checksum-sha256')).toBe(detail.body.checksum);
    const again = await uploadModelFile(server.baseUrl, u.token, text);
    expect(again.status).toBe(201);
    const copy = await api.get(`/models/${again.body.id}`, u.token);
    expect(copy.body).toMatchObject({ kind: 'robust', origin: 'uploaded', checksum: detail.body.checksum, threshold: detail.body.threshold });
  });

  it('tells the owner, on the job and in training_completed, that a default model was fitted on a short recording', async () => {
    const u = await registerUser(api);
    // 60 s at 10 Hz: 480 readings after the job's 20 % hold-out, fewer than the 900 a full fit wants.
    const short = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 13, durationS: 60 }), { name: 'short' });
    expect(short.status).toBe(201);
    const completed: any[] = [];
    const off = server.app.bus.on('training.completed', (e) => void (e.userId === u.id && completed.push(e)));
    const res = await api.post('/models/train', { name: 'Quick', material_type: 'x', recording_ids: [short.body.id] }, u.token);
    expect(res.status).toBe(202);
    expect(res.body.job.notes).toEqual([]);
    const job = await waitForJob(api, u.token, res.body.job_id, finished);
    off();
    expect(job).toMatchObject({ status: 'succeeded', kind: 'auto' });
    expect(job.notes).toEqual([expect.stringMatching(/^Fitted on a short recording \(480 readings\): 900 or more/)]);
    expect(completed).toEqual([expect.objectContaining({ jobId: job.id, notes: job.notes })]);
    expect((await api.get('/models/jobs', u.token)).body).toEqual(expect.arrayContaining([expect.objectContaining({ id: job.id, notes: job.notes })]));
  });

  it('retrains a model in place and records the job in its history', async () => {
    const u = await userWithData();
    const first = await api.post('/models/train', { name: 'R', material_type: 'wood', kind: 'context', recording_ids: [u.normalId] }, u.token);
    const job = await waitForJob(api, u.token, first.body.job_id, finished);
    expect(job.status).toBe('succeeded');
    const before = await api.get(`/models/${job.model_id}`, u.token);
    expect(before.body.accuracy).toBe(1 - before.body.metrics.evaluation.false_alarm_rate);
    const re = await api.post(`/models/${job.model_id}/retrain`, { recording_ids: [u.normalId, u.labelledId] }, u.token);
    expect(re.status).toBe(202);
    const rjob = await waitForJob(api, u.token, re.body.job_id, finished);
    expect(rjob).toMatchObject({ status: 'succeeded', model_id: job.model_id, base_model_id: job.model_id });
    const after = await api.get(`/models/${job.model_id}`, u.token);
    expect(after.body.checksum).not.toBe(before.body.checksum);
    // Labels only in the training recordings: evaluated there, and marked as such.
    expect(after.body.metrics.evaluation).toMatchObject({ f1: expect.any(Number), on_training_recordings: 1 });
    expect(after.body.accuracy).toBe(after.body.metrics.evaluation.f1);
    expect(after.body.jobs.map((j: any) => j.id).sort()).toEqual([job.id, rjob.id].sort());
    expect((await api.post(`/models/${(await api.get('/api/guest/models')).body[0].id}/retrain`, {}, u.token)).status).toBe(403);
  });

  it('trains no new model of a legacy kind, while a stored one still loads, scores and is refused a retrain with the way forward', async () => {
    const u = await userWithData();
    for (const kind of ['iforest', 'rcf']) {
      const res = await api.post('/models/train', { name: kind, material_type: 'x', kind, recording_ids: [u.normalId] }, u.token);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('unknown-detector-kind');
      expect(res.body.message).toContain(`"${kind}" is retired for new models`);
      expect(res.body.message).toContain('POST /models/train without "kind"');
    }
    // A model trained before the kind was retired (built here as older builds did).
    const old = createDetector('iforest', { seed: 3 });
    await old.fit(generateTrace({ seed: 5, durationS: 120, normalS: 120, events: 0 }).readings);
    const up = await uploadModelFile(server.baseUrl, u.token, JSON.stringify(old.serialize()));
    expect(up.status).toBe(201);
    expect((await api.post(`/models/${up.body.id}/select`, undefined, u.token)).status).toBe(200);
    const { detector } = await server.app.services.modelRuntime.loadForSession({ userId: u.id }, up.body.id);
    expect(detector.kind).toBe('iforest');
    expect(typeof detector.score({ ts: Date.now(), value: 2.5 }).anomaly_score).toBe('number');
    const re = await api.post(`/models/${up.body.id}/retrain`, { recording_ids: [u.normalId] }, u.token);
    expect(re.status).toBe(400);
    expect(re.body.message).toContain('Models of this kind you already have keep working');
  });

  it('cancels a running job: the worker stops and no model is created', async () => {
    const u = await userWithData(8);
    const res = await api.post('/models/train', { name: 'Slow', material_type: 'x', kind: 'autoencoder', recording_ids: [u.normalId] }, u.token);
    expect(res.status).toBe(202);
    await waitForJob(api, u.token, res.body.job_id, (j) => j.status === 'running' && j.progress > 0 || finished(j));
    const cancel = await api.delete(`/models/jobs/${res.body.job_id}`, u.token);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ status: 'cancelled', error: { code: 'training-cancelled' } });
    const again = await api.delete(`/models/jobs/${res.body.job_id}`, u.token);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('training-job-finished');
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.get(`/models/jobs/${res.body.job_id}`, u.token)).body.status).toBe('cancelled');
    expect((await api.get('/api/models', u.token)).body.filter((c: any) => !c.is_preset)).toEqual([]);
  });

  it('keeps answering requests while a job trains, and enforces the per-user limit', async () => {
    const u = await userWithData(8);
    // No kind: the default (auto).
    const slow = await api.post('/models/train', { name: 'Busy', material_type: 'x', recording_ids: [u.normalId] }, u.token);
    const second = await api.post('/models/train', { name: 'Busy 2', material_type: 'x', kind: 'context', recording_ids: [u.normalId] }, u.token);
    expect(second.status).toBe(202);
    const third = await api.post('/models/train', { name: 'Busy 3', material_type: 'x', kind: 'robust', recording_ids: [u.normalId] }, u.token);
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('training-limit-reached');
    await waitForJob(api, u.token, slow.body.job_id, (j) => j.status !== 'queued');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? api.get('/health') : api.get('/models/user', u.token))));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const id of [slow.body.job_id, second.body.job_id]) expect((await waitForJob(api, u.token, id, finished)).status).toBe('succeeded');
  });

  it('holds the per-user limit under concurrent submissions', async () => {
    const u = await userWithData();
    const body = { name: 'c', material_type: 'x', kind: 'autoencoder', recording_ids: [u.normalId] };
    const answers = await Promise.all(Array.from({ length: 5 }, () => api.post('/models/train', body, u.token)));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(2);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(3);
    for (const a of answers.filter((x) => x.status === 202)) await api.delete(`/models/jobs/${a.body.job_id}`, u.token);
    expect((await api.get('/models/jobs', u.token)).body).toHaveLength(2);
  });

  describe('bad input', () => {
    it('answers 400/404 with codes for unknown kinds, params, too little data and other users’ recordings', async () => {
      const u = await userWithData();
      const other = await registerUser(api);
      const tiny = await uploadRecording(server.baseUrl, u.token, 'timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,1.1\n');
      const base = { name: 'x', material_type: 'y', recording_ids: [u.normalId] };
      const cases: Array<[unknown, string, number, number?]> = [
        [{ ...base, kind: 'nope' }, 'unknown-detector-kind', 400],
        [{ ...base, kind: 'robust', params: { bogus: 1 } }, 'invalid-detector-params', 400],
        [{ ...base, kind: 'robust', params: { window: -5 } }, 'invalid-detector-params', 400],
        [{ ...base, kind: 'robust', recording_ids: [tiny.body.id] }, 'insufficient-training-data', 400],
        [{ ...base, kind: 'robust', recording_ids: [999999] }, 'recording-not-found', 404],
        [{ ...base, kind: 'robust', evaluation_recording_id: 999999 }, 'recording-not-found', 404],
        [{ ...base, recording_ids: [] }, 'validation-failed', 400],
      ];
      for (const [body, code, status] of cases) {
        const res = await api.post('/models/train', body, u.token);
        expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
      }
      // The retired ensemble kind: a 400 that says what to train instead.
      const retired = await api.post('/models/train', { ...base, kind: 'ensemble' }, u.token);
      expect(retired.status).toBe(400);
      expect(retired.body).toMatchObject({ code: 'unknown-detector-kind', message: expect.stringMatching(/retired.*"auto"/) });
      const stolen = await api.post('/models/train', { ...base, kind: 'robust' }, other.token);
      expect(stolen.status).toBe(404);
      expect(stolen.body.code).toBe('recording-not-found');
      expect((await api.post('/models/train', { ...base, kind: 'robust' })).status).toBe(401);
    });

    it("hides other users' jobs", async () => {
      const u = await userWithData();
      const other = await registerUser(api);
      const res = await api.post('/models/train', { name: 'x', material_type: 'y', kind: 'robust', recording_ids: [u.normalId] }, u.token);
      expect((await api.get(`/models/jobs/${res.body.job_id}`, other.token)).status).toBe(404);
      expect((await api.delete(`/models/jobs/${res.body.job_id}`, other.token)).status).toBe(404);
      expect((await api.get('/models/jobs', other.token)).body).toEqual([]);
      await waitForJob(api, u.token, res.body.job_id, finished);
    });
  });
});

describe.each(testDialects())('training across a restart [%s]', (dialect) => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  it('marks a job failed, not running forever, when the server stops or dies mid-job', async () => {
    db = await createTestDatabase(dialect);
    const secret = randomBytes(32).toString('hex');
    const first = await startOn(db, secret);
    const u = await registerUser(first.api);
    const rec = await uploadRecording(first.baseUrl, u.token, traceCsv({ seed: 21, durationS: 480 }));
    const res = await first.api.post('/models/train', { name: 'Cut', material_type: 'x', kind: 'autoencoder', recording_ids: [rec.body.id] }, u.token);
    await waitForJob(first.api, u.token, res.body.job_id, (j) => j.status === 'running');
    await first.app.stop();

    // A crash leaves the row "running": simulate it, then start a new process on the same database.
    const raw = openDatabase(loadConfig({ dotenv: false, env: { DATABASE_URL: db.url, DATA_DIR: db.dataDir, JWT_SECRET: secret } }).database);
    const afterStop = await raw.db.selectFrom('training_jobs').select(['status', 'error_code']).where('id', '=', res.body.job_id).executeTakeFirstOrThrow();
    expect(afterStop).toEqual({ status: 'failed', error_code: 'training-interrupted' });
    await raw.db.updateTable('training_jobs').set({ status: 'running', error_code: null, finished_at: null }).where('id', '=', res.body.job_id).execute();
    await raw.close();

    const second = await startOn(db, secret);
    try {
      const job = await second.api.get(`/models/jobs/${res.body.job_id}`, u.token);
      expect(job.body).toMatchObject({ status: 'failed', error: { code: 'training-interrupted' } });
    } finally {
      await second.app.stop();
    }
  });
});

describe.each(testDialects())('training through BullMQ and Redis [%s]', (dialect) => {
  let a: TestServer;
  let b: { app: App; api: Api };
  let env: Record<string, string>;

  beforeAll(async () => {
    const queue = `vigil-test-${randomBytes(6).toString('hex')}`;
    env = { REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', TRAINING_QUEUE_NAME: queue, TRAINING_WORKERS: '1' };
    a = await startTestServer(dialect, env);
    // A second process on the same database and queue: both take jobs from it.
    b = await startOn(a.db, a.app.config.jwt.secret, env);
  });
  afterAll(async () => {
    await b?.app.stop();
    await a?.stop();
  });

  it('runs jobs from the shared queue, with the same job interface, and cancels across processes', async () => {
    const api = httpClient(a.baseUrl);
    const u = await registerUser(api);
    const rec = await uploadRecording(a.baseUrl, u.token, traceCsv({ seed: 31, durationS: 300 }));
    const jobs = await Promise.all(
      ['robust', 'context'].map((kind) => api.post('/models/train', { name: kind, material_type: 'x', kind, recording_ids: [rec.body.id] }, u.token)),
    );
    for (const j of jobs) {
      expect(j.status).toBe(202);
      expect(j.body.job.queue).toBe('bullmq');
    }
    const done = await Promise.all(jobs.map((j) => waitForJob(api, u.token, j.body.job_id, finished)));
    expect(done.map((j) => j.status)).toEqual(['succeeded', 'succeeded']);
    // Readable from the other process too: the database is the source of truth.
    expect((await b.api.get(`/models/jobs/${done[0].id}`, u.token)).body.status).toBe('succeeded');

    const slow = await b.api.post('/models/train', { name: 'slow', material_type: 'x', kind: 'autoencoder', recording_ids: [rec.body.id] }, u.token);
    await waitForJob(api, u.token, slow.body.job_id, (j) => j.status === 'running');
    const cancel = await api.delete(`/models/jobs/${slow.body.job_id}`, u.token);
    expect(cancel.body.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 500));
    expect((await b.api.get(`/models/jobs/${slow.body.job_id}`, u.token)).body.status).toBe('cancelled');
    expect((await api.get('/api/models', u.token)).body.find((c: any) => c.name === 'slow')).toBeUndefined();
  });

  it('on start, fails jobs that the database says are active but the queue no longer holds', async () => {
    const api = httpClient(a.baseUrl);
    const u = await registerUser(api);
    const raw = openDatabase(a.app.config.database);
    const now = new Date().toISOString().replace('T', ' ').slice(0, 23);
    const res = await raw.db
      .insertInto('training_jobs')
      .values({ user_id: u.id, name: 'lost', material_type: 'x', kind: 'robust', params: '{}', recording_ids: '[1]', status: 'running', progress: 0.5, stage: 'fitting', queue: 'bullmq', created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    await raw.close();
    const c = await startOn(a.db, a.app.config.jwt.secret, env);
    try {
      const job = await c.api.get(`/models/jobs/${Number(res.insertId)}`, u.token);
      expect(job.body).toMatchObject({ status: 'failed', error: { code: 'training-interrupted' } });
    } finally {
      await c.app.stop();
    }
  });
});
