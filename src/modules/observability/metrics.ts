import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppBus } from '../../events.ts';
import type { KindCounts } from '../devices/device-hub.ts';

/** What the metrics read at scrape time; each part is attached once it exists (see `watch`). */
export interface MetricSources {
  bus: AppBus;
  hub: { statsByKind(): ReadonlyMap<string, Readonly<KindCounts>>; stats(): { openDevices: number }; kindOf(deviceId: number): string | undefined };
  detection: { liveCount(): number };
  logWriter: { stats(): { buffered: number; written: number; dropped: number; failures: number } };
  /** Connected Socket.IO clients of this process. */
  socketClients(): number;
  /** Training jobs per state (from the database, so every process reports the same totals). */
  trainingJobsByState(): Promise<Record<string, number>>;
}

const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Vigil's Prometheus metrics, on a registry of its own (never prom-client's global one), built by
 * the composition root. Hot-path counts are plain numbers read at scrape time; the histograms are
 * observed where the work happens (`observeHttp`, `timeFlush`). Other features add their metrics
 * through bus events counted in `watch`, or register new ones on `registry`.
 */
export function createMetrics(opts: { prefix?: string; defaultMetrics?: boolean } = {}) {
  const p = opts.prefix ?? 'vigil_';
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  let src: MetricSources | undefined;
  const scoredByKind = new Map<string, number>();

  /** A counter whose value is a running total kept elsewhere: collect() adds what it grew by. */
  function mirroredCounter(name: string, help: string, labelNames: string[], read: () => Iterable<[Record<string, string>, number]>) {
    const last = new Map<string, number>();
    return new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        if (!src) return;
        for (const [labels, value] of read()) {
          const key = JSON.stringify(labels);
          const grew = value - (last.get(key) ?? 0);
          last.set(key, value);
          this.inc(labels, Math.max(0, grew));
        }
      },
    });
  }
  const perKind = (field: keyof KindCounts) => () =>
    [...(src?.hub.statsByKind() ?? [])].map(([source, c]): [Record<string, string>, number] => [{ source }, c[field]]);

  mirroredCounter(`${p}readings_received_total`, 'Readings accepted from devices, per source kind.', ['source'], perKind('readings'));
  mirroredCounter(`${p}readings_rate_limited_total`, "Readings dropped by a device's flood limit, per source kind.", ['source'], perKind('dropped'));
  mirroredCounter(`${p}readings_invalid_total`, 'Payloads or readings rejected as invalid, per source kind.', ['source'], perKind('invalid'));
  mirroredCounter(`${p}readings_scored_total`, 'Readings scored by a detection session, per source kind.', ['source'], () =>
    [...scoredByKind].map(([source, n]): [Record<string, string>, number] => [{ source }, n]),
  );
  const logTotal = (field: 'written' | 'dropped' | 'failures') => () => [[{}, src?.logWriter.stats()[field] ?? 0] as [Record<string, string>, number]];
  mirroredCounter(`${p}log_rows_written_total`, 'Detection-log rows written to the database.', [], logTotal('written'));
  mirroredCounter(`${p}log_rows_dropped_total`, 'Detection-log rows dropped because the buffer was full (database unreachable too long).', [], logTotal('dropped'));
  mirroredCounter(`${p}log_flush_failures_total`, 'Failed detection-log batch writes (rows are kept and retried).', [], logTotal('failures'));

  const gauge = (name: string, help: string, read: (s: MetricSources) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (src) this.set(read(src));
      },
    });
  gauge(`${p}live_sessions`, 'Detection sessions running in this process.', (s) => s.detection.liveCount());
  gauge(`${p}open_devices`, 'Devices whose source this process has open.', (s) => s.hub.stats().openDevices);
  gauge(`${p}socketio_clients`, 'Socket.IO clients connected to this process.', (s) => s.socketClients());
  gauge(`${p}log_buffer_rows`, 'Detection-log rows buffered in memory, waiting to be written.', (s) => s.logWriter.stats().buffered);
  new Gauge({
    name: `${p}training_jobs`,
    help: 'Training jobs per state (all processes sharing the database).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (!src) return;
      this.reset();
      for (const [state, n] of Object.entries(await src.trainingJobsByState())) this.set({ state }, n);
    },
  });

  const flushSeconds = new Histogram({
    name: `${p}log_flush_seconds`,
    help: 'Time to write one batch of detection-log rows.',
    buckets: FLUSH_BUCKETS,
    registers: [registry],
  });
  const httpSeconds = new Histogram({
    name: `${p}http_request_duration_seconds`,
    help: 'HTTP request latency by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const alerts = new Counter({ name: `${p}anomaly_alerts_total`, help: 'anomaly_alert pushes (after the per-session alert interval).', registers: [registry] });
  const alarmsOpened = new Counter({
    name: `${p}alarms_opened_total`,
    help: 'Alarms opened, per severity and signal.',
    labelNames: ['severity', 'signal'],
    registers: [registry],
  });

  const retentionRows = new Counter({
    name: `${p}retention_deleted_rows_total`,
    help: 'Rows the retention job deleted, per table (detection_logs, detection_rollups).',
    labelNames: ['table'],
    registers: [registry],
  });
  const retentionRuns = new Counter({ name: `${p}retention_runs_total`, help: 'Retention runs, per outcome (done, partial, locked).', labelNames: ['outcome'], registers: [registry] });
  const retentionSeconds = new Gauge({ name: `${p}retention_last_run_seconds`, help: 'Duration of the last retention run.', registers: [registry] });
  const retentionLast = new Gauge({ name: `${p}retention_last_run_timestamp_seconds`, help: 'When the last retention run of this process ended (epoch seconds).', registers: [registry] });

  return {
    registry,
    /** Counts a retention run (`vigil retention` and the timer). */
    observeRetention(r: { dryRun: boolean; skipped?: string; partial: boolean; logRows: number; rollupRows: number; durationMs: number }): void {
      if (r.dryRun) return;
      retentionRuns.inc({ outcome: r.skipped ? 'locked' : r.partial ? 'partial' : 'done' });
      if (r.skipped) return;
      retentionRows.inc({ table: 'detection_logs' }, r.logRows);
      retentionRows.inc({ table: 'detection_rollups' }, r.rollupRows);
      retentionSeconds.set(r.durationMs / 1000);
      retentionLast.set(Date.now() / 1000);
    },
    /** Counted from the bus (`alarm.opened`); exposed for features that open alarms some other way. */
    alarmsOpened,
    /** Attaches what the scrape reads, and counts scored readings and alerts from the bus. Returns the unsubscriber. */
    watch(sources: MetricSources): () => void {
      src = sources;
      const offs = [
        sources.bus.on('detection.scored', (e) => {
          const kind = sources.hub.kindOf(e.deviceId) ?? 'unknown';
          scoredByKind.set(kind, (scoredByKind.get(kind) ?? 0) + 1);
        }),
        sources.bus.on('detection.alert', () => alerts.inc()),
        sources.bus.on('alarm.opened', (e) => alarmsOpened.inc({ severity: e.alarm.severity, signal: e.alarm.signal })),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
    /** Wraps a log-batch write so its duration lands in `log_flush_seconds`. */
    timeFlush<A extends unknown[]>(write: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
      return async (...args) => {
        const end = flushSeconds.startTimer();
        try {
          await write(...args);
        } finally {
          end();
        }
      };
    },
    observeHttp(method: string, route: string, statusCode: number, seconds: number): void {
      httpSeconds.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
    contentType: registry.contentType,
    text: () => registry.metrics(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
