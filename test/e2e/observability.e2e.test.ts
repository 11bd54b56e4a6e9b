import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const TOKEN = randomBytes(16).toString('hex');

/** The value of one sample (`name{labels} value`) in Prometheus text, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [key, value] = line.split(' ');
    if (key === `${name}${labels}`) return Number(value);
  }
  return undefined;
}

describe.each(testDialects())('metrics and health [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;

  beforeAll(async () => {
    server = await startTestServer(dialect, { METRICS_TOKEN: TOKEN, SIMULATOR_RATE_HZ: '50', LOG_BATCH_SIZE: '10', LOG_FLUSH_MS: '50' });
    api = httpClient(server.baseUrl);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const scrape = () => api.request<string>('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });

  it('GET /metrics refuses a missing or wrong bearer token with 401 unauthorized', async () => {
    const none = await api.get('/metrics');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthorized');
    const wrong = await api.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN.slice(1)}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('unauthorized');
  });

  it('GET /metrics serves Prometheus text with the documented metrics', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'vigil_readings_received_total',
      'vigil_readings_scored_total',
      'vigil_readings_invalid_total',
      'vigil_readings_rate_limited_total',
      'vigil_live_sessions',
      'vigil_open_devices',
      'vigil_socketio_clients',
      'vigil_log_buffer_rows',
      'vigil_log_flush_seconds',
      'vigil_log_flush_failures_total',
      'vigil_log_rows_dropped_total',
      'vigil_training_jobs',
      'vigil_alarms_opened_total',
      'vigil_http_request_duration_seconds',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(res.body, name).toContain(`# TYPE ${name} `);
    }
    expect(sample(res.body, 'vigil_training_jobs', '{state="queued"}')).toBe(0);
  });

  it('counts received, scored and logged readings, live sessions and HTTP latency by route', async () => {
    const before = (await scrape()).body;
    const u = await registerUser(api, 'metrics');
    const dev = (await api.post('/devices', { name: 'Sim', kind: 'simulator', config: { seed: 3 } }, u.token)).body;
    const start = await api.post('/detection/start', { device_id: dev.id, max_readings: 40 }, u.token);
    expect(start.status).toBe(201);
    const during = (await scrape()).body;
    expect(sample(during, 'vigil_live_sessions')).toBe(1);
    expect(sample(during, 'vigil_open_devices')).toBe(1);
    await eventually(async () => (await api.get(`/detection/sessions/${start.body.session_id}`, u.token)).body.status !== 'running', 15_000);
    const after = (await scrape()).body;
    const grew = (name: string, labels = '') => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(grew('vigil_readings_scored_total', '{source="simulator"}')).toBe(40);
    expect(grew('vigil_readings_received_total', '{source="simulator"}')).toBeGreaterThanOrEqual(40);
    expect(grew('vigil_log_rows_written_total')).toBe(40);
    expect(grew('vigil_log_flush_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'vigil_live_sessions')).toBe(0);
    expect(sample(after, 'vigil_http_request_duration_seconds_count', '{method="POST",route="/detection/start",status_code="201"}')).toBe(1);
  });

  it('counts accepted and invalid readings per source kind', async () => {
    const u = await registerUser(api, 'metricshttp');
    const dev = (await api.post('/devices', { name: 'Push', kind: 'http' }, u.token)).body;
    const start = await api.post('/detection/start', { device_id: dev.id, log: false }, u.token);
    expect(start.status).toBe(201);
    const before = (await scrape()).body;
    const post = await api.request('POST', `/devices/${dev.id}/readings`, {
      headers: { authorization: `Bearer ${dev.token}` },
      body: { readings: [{ value: 1.5 }, { value: 1e12 }, { value: 2.5 }] },
    });
    expect(post.status).toBe(202);
    const after = (await scrape()).body;
    const grew = (name: string) => (sample(after, name, '{source="http"}') ?? 0) - (sample(before, name, '{source="http"}') ?? 0);
    expect(post.body).toMatchObject({ accepted: 2, invalid: 1 });
    expect(grew('vigil_readings_received_total')).toBe(2);
    expect(grew('vigil_readings_invalid_total')).toBe(1);
    await api.post('/detection/stop', { session_id: start.body.session_id }, u.token);
  });

  it('GET /health/live and /health/ready answer 200 while the database answers', async () => {
    const live = await api.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    const ready = await api.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', checks: { database: { ok: true, latency_ms: expect.any(Number) } } });
    expect((await api.get('/health')).status).toBe(200);
  });
});

describe.each(testDialects())('readiness when the database stops answering [%s]', (dialect) => {
  it('GET /health/ready answers 503 naming the database while /health/live stays 200', async () => {
    const server = await startTestServer(dialect);
    const api = httpClient(server.baseUrl);
    try {
      expect((await api.get('/health/ready')).status).toBe(200);
      // The app's own connection (pool) goes away: every query now fails, as with a database that is down.
      await server.app.database.close();
      const ready = await api.get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'error', checks: { database: { ok: false, error: expect.any(String) } } });
      expect((await api.get('/health/live')).status).toBe(200);
      expect((await api.get('/health')).status).toBe(503);
    } finally {
      await server.app.stop().catch(() => undefined);
      await server.db.drop().catch(() => undefined);
    }
  }, 120_000);
});

describe('metrics listeners', () => {
  it('serves no /metrics at all unless METRICS_TOKEN or METRICS_PORT is set', async () => {
    const server = await startTestServer('sqlite');
    try {
      const res = await httpClient(server.baseUrl).get('/metrics');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('route-not-found');
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('METRICS_PORT serves /metrics on its own listener and not on the API port (token-protected when METRICS_TOKEN is set)', async () => {
    const server = await startTestServer('sqlite', { METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
    try {
      const metricsUrl = server.app.metricsUrl!;
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(metricsUrl).not.toBe(server.baseUrl);
      const m = httpClient(metricsUrl);
      expect((await m.get('/metrics')).status).toBe(401);
      const ok = await m.request<string>('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('# TYPE vigil_live_sessions gauge');
      expect((await m.get('/health')).status).toBe(404);
      expect((await httpClient(server.baseUrl).request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
