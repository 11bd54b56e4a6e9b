import type { Socket } from 'socket.io';
import type { SessionId, SessionOwner } from '../detection/detection.types.ts';

/** What the gateway keeps per socket (in `socket.data`). */
export interface SocketState {
  user: { id: number; username: string } | null;
  /** A guest's selection; a signed-in user's is stored on their account (every process and socket sees it). */
  guestModelId: number | undefined;
  threshold: number | undefined;
  deviceId: number | undefined;
  rawUnsubscribe: (() => void) | undefined;
  active: boolean;
}

export const userRoom = (id: number) => `user:${id}`;
export const deviceRoom = (id: number) => `device:${id}`;
export const sessionRoom = (id: SessionId) => `session:${id}`;
export const seconds = (ms: number) => ms / 1000;

export const socketState = (socket: Socket) => socket.data as SocketState;
/** A signed-in socket acts for its user; a guest socket for itself alone. */
export const ownerOf = (socket: Socket): SessionOwner => {
  const u = socketState(socket).user;
  return u ? { userId: u.id } : { userId: null, guestKey: socket.id };
};
export const ownerRoom = (owner: SessionOwner) => (owner.userId !== null ? userRoom(owner.userId) : owner.guestKey);

/** Latencies (ms) from reading arrival to the `arduino_data` emit, in a fixed ring for percentiles. */
export function createLatencyRing(size = 1 << 16) {
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

export type LatencyRing = ReturnType<typeof createLatencyRing>;
