import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbTimeToMs, toDbTime } from '../../src/db/time.ts';
import { createDetectionRepository } from '../../src/modules/detection/detection.repository.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createStoredSession, syntheticLogs, writeLogs } from '../support/sessions.ts';

const DAY = 86_400_000;
const TOKEN = 'retention-metrics-token-0123456789';

describe.each(testDialects())('retention [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect, {
      LOG_RETENTION_DAYS: '30',
      ROLLUP_RETENTION_DAYS: '400',
      RETENTION_INTERVAL: '0',
      RETENTION_BATCH: '100',
      RETENTION_CONTEXT: '3',
      SIMULATOR_RATE_HZ: '200',
      LOG_FLUSH_MS: '50',
      METRICS_TOKEN: TOKEN,
    });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  const db = () => server.app.database.db;
  const seqs = async (sessionId: number) =>
    (await db().selectFrom('detection_logs').select('seq').where('session_id', '=', sessionId).orderBy('seq').execute()).map((r) => Number(r.seq));
  const rollups = async (sessionId: number) =>
    db().selectFrom('detection_rollups').selectAll().where('session_id', '=', sessionId).orderBy('bucket_s').orderBy('bucket_start').execute();

  it('validates the per-device override', async () => {
    const u = await registerUser(api, 'retdev');
    for (const bad of [0, 1.5, 'x', -3]) {
      const res = await api.post('/devices', { name: 'bad', kind: 'http', config: { log_retention_days: bad } }, u.token);
      expect(res.status, String(bad)).toBe(400);
      expect(res.body.code).toBe('validation-failed');
    }
    const ok = await api.post('/devices', { name: 'long', kind: 'http', config: { log_retention_days: 90 } }, u.token);
    expect(ok.status).toBe(201);
    expect(ok.body.config.log_retention_days).toBe(90);
  });

  it('prunes old raw rows in batches, keeps anomalies with their context, rollups and a device override, while a live session logs', async () => {
    const u = await registerUser(api, 'retention');
    // Started first: later the user's own device would become the default one.
    const live = await api.post('/detection/start', { log: true }, u.token);
    expect(live.status).toBe(201);
    const now = Date.now();
    const write = async (startedAt: number, count: number, deviceId = 1) => {
      const id = await createStoredSession(server.app, u.id, startedAt, 'stopped', deviceId);
      await writeLogs(server.app, syntheticLogs({ sessionId: id, userId: u.id, start: startedAt, stepMs: 1000, count, anomalyEvery: 100 }));
      return id;
    };
    // A: all 1,000 rows 40 days old. C: the first ~500 rows past 30 days, the rest younger.
    const a = await write(now - 40 * DAY, 1000);
    const c = await write(now - 30 * DAY - 500_000, 1000);
    // B: as old as A, on a device that keeps its logs 60 days.
    const device = await api.post('/devices', { name: 'keeper', kind: 'http', config: { log_retention_days: 60 } }, u.token);
    const b = await write(now - 40 * DAY, 1000, device.body.id);
    // D: 500 days old, past the rollups' retention too.
    const d = await write(now - 500 * DAY, 200);
    const rollupsA = await rollups(a);
    expect(rollupsA.length).toBeGreaterThan(0);


    const dry = await server.app.retention.runOnce({ dryRun: true });
    expect(await seqs(a)).toHaveLength(1000);

    const firstAt = Date.now();
    const first = await server.app.retention.runOnce();
    expect(first.logRows).toBe(dry.logRows);
    // 1,000 rows of A in batches of 100 (plus C's and D's).
    expect(first.batches).toBeGreaterThanOrEqual(10 + 5 + 2);

    // A: the ten anomalies (every 100th) and 3 readings either side, nothing else.
    const keptA = await seqs(a);
    const expected = [];
    for (let s = 1; s <= 1000; s++) if ([...Array(10)].some((_, i) => Math.abs(s - (i + 1) * 100) <= 3)) expected.push(s);
    expect(keptA).toEqual(expected);
    // Counts taken from the logs (takeover, orphans) still see every reading A logged.
    const detectionRepo = createDetectionRepository(db());
    expect(await detectionRepo.countLogs(a)).toBe(1000);
    expect(await detectionRepo.countLogs(a, true)).toBe(10);
    expect(await rollups(a)).toEqual(rollupsA);
    // B: untouched (its device keeps 60 days).
    expect(await seqs(b)).toHaveLength(1000);
    // C: every row younger than 30 days stays, older ones only around anomalies.
    const cRows = await db().selectFrom('detection_logs').select(['seq', 'timestamp', 'is_anomaly']).where('session_id', '=', c).orderBy('seq').execute();
    const cutoff = now - 30 * DAY;
    const young = cRows.filter((r) => dbTimeToMs(r.timestamp) >= cutoff + 60_000);
    expect(young.length).toBeGreaterThan(400);
    expect(young.map((r) => Number(r.seq))).toEqual([...Array(young.length)].map((_, i) => 1000 - young.length + 1 + i));
    expect(cRows.filter((r) => dbTimeToMs(r.timestamp) < cutoff - 60_000).length).toBeLessThan(50);
    // D: raw rows pruned like A, and its rollups are past their retention too; the session stays.
    expect(await rollups(d)).toEqual([]);
    expect(await db().selectFrom('detection_sessions').select('id').where('id', '=', d).executeTakeFirst()).toBeDefined();

    // A second run finds nothing left (the watermark skips what was pruned) but the rows of C that
    // crossed the cutoff since the first run: C logs one row a second, so at most one per second
    // between the runs (on a slow machine the checks above take over a second).
    const again = await server.app.retention.runOnce();
    expect(again.rollupRows).toBe(0);
    expect(again.logRows).toBeLessThanOrEqual(Math.ceil((Date.now() - firstAt) / 1000) + 1);
    // ...and those rows are C's alone: A and B are as the first run left them.
    expect(await seqs(a)).toEqual(keptA);
    expect(await seqs(b)).toHaveLength(1000);

    const stopped = await api.post('/detection/stop', { session_id: live.body.session_id }, u.token);
    const total = stopped.body.stopped[0].final_analysis.total_predictions as number;
    expect(total).toBeGreaterThan(20);
    expect(await seqs(live.body.session_id)).toHaveLength(total);
    const liveRollups = await rollups(live.body.session_id);
    expect(liveRollups.filter((r) => r.bucket_s === 60).reduce((n, r) => n + Number(r.n), 0)).toBe(total);

    const metrics = await api.request<string>('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.body).toContain(`vigil_retention_deleted_rows_total{table="detection_logs"} ${first.logRows + again.logRows}`);
    expect(metrics.body).toMatch(/vigil_retention_runs_total\{outcome="done"\} 2/);
  });

  it('keeps a running session logging while its old rows are pruned', async () => {
    const u = await registerUser(api, 'retlive');
    const live = await api.post('/detection/start', { log: true }, u.token);
    expect(live.status).toBe(201);
    const id = live.body.session_id as number;
    // Backdate the session with old rows at seqs the live detector will not reach for a while.
    await db().updateTable('detection_sessions').set({ started_at: toDbTime(Date.now() - 40 * DAY) }).where('id', '=', id).execute();
    await writeLogs(server.app, syntheticLogs({ sessionId: id, userId: u.id, start: Date.now() - 40 * DAY, stepMs: 1000, count: 600, firstSeq: 1_000_001, anomalyEvery: 1000 }));
    for (let i = 0; i < 3; i++) {
      await server.app.retention.runOnce();
      await sleep(100);
    }
    const stopped = await api.post('/detection/stop', { session_id: id }, u.token);
    const total = stopped.body.stopped[0].final_analysis.total_predictions as number;
    const rows = await seqs(id);
    expect(rows.filter((s) => s < 1_000_000)).toHaveLength(total);
    expect(rows.filter((s) => s > 1_000_000).length).toBeLessThan(10);
  });
});
