import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Reading } from '../../detectors/index.ts';
import { dbTimeToMs, fromDbTime, toDbTime } from '../../db/time.ts';
import type { Clock } from '../../lib/clock.ts';
import { AppError } from '../../lib/errors.ts';
import type { DeviceHub } from '../devices/device-hub.ts';
import type { LabelRow, RecordingRow, RecordingsRepository, RecordingStats } from './recordings.repository.ts';
import { createSeriesAccumulator, seriesPairs, STORED_CSV_HEADER, storedCsvLine } from './series.ts';
import type { SeriesPool } from './series-pool.ts';
import type { SeriesResult } from './series.worker.ts';

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
  /** Parsing, stats, file formatting and downsampling of big series run in its worker threads. */
  series: SeriesPool;
  /** Absent until the devices feature is wired: device recording then answers device-unavailable. */
  devices?: RecordingDevices;
  /**
   * When other processes may be recording into the same database (REDIS_URL), only recordings
   * whose heartbeat is older than this are treated as interrupted; 0 = every live one (default).
   */
  staleAfterMs?: number;
}

const MAX_LISTED_ERRORS = 50;
const FLUSH_MS = 500;
/** A live recording refreshes its row (sample count, updated_at) this often. */
const HEARTBEAT_MS = 5000;

const csvLine = (r: Reading) => storedCsvLine(r.ts, r.value);

/** Narrows a series pool result to the kind the task asked for (anything else is a bug). */
function resultOf<T extends SeriesResult['type']>(r: SeriesResult, type: T): Extract<SeriesResult, { type: T }> {
  if (r.type !== type) throw new Error(`series task ${type} answered ${r.type}`);
  return r as Extract<SeriesResult, { type: T }>;
}

const MISSING_FILE = "The recording's data file is missing.";

interface ActiveRecording {
  id: number;
  userId: number;
  /** Absolute path of its CSV file. */
  file: string;
  lastBeat: number;
  unsubscribe: () => void;
  buffer: string[];
  acc: ReturnType<typeof createSeriesAccumulator>;
  maxSamples: number;
  timer: NodeJS.Timeout | undefined;
  flushTimer: NodeJS.Timeout;
  flushing: Promise<void>;
  finishing?: Promise<void>;
}

/** Recordings of normal (and labelled) data: CSV uploads and live recording from a device. */
export function createRecordingsService(deps: RecordingsServiceDeps) {
  const { recordings, clock, logger, series } = deps;
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

  /** Writes a whole series file atomically (temporary file, then rename); returns its size. */
  async function writeSeries(filePath: string, content: string): Promise<number> {
    const file = abs(filePath);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, content);
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
      let chart: Array<[number, number]> = [];
      if (r.sampleCount > 0 || r.status === 'recording') {
        const res = await series.run({ type: 'chart', input: { file: abs(r.filePath) }, points });
        if (res.type === 'unreadable') throw new AppError('recording-not-found', MISSING_FILE);
        chart = seriesPairs(resultOf(res, 'chart'));
      }
      return { ...(await view(r)), series: chart };
    },

    /**
     * Parses and stores an uploaded `timestamp,value[,label]` CSV. Bad rows → 400 with their line numbers.
     * Big uploads are checked in a worker thread, and bytes given as a `Uint8Array` that owns its
     * buffer are moved there (the caller's view is then detached).
     */
    async upload(userId: number, input: { name: string; csv: string | Uint8Array; skipBad?: boolean }): Promise<RecordingView> {
      const filePath = `recordings/${userId}/${randomUUID()}.csv`;
      const file = abs(filePath);
      // The task writes the file (a temporary name, renamed once complete) only when the CSV is accepted.
      const tmp = `${file}.${randomUUID()}.tmp`;
      const res = await series.run({
        type: 'upload',
        input: { data: input.csv },
        store: tmp,
        skipBad: input.skipBad === true,
        maxRows: deps.limits.recordingSamples,
        maxErrors: MAX_LISTED_ERRORS,
      });
      const outcome = resultOf(res, 'upload').outcome;
      if (!outcome.ok) throw new AppError(outcome.code, outcome.message, outcome.details && { details: outcome.details });
      const { summary, segments } = outcome;
      const { stats, first, last } = summary;
      await rename(tmp, file);
      const size = (await stat(file)).size;
      const id = await recordings.insert({
        userId,
        deviceId: null,
        name: input.name,
        source: 'upload',
        status: 'complete',
        sampleCount: summary.count,
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
      if (segments.length > 0) {
        const labels = [];
        for (let i = 0; i + 1 < segments.length; i += 2) {
          labels.push({ startAt: toDbTime(segments[i] as number), endAt: toDbTime(segments[i + 1] as number), note: 'from CSV label column' });
        }
        await recordings.replaceLabels(id, labels, now());
      }
      return view((await recordings.findById(id))!);
    },

    /** The recording as CSV (`timestamp,value,label`). */
    async exportCsv(userId: number, id: number): Promise<{ filename: string; csv: Buffer }> {
      const r = await owned(userId, id);
      const labels = await recordings.labels(r.id);
      const segments = new Float64Array(labels.length * 2);
      labels.forEach((l, i) => {
        segments[2 * i] = dbTimeToMs(l.startAt);
        segments[2 * i + 1] = dbTimeToMs(l.endAt);
      });
      const res = await series.run({ type: 'export', input: { file: abs(r.filePath) }, segments });
      if (res.type === 'unreadable') throw new AppError('recording-not-found', MISSING_FILE);
      const csv = resultOf(res, 'export').csv;
      const slug = r.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'recording';
      return { filename: `${slug}-${r.id}.csv`, csv: Buffer.from(csv.buffer, csv.byteOffset, csv.byteLength) };
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
      await writeSeries(filePath, STORED_CSV_HEADER);
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
        acc: createSeriesAccumulator(),
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
            rec.acc.push(reading.ts, reading.value);
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
        // What was flushed; an unreadable file counts as none.
        const res = await series.run({ type: 'summary', input: { file: abs(r.filePath) } }).catch(() => undefined);
        const { count, stats, first, last } = res?.type === 'summary' ? res.summary : { count: 0, stats: null, first: undefined, last: undefined };
        await recordings.update(
          r.id,
          {
            status: count > 0 ? 'complete' : 'failed',
            sampleCount: count,
            stats,
            firstTs: first === undefined ? null : toDbTime(first),
            lastTs: last === undefined ? null : toDbTime(last),
            error: `Interrupted by a server restart; kept ${count} reading(s).`,
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
