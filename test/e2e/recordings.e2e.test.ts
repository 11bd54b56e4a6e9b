import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { traceCsv, uploadRecording } from '../support/recordings.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('recordings over HTTP [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect, { RECORDING_MAX_BYTES: String(256 * 1024), RECORDING_MAX_SAMPLES: '5000' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  describe('POST /recordings/upload', () => {
    it('stores a CSV with stats and turns a label column into anomalous segments', async () => {
      const u = await registerUser(api);
      const res = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 5, durationS: 300, normalS: 60, events: 3 }), { name: 'Bench run' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name: 'Bench run', source: 'upload', status: 'complete', sample_count: expect.any(Number) });
      expect(res.body.sample_count).toBeGreaterThan(2500);
      expect(res.body.stats).toMatchObject({ min: expect.any(Number), max: expect.any(Number), sample_rate_hz: expect.any(Number) });
      expect(res.body.stats.sample_rate_hz).toBeCloseTo(10, 0);
      expect(res.body.labels.length).toBeGreaterThanOrEqual(1);

      const list = await api.get('/recordings', u.token);
      expect(list.body.map((r: any) => r.id)).toEqual([res.body.id]);
      const one = await api.get(`/recordings/${res.body.id}?points=100`, u.token);
      expect(one.status).toBe(200);
      expect(one.body.series.length).toBeLessThanOrEqual(100);
      expect(one.body.series.length).toBeGreaterThan(20);
      expect(one.body.series[0]).toEqual([expect.any(Number), expect.any(Number)]);
    });

    it('answers 400 invalid-csv with the line of every bad row, or skips them with skip_bad', async () => {
      const u = await registerUser(api);
      const csv = 'timestamp,value\n2024-01-01T00:00:00Z,1.5\nnot a time,1.6\n2024-01-01T00:00:02Z,abc\n2024-01-01T00:00:03Z,1.7\n';
      const res = await uploadRecording(server.baseUrl, u.token, csv);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid-csv');
      expect(res.body.details.map((d: any) => d.line)).toEqual([3, 4]);
      const skipped = await uploadRecording(server.baseUrl, u.token, csv, { skip_bad: 'true' });
      expect(skipped.status).toBe(201);
      expect(skipped.body.sample_count).toBe(2);
    });

    it('answers 400 invalid-csv with line details for a big upload checked in the worker thread', async () => {
      const u = await registerUser(api);
      const t0 = Date.UTC(2024, 0, 1);
      const rows = Array.from({ length: 3000 }, (_, i) => `${new Date(t0 + i * 100).toISOString()},${(i % 50) / 10}`);
      rows[1500] = '2024-01-01T00:02:30.000Z,high';
      rows[2998] = ',1';
      const csv = `timestamp,value\n${rows.join('\n')}\n`;
      expect(csv.length).toBeGreaterThan(64 * 1024); // above the size parsed inline
      const before = server.app.services.recordingSeries.counts.worker;
      const res = await uploadRecording(server.baseUrl, u.token, csv);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'invalid-csv', message: '2 row(s) are not valid; fix them or send skip_bad=true.' });
      expect(res.body.details).toEqual([
        { line: 1502, message: 'unparseable value "high"' },
        { line: 3000, message: 'missing timestamp' },
      ]);
      expect(server.app.services.recordingSeries.counts.worker).toBe(before + 1);
      expect((await api.get('/recordings', u.token)).body).toEqual([]);
    });

    it('answers 400 for a file without the columns, 413 over the size or row limit, 401 without a token', async () => {
      const u = await registerUser(api);
      expect((await uploadRecording(server.baseUrl, u.token, 'a,b\n1,2\n')).body.code).toBe('invalid-csv');
      const big = await uploadRecording(server.baseUrl, u.token, `timestamp,value\n${'2024-01-01T00:00:00Z,1.5\n'.repeat(20_000)}`);
      expect(big.status).toBe(413);
      const rows = await uploadRecording(server.baseUrl, u.token, traceCsv({ seed: 1, durationS: 600 }).split('\n').map((l) => l.split(',').slice(0, 2).join(',')).join('\n'));
      expect(rows.status).toBe(413);
      expect((await uploadRecording(server.baseUrl, undefined, 'timestamp,value\n1,2\n')).status).toBe(401);
    });
  });

  describe('labels, export and deletion', () => {
    it('replaces labels, exports timestamp,value,label, and deletes', async () => {
      const u = await registerUser(api);
      const up = await uploadRecording(server.baseUrl, u.token, 'timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n2024-01-01T00:00:02Z,9\n');
      const id = up.body.id;
      const labelled = await api.request('PUT', `/recordings/${id}/labels`, {
        token: u.token,
        body: { labels: [{ start: '2024-01-01T00:00:02Z', end: '2024-01-01T00:00:02Z', note: 'spike' }] },
      });
      expect(labelled.status).toBe(200);
      expect(labelled.body.labels).toEqual([{ start: '2024-01-01T00:00:02.000Z', end: '2024-01-01T00:00:02.000Z', note: 'spike' }]);
      const bad = await api.request('PUT', `/recordings/${id}/labels`, { token: u.token, body: { labels: [{ start: '2024-01-01T00:00:02Z', end: '2024-01-01T00:00:01Z' }] } });
      expect(bad.status).toBe(400);
      const csv = await api.get(`/recordings/${id}/export`, u.token);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      expect(csv.body).toBe(
        'timestamp,value,label\n2024-01-01T00:00:00.000Z,1,0\n2024-01-01T00:00:01.000Z,2,0\n2024-01-01T00:00:02.000Z,9,1\n',
      );
      expect((await api.delete(`/recordings/${id}`, u.token)).status).toBe(204);
      expect((await api.get(`/recordings/${id}`, u.token)).status).toBe(404);
    });

    it("hides another user's recordings (404) and refuses guests (401)", async () => {
      const owner = await registerUser(api);
      const other = await registerUser(api);
      const up = await uploadRecording(server.baseUrl, owner.token, 'timestamp,value\n2024-01-01T00:00:00Z,1\n');
      for (const call of [
        () => api.get(`/recordings/${up.body.id}`, other.token),
        () => api.get(`/recordings/${up.body.id}/export`, other.token),
        () => api.delete(`/recordings/${up.body.id}`, other.token),
        () => api.request('PUT', `/recordings/${up.body.id}/labels`, { token: other.token, body: { labels: [] } }),
      ]) {
        const res = await call();
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('recording-not-found');
      }
      expect((await api.get(`/recordings/${up.body.id}`)).status).toBe(401);
      expect((await api.get('/recordings', other.token)).body).toEqual([]);
    });
  });
});

