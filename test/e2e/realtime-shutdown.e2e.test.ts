import { childServerEnv } from '../support/server.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { loadConfig } from '../../src/config/index.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, nextEvent, record, serve, sleep } from '../support/realtime.ts';

describe.each(testDialects())('SIGTERM during a live session [%s]', (dialect) => {
  let db: TestDatabase;
  afterAll(async () => db?.drop());

  it('flushes every buffered log row, finalises the session and exits 0', async () => {
    db = await createTestDatabase(dialect);
    const env = {
      ...childServerEnv(db),
      SIMULATOR_RATE_HZ: '200',
      // Nothing is flushed by size or time before the signal: the final flush must write it all.
      LOG_BATCH_SIZE: '5000',
      LOG_FLUSH_MS: '600000',
    };
    const { child, baseUrl, exited } = await serve(env);
    const api = httpClient(baseUrl);
    const u = await registerUser(api, 'term');
    const socket = await connectSocket(baseUrl, { token: u.token });
    await nextEvent(socket, 'connection_confirmed');
    const seen = record(socket, 'detection_auto_stopped', 'arduino_data');
    const started = await api.post('/detection/start', { log: true }, u.token);
    expect(started.status).toBe(201);
    await sleep(1500);
    expect(seen.arduino_data!.length).toBeGreaterThan(50);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    socket.disconnect();
    expect(seen.detection_auto_stopped).toHaveLength(1);
    const pushed = seen.detection_auto_stopped![0].final_analysis;

    const database = openDatabase(loadConfig({ dotenv: false, env }).database);
    try {
      const row = await database.db.selectFrom('detection_sessions').selectAll().where('id', '=', started.body.session_id).executeTakeFirstOrThrow();
      const logged = await database.db
        .selectFrom('detection_logs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('session_id', '=', started.body.session_id)
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('auto_stopped');
      expect(Number(row.total_predictions)).toBeGreaterThan(50);
      expect(Number(logged.n)).toBe(Number(row.total_predictions));
      expect(JSON.parse(row.final_analysis!)).toMatchObject({ ...pushed, stop_reason: 'shutdown' });
      expect(pushed.total_predictions).toBe(Number(row.total_predictions));
    } finally {
      await database.close();
    }
  }, 90_000);
});
