import type { Socket } from 'socket.io-client';
import type { httpClient } from './http.ts';
import { connectSocket, eventually, record } from './realtime.ts';

/**
 * A signed-in user's simulator session, warmed up, with a socket that records the alarm events:
 * the starting point of every alarm test.
 */
export async function warmSession(baseUrl: string, api: ReturnType<typeof httpClient>, user: { token: string }, opts: { seed?: number; rateHz?: number } = {}) {
  const dev = (await api.post('/devices', { name: 'Sim', kind: 'simulator', config: { seed: opts.seed ?? 7, rate_hz: opts.rateHz ?? 100 } }, user.token)).body as { id: number };
  const socket: Socket = await connectSocket(baseUrl, { token: user.token });
  const seen = record(socket, 'arduino_data', 'anomaly_alert', 'alarm_opened', 'alarm_updated', 'alarm_resolved', 'alarm_action_result');
  const started = await api.post('/detection/start', { device_id: dev.id }, user.token);
  if (started.status !== 201) throw new Error(`start failed: ${started.status} ${JSON.stringify(started.body)}`);
  await eventually(() => seen.arduino_data!.some((d) => d.ml_status.status === 'ml_ready'), 25_000);
  return { deviceId: dev.id, sessionId: started.body.session_id as number, socket, seen };
}

/** Injects an anomaly into the user's simulator over REST. */
export async function inject(api: ReturnType<typeof httpClient>, token: string, deviceId: number, kind: string, readings: number) {
  const r = await api.post(`/devices/${deviceId}/anomalies`, { kind, readings }, token);
  if (r.status !== 202) throw new Error(`inject failed: ${r.status} ${JSON.stringify(r.body)}`);
}
