import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/support/log-rows.ts';
import { createDetector } from '../../detectors/index.ts';
import type { EventMap } from '../../events.ts';
import { createEventBus } from '../../lib/event-bus.ts';
import { systemClock } from '../../lib/clock.ts';
import { createDeviceHub } from '../devices/device-hub.ts';
import type { Source } from '../devices/sources/source.ts';
import type { ModelRuntime } from '../models/model-runtime.ts';
import type { DetectionRepository } from './detection.repository.ts';
import { createDetectionService } from './detection.service.ts';
import type { SessionCluster } from './live-session.ts';
import { createLogWriter } from './log-writer.ts';

/**
 * A session on a streamed device (HTTP or MQTT with REDIS_URL) is listed before its device is
 * subscribed. A checkpoint taken in between had no stream cursor, and a takeover from it skipped
 * every reading between the two owners (a flaky kill -9 takeover test under load).
 */
describe('checkpoints of a session still subscribing to its device', () => {
  it('are not taken until the stream cursor is known; then they carry it', async () => {
    const logger = { ...quietLogger, debug() {} };
    const bus = createEventBus<EventMap>(logger);
    // The device's source (its stream followed) opens only when the test lets it.
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    let cursor: string | undefined;
    const hub = createDeviceHub({
      lookup: async (id) => ({ id, kind: 'mqtt' }),
      openSource: (): Source => ({
        port: 'vigil/7/readings',
        async start() {
          await opened;
          cursor = '1700000000000-3';
        },
        async stop() {},
      }),
      bus,
      logger,
      rate: { limit: 100, burst: 100 },
    });
    const model = { id: 3, name: 'm', material_type: 'generic', is_preset: true, kind: 'robust', threshold: 0.5 };
    const cluster: SessionCluster = {
      claim: async () => undefined,
      release: async () => undefined,
      ask: async () => undefined,
      cursor: () => cursor,
      readingsSince: async () => ({ entries: [], trimmed: false }),
    };
    const service = createDetectionService({
      repo: { insertSession: async () => 41, listRunning: async () => [], finishSession: async () => undefined } as unknown as DetectionRepository,
      writer: createLogWriter({ insert: async () => undefined, batchSize: 10, flushMs: 10, maxBuffer: 100, logger }),
      hub,
      models: {
        loadForSession: async () => ({ model, detector: createDetector('robust') }),
        getSelected: async () => undefined,
        defaultPreset: async () => model,
      } as unknown as ModelRuntime,
      resolveDevice: async () => ({ id: 7 }),
      bus,
      clock: systemClock,
      logger,
      alertIntervalMs: 1000,
      cluster,
    });

    const starting = service.start({ userId: 5 }, { device_id: 7 });
    // Listed (leased) while its source opens.
    for (let i = 0; i < 100 && !service.isLive(41); i++) await new Promise((r) => setTimeout(r, 1));
    expect(service.isLive(41)).toBe(true);
    expect(service.checkpointedIds()).toEqual([41]);
    expect(service.checkpoints()).toEqual([]);

    open();
    await starting;
    const [cp] = service.checkpoints();
    expect(cp).toMatchObject({ sessionId: 41, deviceId: 7, seq: 0, cursor: '1700000000000-3' });
    await service.stopAll();
  });
});
