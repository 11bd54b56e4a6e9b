import type { Source, SourceSink } from './source.ts';

/**
 * A device that POSTs batches to `/devices/:id/readings`. Nothing to open: the route hands the
 * batch to `push`, which only delivers while the hub has the device open (someone listens).
 */
export function createHttpSource(sink: SourceSink): Source & { push(readings: readonly { ts: number; value: number }[]): void } {
  return {
    port: 'http',
    async start() {
      sink.status({ connected: true, message: 'Waiting for HTTP batches' });
    },
    async stop() {},
    push(readings) {
      for (const r of readings) sink.reading(r);
    },
  };
}
