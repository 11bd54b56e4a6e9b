import type { Server, Socket } from 'socket.io';
import type { AppBus } from '../../events.ts';
import { AppError, isAppError, toErrorBody } from '../../lib/errors.ts';
import type { ModelCard } from '../models/models.service.ts';
import type { DetectionService } from '../detection/detection.service.ts';
import type { SessionId, SessionOwner } from '../detection/detection.types.ts';
import type { DeviceHubImpl } from '../devices/device-hub.ts';
import type { DevicesService } from '../devices/devices.service.ts';
import type { AnomalyKind } from '../devices/sources/simulator.source.ts';
import type { ModelRuntime, ModelSummary } from '../models/model-runtime.ts';
import { parsePayload, type ClientEvent, type Payload } from './realtime.schemas.ts';

export interface GatewayDeps {
  io: Server;
  bus: AppBus;
  auth: {
    login(input: { username: string; password: string }): Promise<{ access_token: string; refresh_token: string; user: { id: number; username: string; email: string } }>;
    verifyAccessToken(token: string): Promise<{ userId: number; username: string }>;
  };
  models: { runtime: ModelRuntime; listCards(userId: number | null): Promise<ModelCard[]> };
  devices: DevicesService;
  hub: DeviceHubImpl;
  detection: DetectionService;
  /** ws_login attempts allowed per username and per client address in a window (as for HTTP login). */
  loginLimit: { perUsername: number; perAddress: number; windowSeconds: number };
  /** Followers of a user, to push `post_created` to them. */
  followerIds?(userId: number): Promise<number[]>;
  logger: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface SocketState {
  user: { id: number; username: string } | null;
  /** A guest's selection; a signed-in user's is stored on their account (every process and socket sees it). */
  guestModelId: number | undefined;
  threshold: number | undefined;
  deviceId: number | undefined;
  rawUnsubscribe: (() => void) | undefined;
  active: boolean;
}

const userRoom = (id: number) => `user:${id}`;
const deviceRoom = (id: number) => `device:${id}`;
const sessionRoom = (id: SessionId) => `session:${id}`;
const seconds = (ms: number) => ms / 1000;
const modelBrief = (m: ModelSummary) => ({ id: m.id, name: m.name, material_type: m.material_type, is_preset: m.is_preset });

/** Latencies (ms) from reading arrival to the `arduino_data` emit, in a fixed ring for percentiles. */
function createLatencyRing(size = 1 << 16) {
  const ring = new Float64Array(size);
  let n = 0;
  return {
    add(ms: number) {
      ring[n++ % size] = ms;
    },
    reset() {
      n = 0;
    },
    snapshot() {
      const count = Math.min(n, size);
      const sorted = Array.from(ring.subarray(0, count)).sort((a, b) => a - b);
      const q = (p: number) => (count ? sorted[Math.min(count - 1, Math.floor(p * count))]! : 0);
      return { emitted: n, p50: q(0.5), p99: q(0.99), max: count ? sorted[count - 1]! : 0 };
    },
  };
}

/**
 * The Socket.IO adapter of the mobile app's protocol: validates each client event, calls the
 * services, and turns bus events into pushes to the right rooms (per user, device and session).
 */
export function createRealtimeGateway(deps: GatewayDeps) {
  const { io, bus, devices, hub, detection, logger } = deps;
  const latency = createLatencyRing();
  const state = (socket: Socket) => socket.data as SocketState;
  const ownerOf = (socket: Socket): SessionOwner => {
    const u = state(socket).user;
    return u ? { userId: u.id } : { userId: null, guestKey: socket.id };
  };
  const ownerRoom = (owner: SessionOwner) => (owner.userId !== null ? userRoom(owner.userId) : owner.guestKey);
  const hasListeners = (room: string) => (io.sockets.adapter.rooms.get(room)?.size ?? 0) > 0;

  function emitError(socket: Socket, event: string, err: unknown) {
    const appErr = isAppError(err) ? err : new AppError('internal', undefined, { cause: err });
    if (appErr.status >= 500) logger.error({ err, event }, 'socket event failed');
    const body = toErrorBody(appErr);
    socket.emit('error', { ...body, event });
    return body;
  }

  async function currentModelId(socket: Socket): Promise<number | null> {
    const s = state(socket);
    if (s.user) return (await deps.models.runtime.getSelected(s.user.id))?.id ?? null;
    return s.guestModelId ?? null;
  }

  async function statusPayload(socket: Socket) {
    const s = state(socket);
    const sessions = await detection.status(ownerOf(socket));
    const latest = sessions.at(-1);
    const st = s.deviceId !== undefined ? hub.status(s.deviceId) : undefined;
    return {
      server_status: 'running',
      connected_clients: io.engine.clientsCount,
      serial_connected: st?.connected ?? false,
      detection_running: sessions.length > 0,
      current_model_id: latest?.model_id ?? (await currentModelId(socket)),
      current_session_id: latest?.session_id ?? null,
      detector_info: latest
        ? {
            model_name: latest.model_name,
            method: latest.ml_status.method,
            threshold: latest.threshold,
            total_predictions: latest.total_predictions,
            anomaly_count: latest.anomaly_count,
            ml_status: latest.ml_status,
          }
        : {},
      device: st ? { device_id: st.deviceId, connected: st.connected, port: st.port, message: st.message } : null,
      sessions,
      is_guest_mode: s.user === null,
      data_collection_active: s.active,
      timestamp: seconds(Date.now()),
    };
  }

  function signIn(socket: Socket, user: { id: number; username: string }) {
    const s = state(socket);
    if (s.user && s.user.id !== user.id) void socket.leave(userRoom(s.user.id));
    s.user = user;
    s.guestModelId = undefined;
    void socket.join(userRoom(user.id));
  }

  async function connectDevice(socket: Socket, deviceId: number | undefined) {
    const s = state(socket);
    const owner = ownerOf(socket);
    const device = deviceId !== undefined ? await devices.usable(owner, deviceId) : await devices.resolveDefault(owner);
    if (s.deviceId !== device.id) disconnectDevice(socket);
    if (!s.rawUnsubscribe) {
      s.rawUnsubscribe = await hub.subscribe(device.id, { onReading: () => undefined });
      s.deviceId = device.id;
    }
    if (s.active) await socket.join(deviceRoom(device.id));
    const st = hub.status(device.id);
    socket.emit('arduino_status', {
      connected: st?.connected ?? false,
      message: st?.message ?? 'Connecting…',
      port: st?.port ?? device.kind,
      ...(st?.error !== undefined && { error: st.error }),
      device_id: device.id,
      device_name: device.name,
      kind: device.kind,
    });
  }

  function disconnectDevice(socket: Socket) {
    const s = state(socket);
    if (s.deviceId !== undefined) void socket.leave(deviceRoom(s.deviceId));
    s.rawUnsubscribe?.();
    s.rawUnsubscribe = undefined;
    s.deviceId = undefined;
  }

  const attempts = new Map<string, { n: number; resetAt: number }>();
  function allowLogin(key: string, max: number): boolean {
    const t = Date.now();
    let a = attempts.get(key);
    if (!a || a.resetAt <= t) {
      if (attempts.size > 10_000) for (const [k, v] of attempts) if (v.resetAt <= t) attempts.delete(k);
      a = { n: 0, resetAt: t + deps.loginLimit.windowSeconds * 1000 };
      attempts.set(key, a);
    }
    return ++a.n <= max;
  }

  type Handler<E extends ClientEvent> = (socket: Socket, p: Payload<E>) => Promise<void> | void;
  const handlers: { [E in ClientEvent]: Handler<E> } = {
    async get_status(socket) {
      const p = await statusPayload(socket);
      socket.emit('status_update', p);
      socket.emit('status_response', p);
    },

    ping(socket) {
      socket.emit('pong', { timestamp: Date.now() });
    },

    async ws_login(socket, p) {
      const byName = allowLogin(`u:${p.username.trim().toLowerCase()}`, deps.loginLimit.perUsername);
      const byAddress = allowLogin(`a:${socket.handshake.address}`, deps.loginLimit.perAddress);
      if (!byName || !byAddress) {
        const body = toErrorBody(new AppError('rate-limited', 'Too many login attempts; try again later.'));
        socket.emit('login_error', { error: body.message, code: body.code });
        return;
      }
      try {
        const r = await deps.auth.login({ username: p.username, password: p.password });
        signIn(socket, { id: r.user.id, username: r.user.username });
        socket.emit('login_success', { user: r.user, access_token: r.access_token, refresh_token: r.refresh_token, message: 'Login successful.' });
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'ws_login', err);
        socket.emit('login_error', { error: body.message, code: body.code });
      }
    },

    async ws_get_models(socket) {
      try {
        socket.emit('models_response', { models: await deps.models.listCards(state(socket).user?.id ?? null) });
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'ws_get_models', err);
        socket.emit('models_error', { error: body.message, code: body.code });
      }
    },