describe.each(testDialects())('recordings across a restart [%s]', (dialect) => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  it('closes a recording left live by a dead process, keeping the readings it flushed', async () => {
    db = await createTestDatabase(dialect);
    const env = { DATABASE_URL: db.url, DATA_DIR: db.dataDir, JWT_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'silent', LOG_PRETTY: 'false' };
    const first = await createApp({ config: loadConfig({ dotenv: false, env }), logger: createLogger({ level: 'silent', pretty: false }) });
    const api = httpClient(await first.listen(0, '127.0.0.1'));
    const u = await registerUser(api);
    await first.stop();

    const raw = openDatabase(loadConfig({ dotenv: false, env }).database);
    mkdirSync(path.join(db.dataDir, 'recordings', String(u.id)), { recursive: true });
    writeFileSync(path.join(db.dataDir, 'recordings', String(u.id), 'live.csv'), 'timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:00:01Z,2\n2024-01-01T00:00:02Z,3\n');
    const now = '2024-01-01 00:00:00.000';
    const ins = await raw.db
      .insertInto('recordings')
      .values({ user_id: u.id, name: 'cut', source: 'device', status: 'recording', sample_count: 0, stats: 'null', file_path: `recordings/${u.id}/live.csv`, file_size: 0, started_at: now, created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    await raw.close();

    const second = await createApp({ config: loadConfig({ dotenv: false, env }), logger: createLogger({ level: 'silent', pretty: false }) });
    try {
      const api2 = httpClient(await second.listen(0, '127.0.0.1'));
      const rec = await api2.get(`/recordings/${Number(ins.insertId)}`, u.token);
      expect(rec.body).toMatchObject({ status: 'complete', sample_count: 3, error: expect.stringMatching(/Interrupted/) });
      expect(rec.body.stats).toMatchObject({ min: 1, max: 3 });
    } finally {
      await second.stop();
    }
  });
});
