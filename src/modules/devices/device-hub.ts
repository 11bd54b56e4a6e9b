import type { Reading } from '../../detectors/index.ts';
import type { AppBus } from '../../events.ts';
import { AppError } from '../../lib/errors.ts';
import { MAX_ABS_VALUE } from './readings.ts';
import type { Logger, Source, SourceSink } from './sources/source.ts';

/**
 * The fan-out point of ingestion: a device's source is opened once, on the first subscriber,
 * and closed when the last one leaves. Detection sessions, recordings and raw-data sockets all
 * subscribe here.
 */
export interface DeviceStatus {
  deviceId: number;
  connected: boolean;
  message: string;
  /** Serial path, MQTT topic, `simulator` or `http`. */
  port: string;
  error?: string;
  /** The device was deleted or changed: subscribers should let go. */
  removed?: boolean;
}

export interface DeviceSubscriber {
  /**
   * `arrivedAt` is `performance.now()` when the reading reached the server; `cursor` is the id of
   * the stream entry it came in (HTTP devices with REDIS_URL), for a session's checkpoint.
   */
  onReading(reading: Reading, arrivedAt: number, cursor?: string): void;
  onStatus?(status: DeviceStatus): void;
}

export interface DeviceHub {
  /** Opens the device's source if needed; resolves to the function that unsubscribes. */
  subscribe(deviceId: number, subscriber: DeviceSubscriber): Promise<() => void>;
  status(deviceId: number): DeviceStatus | undefined;
}

/** What the hub needs to know about a device to open its source. */
export interface HubDevice {
  id: number;
  kind: string;
}

export interface DeviceHubDeps<D extends HubDevice> {
  lookup(deviceId: number): Promise<D | undefined>;
  openSource(device: D, sink: SourceSink): Source;
  bus: AppBus;
  logger: Logger;
  /** Per-device token bucket: sustained readings/s and burst size. */
  rate: { limit: number; burst: number };
}

export interface HubStats {
  openDevices: number;
  readings: number;
  dropped: number;
  invalid: number;
}

/** Readings accepted, dropped by the flood limit and rejected as invalid, for one source kind. */
export interface KindCounts {
  readings: number;
  dropped: number;
  invalid: number;
}

interface Entry {
  id: number;
  kind: string;
  totals: KindCounts;
  source: Source;
  abort: AbortController;
  subscribers: Set<DeviceSubscriber>;
  status: DeviceStatus;
  tokens: number;
  refilledAt: number;
  count: number;
  dropped: number;
  invalid: number;
  warnedAt: number;
}

