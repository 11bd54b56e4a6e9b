import type { EventBus } from './lib/event-bus.ts';

/**
 * Every event on Vigil's in-process bus and its payload. Features append their events here;
 * adapters (Socket.IO gateway, ingestion sources, persistence) subscribe to them.
 */
export interface EventMap {
  'user.registered': { userId: number; username: string };
  'user.logged_in': { userId: number };
}

export type AppBus = EventBus<EventMap>;
