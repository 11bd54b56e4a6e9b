import type { Reading } from '../../../detectors/index.ts';
import type { Source, SourceSink } from './source.ts';

/** Follows a device's stream of HTTP batches (with REDIS_URL); resolves with the function that stops. */
export type FollowReadings = (deviceId: number, deliver: (entry: { id: string; readings: Reading[] }) => void) => Promise<() => void>;

/**
 * A device that POSTs batches to `/devices/:id/readings`. Without REDIS_URL there is nothing to
 * open: the route hands the batch to `push`, which only delivers while the hub has the device open
 * (someone listens). With REDIS_URL the route appends batches to the device's Redis Stream and this
 * source follows it, so every process with the device open gets them in the same order.
 */
export function createHttpSource(sink: SourceSink, opts: { deviceId: number; follow?: FollowReadings }): Source & { push(readings: readonly { ts: number; value: number }[]): void } {
  let unfollow: (() => void) | undefined;
  return {
    port: 'http',
    async start() {
      if (opts.follow) {
        unfollow = await opts.follow(opts.deviceId, (e) => {
          for (const r of e.readings) sink.reading(r, e.id);
        });
      }
      sink.status({ connected: true, message: 'Waiting for HTTP batches' });
    },
    async stop() {
      unfollow?.();
      unfollow = undefined;
    },
    push(readings) {
      for (const r of readings) sink.reading(r);
    },
  };
}
