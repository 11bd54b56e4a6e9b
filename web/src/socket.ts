import { io, type Socket } from 'socket.io-client';
import { useEffect, useState } from 'preact/hooks';
import { getAuth, onAuthChange, refreshTokens } from './api.ts';

export type ConnectionState = 'connecting' | 'online' | 'offline';

let socket: Socket | null = null;
let state: ConnectionState = 'connecting';
const stateListeners = new Set<(s: ConnectionState) => void>();

function setState(s: ConnectionState) {
  state = s;
  for (const l of stateListeners) l(s);
}

/** The one Socket.IO connection. Its handshake carries the current access token on every (re)connect. */
export function getSocket(): Socket {
  if (socket) return socket;
  const s = io({
    transports: ['websocket', 'polling'],
    auth: (cb) => cb(getAuth() ? { token: getAuth()!.access_token } : {}),
    reconnectionDelayMax: 5000,
  });
  s.on('connect', () => setState('online'));
  s.on('disconnect', () => setState('offline'));
  s.on('connect_error', () => setState('offline'));
  s.io.on('reconnect_attempt', () => setState('connecting'));
  s.on('error', async (e: { code?: string }) => {
    // A stale token connected us as a guest: refresh it and reconnect as the user.
    if (e?.code === 'invalid-token' && (await refreshTokens())) {
      s.disconnect();
      s.connect();
    }
  });
  socket = s;
  return s;
}

onAuthChange(() => {
  // A new identity needs a new handshake.
  if (socket) {
    socket.disconnect();
    socket.connect();
  }
});

export function useConnectionState(): ConnectionState {
  const [s, set] = useState(state);
  useEffect(() => {
    stateListeners.add(set);
    set(state);
    return () => void stateListeners.delete(set);
  }, []);
  return s;
}

/** Subscribes a component to a server event for its lifetime. */
export function useSocketEvent<T>(event: string, handler: (payload: T) => void) {
  useEffect(() => {
    const s = getSocket();
    const h = (p: T) => handler(p);
    s.on(event, h);
    return () => void s.off(event, h);
  }, [event, handler]);
}

/** Emits an event and resolves with the first of the answer events (or rejects after a timeout). */
export function request<T>(
  event: string,
  payload: unknown,
  answers: string[],
  timeoutMs = 10_000,
): Promise<{ event: string; payload: T }> {
  const s = getSocket();
  return new Promise((resolve, reject) => {
    const handlers: [string, (p: T) => void][] = answers.map((a) => [a, (p: T) => done(a, p)]);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`No answer to ${event} from the server.`));
    }, timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      for (const [a, h] of handlers) s.off(a, h);
    }
    function done(a: string, p: T) {
      cleanup();
      resolve({ event: a, payload: p });
    }
    for (const [a, h] of handlers) s.on(a, h);
    s.emit(event, payload);
  });
}