/** The DeviceHub of this process, with per-device flood limiting and isolated subscribers. */
export function createDeviceHub<D extends HubDevice>(deps: DeviceHubDeps<D>) {
  const { bus, logger, rate } = deps;
  const entries = new Map<number, Entry>();
  const opening = new Map<number, Promise<Entry>>();
  const totals = { readings: 0, dropped: 0, invalid: 0 };
  const byKind = new Map<string, KindCounts>();
  const kindTotals = (kind: string) => {
    let k = byKind.get(kind);
    if (!k) byKind.set(kind, (k = { readings: 0, dropped: 0, invalid: 0 }));
    return k;
  };

  function setStatus(e: Entry, s: Omit<DeviceStatus, 'deviceId' | 'port'>) {
    e.status = { deviceId: e.id, port: e.source.port, ...s };
    for (const sub of [...e.subscribers]) {
      try {
        sub.onStatus?.(e.status);
      } catch (err) {
        logger.error({ err, deviceId: e.id }, 'device status subscriber failed');
      }
    }
    bus.emit('device.status', e.status);
  }

  function deliver(e: Entry, r: Reading, cursor?: string) {
    if (!Number.isFinite(r.value) || Math.abs(r.value) > MAX_ABS_VALUE || !Number.isFinite(r.ts)) {
      e.invalid++;
      e.totals.invalid++;
      totals.invalid++;
      return;
    }
    const t = performance.now();
    e.tokens = Math.min(rate.burst, e.tokens + ((t - e.refilledAt) / 1000) * rate.limit);
    e.refilledAt = t;
    if (e.tokens < 1) {
      e.dropped++;
      e.totals.dropped++;
      totals.dropped++;
      if (t - e.warnedAt > 10_000) {
        e.warnedAt = t;
        logger.warn({ deviceId: e.id, dropped: e.dropped, limit: rate.limit }, 'device flood: readings dropped');
      }
      return;
    }
    e.tokens -= 1;
    e.count++;
    e.totals.readings++;
    totals.readings++;
    for (const sub of e.subscribers) {
      try {
        sub.onReading(r, t, cursor);
      } catch (err) {
        logger.error({ err, deviceId: e.id }, 'device subscriber failed');
      }
    }
    bus.emit('reading.received', { deviceId: e.id, reading: r, arrivedAt: t });
  }

  async function open(deviceId: number): Promise<Entry> {
    const device = await deps.lookup(deviceId);
    if (!device) throw new AppError('device-not-found');
    const entry: Entry = {
      id: deviceId,
      kind: device.kind,
      totals: kindTotals(device.kind),
      source: undefined as unknown as Source,
      abort: new AbortController(),
      subscribers: new Set(),
      status: { deviceId, connected: false, message: 'Opening', port: '' },
      tokens: rate.burst,
      refilledAt: performance.now(),
      count: 0,
      dropped: 0,
      invalid: 0,
      warnedAt: 0,
    };
    const sink: SourceSink = {
      reading: (r, cursor) => deliver(entry, r, cursor),
      status: (s) => setStatus(entry, s),
      invalid(detail) {
        entry.invalid++;
        entry.totals.invalid++;
        totals.invalid++;
        logger.debug({ deviceId, detail }, 'invalid reading skipped');
      },
    };
    entry.source = deps.openSource(device, sink);
    entry.status.port = entry.source.port;
    entries.set(deviceId, entry);
    await entry.source.start(entry.abort.signal);
    return entry;
  }

  async function close(e: Entry) {
    if (entries.get(e.id) === e) entries.delete(e.id);
    e.abort.abort();
    try {
      await e.source.stop();
    } catch (err) {
      logger.warn({ err, deviceId: e.id }, 'device source failed to stop');
    }
  }

  return {
    async subscribe(deviceId: number, subscriber: DeviceSubscriber): Promise<() => void> {
      let entry = entries.get(deviceId);
      if (!entry) {
        let p = opening.get(deviceId);
        if (!p) {
          p = open(deviceId).finally(() => opening.delete(deviceId));
          opening.set(deviceId, p);
        }
        entry = await p;
      }
      const e = entry;
      e.subscribers.add(subscriber);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        e.subscribers.delete(subscriber);
        if (e.subscribers.size === 0) void close(e);
      };
    },

    status(deviceId: number): DeviceStatus | undefined {
      return entries.get(deviceId)?.status;
    },

    /** Readings seen since the device was opened (the raw stream's `sample_count`). */
    sampleCount(deviceId: number): number {
      return entries.get(deviceId)?.count ?? 0;
    },

    /** The open source of a device, e.g. to inject anomalies into a simulator. */
    source(deviceId: number): Source | undefined {
      return entries.get(deviceId)?.source;
    },

    /** Hands readings to an open device (HTTP batches); false when nobody listens to it. */
    push(deviceId: number, readings: readonly Reading[]): { delivered: boolean; accepted: number; dropped: number } {
      const e = entries.get(deviceId);
      if (!e) return { delivered: false, accepted: 0, dropped: 0 };
      const before = { count: e.count, dropped: e.dropped };
      for (const r of readings) deliver(e, r);
      return { delivered: true, accepted: e.count - before.count, dropped: e.dropped - before.dropped };
    },

    /** Counts readings a source rejected before they reached the hub (e.g. an HTTP batch's invalid items). */
    countInvalid(deviceId: number, kind: string, n: number): void {
      if (n <= 0) return;
      const e = entries.get(deviceId);
      if (e) e.invalid += n;
      kindTotals(kind).invalid += n;
      totals.invalid += n;
    },

    /** Closes a deleted or reconfigured device; its subscribers get a `removed` status. */
    async evict(deviceId: number, message: string): Promise<void> {
      const e = entries.get(deviceId);
      if (!e) return;
      setStatus(e, { connected: false, message, removed: true });
      e.subscribers.clear();
      await close(e);
    },

    stats(): HubStats {
      return { openDevices: entries.size, ...totals };
    },

    /** Counts since start per source kind (`simulator`, `mqtt`, `serial`, `http`). */
    statsByKind(): ReadonlyMap<string, Readonly<KindCounts>> {
      return byKind;
    },

    /** The source kind of an open device. */
    kindOf(deviceId: number): string | undefined {
      return entries.get(deviceId)?.kind;
    },

    /** Stops every source (shutdown). */
    async closeAll(): Promise<void> {
      await Promise.all([...entries.values()].map((e) => close(e)));
    },
  };
}

export type DeviceHubImpl<D extends HubDevice = HubDevice> = ReturnType<typeof createDeviceHub<D>>;
