import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Reading } from '../../detectors/index.ts';
import { dbTimeToMs, fromDbTime, toDbTime } from '../../db/time.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import { parseTimeseriesCsv, TimeseriesCsvError, type TimeseriesCsvRow } from '../../lib/timeseries-csv.ts';
import type { DeviceHub } from '../devices/device-hub.ts';
import type { LabelRow, RecordingRow, RecordingsRepository, RecordingStats } from './recordings.repository.ts';

/** What device recording needs from the devices feature. */
export interface RecordingDevices {
  hub: DeviceHub;
  /** Throws (404/403 AppError) unless the user may read from the device. */
  assertUsable(userId: number, deviceId: number): Promise<void>;
}

export interface Segment {
  start: string;
  end: string;
  note?: string | null;
}

export interface RecordingView {
  id: number;
  name: string;
  source: 'upload' | 'device';
  status: 'recording' | 'complete' | 'failed';
  device_id: number | null;
  sample_count: number;
  max_samples: number | null;
  duration_s: number | null;
  first_ts: string | null;
  last_ts: string | null;
  stats: RecordingStats | null;
  labels: Array<{ start: string; end: string; note: string | null }>;
  error: string | null;
  started_at: string;
  ended_at: string | null;
  created_at: string;
}

export interface RecordingsServiceDeps {
  recordings: RecordingsRepository;
  dataDir: string;
  clock: Clock;
  logger: Logger;
  limits: { recordingSamples: number };
  /** Absent until the devices feature is wired: device recording then answers device-unavailable. */
  devices?: RecordingDevices;
  /**
   * When other processes may be recording into the same database (REDIS_URL), only recordings
   * whose heartbeat is older than this are treated as interrupted; 0 = every live one (default).
   */
  staleAfterMs?: number;
}

const HEADER = 'timestamp,value\n';
const LABEL_VALUES = new Set(['1', 'true', 'yes', 'anomaly', 'anomalous']);
const MAX_LISTED_ERRORS = 50;
const FLUSH_MS = 500;
/** A live recording refreshes its row (sample count, updated_at) this often. */
const HEARTBEAT_MS = 5000;

/** Streaming min/max/mean/std and timing of a series. */
function createAccumulator() {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  let first: number | undefined;
  let last: number | undefined;
  const gaps: number[] = [];
  return {
    push(r: Reading) {
      n++;
      const d = r.value - mean;
      mean += d / n;
      m2 += d * (r.value - mean);
      min = Math.min(min, r.value);
      max = Math.max(max, r.value);
      if (last !== undefined && gaps.length < 5000) gaps.push(r.ts - last);
      first ??= r.ts;
      last = r.ts;
    },
    get count() {
      return n;
    },
    result(): { stats: RecordingStats | null; first: number | undefined; last: number | undefined } {
      if (n === 0) return { stats: null, first, last };
      gaps.sort((a, b) => a - b);
      const median = gaps.length > 0 ? (gaps[Math.floor(gaps.length / 2)] as number) : 0;
      const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
      return {
        stats: { min, max, mean: r4(mean), std: r4(n > 1 ? Math.sqrt(m2 / (n - 1)) : 0), sample_rate_hz: median > 0 ? r4(1000 / median) : 0 },
        first,
        last,
      };
    },
  };
}

const csvLine = (r: Reading) => `${new Date(r.ts).toISOString()},${r.value}\n`;

/** Min/max per bucket: keeps spikes visible in a chart of a few hundred points. */
export function downsample(readings: readonly Reading[], points: number): Array<[number, number]> {
  if (readings.length <= points) return readings.map((r) => [r.ts, r.value]);
  const buckets = Math.max(1, Math.floor(points / 2));
  const size = readings.length / buckets;
  const out: Array<[number, number]> = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(readings.length, Math.floor((b + 1) * size));
    let lo = readings[from] as Reading;
    let hi = lo;
    for (let i = from + 1; i < to; i++) {
      const r = readings[i] as Reading;
      if (r.value < lo.value) lo = r;
      if (r.value > hi.value) hi = r;
    }
    if (lo === hi) out.push([lo.ts, lo.value]);
    else if (lo.ts <= hi.ts) out.push([lo.ts, lo.value], [hi.ts, hi.value]);
    else out.push([hi.ts, hi.value], [lo.ts, lo.value]);
  }
  return out;
}

/** Rows flagged in a `label` column become anomalous segments (consecutive rows merge). */
function segmentsFromLabelColumn(rows: readonly TimeseriesCsvRow[]): Array<{ start: number; end: number }> {
  const segments: Array<{ start: number; end: number }> = [];
  let open: { start: number; end: number } | undefined;
  for (const r of rows) {
    const extra = r.extra ?? {};
    const key = Object.keys(extra).find((k) => k.toLowerCase() === 'label');
    const flagged = key !== undefined && LABEL_VALUES.has(String(extra[key]).trim().toLowerCase());
    if (flagged) {
      if (open) open.end = r.ts;
      else open = { start: r.ts, end: r.ts };
    } else if (open) {
      segments.push(open);
      open = undefined;
    }
  }
  if (open) segments.push(open);
  return segments;
}

