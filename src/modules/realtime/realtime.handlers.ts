import type { Socket } from 'socket.io';
import { AppError, isAppError, toErrorBody } from '../../lib/errors.ts';
import type { SessionId } from '../detection/detection.types.ts';
import type { AnomalyKind } from '../devices/sources/simulator.source.ts';
import type { ModelSummary } from '../models/model-runtime.ts';
import type { GatewayDeps } from './realtime.gateway.ts';
import { deviceRoom, ownerOf, seconds, sessionRoom, socketState as state, userRoom } from './realtime.rooms.ts';
import type { ClientEvent, Payload } from './realtime.schemas.ts';

const modelBrief = (m: ModelSummary) => ({ id: m.id, name: m.name, material_type: m.material_type, is_preset: m.is_preset });

export type Handler<E extends ClientEvent> = (socket: Socket, p: Payload<E>) => Promise<void> | void;

/** The answers to the app's client events (one handler per event), and the helpers the connection wiring shares. */
export function createClientHandlers(deps: GatewayDeps) {
  const { io, devices, hub, detection, logger } = deps;

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

  return { handlers, emitError, currentModelId, disconnectDevice };
}
