/**
 * The default kind explains each prediction on the live path: `arduino_data.prediction` carries,
 * additively, the expected value, the normal band and the channel that drove the score.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/db.ts';
import { httpClient, registerUser } from '../support/http.ts';
import { connectSocket, eventually, nextEvent, record, request } from '../support/realtime.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe.each(testDialects())('arduino_data.prediction carries the normal band [%s]', (dialect) => {
  let server: TestServer;
  let socket: Socket | undefined;

  beforeAll(async () => {
    server = await startTestServer(dialect, { SIMULATOR_RATE_HZ: '50', LOG_BATCH_SIZE: '40', LOG_FLUSH_MS: '50', ALERT_INTERVAL: '0' });
  });
  afterAll(async () => {
    socket?.disconnect();
    await server?.stop();
  });

  it('reports expected, lower, upper and channel once the preset has re-baselined', async () => {
    const api = httpClient(server.baseUrl);
    const u = await registerUser(api, 'band');
    socket = await connectSocket(server.baseUrl);
    await nextEvent(socket, 'connection_confirmed');
    await request(socket, 'ws_login', { username: u.username, password: u.password, timestamp: Date.now() }, 'login_success');
    const models = await request(socket, 'ws_get_models', { timestamp: Date.now() }, 'models_response');
    const preset = models.models.find((m: { is_preset: boolean; id: number }) => m.is_preset);
    await request(socket, 'ws_select_model', { model_id: preset.id, timestamp: Date.now() }, 'model_selected');
    const seen = record(socket, 'arduino_data');
    await request(socket, 'arduino_connect', { timestamp: Date.now() }, 'arduino_status');
    await request(socket, 'start_detection', { timestamp: Date.now() }, 'detection_status');
    await eventually(() => seen.arduino_data!.filter((d) => d.ml_status.status === 'ml_ready').length >= 20, 20_000);
    const ready = seen.arduino_data!.filter((d) => d.ml_status.status === 'ml_ready');
    for (const d of ready) {
      const p = d.prediction;
      expect(p).toMatchObject({ anomaly_score: expect.any(Number), is_anomaly: expect.any(Boolean), channel: expect.any(String) });
      expect(p.lower).toBeLessThan(p.expected);
      expect(p.upper).toBeGreaterThan(p.expected);
      // The expected value tracks the device (the simulator runs at 3.3 V).
      expect(Math.abs(p.expected - d.voltage)).toBeLessThan(0.5);
    }
    await request(socket, 'stop_detection', { timestamp: Date.now() }, 'detection_status', (p: { type: string }) => p.type === 'detection_stopped');
  });
});