interface ActiveRecording {
  id: number;
  userId: number;
  /** Absolute path of its CSV file. */
  file: string;
  lastBeat: number;
  unsubscribe: () => void;
  buffer: string[];
  acc: ReturnType<typeof createAccumulator>;
  maxSamples: number;
  timer: NodeJS.Timeout | undefined;
  flushTimer: NodeJS.Timeout;
  flushing: Promise<void>;
  finishing?: Promise<void>;
}

/** Recordings of normal (and labelled) data: CSV uploads and live recording from a device. */
export function createRecordingsService(deps: RecordingsServiceDeps) {
  const { recordings, clock, logger } = deps;
  const root = path.resolve(deps.dataDir);
  const now = () => toDbTime(clock.now());
  const abs = (filePath: string) => path.resolve(root, filePath);
  const active = new Map<number, ActiveRecording>();
  let devices = deps.devices;
  let sweeper: NodeJS.Timeout | undefined;

  async function owned(userId: number, id: number): Promise<RecordingRow> {
    const r = await recordings.findById(id);
    if (!r || r.userId !== userId) throw new AppError('recording-not-found');
    return r;
  }

  async function view(r: RecordingRow): Promise<RecordingView> {
    const labels = await recordings.labels(r.id);
    return {
      id: r.id,
      name: r.name,
      source: r.source,
      status: r.status,
      device_id: r.deviceId,
      sample_count: r.sampleCount,
      max_samples: r.maxSamples,
      duration_s: r.durationS,
      first_ts: r.firstTs && fromDbTime(r.firstTs),
      last_ts: r.lastTs && fromDbTime(r.lastTs),
      stats: r.stats,
      labels: labels.map((l) => ({ start: fromDbTime(l.startAt), end: fromDbTime(l.endAt), note: l.note })),
      error: r.error,
      started_at: fromDbTime(r.startedAt),
      ended_at: r.endedAt && fromDbTime(r.endedAt),
      created_at: fromDbTime(r.createdAt),
    };
  }

  async function readSeries(r: RecordingRow): Promise<Reading[]> {
    let text: string;
    try {
      text = await readFile(abs(r.filePath), 'utf8');
    } catch {
      throw new AppError('recording-not-found', "The recording's data file is missing.");
    }
    return parseTimeseriesCsv(text, { skipBad: true }).rows.map((row) => ({ ts: row.ts, value: row.value }));
  }

  async function writeSeries(filePath: string, readings: readonly Reading[]): Promise<number> {
    const file = abs(filePath);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, HEADER + readings.map(csvLine).join(''));
    await rename(tmp, file);
    return (await stat(file)).size;
  }

  function toLabelRows(segments: readonly Segment[]) {
    return segments.map((s) => {
      const start = Date.parse(s.start);
      const end = Date.parse(s.end);
      if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
        throw new AppError('validation-failed', `Label ${s.start}..${s.end}: the start must be a date before the end.`);
      }
      return { startAt: toDbTime(start), endAt: toDbTime(end), note: s.note ?? null };
    });
  }

  async function finish(rec: ActiveRecording, error: string | null): Promise<void> {
    rec.finishing ??= (async () => {
      active.delete(rec.id);
      rec.unsubscribe();
      if (rec.timer) clearTimeout(rec.timer);
      clearInterval(rec.flushTimer);
      await flush(rec);
      const row = await recordings.findById(rec.id);
      if (!row) return;
      const { stats, first, last } = rec.acc.result();
      const size = await stat(abs(row.filePath)).then((s) => s.size, () => 0);
      await recordings.update(
        rec.id,
        {
          status: error && rec.acc.count === 0 ? 'failed' : 'complete',
          sampleCount: rec.acc.count,
          stats,
          firstTs: first === undefined ? null : toDbTime(first),
          lastTs: last === undefined ? null : toDbTime(last),
          fileSize: size,
          error,
          endedAt: now(),
        },
        now(),
      );
    })();
    return rec.finishing;
  }

  function flush(rec: ActiveRecording): Promise<void> {
    rec.flushing = rec.flushing.then(async () => {
      if (rec.buffer.length > 0) await appendFile(rec.file, rec.buffer.splice(0).join(''));
      if (!rec.finishing && Date.now() - rec.lastBeat >= HEARTBEAT_MS) {
        rec.lastBeat = Date.now();
        await recordings.update(rec.id, { sampleCount: rec.acc.count }, now());
      }
    });
    rec.flushing = rec.flushing.catch((err: unknown) => logger.error({ err, recordingId: rec.id }, 'recording flush failed'));
    return rec.flushing;
  }

  return {
    /** Late wiring: the devices feature provides its hub once built. */
    setDevices(d: RecordingDevices) {
      devices = d;
    },

    async list(userId: number): Promise<RecordingView[]> {
      return Promise.all((await recordings.listForUser(userId)).map(view));
    },

    async get(userId: number, id: number, points = 500): Promise<RecordingView & { series: Array<[number, number]> }> {
      const r = await owned(userId, id);
      const series = r.sampleCount > 0 || r.status === 'recording' ? downsample(await readSeries(r), points) : [];
      return { ...(await view(r)), series };
    },

    /** Parses and stores an uploaded `timestamp,value[,label]` CSV. Bad rows → 400 with their line numbers. */
    async upload(userId: number, input: { name: string; csv: string; skipBad?: boolean }): Promise<RecordingView> {
      let parsed;
      try {
        parsed = parseTimeseriesCsv(input.csv, { skipBad: input.skipBad, maxRows: deps.limits.recordingSamples, maxErrors: MAX_LISTED_ERRORS });
      } catch (err) {
        if (err instanceof TimeseriesCsvError) {
          if (err.code === 'too-many-rows') throw new AppError('payload-too-large', err.message);
          throw new AppError('invalid-csv', err.message);
        }
        throw err;
      }
      if (parsed.errorCount > 0 && !input.skipBad) {
        throw new AppError('invalid-csv', `${parsed.errorCount} row(s) are not valid; fix them or send skip_bad=true.`, {
          details: parsed.errors.map((e) => ({ line: e.line, message: e.reason })),
        });
      }
      if (parsed.rows.length === 0) throw new AppError('invalid-csv', 'The CSV has no data rows.');
      const rows = [...parsed.rows].sort((a, b) => a.ts - b.ts);
      const readings = rows.map((r) => ({ ts: r.ts, value: r.value }));
      const acc = createAccumulator();
      for (const r of readings) acc.push(r);
      const { stats, first, last } = acc.result();
      const filePath = `recordings/${userId}/${randomUUID()}.csv`;
      const size = await writeSeries(filePath, readings);
      const id = await recordings.insert({
        userId,
        deviceId: null,
        name: input.name,
        source: 'upload',
        status: 'complete',
        sampleCount: readings.length,
        maxSamples: null,
        durationS: null,
        firstTs: first === undefined ? null : toDbTime(first),
        lastTs: last === undefined ? null : toDbTime(last),
        stats,
        filePath,
        fileSize: size,
        startedAt: now(),
        endedAt: now(),
        now: now(),
      });
      const segments = segmentsFromLabelColumn(rows);
      if (segments.length > 0) {
        await recordings.replaceLabels(id, segments.map((s) => ({ startAt: toDbTime(s.start), endAt: toDbTime(s.end), note: 'from CSV label column' })), now());
      }
      return view((await recordings.findById(id))!);
    },

    /** The recording as CSV (`timestamp,value,label`). */
    async exportCsv(userId: number, id: number): Promise<{ filename: string; csv: string }> {
      const r = await owned(userId, id);
      const readings = await readSeries(r);
      const labels = await recordings.labels(r.id);
      const segs = labels.map((l) => ({ start: dbTimeToMs(l.startAt), end: dbTimeToMs(l.endAt) }));
      const lines = readings.map((x) => `${new Date(x.ts).toISOString()},${x.value},${segs.some((s) => x.ts >= s.start && x.ts <= s.end) ? 1 : 0}\n`);
      const slug = r.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'recording';
      return { filename: `${slug}-${r.id}.csv`, csv: `timestamp,value,label\n${lines.join('')}` };
    },

    async setLabels(userId: number, id: number, segments: readonly Segment[]): Promise<RecordingView> {
      const r = await owned(userId, id);
      await recordings.replaceLabels(r.id, toLabelRows(segments), now());
      return view(r);
    },

    async remove(userId: number, id: number): Promise<void> {
      const r = await owned(userId, id);
      const rec = active.get(r.id);
      if (rec) await finish(rec, null);
      await recordings.delete(r.id);
      await rm(abs(r.filePath), { force: true });
    },

    /** Starts recording a device's readings; stops at max_samples, after duration_s, or on stop. */
    async start(userId: number, input: { name: string; deviceId: number; durationS?: number; maxSamples?: number }): Promise<RecordingView> {
      if (!devices) throw new AppError('device-unavailable', 'Recording from devices is not available on this server.');
      await devices.assertUsable(userId, input.deviceId);
      const maxSamples = Math.min(input.maxSamples ?? deps.limits.recordingSamples, deps.limits.recordingSamples);
      const filePath = `recordings/${userId}/${randomUUID()}.csv`;
      await writeSeries(filePath, []);
      const id = await recordings.insert({
        userId,
        deviceId: input.deviceId,
        name: input.name,
        source: 'device',
        status: 'recording',
        sampleCount: 0,
        maxSamples: input.maxSamples ?? null,
        durationS: input.durationS ?? null,
        firstTs: null,
        lastTs: null,
        stats: null,
        filePath,
        fileSize: 0,
        startedAt: now(),
        endedAt: null,
        now: now(),
      });
      const rec: ActiveRecording = {
        id,
        userId,
        file: abs(filePath),
        lastBeat: Date.now(),
        unsubscribe: () => {},
        buffer: [],
        acc: createAccumulator(),
        maxSamples,
        timer: undefined,
        flushTimer: setInterval(() => void flush(rec), FLUSH_MS),
        flushing: Promise.resolve(),
      };
      rec.flushTimer.unref();
      active.set(id, rec);
      try {
        rec.unsubscribe = await devices.hub.subscribe(input.deviceId, {
          onReading(reading) {
            if (rec.finishing) return;
            rec.acc.push(reading);
            rec.buffer.push(csvLine(reading));
            if (rec.acc.count >= rec.maxSamples) void finish(rec, null);
          },
          onStatus(status) {
            if ('removed' in status && status.removed === true) void finish(rec, 'The device was removed.');
          },
        });
      } catch (err) {
        await finish(rec, err instanceof Error ? err.message : 'The device could not be opened.');
        if (err instanceof AppError) throw err;
        throw new AppError('device-unavailable', undefined, { cause: err });
      }
      if (input.durationS !== undefined) {
        rec.timer = setTimeout(() => void finish(rec, null), input.durationS * 1000);
        rec.timer.unref();
      }
      return view((await recordings.findById(id))!);
    },

    async stop(userId: number, id: number): Promise<RecordingView> {
      const r = await owned(userId, id);
      const rec = active.get(r.id);
      if (!rec) {
        if (r.status === 'recording') throw new AppError('recording-not-active', 'The recording runs on another server process or was interrupted.');
        throw new AppError('recording-not-active');
      }
      await finish(rec, null);
      return view((await recordings.findById(id))!);
    },

    /** Training input: the owner's finished recordings, with their labelled segments (epoch ms). */
    async forTraining(userId: number, ids: readonly number[]): Promise<Array<{ id: number; file: string; samples: number; labels: Array<{ start: number; end: number }> }>> {
      const out = [];
      for (const id of ids) {
        const r = await owned(userId, id);
        if (r.status === 'recording') throw new AppError('recording-not-ready', `Recording ${id} is still in progress.`);
        const labels: LabelRow[] = await recordings.labels(r.id);
        out.push({ id: r.id, file: abs(r.filePath), samples: r.sampleCount, labels: labels.map((l) => ({ start: dbTimeToMs(l.startAt), end: dbTimeToMs(l.endAt) })) });
      }
      return out;
    },

    /**
     * Recordings left `recording` by a process that is gone keep what was flushed. Run at start-up;
     * with `staleAfterMs`, only rows without a recent heartbeat count (other processes record too).
     */
    async recoverInterrupted(): Promise<number> {
      const cutoff = Date.now() - (deps.staleAfterMs ?? 0);
      const stale = (await recordings.listByStatus('recording')).filter((r) => !active.has(r.id) && (!deps.staleAfterMs || dbTimeToMs(r.updatedAt) < cutoff));
      for (const r of stale) {
        const readings = await readSeries(r).catch(() => []);
        const acc = createAccumulator();
        for (const x of readings) acc.push(x);
        const { stats, first, last } = acc.result();
        await recordings.update(
          r.id,
          {
            status: readings.length > 0 ? 'complete' : 'failed',
            sampleCount: readings.length,
            stats,
            firstTs: first === undefined ? null : toDbTime(first),
            lastTs: last === undefined ? null : toDbTime(last),
            error: `Interrupted by a server restart; kept ${readings.length} reading(s).`,
            endedAt: now(),
          },
          now(),
        );
      }
      return stale.length;
    },

    /** With other processes around, sweeps for their dead recordings now and then. */
    startSweeper(): void {
      if (!deps.staleAfterMs || sweeper) return;
      sweeper = setInterval(() => {
        this.recoverInterrupted().catch((err: unknown) => logger.warn({ err }, 'recording sweep failed'));
      }, deps.staleAfterMs);
      sweeper.unref();
    },

    /** Shutdown: ends every live recording, keeping what it captured. */
    async stopAll(): Promise<void> {
      if (sweeper) clearInterval(sweeper);
      await Promise.all([...active.values()].map((rec) => finish(rec, 'Stopped by a server shutdown.')));
    },
  };
}

export type RecordingsService = ReturnType<typeof createRecordingsService>;
