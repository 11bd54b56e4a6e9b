import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { testDialects, type TestDialect } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { eventually } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const TOKEN = randomBytes(16).toString('hex');

function sample(text: string, name: string): number {
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key === name) return Number(value);
  }
  return 0;
}

/**
 * Log batches (issue 15, decision 0015): where inserts wait off the event loop (MariaDB, the SQLite
 * log thread) a batch holds up to 8 x LOG_BATCH_SIZE rows and is written every LOG_FLUSH_MS, so a
 * busy server commits fewer, larger transactions; on SQLite's main thread it stays LOG_BATCH_SIZE.
 */
describe('detection-log batch sizes', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** Logs a 120-reading session at 100 Hz with LOG_BATCH_SIZE 10; returns the rows written and the flushes. */
  async function logSession(dialect: TestDialect, env: Record<string, string>) {
    server = await startTestServer(dialect, { METRICS_TOKEN: TOKEN, SIMULATOR_RATE_HZ: '100', LOG_BATCH_SIZE: '10', LOG_FLUSH_MS: '2000', ...env });
    const api = httpClient(server.baseUrl);
    const scrape = async () => (await api.request<string>('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).body;
    const u = await registerUser(api, 'batches');
    const dev = (await api.post('/devices', { name: 'Sim', kind: 'simulator', config: { seed: 5 } }, u.token)).body;
    const before = await scrape();
    const start = await api.post('/detection/start', { device_id: dev.id, max_readings: 120 }, u.token);
    expect(start.status).toBe(201);
    await eventually(async () => (await api.get(`/detection/sessions/${start.body.session_id}`, u.token)).body.status !== 'running', 15_000);
    await eventually(async () => sample(await scrape(), 'vigil_log_rows_written_total') - sample(before, 'vigil_log_rows_written_total') >= 120, 10_000);
    const after = await scrape();
    const grew = (name: string) => sample(after, name) - sample(before, name);
    const logs = await api.get(`/detection/sessions/${start.body.session_id}/logs?limit=500`, u.token);
    return { rows: grew('vigil_log_rows_written_total'), flushes: grew('vigil_log_flush_seconds_count'), stored: (logs.body.logs as unknown[]).length };
  }

  it.each(testDialects())('[%s] inserts off the event loop: batches of up to 8 x LOG_BATCH_SIZE rows, every row stored once', async (dialect) => {
    const r = await logSession(dialect, {});
    expect(r.rows).toBe(120);
    expect(r.stored).toBe(120);
    // 120 rows in 1.2 s: batches of 80 (8 x 10) and the rest at the session's end, not twelve of 10.
    expect(r.flushes).toBeGreaterThanOrEqual(2);
    expect(r.flushes).toBeLessThanOrEqual(4);
  });

  it.runIf(testDialects().includes('sqlite'))('[sqlite] inserts on the event loop (SQLITE_LOG_THREAD=false): batches stay at LOG_BATCH_SIZE', async () => {
    const r = await logSession('sqlite', { SQLITE_LOG_THREAD: 'false' });
    expect(r.rows).toBe(120);
    expect(r.stored).toBe(120);
    expect(r.flushes).toBeGreaterThanOrEqual(12);
  });
});
