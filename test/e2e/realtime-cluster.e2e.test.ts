import { childServerEnv } from '../support/server.ts';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createTestDatabase, testDialects, type TestDatabase } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record, request, serve } from '../support/realtime.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe.each(testDialects())('scale-out: two processes behind one Redis [%s]', (dialect) => {
  let db: TestDatabase;
  const children: Array<Awaited<ReturnType<typeof serve>>> = [];
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await db?.drop();
  });

  it('a socket on A sees a session run by B; when B dies, A takes the session over with consistent logs', async () => {
    db = await createTestDatabase(dialect);
    const env = {
      ...childServerEnv(db),
      REDIS_URL,
      TRAINING_QUEUE_NAME: `vigil-test-${randomBytes(4).toString('hex')}`,
      SESSION_LEASE_MS: '3000',
      SIMULATOR_RATE_HZ: '50',
      LOG_BATCH_SIZE: '20',
      LOG_FLUSH_MS: '100',
    };
    // One after the other: the first start installs the preset models.
    const a = await serve(env);
    children.push(a);
    const b = await serve(env);
    children.push(b);
    const apiA = httpClient(a.baseUrl);
    const apiB = httpClient(b.baseUrl);

    const u = await registerUser(apiA, 'clu');
    const dev = (await apiA.post('/devices', { name: 'Sim', kind: 'simulator', is_default: true }, u.token)).body;
    const socket = await connectSocket(a.baseUrl, { token: u.token });
    await nextEvent(socket, 'connection_confirmed');
    const seen = record(socket, 'arduino_data', 'detection_stopped');

    const started = await apiB.post('/detection/start', { device_id: dev.id }, u.token);
    expect(started.status).toBe(201);
    const id = started.body.session_id as number;
    // Scored on B, delivered to the socket on A through the Redis adapter.
    await eventually(() => seen.arduino_data!.filter((d) => d.session_id === id).length >= 20, 15_000);

    b.child.kill('SIGKILL');
    await b.exited;
    const before = seen.arduino_data!.length;
    // A notices the expired lease and continues the session from B's checkpoint.
    await eventually(() => seen.arduino_data!.length >= before + 50, 20_000);
    expect(seen.arduino_data!.slice(before + 5).every((d) => d.session_id === id)).toBe(true);
    const status = await apiA.get('/detection/status', u.token);
    expect(status.body.sessions.map((s: any) => s.session_id)).toEqual([id]);

    const stopped = await apiA.post('/detection/stop', { session_id: id }, u.token);
    expect(stopped.status).toBe(200);
    const fa = stopped.body.final_analysis;
    await eventually(() => seen.detection_stopped!.length === 1);
    socket.disconnect();

    const database = openDatabase(loadConfig({ dotenv: false, env }).database);
    try {
      const row = await database.db.selectFrom('detection_sessions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const logs = await database.db
        .selectFrom('detection_logs')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.count<number>('timestamp').distinct().as('distinct_ts')])
        .where('session_id', '=', id)
        .executeTakeFirstOrThrow();
      // Every scored reading that was kept is one row, and no reading was logged twice.
      expect({ status: row.status, total: Number(row.total_predictions), rows: Number(logs.n), distinct: Number(logs.distinct_ts) }).toEqual({
        status: 'stopped',
        total: fa.total_predictions,
        rows: fa.total_predictions,
        distinct: fa.total_predictions,
      });
      expect(fa.total_predictions).toBeGreaterThan(60);
    } finally {
      await database.close();
    }
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 120_000);

  it('lists, re-thresholds, pauses and stops a session through the process that does not own it', async () => {
    const tdb = await createTestDatabase(dialect);
    const env = {
      ...childServerEnv(tdb),
      REDIS_URL,
      TRAINING_QUEUE_NAME: `vigil-test-${randomBytes(4).toString('hex')}`,
      SESSION_LEASE_MS: '3000',
      SIMULATOR_RATE_HZ: '50',
    };
    const a = await serve(env);
    const b = await serve(env);
    try {
      const apiA = httpClient(a.baseUrl);
      const apiB = httpClient(b.baseUrl);
      const u = await registerUser(apiA, 'rctl');
      const other = await registerUser(apiA, 'rctlx');
      const dev = (await apiA.post('/devices', { name: 'Sim', kind: 'simulator', is_default: true }, u.token)).body;
      const started = await apiB.post('/detection/start', { device_id: dev.id, threshold: 0.5 }, u.token);
      expect(started.status).toBe(201);
      const id = started.body.session_id as number;
      await eventually(async () => ((await apiB.get('/detection/status', u.token)).body.sessions[0]?.total_predictions ?? 0) >= 20, 15_000);

      // Status on A asks B for the live counters.
      const viaA = (await apiA.get('/detection/status', u.token)).body;
      expect(viaA.running).toBe(true);
      expect(viaA.sessions).toHaveLength(1);
      expect(viaA.sessions[0]).toMatchObject({ session_id: id, device_id: dev.id, threshold: 0.5, paused: false });
      expect(viaA.sessions[0].total_predictions).toBeGreaterThanOrEqual(20);
      expect((await apiA.get('/detection/status', other.token)).body).toEqual({ running: false, sessions: [] });

      // The app's controls on a socket connected to A, for the session B runs.
      const socket = await connectSocket(a.baseUrl, { token: u.token });
      await nextEvent(socket, 'connection_confirmed');
      const st = nextEvent(socket, 'status_update');
      socket.emit('get_status');
      expect(await st).toMatchObject({ detection_running: true, current_session_id: id });

      const th = nextEvent(socket, 'threshold_updated');
      socket.emit('update_threshold', { threshold: 0.8 });
      expect(await th).toMatchObject({ threshold: 0.8, sessions: [id] });
      expect((await apiB.get('/detection/status', u.token)).body.sessions[0].threshold).toBe(0.8);

      const paused = nextEvent(socket, 'data_collection_status');
      socket.emit('pause_data_collection');
      expect(await paused).toEqual({ active: false });
      const countOnB = async () => (await apiB.get('/detection/status', u.token)).body.sessions[0] as { paused: boolean; total_predictions: number };
      const p1 = await countOnB();
      expect(p1.paused).toBe(true);
      await new Promise((r) => setTimeout(r, 600));
      expect((await countOnB()).total_predictions).toBe(p1.total_predictions);
      const resumed = nextEvent(socket, 'data_collection_status');
      socket.emit('resume_data_collection');
      expect(await resumed).toEqual({ active: true });
      await eventually(async () => (await countOnB()).total_predictions > p1.total_predictions, 10_000);

      // stop_detection without an id stops it on B; the final analysis reaches the socket on A.
      const stoppedEvt = nextEvent(socket, 'detection_stopped');
      socket.emit('stop_detection', {});
      const fa = (await stoppedEvt).final_analysis;
      expect(fa.total_predictions).toBeGreaterThan(p1.total_predictions);
      expect((await apiB.get('/detection/status', u.token)).body.sessions).toEqual([]);
      const row = (await apiA.get(`/detection/sessions/${id}`, u.token)).body;
      expect(row).toMatchObject({ status: 'stopped', threshold: 0.8, total_predictions: fa.total_predictions });
      socket.disconnect();

      // A second session on B, stopped over HTTP on A by id.
      const second = await apiB.post('/detection/start', { device_id: dev.id }, u.token);
      const id2 = second.body.session_id as number;
      await eventually(async () => ((await apiB.get('/detection/status', u.token)).body.sessions[0]?.total_predictions ?? 0) >= 5, 15_000);
      expect((await apiA.post('/detection/stop', { session_id: id2 }, other.token)).status).toBe(404);
      const stopped = await apiA.post('/detection/stop', { session_id: id2 }, u.token);
      expect(stopped.status).toBe(200);
      expect(stopped.body.stopped[0].final_analysis.total_predictions).toBeGreaterThanOrEqual(5);
      expect((await apiA.get(`/detection/sessions/${id2}`, u.token)).body).toMatchObject({ status: 'stopped' });

      // A selection made on one process (a socket on A) is what the user's socket on the other uses,
      // and a later selection over HTTP on B replaces it for that socket too.
      const presets = (await apiA.get('/models/user', u.token)).body.filter((m: any) => m.is_preset);
      expect(presets.length).toBeGreaterThanOrEqual(2);
      const onA = await connectSocket(a.baseUrl, { token: u.token });
      const onB = await connectSocket(b.baseUrl, { token: u.token });
      await Promise.all([nextEvent(onA, 'connection_confirmed'), nextEvent(onB, 'connection_confirmed')]);
      const sel = nextEvent(onA, 'model_selected');
      onA.emit('ws_select_model', { model_id: presets[0].id });
      await sel;
      await request(onB, 'arduino_connect', { device_id: dev.id }, 'arduino_status');
      const s1 = await request(onB, 'start_detection', {}, 'detection_status', (x: any) => x.type === 'detection_started');
      expect(s1.model_id).toBe(presets[0].id);
      await request(onB, 'stop_detection', {}, 'detection_stopped');
      expect((await apiB.post(`/models/${presets[1].id}/select`, {}, u.token)).status).toBe(200);
      const s2 = await request(onA, 'get_status', {}, 'status_update');
      expect(s2.current_model_id).toBe(presets[1].id);
      await request(onA, 'arduino_connect', { device_id: dev.id }, 'arduino_status');
      const s3 = await request(onA, 'start_detection', {}, 'detection_status', (x: any) => x.type === 'detection_started');
      expect(s3.model_id).toBe(presets[1].id);
      await request(onA, 'stop_detection', {}, 'detection_stopped');
      onA.disconnect();
      onB.disconnect();
    } finally {
      for (const c of [a, b]) if (c.child.exitCode === null) c.child.kill('SIGKILL');
      await tdb.drop();
    }
  }, 120_000);
});
