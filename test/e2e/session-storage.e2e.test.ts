import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbTimeToMs } from '../../src/db/time.ts';
import { bucketStart } from '../../src/modules/detection/rollups.ts';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createStoredSession, syntheticLogs, writeLogs } from '../support/sessions.ts';

type Agg = { n: number; sum: number; min: number; max: number; anomalies: number; maxScore: number };

describe.each(testDialects())('session rollups and series [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect, { SIMULATOR_RATE_HZ: '200', LOG_FLUSH_MS: '50' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => server?.stop());

  /** The session's rollups of one resolution, keyed by bucket start. */
  async function rollups(sessionId: number, bucketS: number) {
    const rows = await server.app.database.db.selectFrom('detection_rollups').selectAll().where('session_id', '=', sessionId).where('bucket_s', '=', bucketS).execute();
    return new Map(rows.map((r) => [r.bucket_start, { n: Number(r.n), sum: Number(r.value_sum), min: Number(r.value_min), max: Number(r.value_max), anomalies: Number(r.anomaly_count), maxScore: Number(r.max_score) }]));
  }

  /** The same aggregates computed from the raw logs. */
  async function fromRaw(sessionId: number, bucketS: 60 | 3600) {
    const rows = await server.app.database.db.selectFrom('detection_logs').select(['timestamp', 'value', 'anomaly_score', 'is_anomaly']).where('session_id', '=', sessionId).execute();
    const out = new Map<string, Agg>();
    for (const r of rows) {
      const k = bucketStart(r.timestamp, bucketS);
      const a = out.get(k) ?? { n: 0, sum: 0, min: Infinity, max: -Infinity, anomalies: 0, maxScore: -Infinity };
      a.n++;
      a.sum += r.value;
      a.min = Math.min(a.min, r.value);
      a.max = Math.max(a.max, r.value);
      a.anomalies += Number(r.is_anomaly);
      a.maxScore = Math.max(a.maxScore, r.anomaly_score);
      out.set(k, a);
    }
    return out;
  }

  function expectSame(a: Map<string, Agg>, b: Map<string, Agg>) {
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, x] of a) {
      const y = b.get(k)!;
      expect({ ...x, sum: undefined }).toEqual({ ...y, sum: undefined });
      expect(x.sum).toBeCloseTo(y.sum, 6);
    }
  }

  it('keeps rollups equal to the raw logs after a live session', async () => {
    const u = await registerUser(api, 'rollup');
    const started = await api.post('/detection/start', { log: true }, u.token);
    expect(started.status).toBe(201);
    await sleep(1500);
    const stopped = await api.post('/detection/stop', { session_id: started.body.session_id }, u.token);
    expect(stopped.status).toBe(200);
    const id = started.body.session_id as number;
    const total = stopped.body.stopped[0].final_analysis.total_predictions as number;
    expect(total).toBeGreaterThan(50);
    for (const res of [60, 3600] as const) {
      const r = await rollups(id, res);
      expect([...r.values()].reduce((n, x) => n + x.n, 0)).toBe(total);
      expectSame(r, await fromRaw(id, res));
    }
  });

  it('counts a replayed batch once in the rollups', async () => {
    const u = await registerUser(api, 'replay');
    const id = await createStoredSession(server.app, u.id, Date.UTC(2026, 0, 5, 10));
    const rows = syntheticLogs({ sessionId: id, userId: u.id, start: Date.UTC(2026, 0, 5, 10), stepMs: 100, count: 1500, anomalyEvery: 97 });
    await writeLogs(server.app, rows.slice(0, 1000));
    // A journal replay after a crash: rows 800-1500, of which 800-1000 are stored already.
    await writeLogs(server.app, rows.slice(800), 700);
    const r = await rollups(id, 60);
    expect([...r.values()].reduce((n, x) => n + x.n, 0)).toBe(1500);
    expectSame(r, await fromRaw(id, 60));
    expectSame(await rollups(id, 3600), await fromRaw(id, 3600));
  });

  it('stores explanations of anomalies only, and the logs and CSV routes keep their fields', async () => {
    const u = await registerUser(api, 'compact');
    const id = await createStoredSession(server.app, u.id, Date.UTC(2026, 0, 6));
    const rows = syntheticLogs({ sessionId: id, userId: u.id, start: Date.UTC(2026, 0, 6), stepMs: 100, count: 30, anomalyEvery: 10 });
    await writeLogs(server.app, rows);
    const stored = await server.app.database.db.selectFrom('detection_logs').select(['seq', 'signal', 'explanation']).where('session_id', '=', id).orderBy('seq').execute();
    expect(stored.filter((r) => r.explanation !== null).map((r) => Number(r.seq))).toEqual([10, 20, 30]);

    const page1 = await api.get(`/detection/sessions/${id}/logs?limit=12`, u.token);
    expect(page1.status).toBe(200);
    expect(Object.keys(page1.body.logs[0]).sort()).toEqual(['anomaly_score', 'confidence', 'explanation', 'id', 'is_anomaly', 'timestamp', 'value']);
    expect(page1.body.logs[0].explanation).toEqual({ signal: 'none' });
    expect(page1.body.logs[9]).toMatchObject({ is_anomaly: true, value: rows[9]!.value, explanation: JSON.parse(rows[9]!.explanation!) });
    const page2 = await api.get(`/detection/sessions/${id}/logs?limit=100&cursor=${page1.body.next_cursor}`, u.token);
    expect([...page1.body.logs, ...page2.body.logs].map((l: any) => l.value)).toEqual(rows.map((r) => r.value));
    expect(page2.body.next_cursor).toBeNull();

    const anomalies = await api.get(`/detection/sessions/${id}/logs?anomalies_only=true`, u.token);
    expect(anomalies.body.logs.map((l: any) => l.explanation.signal)).toEqual(['spike', 'spike', 'spike']);

    const csv = await fetch(`${server.baseUrl}/detection/sessions/${id}/logs.csv`, { headers: { authorization: `Bearer ${u.token}` } });
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score,is_anomaly,confidence,signal');
    expect(lines).toHaveLength(31);
    expect(lines[1]!.split(',')).toEqual([new Date(Date.UTC(2026, 0, 6)).toISOString(), String(rows[0]!.value), String(rows[0]!.anomaly_score), '0', '0.8', 'none']);
    expect(lines[10]!.split(',').slice(3)).toEqual(['1', '0.8', 'spike']);
  });

  describe('GET /detection/sessions/:id/series', () => {
    let owner: Awaited<ReturnType<typeof registerUser>>;
    let id: number;
    const start = Date.UTC(2026, 1, 1);
    // Three days at one reading every 10 s, a spike every 500 readings.
    const count = 3 * 8640;
    let rows: ReturnType<typeof syntheticLogs>;

    beforeAll(async () => {
      owner = await registerUser(api, 'series');
      id = await createStoredSession(server.app, owner.id, start);
      rows = syntheticLogs({ sessionId: id, userId: owner.id, start, stepMs: 10_000, count, anomalyEvery: 500 });
      await writeLogs(server.app, rows, 2000);
    }, 120_000);

    function check(body: any, points: number, inRange: typeof rows) {
      expect(body.points.length).toBeLessThanOrEqual(points);
      expect(body.points.length).toBeGreaterThan(0);
      const ts = body.points.map((p: any) => p.t);
      expect([...ts].sort((a: number, b: number) => a - b)).toEqual(ts);
      expect(body.points.reduce((n: number, p: any) => n + p.count, 0)).toBe(inRange.length);
      expect(Math.min(...body.points.map((p: any) => p.min))).toBe(Math.min(...inRange.map((r) => r.value)));
      expect(Math.max(...body.points.map((p: any) => p.max))).toBe(Math.max(...inRange.map((r) => r.value)));
      expect(body.points.reduce((n: number, p: any) => n + p.anomaly_count, 0)).toBe(inRange.filter((r) => r.is_anomaly).length);
      for (const p of body.points) {
        expect(p.min).toBeLessThanOrEqual(p.mean + 1e-9);
        expect(p.mean).toBeLessThanOrEqual(p.max + 1e-9);
        expect(p.t + body.bucket_ms).toBeGreaterThan(p.t);
      }
    }

    it('downsamples the whole session from the hour rollups, keeping every min and max', async () => {
      const res = await api.get(`/detection/sessions/${id}/series?points=50`, owner.token);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ session_id: id, source: 'rollup_1h', bucket_ms: expect.any(Number) });
      expect(res.body.bucket_ms % 3_600_000).toBe(0);
      check(res.body, 50, rows);
      const spike = res.body.points.find((p: any) => p.anomaly_count > 0);
      expect(spike.max_score).toBeCloseTo(0.95);
    });

    it('reads minute rollups for a day and the raw logs for an hour', async () => {
      const dayFrom = start + 86_400_000;
      const day = await api.get(`/detection/sessions/${id}/series?points=200&from=${new Date(dayFrom).toISOString()}&to=${new Date(dayFrom + 86_400_000 - 1).toISOString()}`, owner.token);
      expect(day.status).toBe(200);
      expect(day.body.source).toBe('rollup_1m');
      check(day.body, 200, rows.filter((r) => dbTimeToMs(r.timestamp) >= dayFrom && dbTimeToMs(r.timestamp) < dayFrom + 86_400_000));

      const hourFrom = start + 3_600_000 * 5 + 12_345;
      const hourTo = hourFrom + 3_600_000;
      const hour = await api.get(`/detection/sessions/${id}/series?points=100&from=${new Date(hourFrom).toISOString()}&to=${new Date(hourTo).toISOString()}`, owner.token);
      expect(hour.status).toBe(200);
      expect(hour.body.source).toBe('raw');
      check(hour.body, 100, rows.filter((r) => dbTimeToMs(r.timestamp) >= hourFrom && dbTimeToMs(r.timestamp) <= hourTo));
    });

    it("answers 404 for another user's session and for a missing one", async () => {
      const other = await registerUser(api, 'intruder');
      const res = await api.get(`/detection/sessions/${id}/series`, other.token);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('session-not-found');
      expect((await api.get(`/detection/sessions/99999999/series`, owner.token)).status).toBe(404);
      expect((await api.get(`/detection/sessions/${id}/series`)).status).toBe(401);
    });

    it('refuses bad parameters with 400 and a code', async () => {
      for (const q of ['points=1', 'points=100000', 'points=abc', 'from=yesterday']) {
        const res = await api.get(`/detection/sessions/${id}/series?${q}`, owner.token);
        expect(res.status, q).toBe(400);
        expect(res.body.code, q).toBe('validation-failed');
      }
      const backwards = await api.get(`/detection/sessions/${id}/series?from=2026-02-02T00:00:00Z&to=2026-02-01T00:00:00Z`, owner.token);
      expect(backwards.status).toBe(400);
      expect(backwards.body.code).toBe('invalid-time-range');
    });

    it('answers an empty series for a session without logs', async () => {
      const empty = await createStoredSession(server.app, owner.id, start);
      const res = await api.get(`/detection/sessions/${empty}/series`, owner.token);
      expect(res.status).toBe(200);
      expect(res.body.points).toEqual([]);
    });
  });
});
