import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record, request, sleep } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('Socket.IO: the mobile app flow [%s]', (dialect) => {
  let server: TestServer;
  let api: ReturnType<typeof httpClient>;
  const sockets: Socket[] = [];
  const open = async (opts?: { token?: string; header?: string }) => {
    const s = await connectSocket(server.baseUrl, opts);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await startTestServer(dialect, { SIMULATOR_RATE_HZ: '50', LOG_BATCH_SIZE: '40', LOG_FLUSH_MS: '50', ALERT_INTERVAL: '0' });
    api = httpClient(server.baseUrl);
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.disconnect();
  });
  afterAll(async () => server?.stop());

  it('runs connect → login → models → select → arduino_connect → detection → threshold → pause → stop → history', async () => {
    const u = await registerUser(api, 'app');
    const socket = await open();
    const confirmed = await nextEvent(socket, 'connection_confirmed');
    expect(confirmed).toMatchObject({
      message: expect.any(String),
      server_info: { serial_connected: false, detection_running: false, current_model_id: null, is_guest_mode: true },
    });

    const pong = await request(socket, 'ping', undefined, 'pong');
    expect(Math.abs(pong.timestamp - Date.now())).toBeLessThan(5000);

    const login = await request(socket, 'ws_login', { username: u.username, password: u.password, timestamp: Date.now() }, 'login_success');
    expect(login).toMatchObject({ user: { id: u.id, username: u.username, email: u.email }, access_token: expect.any(String) });

    const models = await request(socket, 'ws_get_models', { timestamp: Date.now() }, 'models_response');
    expect(models.models.length).toBeGreaterThan(0);
    for (const m of models.models) {
      expect(m).toMatchObject({ id: expect.any(Number), name: expect.any(String), material_type: expect.any(String), is_preset: expect.any(Boolean) });
      expect(m).toHaveProperty('accuracy');
      expect(m).toHaveProperty('description');
      expect(m).toHaveProperty('created_at');
    }
    const preset = models.models.find((m: any) => m.is_preset);

    const selected = await request(socket, 'ws_select_model', { model_id: preset.id, timestamp: Date.now() }, 'model_selected');
    expect(selected).toEqual({ model: { id: preset.id, name: preset.name, material_type: preset.material_type, is_preset: true } });
    const older = await request(socket, 'select_model', { model_id: preset.id, user_id: 999_999 }, 'model_selection_result');
    expect(older).toMatchObject({ success: true, model: { id: preset.id }, guest_mode: false });

    const seen = record(socket, 'arduino_raw_data', 'arduino_data', 'detection_started', 'detection_stopped', 'anomaly_alert');
    const status = await request(socket, 'arduino_connect', { timestamp: Date.now() }, 'arduino_status');
    expect(status).toMatchObject({ connected: true, message: expect.any(String), port: 'simulator' });

    await eventually(() => seen.arduino_raw_data!.length >= 5);
    for (const raw of seen.arduino_raw_data!.slice(0, 5)) {
      expect(raw.voltage).toBeTypeOf('number');
      // Real time in seconds: the app multiplies by 1000 and drops readings older than 2 s.
      expect(Math.abs(raw.timestamp * 1000 - Date.now())).toBeLessThan(2000);
      expect(raw.features.sample_count).toBeGreaterThan(0);
    }

    const started = await request(socket, 'start_detection', { timestamp: Date.now() }, 'detection_status');
    expect(started).toMatchObject({ type: 'detection_started', running: true, session_id: expect.any(Number), model_name: preset.name, message: expect.any(String) });
    const sessionId = started.session_id as number;
    await eventually(() => seen.detection_started!.length === 1);

    await eventually(() => seen.arduino_data!.length >= 20);
    const d = seen.arduino_data![0];
    expect(d).toMatchObject({
      voltage: expect.any(Number),
      timestamp: expect.any(Number),
      prediction: { anomaly_score: expect.any(Number), is_anomaly: expect.any(Boolean), confidence: expect.any(Number), method: expect.any(String) },
      ml_status: { window_progress: expect.any(Number), window_size: expect.any(Number), current_window: expect.any(Number), status: expect.stringMatching(/^(warming_up|ml_ready|error)$/), method: expect.any(String) },
      guest_mode: false,
    });
    expect(Math.abs(d.timestamp * 1000 - Date.now())).toBeLessThan(5000);
    expect(d.ml_status.window_progress).toBeGreaterThanOrEqual(0);
    expect(d.ml_status.window_progress).toBeLessThanOrEqual(1);

    const th = await request(socket, 'update_threshold', { threshold: 0.7 }, 'threshold_updated');
    expect(th).toMatchObject({ threshold: 0.7, message: expect.any(String) });
    const st = await request(socket, 'get_status', { timestamp: Date.now() }, 'status_update');
    expect(st).toMatchObject({
      server_status: 'running',
      connected_clients: expect.any(Number),
      serial_connected: true,
      detection_running: true,
      current_model_id: preset.id,
      current_session_id: sessionId,
      detector_info: { threshold: 0.7 },
    });
    expect(Math.abs(st.timestamp * 1000 - Date.now())).toBeLessThan(5000);

    const paused = await request(socket, 'pause_data_collection', undefined, 'data_collection_status');
    expect(paused).toEqual({ active: false });
    await sleep(150);
    const frozen = seen.arduino_data!.length;
    await sleep(300);
    expect(seen.arduino_data!.length).toBe(frozen);
    expect(await request(socket, 'resume_data_collection', undefined, 'data_collection_status')).toEqual({ active: true });
    await eventually(() => seen.arduino_data!.length > frozen + 5);

    const stoppedStatus = request(socket, 'stop_detection', { timestamp: Date.now() }, 'detection_status', (p: any) => p.type === 'detection_stopped');
    const stopped = await nextEvent(socket, 'detection_stopped');
    expect(await stoppedStatus).toMatchObject({ type: 'detection_stopped', running: false });
    const fa = stopped.final_analysis;
    expect(fa).toMatchObject({ is_anomalous: expect.any(Boolean), summary: expect.any(String), anomaly_count: expect.any(Number), confidence: expect.any(Number) });
    expect(fa.total_predictions).toBeGreaterThanOrEqual(seen.arduino_data!.length - 5);
    expect(fa.anomaly_percentage).toBe(Math.round((fa.anomaly_count / fa.total_predictions) * 1000) / 10);

    // Every scored reading is a log row, and the session row holds the final analysis.
    const session = await api.get(`/detection/sessions/${sessionId}`, u.token);
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ status: 'stopped', total_predictions: fa.total_predictions, final_analysis: fa, threshold: 0.7 });
    const logs = await api.get(`/detection/sessions/${sessionId}/logs?limit=1000`, u.token);
    expect(logs.body.logs.length).toBe(Math.min(1000, fa.total_predictions));

    // Keyset pages cover the log exactly once; the anomaly filter and the CSV export agree with it.
    const ids: number[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api.get(`/detection/sessions/${sessionId}/logs?limit=7${cursor ? `&cursor=${cursor}` : ''}`, u.token);
      expect(page.status).toBe(200);
      ids.push(...page.body.logs.map((l: any) => l.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(ids).toHaveLength(fa.total_predictions);
    expect(new Set(ids).size).toBe(ids.length);
    const anomalies = await api.get(`/detection/sessions/${sessionId}/logs?limit=1000&anomalies_only=true`, u.token);
    expect(anomalies.body.logs.length).toBe(fa.anomaly_count);
    expect(anomalies.body.logs.every((l: any) => l.is_anomaly)).toBe(true);
    const csv = await fetch(`${server.baseUrl}/detection/sessions/${sessionId}/logs.csv`, { headers: { authorization: `Bearer ${u.token}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score,is_anomaly,confidence,signal');
    expect(lines).toHaveLength(fa.total_predictions + 1);
    const other = await registerUser(api, 'csv');
    expect((await api.get(`/detection/sessions/${sessionId}/logs.csv`, other.token)).status).toBe(404);
    const page1 = await api.get('/detection/sessions?limit=1', u.token);
    expect(page1.body.sessions[0].session_id).toBe(sessionId);

    const history = await request(socket, 'get_session_history', undefined, 'session_history');
    expect(history.sessions[0]).toMatchObject({ session_id: sessionId, status: 'stopped', final_analysis: fa, total_predictions: fa.total_predictions });

    const disc = await request(socket, 'arduino_disconnect', { timestamp: Date.now() }, 'arduino_status');
    expect(disc).toMatchObject({ connected: false, message: expect.any(String) });
  });

  it('authenticates from the handshake (auth.token or Authorization header)', async () => {
    const u = await registerUser(api, 'hs');
    for (const opts of [{ token: u.token }, { header: `Bearer ${u.token}` }]) {
      const s = await open(opts);
      const c = await nextEvent(s, 'connection_confirmed');
      expect(c.server_info.is_guest_mode).toBe(false);
    }
    const stale = await open({ token: 'not.a.token' });
    const err = nextEvent(stale, 'error');
    expect((await nextEvent(stale, 'connection_confirmed')).server_info.is_guest_mode).toBe(true);
    expect(await err).toMatchObject({ code: 'invalid-token' });
  });

  it('keeps two users apart: B never sees A’s data and cannot stop A’s session', async () => {
    const a = await registerUser(api, 'alice');
    const b = await registerUser(api, 'bob');
    const sa = await open({ token: a.token });
    const sb = await open({ token: b.token });
    await Promise.all([nextEvent(sa, 'connection_confirmed'), nextEvent(sb, 'connection_confirmed')]);
    const seenA = record(sa, 'arduino_data', 'arduino_raw_data');
    const seenB = record(sb, 'arduino_data', 'arduino_raw_data', 'detection_stopped', 'detection_started');
    const devA = await request(sa, 'arduino_connect', {}, 'arduino_status');
    const devB = await request(sb, 'arduino_connect', {}, 'arduino_status');
    expect(devA.device_id).not.toBe(devB.device_id);

    const startedA = await request(sa, 'start_detection', {}, 'detection_status');
    await eventually(() => seenA.arduino_data!.length > 10);
    expect(seenB.arduino_data).toEqual([]);
    expect(seenB.detection_started).toEqual([]);
    expect(seenB.arduino_raw_data!.every((r) => r.device_id === devB.device_id)).toBe(true);
    expect(seenA.arduino_raw_data!.every((r) => r.device_id === devA.device_id)).toBe(true);

    // B can neither stop it by socket nor by REST, nor read it.
    const none = await request(sb, 'stop_detection', {}, 'detection_status');
    expect(none).toMatchObject({ running: false });
    const forced = await request(sb, 'stop_detection', { session_id: startedA.session_id }, 'detection_status');
    expect(forced).toMatchObject({ running: false, code: 'session-not-found' });
    expect((await api.post('/detection/stop', { session_id: startedA.session_id }, b.token)).status).toBe(404);
    expect((await api.get(`/detection/sessions/${startedA.session_id}`, b.token)).status).toBe(404);
    expect((await api.get(`/devices/${devA.device_id}`, b.token)).status).toBe(404);
    expect((await api.get('/detection/status', a.token)).body.sessions).toHaveLength(1);

    const stop = await api.post('/detection/stop', {}, a.token);
    expect(stop.status).toBe(200);
    expect(stop.body.stopped).toHaveLength(1);
    await sleep(100);
    expect(seenB.arduino_data).toEqual([]);
    expect(seenB.detection_stopped).toEqual([]);
  });

  it('answers malformed payloads with an error event and keeps the connection', async () => {
    const s = await open();
    await nextEvent(s, 'connection_confirmed');
    const errors = record(s, 'error');
    s.emit('update_threshold', { threshold: 'high' });
    s.emit('update_threshold', { threshold: 7 });
    s.emit('ws_select_model', 'nope');
    s.emit('start_detection', 42);
    s.emit('ws_login', { username: 5 });
    s.emit('message', { anything: true });
    s.emit('no_such_event', 1);
    await eventually(() => errors.error!.length >= 5);
    expect(errors.error!.every((e) => e.code === 'invalid-payload' && typeof e.event === 'string')).toBe(true);
    expect(s.connected).toBe(true);
    expect((await request(s, 'ping', {}, 'pong')).timestamp).toBeTypeOf('number');
  });

  it('lets a guest run presets on the demo simulator without logging, and refuses start without a device', async () => {
    const s = await open();
    await nextEvent(s, 'connection_confirmed');
    const refused = await request(s, 'start_detection', {}, 'detection_status');
    expect(refused).toMatchObject({ running: false, error: expect.stringMatching(/not connected/i) });

    const models = await request(s, 'ws_get_models', {}, 'models_response');
    expect(models.models.every((m: any) => m.is_preset)).toBe(true);
    const seen = record(s, 'arduino_data');
    await request(s, 'arduino_connect', {}, 'arduino_status');
    const started = await request(s, 'start_detection', {}, 'detection_status');
    expect(started).toMatchObject({ running: true, session_id: expect.stringMatching(/^guest-/) });
    await eventually(() => seen.arduino_data!.length >= 5);
    expect(seen.arduino_data![0].guest_mode).toBe(true);
    const stopped = request(s, 'stop_detection', {}, 'detection_stopped');
    expect((await stopped).final_analysis.total_predictions).toBeGreaterThanOrEqual(5);
    expect((await request(s, 'get_session_history', {}, 'session_history')).sessions).toEqual([]);
  });
});

describe.each(testDialects())('Socket.IO ws_login [%s]', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, { AUTH_RATE_LIMIT_PER_USERNAME: '3', AUTH_RATE_LIMIT_PER_IP: '50' });
  });
  afterAll(async () => server?.stop());

  it('is rate-limited per username like HTTP login, and a wrong password is a login_error', async () => {
    const api = httpClient(server.baseUrl);
    const u = await registerUser(api, 'brute');
    const s = await connectSocket(server.baseUrl);
    try {
      await nextEvent(s, 'connection_confirmed');
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await request(s, 'ws_login', { username: u.username, password: 'wrong password' }, 'login_error'));
      expect(answers.slice(0, 3).map((a) => a.code)).toEqual(['invalid-credentials', 'invalid-credentials', 'invalid-credentials']);
      expect(answers[3]).toMatchObject({ code: 'rate-limited', error: expect.any(String) });
      // Even the right password is refused until the window passes.
      expect((await request(s, 'ws_login', { username: u.username, password: u.password }, 'login_error')).code).toBe('rate-limited');
      expect(s.connected).toBe(true);
    } finally {
      s.disconnect();
    }
  });
});