    async ws_select_model(socket, p) {
      try {
        const m = await deps.models.runtime.select({ userId: state(socket).user?.id ?? null }, p.model_id);
        if (state(socket).user === null) state(socket).guestModelId = m.id;
        socket.emit('model_selected', { model: modelBrief(m) });
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'ws_select_model', err);
        socket.emit('model_error', { error: body.message, code: body.code });
      }
    },

    async select_model(socket, p) {
      // `user_id` from the client is ignored: identity comes from the handshake or ws_login only.
      const guest = state(socket).user === null;
      try {
        const m = await deps.models.runtime.select({ userId: state(socket).user?.id ?? null }, p.model_id);
        if (state(socket).user === null) state(socket).guestModelId = m.id;
        socket.emit('model_selection_result', { success: true, model: modelBrief(m), guest_mode: guest });
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'select_model', err);
        socket.emit('model_selection_result', { success: false, error: body.message, code: body.code, guest_mode: guest });
      }
    },

    async arduino_connect(socket, p) {
      try {
        await connectDevice(socket, p.device_id);
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'arduino_connect', err);
        socket.emit('arduino_status', { connected: false, message: body.message, error: body.message, code: body.code, port: null });
      }
    },

    arduino_disconnect(socket) {
      disconnectDevice(socket);
      socket.emit('arduino_status', { connected: false, message: 'Device disconnected.', port: null });
    },

    async start_detection(socket, p) {
      const s = state(socket);
      const deviceId = p.device_id ?? s.deviceId;
      if (deviceId === undefined) {
        socket.emit('detection_status', { running: false, error: 'Device not connected: send arduino_connect first.', code: 'device-not-connected' });
        return;
      }
      try {
        const threshold = p.threshold ?? s.threshold;
        // Without a model_id a signed-in user's session uses their stored selection (detection.start's default).
        const modelId = p.model_id ?? (s.user === null ? s.guestModelId : undefined);
        const session = await detection.start(ownerOf(socket), {
          device_id: deviceId,
          ...(modelId !== undefined && { model_id: modelId }),
          ...(threshold !== undefined && { threshold }),
          ...(p.duration_s !== undefined && { duration_s: p.duration_s }),
          ...(p.max_readings !== undefined && { max_readings: p.max_readings }),
          ...(p.log !== undefined && { log: p.log }),
        });
        await socket.join(sessionRoom(session.session_id));
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'start_detection', err);
        socket.emit('detection_status', { running: false, error: body.message, code: body.code });
      }
    },

    async stop_detection(socket, p) {
      const owner = ownerOf(socket);
      const s = state(socket);
      let targets: SessionId[];
      if (p.session_id !== undefined) targets = [p.session_id];
      else {
        const mine = await detection.status(owner);
        const onDevice = mine.filter((x) => x.device_id === s.deviceId);
        targets = (onDevice.length > 0 ? onDevice : mine).map((x) => x.session_id);
      }
      if (targets.length === 0) {
        socket.emit('detection_status', { type: 'detection_stopped', running: false, message: 'No detection was running.' });
        return;
      }
      try {
        for (const id of targets) await detection.stop(owner, id);
      } catch (err) {
        const body = isAppError(err) ? toErrorBody(err) : emitError(socket, 'stop_detection', err);
        socket.emit('detection_status', { running: false, error: body.message, code: body.code });
      }
    },

    async update_threshold(socket, p) {
      state(socket).threshold = p.threshold;
      const updated = await detection.setThreshold(ownerOf(socket), p.threshold, p.session_id);
      socket.emit('threshold_updated', {
        threshold: p.threshold,
        message: updated.length > 0 ? `Threshold set to ${p.threshold} for ${updated.length} running session(s).` : `Threshold set to ${p.threshold} for the next session.`,
        sessions: updated.map((x) => x.session_id),
      });
    },

    async get_session_history(socket, p) {
      const u = state(socket).user;
      const sessions = u ? (await detection.history(u.id, { limit: p.limit ?? 20 })).sessions : [];
      socket.emit('session_history', { sessions });
    },

    async pause_data_collection(socket) {
      const s = state(socket);
      s.active = false;
      if (s.deviceId !== undefined) await socket.leave(deviceRoom(s.deviceId));
      await detection.setPaused(ownerOf(socket), true);
      socket.emit('data_collection_status', { active: false });
    },

    async resume_data_collection(socket) {
      const s = state(socket);
      s.active = true;
      if (s.deviceId !== undefined) await socket.join(deviceRoom(s.deviceId));
      await detection.setPaused(ownerOf(socket), false);
      socket.emit('data_collection_status', { active: true });
    },

    async inject_anomaly(socket, p) {
      const s = state(socket);
      if (s.deviceId === undefined) throw new AppError('device-not-connected');
      await devices.inject({ userId: s.user?.id ?? null }, s.deviceId, p.kind as AnomalyKind, {
        ...(p.magnitude !== undefined && { magnitude: p.magnitude }),
        ...(p.readings !== undefined && { readings: p.readings }),
      });
      socket.emit('anomaly_injected', { kind: p.kind, device_id: s.deviceId });
    },
  };

  io.use((socket, next) => {
    const s: SocketState = { user: null, guestModelId: undefined, threshold: undefined, deviceId: undefined, rawUnsubscribe: undefined, active: true };
    socket.data = s;
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const header = socket.handshake.headers.authorization;
    const token =
      typeof auth?.token === 'string' && auth.token
        ? auth.token.replace(/^Bearer\s+/i, '')
        : typeof header === 'string'
          ? /^Bearer\s+(\S+)/i.exec(header)?.[1]
          : undefined;
    if (!token) return next();
    deps.auth.verifyAccessToken(token).then(
      (claims) => {
        s.user = { id: claims.userId, username: claims.username };
        next();
      },
      () => {
        // A stale token must not lock the app out: it connects as a guest and is told why.
        (socket.data as SocketState & { authError?: boolean }).authError = true;
        next();
      },
    );
  });

  io.on('connection', (socket) => {
    const s = state(socket);
    if (s.user) void socket.join(userRoom(s.user.id));
    for (const event of Object.keys(handlers) as ClientEvent[]) {
      socket.on(event, (raw: unknown) => {
        const parsed = parsePayload(event, raw);
        if (!parsed.ok) {
          socket.emit('error', {
            code: 'invalid-payload',
            message: `Invalid ${event} payload: ${parsed.problems.join('; ')}`,
            error: `Invalid ${event} payload.`,
            event,
          });
          return;
        }
        try {
          const r = (handlers[event] as Handler<typeof event>)(socket, parsed.value as never);
          if (r instanceof Promise) r.catch((err: unknown) => emitError(socket, event, err));
        } catch (err) {
          emitError(socket, event, err);
        }
      });
    }
    socket.on('message', () => undefined);
    socket.on('disconnect', () => {
      disconnectDevice(socket);
      if (s.user === null) {
        detection.stop(ownerOf(socket), undefined, 'owner_left').catch((err: unknown) => logger.warn({ err }, 'guest sessions did not stop cleanly'));
      }
    });
    void (async () => {
      socket.emit('connection_confirmed', {
        message: s.user ? `Connected as ${s.user.username}.` : 'Connected as a guest: preset models only, nothing is stored.',
        server_info: {
          serial_connected: false,
          detection_running: s.user ? (await detection.status(ownerOf(socket)).catch(() => [])).length > 0 : false,
          current_model_id: await currentModelId(socket).catch(() => null),
          is_guest_mode: s.user === null,
        },
        user: s.user,
        socket_id: socket.id,
      });
      if ((socket.data as { authError?: boolean }).authError) {
        socket.emit('error', { ...toErrorBody(new AppError('invalid-token')), event: 'connect' });
      }
    })();
  });

  const unsubs = [
    bus.on('reading.received', ({ deviceId, reading }) => {
      const room = deviceRoom(deviceId);
      if (!hasListeners(room)) return;
      io.to(room).emit('arduino_raw_data', {
        voltage: reading.value,
        timestamp: seconds(reading.ts),
        device_id: deviceId,
        features: { sample_count: hub.sampleCount(deviceId) },
      });
    }),
    bus.on('device.status', (st) => {
      const room = deviceRoom(st.deviceId);
      if (!hasListeners(room)) return;
      io.to(room).emit('arduino_status', {
        connected: st.connected,
        message: st.message,
        port: st.port,
        device_id: st.deviceId,
        ...(st.error !== undefined && { error: st.error }),
      });
    }),
    bus.on('detection.started', ({ owner, session }) => {
      const body = { type: 'detection_started', running: true, session_id: session.session_id, model_name: session.model_name, model_id: session.model_id, device_id: session.device_id, threshold: session.threshold, message: `Detection started with ${session.model_name}.` };
      io.to(ownerRoom(owner)).emit('detection_status', body);
      io.to(ownerRoom(owner)).emit('detection_started', body);
    }),
    bus.on('detection.scored', (e) => {
      io.to(ownerRoom(e.owner)).emit('arduino_data', {
        voltage: e.reading.value,
        timestamp: seconds(e.reading.ts),
        prediction: {
          anomaly_score: e.score.anomaly_score,
          is_anomaly: e.score.is_anomaly,
          confidence: e.score.confidence,
          method: e.score.method,
          signal: e.score.signal,
          ...(e.score.features && { features: e.score.features }),
        },
        ml_status: { ...e.warmup, method: e.score.method },
        guest_mode: e.owner.userId === null,
        session_id: e.sessionId,
        device_id: e.deviceId,
      });
      latency.add(performance.now() - e.arrivedAt);
    }),
    bus.on('detection.alert', (e) => {
      io.to(ownerRoom(e.owner)).emit('anomaly_alert', {
        session_id: e.sessionId,
        device_id: e.deviceId,
        voltage: e.reading.value,
        timestamp: seconds(e.reading.ts),
        anomaly_score: e.score.anomaly_score,
        confidence: e.score.confidence,
        signal: e.score.signal,
        suppressed: e.suppressed,
        message: `Anomaly (${e.score.signal}) at ${e.reading.value} V, score ${e.score.anomaly_score.toFixed(2)}.`,
      });
    }),
    bus.on('detection.stopped', (e) => {
      const room = ownerRoom(e.owner);
      io.to(room).emit('detection_status', { type: 'detection_stopped', running: false, session_id: e.sessionId, reason: e.reason });
      const auto = e.reason !== 'stopped';
      const message = auto ? `Detection stopped automatically (${e.reason.replace('_', ' ')}).` : 'Detection stopped.';
      io.to(room).emit(auto ? 'detection_auto_stopped' : 'detection_stopped', { message, final_analysis: e.finalAnalysis, session_id: e.sessionId, reason: e.reason });
      io.in(sessionRoom(e.sessionId)).socketsLeave(sessionRoom(e.sessionId));
    }),
    bus.on('training.progressed', (e) => void io.to(userRoom(e.userId)).emit('training_progress', { job_id: e.jobId, status: e.status, progress: e.progress, stage: e.stage })),
    bus.on('training.completed', (e) =>
      void io.to(userRoom(e.userId)).emit('training_completed', { job_id: e.jobId, model_id: e.modelId, model_name: e.modelName, accuracy: e.accuracy, metrics: e.metrics }),
    ),
    bus.on('training.failed', (e) => void io.to(userRoom(e.userId)).emit('training_failed', { job_id: e.jobId, code: e.code, error: e.message })),
    bus.on('post.created', async (e) => {
      if (!deps.followerIds) return;
      const ids = await deps.followerIds(e.authorId);
      if (ids.length > 0) io.to(ids.map(userRoom)).emit('post_created', e.post);
    }),
  ];

  return {
    /** Latency from reading arrival to `arduino_data` emit (ms). */
    latency: () => latency.snapshot(),
    resetLatency: () => latency.reset(),
    /** Tells every client the server is going away, then closes all sockets. */
    async close(): Promise<void> {
      for (const u of unsubs) u();
      io.emit('server_shutdown', { message: 'The server is restarting.' });
      // Give the last pushes (final analyses, this notice) a moment to leave before the sockets close.
      await new Promise((r) => setTimeout(r, 200));
      // io.close() would also close the HTTP server, which the composition root closes itself.
      io.disconnectSockets(true);
      io.engine.close();
    },
  };
}

export type RealtimeGateway = ReturnType<typeof createRealtimeGateway>;
