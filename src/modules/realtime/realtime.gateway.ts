import type { Server, Socket } from 'socket.io';
import type { AppBus } from '../../events.ts';
import { AppError, toErrorBody } from '../../lib/errors.ts';
import type { ModelCard } from '../models/models.service.ts';
import type { DetectionService } from '../detection/detection.service.ts';
import type { DeviceHubImpl } from '../devices/device-hub.ts';
import type { DevicesService } from '../devices/devices.service.ts';
import type { ModelRuntime } from '../models/model-runtime.ts';
import { createClientHandlers, type Handler } from './realtime.handlers.ts';
import { subscribePushes } from './realtime.pushes.ts';
import { createLatencyRing, ownerOf, socketState as state, userRoom, type SocketState } from './realtime.rooms.ts';
import { parsePayload, type ClientEvent } from './realtime.schemas.ts';

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

/**
 * The largest client event Vigil reads (its JSON size). A bigger one is answered with an `error`
 * event (`payload-too-large`) and the connection stays up. The transport's own cap
 * (`SOCKET_TRANSPORT_MAX_BYTES`, set on the Socket.IO server) is higher; only a message above it
 * closes the connection, as Engine.IO does, and the client reconnects.
 */
export const SOCKET_MESSAGE_MAX_BYTES = 64 * 1024;
export const SOCKET_TRANSPORT_MAX_BYTES = 1024 * 1024;

/** Events whose refusals the mobile app reads on a named answer event (it never reads `error` for them). */
const REFUSALS: Partial<Record<ClientEvent, (socket: Socket, body: { message: string; code: string }, guest: boolean) => void>> = {
  ws_login: (socket, b) => socket.emit('login_error', { error: b.message, code: b.code }),
  ws_get_models: (socket, b) => socket.emit('models_error', { error: b.message, code: b.code }),
  ws_select_model: (socket, b) => socket.emit('model_error', { error: b.message, code: b.code }),
  select_model: (socket, b, guest) => socket.emit('model_selection_result', { success: false, error: b.message, code: b.code, guest_mode: guest }),
};

/** The JSON size of an event's arguments, or Infinity when they cannot be serialised. */
function messageBytes(args: unknown[]): number {
  try {
    return Buffer.byteLength(JSON.stringify(args) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * The Socket.IO adapter of the mobile app's protocol: validates each client event, calls the
 * services, and turns bus events into pushes to the right rooms (per user, device and session).
 */
export function createRealtimeGateway(deps: GatewayDeps) {
  const { io, bus, hub, detection, logger } = deps;
  const latency = createLatencyRing();
  const sinceCreated = createLatencyRing();
  const { handlers, emitError, currentModelId, disconnectDevice } = createClientHandlers(deps);

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
    socket.use(([event, ...args], next) => {
      if (messageBytes(args) <= SOCKET_MESSAGE_MAX_BYTES) return next();
      const body = toErrorBody(new AppError('payload-too-large', `Socket.IO messages are limited to ${SOCKET_MESSAGE_MAX_BYTES} bytes.`));
      socket.emit('error', { ...body, event });
      REFUSALS[event as ClientEvent]?.(socket, body, s.user === null);
    });
    for (const event of Object.keys(handlers) as ClientEvent[]) {
      socket.on(event, (raw: unknown) => {
        const parsed = parsePayload(event, raw);
        if (!parsed.ok) {
          const body = { code: 'invalid-payload', message: `Invalid ${event} payload: ${parsed.problems.join('; ')}` };
          socket.emit('error', { ...body, error: `Invalid ${event} payload.`, event });
          REFUSALS[event]?.(socket, body, s.user === null);
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
  const unsubs = subscribePushes({ io, bus, hub, latency, sinceCreated, ...(deps.followerIds && { followerIds: deps.followerIds }) });

  return {
    /** Latency from reading arrival to `arduino_data` emit (ms). */
    latency: () => latency.snapshot(),
    /** Latency from the reading's creation (its timestamp) to the `arduino_data` emit (ms): arrival lag included. */
    createdLatency: () => sinceCreated.snapshot(),
    resetLatency: () => {
      latency.reset();
      sinceCreated.reset();
    },
    /**
     * Tells this process's clients the server is going away, then closes their sockets. Local
     * only: with the Redis adapter a plain `io.emit` would disconnect every client of the cluster.
     */
    async close(): Promise<void> {
      for (const u of unsubs) u();
      io.local.emit('server_shutdown', { message: 'The server is restarting.' });
      // Give the last pushes (final analyses, this notice) a moment to leave before the sockets close.
      await new Promise((r) => setTimeout(r, 200));
      // io.close() would also close the HTTP server, which the composition root closes itself.
      io.local.disconnectSockets(true);
      io.engine.close();
    },
  };
}

export type RealtimeGateway = ReturnType<typeof createRealtimeGateway>;
